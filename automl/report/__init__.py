"""Reports built from a study's storage alone, so they work on any Optuna study."""

from typing import Any

from automl.report.evaluators import IMPORTANCE_EVALUATORS

__all__ = ["write_report", "IMPORTANCE_EVALUATORS"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from automl.report.html import write_report

        return write_report
    raise AttributeError(name)
