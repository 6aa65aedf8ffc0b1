"""Reports built from a study's storage alone, so they work on any Optuna study."""

from automl.report.html import write_report

__all__ = ["write_report"]
