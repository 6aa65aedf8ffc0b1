"""``model: auto`` (or a list of trainers): one study across model families, the family its first parameter.

The CASH formulation (combined algorithm selection and hyperparameter optimization, as auto-sklearn and
FLAML pose it): a categorical parameter ``model`` picks the family, and each family's own space is conditional on
it (``when: {model: <family>}``), so TPE learns which family pays. Parameters and fixed values of one family carry
its name as a prefix: ``lightgbm.num_leaves``, ``random-forest.min_samples_leaf``.

First trials: each family's defaults, cheapest family first (linear, LightGBM, XGBoost when installed, extra trees,
random forest), then
LightGBM's mined portfolio; then the sampler. Pruning compares a trial only with trials of its own family (a
forest's step is a tree count, LightGBM's a boosting round): see :class:`FamilyPruner`.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import optuna

from automl.trainers.base import MODEL_PARAM, FitContext, FitResult, Report, TabularTrainer

#: The families ``model: auto`` searches, when installed, cheapest first (the order of the first trials).
AUTO_FAMILIES = ("linear", "lightgbm", "xgboost", "catboost", "extra-trees", "random-forest")
#: What to install for a family that is not there.
INSTALL = {"lightgbm": "pip install lightgbm", "xgboost": "pip install 'automl[boost]' (XGBoost)",
           "catboost": "pip install 'automl[boost]' (CatBoost)",
           "mlp": "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"}
FAMILY_FILE = "family.json"


def installed_families() -> list[str]:
    from automl import trainers

    names = trainers.names()
    return [f for f in AUTO_FAMILIES if f in names and (f != "lightgbm" or importlib.util.find_spec("lightgbm"))]


class Chosen:
    """A fitted model of one family: ``family`` and that trainer's ``result``."""

    def __init__(self, family: str, result: FitResult):
        self.family, self.result = family, result


