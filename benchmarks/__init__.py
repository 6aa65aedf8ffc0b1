"""Benchmarks of automl (scripts + committed results); never run by the test suite except the suite's quick mode."""
