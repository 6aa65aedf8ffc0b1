"""The trainer registry: built-in trainers plus plugins under the entry-point group ``automl.trainers``, and what
a plugin author builds a trainer from (re-exported from :mod:`automl.trainers.base`).

Public: the names in ``__all__``. Trainers are imported lazily, so a LightGBM study never imports torch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

BUILTIN: dict[str, str] = {
    "lightgbm": "automl.trainers.lightgbm:LightGBMTrainer",
    "mlp": "automl.trainers.mlp:MLPTrainer",
    "random-forest": "automl.trainers.sklearn_models:RandomForestTrainer",
    "extra-trees": "automl.trainers.sklearn_models:ExtraTreesTrainer",
    "linear": "automl.trainers.sklearn_models:LinearTrainer",
    "xgboost": "automl.trainers.xgboost_trainer:XGBoostTrainer",
    "catboost": "automl.trainers.catboost_trainer:CatBoostTrainer",
    "auto": "automl.trainers.auto:AutoTrainer",
    "causal-lm": "automl.trainers.causal_lm:CausalLMTrainer",
    "lm-decode": "automl.trainers.lm_decode:LMDecodeTrainer",
}
#: Built-in trainers that need an optional package (its import name).
REQUIRES = {"xgboost": "xgboost", "catboost": "catboost"}
ENTRY_POINT_GROUP = "automl.trainers"

#: What a trainer is made of, for plugin authors (see docs/plugins.md): loaded from automl.trainers.base on use.
BASE_NAMES = ("BaseTrainer", "TabularTrainer", "Exportable", "FitContext", "FitResult", "Knob", "Report", "knob_problems")

__all__ = ["get", "names", "registry", "BUILTIN", "ENTRY_POINT_GROUP", *BASE_NAMES]


def __getattr__(name: str) -> Any:
    if name in BASE_NAMES:
        from automl.trainers import base

        return getattr(base, name)
    raise AttributeError(f"module 'automl.trainers' has no attribute {name!r}")


def _available_builtin() -> dict[str, str]:
    out = {}
    for name, target in BUILTIN.items():
        module = target.split(":")[0]
        needs = REQUIRES.get(name)
        if importlib.util.find_spec(module) is not None and (needs is None or importlib.util.find_spec(needs) is not None):
            out[name] = target
    return out


def registry() -> dict[str, Any]:
    """name -> 'module:attr' string (built-in) or EntryPoint (plugin)."""
    table: dict[str, Any] = dict(_available_builtin())
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        table.setdefault(ep.name, ep)
    return table


def names() -> list[str]:
    return list(registry())



def get(name: str) -> Any:
    """An instance of the trainer registered under ``name`` (KeyError if none)."""
    target = registry()[name]
    if isinstance(target, str):
        module, attr = target.split(":")
        obj = getattr(importlib.import_module(module), attr)
    else:
        obj = target.load()
    return obj() if isinstance(obj, type) else obj