class AutoTrainer(TabularTrainer):
    name = "auto"
    description = ("model selection across tabular trainers (linear, lightgbm, xgboost and catboost when installed, "
                   "extra-trees, "
                   "random-forest): the family is the first parameter, each family's space conditional on it")

    def __init__(self, families: Iterable[str] | None = None):
        from automl import trainers

        self.families = list(families) if families is not None else installed_families()
        self.members = {f: trainers.get(f) for f in self.families}

    # -- names ---------------------------------------------------------------------------------
    def split(self, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(family, that family's own parameters without the prefix)."""
        family = params.get(MODEL_PARAM) or self.families[0]
        head = f"{family}."
        return family, {k[len(head):]: v for k, v in params.items() if k.startswith(head)}

    @staticmethod
    def prefixed(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return {f"{family}.{k}": v for k, v in params.items()}

    def member(self, family: str) -> Any:
        if family not in self.members:
            from automl import trainers

            self.members[family] = trainers.get(family)  # an export of another list of families
        return self.members[family]

    # -- the space -----------------------------------------------------------------------------
    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {MODEL_PARAM: {"type": "categorical", "choices": list(self.families)}}
        for f in self.families:
            for n, p in self.members[f].default_space(task).items():
                out[f"{f}.{n}"] = {**p, "when": {MODEL_PARAM: f}}
        return out

    def user_space(self, task: str, user: Mapping[str, Any]) -> dict[str, Any]:
        """The default space with the study file's ``params:`` on top: ``family.name`` replaces or adds that
        family's parameter (made conditional on the family); ``model`` (a categorical) narrows the families."""
        from automl.studyfile import ParamSpec

        space = {n: ParamSpec.model_validate(p) for n, p in self.default_space(task).items()}
        for n, p in user.items():
            if n == MODEL_PARAM:
                space[n] = p
                continue
            family = n.split(".", 1)[0]
            space[n] = p if p.when else p.model_copy(update={"when": {MODEL_PARAM: family}})
        chosen = space[MODEL_PARAM].choices or []
        return {n: p for n, p in space.items() if n == MODEL_PARAM or n.split(".", 1)[0] in chosen}

    def default_fixed(self, task: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.families:
            hook = getattr(self.members[f], "default_fixed", None)
            out.update(self.prefixed(f, hook(task) if hook else {}))
        return out

    def warm_start(self, task: str) -> list[tuple[str, dict[str, Any]]]:
        """Each family's first warm-start configuration (its defaults), cheapest family first, then the rest
        of each family's (LightGBM's mined portfolio)."""
        firsts, rests = [], []
        for f in sorted(self.families, key=lambda f: AUTO_FAMILIES.index(f) if f in AUTO_FAMILIES else len(AUTO_FAMILIES)):
            hook = getattr(self.members[f], "warm_start", None)
            configs = list(hook(task)) if hook else [(f"{f}-defaults", {})]
            tagged = [(tag, {MODEL_PARAM: f, **self.prefixed(f, cfg)}) for tag, cfg in configs]
            firsts += tagged[:1]
            rests += tagged[1:]
        return firsts + rests

    def check_params(self, names: Iterable[str] | Mapping[str, Any]) -> list[tuple[str, str]]:
        from automl.errors import suggest

        items = names.items() if isinstance(names, Mapping) else ((n, None) for n in names)
        out: list[tuple[str, str]] = []
        by_family: dict[str, dict[str, Any]] = {}
        for n, v in items:
            if n == MODEL_PARAM:
                choices = getattr(v, "choices", None) if v is not None and hasattr(v, "type") else None
                if v is not None and hasattr(v, "type") and v.type != "categorical":
                    out.append((n, f"must be type categorical with choices from {', '.join(self.families)}"))
                for c in choices or []:
                    if c not in self.families:
                        out.append((n, f"choice {c!r} is not one of this study's trainers ({', '.join(self.families)})"))
                continue
            if "." not in n:
                out.append((n, f"with several trainers, prefix a parameter with its trainer, e.g. "
                               f"{self.families[0]}.{n} (trainers: {', '.join(self.families)})"))
                continue
            family, rest = n.split(".", 1)
            if family not in self.members:
                hint = suggest(family, self.families)
                out.append((n, f"{family!r} is not one of this study's trainers"
                               + (hint if not hint.startswith("; valid") else f" ({', '.join(self.families)})")))
                continue
            by_family.setdefault(family, {})[rest] = v
        for family, sub in by_family.items():
            given = sub if isinstance(names, Mapping) else list(sub)
            out += [(f"{family}.{n}", m) for n, m in self.members[family].check_params(given)]
        return out

    def default_cv(self, rows: int, features: int, timeout: float | None, classes: int = 0) -> int:
        from automl.trainers.base import small_data_cv

        return small_data_cv(rows, features, timeout, trees_per_round=classes)

    def pruner_defaults(self, fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
        lgbm = self.members.get("lightgbm")
        if lgbm is None:
            return {}
        return lgbm.pruner_defaults({k.split(".", 1)[1]: v for k, v in fixed.items() if k.startswith("lightgbm.")})

    def wrap_pruner(self, pruner: optuna.pruners.BasePruner) -> optuna.pruners.BasePruner:
        if isinstance(pruner, (optuna.pruners.NopPruner, FamilyPruner)):
            return pruner
        return FamilyPruner(pruner)

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        family, sub = self.split(params)
        r = self.member(family).fit(sub, data, report, ctx)
        return FitResult(Chosen(family, r), info={**r.info}, predictions=r.predictions)

    def fit_cv(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext,
               metrics: list[Any]) -> tuple[FitResult, list[list[float]]]:
        from automl.objective import fit_folds

        family, sub = self.split(params)
        member = self.member(family)
        if hasattr(member, "fit_cv"):
            r, per_fold = member.fit_cv(sub, data, report, ctx, metrics)
        else:
            r, per_fold = fit_folds(member, sub, data, report, ctx, metrics)
        return FitResult(Chosen(family, r), info={**r.info}, predictions=r.predictions), per_fold

    def predict(self, result: FitResult, X: Any) -> Any:
        c: Chosen = result.model
        return self.member(c.family).predict(c.result, X)

    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Any]) -> list[float]:
        c: Chosen = result.model
        return self.member(c.family).evaluate(c.result, data, split, metrics)

    # -- export hooks ---------------------------------------------------------------------------
    def final_params(self, params: dict[str, Any], user_attrs: Mapping[str, Any]) -> dict[str, Any]:
        family, sub = self.split(params)
        others = {k: v for k, v in params.items() if k != MODEL_PARAM and not k.startswith(f"{family}.")}
        return {MODEL_PARAM: family, **others, **self.prefixed(family, self.member(family).final_params(sub, user_attrs))}

    def save_model(self, result: FitResult, directory: Any) -> None:
        c: Chosen = result.model
        d = Path(directory)
        (d / FAMILY_FILE).write_text(json.dumps({"model": c.family}) + "\n", encoding="utf-8")
        self.member(c.family).save_model(c.result, d)

    def load_model(self, directory: Any) -> FitResult:
        d = Path(directory)
        family = json.loads((d / FAMILY_FILE).read_text(encoding="utf-8"))["model"]
        r = self.member(family).load_model(d)
        return FitResult(Chosen(family, r), info=dict(r.info))


class _FamilyView:
    """The study as a pruner of one family sees it: only that family's trials."""

    def __init__(self, study: optuna.Study, family: Any):
        self._study, self._family = study, family

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[optuna.trial.FrozenTrial]:
        return [t for t in self._study.get_trials(deepcopy=deepcopy, states=states)
                if t.params.get(MODEL_PARAM) == self._family]

    @property
    def trials(self) -> list[optuna.trial.FrozenTrial]:
        return self.get_trials()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


class FamilyPruner(optuna.pruners.BasePruner):
    """Wraps a pruner so a trial is compared only with trials of its own family (``params['model']``): steps of
    different trainers (boosting rounds, trees, epochs) do not compare."""

    def __init__(self, inner: optuna.pruners.BasePruner):
        self.inner = inner

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return self.inner.prune(_FamilyView(study, trial.params.get(MODEL_PARAM)), trial)  # type: ignore[arg-type]


def resolve(model: str | list[str]) -> Any:
    """The study file's ``model``: one trainer's name, ``auto`` (every installed tabular family) or a list of
    names (model selection across them). KeyError naming the first unknown one. (Here, not in the registry,
    so the registry never imports this module: it imports the registry.)"""
    from automl import trainers

    if isinstance(model, str) and model != "auto":
        return trainers.get(model)
    if model == "auto":
        return AutoTrainer()
    known = trainers.registry()
    for name in model:
        if name not in known or name == "auto":
            raise KeyError(name)
    return AutoTrainer(model)
