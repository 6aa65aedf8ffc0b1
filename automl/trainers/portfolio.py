"""Warm-start portfolios mined offline (benchmarks/portfolio/). Placeholder until the mined file lands: no
configurations, so a study starts from the trainer's defaults alone."""


def load(kind: str = "lightgbm") -> list[dict]:
    return []
