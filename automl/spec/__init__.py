"""The study file on its way to a run: parsed (automl.studyfile), then prepared (resolve.py)."""

from automl.spec.resolve import Prepared, choose_cv, prepare

__all__ = ["Prepared", "choose_cv", "prepare"]
