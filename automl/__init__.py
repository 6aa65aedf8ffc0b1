"""automl: hyperparameter studies described in a YAML file, run on Optuna.

Nothing heavy is imported here: the public functions load their modules on first use.
"""

from __future__ import annotations

from typing import Any

from automl._version import __version__

__all__ = [
    "load_study_file",
    "prepare_study",
    "run_study",
    "open_study",
    "write_report",
    "make_objective",
    "search_space",
    "export_study",
    "predict",
    "list_trainers",
    "study_schema",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from automl import api

        return getattr(api, name)
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
