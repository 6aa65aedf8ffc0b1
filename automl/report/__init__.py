"""Reports built from a study's storage alone, so they work on any Optuna study."""

from typing import Any

#: Importance evaluators of the report (name -> label); here, not in figures.py, so `automl run --importance`
#: is checked without importing Optuna's importance stack (scikit-learn's ensembles: seconds at start-up).
IMPORTANCE_EVALUATORS = {"pedanova": "PED-ANOVA", "fanova": "fANOVA"}

__all__ = ["write_report", "IMPORTANCE_EVALUATORS"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from automl.report.html import write_report

        return write_report
    raise AttributeError(name)
