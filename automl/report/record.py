"""What a run stores in the study so that the report, built later from the storage alone, can say it.

Three hooks the runner calls: :func:`on_create` (a new study), :func:`on_resume` (fills what an older study
lacks) and :func:`at_end` (the baselines: the trainer's defaults and a constant predictor scored on the test
split with the study's metrics). Everything is a study user attribute (JSON), except the metric names, which go
through Optuna's public ``study.set_metric_names`` so optuna-dashboard and ``load_study(...).metric_names`` see them.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl import attrs

VERSIONS_ATTR = attrs.VERSIONS  # {package: version} of the run that created the study
STEP_UNIT_ATTR = attrs.STEP_UNIT  # what one reported step is: "boosting round", "epoch", ...
SETTINGS_ATTR = attrs.SETTINGS  # sampler and pruner (name, class, options), seeds, fixed parameters
DATA_FACTS_ATTR = attrs.DATA_FACTS  # file, rows per split, columns by kind, CV folds
BASELINES_ATTR = attrs.BASELINES  # {"defaults": {...}, "constant": {...}} scored on the test split
#: The warm-start tag (``automl:warm_start`` on a trial) of a trainer's own defaults, e.g. ``lightgbm-defaults``.
DEFAULTS_TAG_SUFFIX = "defaults"


def _versions() -> dict[str, str]:
    from automl import manifest

    return {k: v for k, v in manifest.versions().items() if v is not None}


def data_facts(prepared: Any) -> dict[str, Any]:
    """Rows per split, columns by kind and CV folds of the loaded data (tabular), or rows per split (others)."""
    data = prepared.data
    out: dict[str, Any] = {"file": str(prepared.spec.data.path), "task": prepared.task}
    if data is None:
        return out
    rows = {}
    for split in ("train", "valid", "test"):
        part = getattr(data, split, None)
        if part is not None:
            try:
                rows[split] = len(part)
            except TypeError:
                continue
    out["rows"] = rows
    X = getattr(getattr(data, "train", None), "X", None)
    if X is not None and hasattr(X, "dtypes"):
        import pandas as pd

        dt = set(getattr(data, "datetimes", []) or [])
        kinds: dict[str, int] = {}
        for col, dtype in X.dtypes.items():
            kind = ("datetime" if col in dt else "boolean" if pd.api.types.is_bool_dtype(dtype)
                    else "numeric" if pd.api.types.is_numeric_dtype(dtype) else "categorical")
            kinds[kind] = kinds.get(kind, 0) + 1
        out["columns"] = kinds
        out["target"] = getattr(data, "target", None)
    if getattr(data, "classes", None):
        out["classes"] = len(data.classes)
    d = prepared.spec.data
    roles = {"dropped": list(getattr(d, "drop", None) or []), "features_only": list(getattr(d, "features", None) or []),
             "categorical": list(getattr(d, "categorical", None) or []),
             "id": getattr(d, "id", None), "weight": getattr(d, "weight", None)}
    roles = {k: v for k, v in roles.items() if v}
    if roles:
        out["roles"] = roles  # columns by role (data.drop / features / categorical / id / weight)
    kind = getattr(data, "split_kind", None)
    if kind and kind != "random":
        sp = getattr(d, "split", None)
        out["split"] = {"by": kind, "column": getattr(sp, "column", None)}
    if hasattr(data, "use_cv"):
        out["cv_folds"] = getattr(data, "cv", 0)
    return out


def set_metric_names(study: optuna.Study, prepared: Any) -> None:
    """Store the metric names with Optuna's public API when the study has none (new, or made by an older automl)."""
    names = [m.name for m in prepared.metrics]
    if study.metric_names is None and len(names) == len(study.directions):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)


def on_create(study: optuna.Study, prepared: Any) -> None:
    """Everything the report needs from a new study's run (also used to complete a half-created one)."""
    on_resume(study, prepared)


def on_resume(study: optuna.Study, prepared: Any) -> None:
    """Fill in what the study lacks (older studies, half-created ones); what is there is kept as created."""
    set_metric_names(study, prepared)
    have = study.user_attrs
    wanted = {
        VERSIONS_ATTR: _versions,
        STEP_UNIT_ATTR: lambda: getattr(prepared.trainer, "step_unit", "step"),
        SETTINGS_ATTR: lambda: prepared.search.settings,
        DATA_FACTS_ATTR: lambda: data_facts(prepared),
    }
    for key, make in wanted.items():
        if not isinstance(have.get(key), (dict, str)) or (key == DATA_FACTS_ATTR and "rows" not in have[key]
                                                          and prepared.data is not None):
            study.set_user_attr(key, make())


# ---------------------------------------------------------------------------------------------- baselines


def defaults_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial that ran the trainer's own defaults (queued first by the warm start), if any."""
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        tag = t.user_attrs.get(attrs.WARM_START)
        if isinstance(tag, str) and tag.endswith(DEFAULTS_TAG_SUFFIX):
            return t
    return None


def constant_predictions(task: str, y_fit: Any, n: int, n_classes: int = 0, w_fit: Any = None) -> tuple[Any, str]:
    """A constant predictor fitted on ``y_fit`` (weighted by ``w_fit``): the mean (regression) or the class priors
    (classification, which is the majority class for label metrics), as predictions for ``n`` rows in automl's format."""
    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor

    from automl.metrics import BINARY, REGRESSION

    X0 = np.zeros((len(y_fit), 1))
    if task == REGRESSION:
        model = DummyRegressor(strategy="mean").fit(X0, y_fit, sample_weight=w_fit)
        return model.predict(np.zeros((n, 1))), f"the training mean ({float(model.constant_[0][0]):.6g})"
    classes = max(n_classes, int(np.max(y_fit)) + 1)
    model = DummyClassifier(strategy="prior").fit(X0, y_fit, sample_weight=w_fit)
    proba = np.zeros((n, classes))
    proba[:, model.classes_] = model.predict_proba(np.zeros((n, 1)))
    return (proba[:, 1] if task == BINARY else proba), "the training class priors (the majority class for labels)"


def _fits_in(prepared: Any, study: optuna.Study, t: FrozenTrial | None, deadline: float) -> bool:
    """Whether fitting the defaults ends before ``deadline``: the trial's own duration (else the median complete
    trial's) times the refit's share of a trial (see :func:`automl.objective.refit_share`)."""
    from automl.objective import refit_share

    durations = [d.total_seconds() for x in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if (d := x.duration) is not None]
    own = t.duration.total_seconds() if t is not None and t.duration is not None else None
    seconds = own if own is not None else (sorted(durations)[len(durations) // 2] if durations else 0.0)
    share = refit_share(prepared.data) if t is not None else 1.0  # a fit without a trial: one holdout fit
    return time.time() + seconds * share <= deadline


def at_end(prepared: Any, study: optuna.Study, *, test_of: Any, deadline: float | None = None) -> dict[str, Any]:
    """Score the baselines on the test split and store them as ``automl:baselines``.

    ``test_of(trial)`` returns a complete trial's test scores (the runner's refit, as for the best trial).
    defaults: the trial that ran the trainer's defaults if there is one, else a fit of the fixed parameters alone
    (no tuned parameter: the trainer's own defaults), skipped past ``deadline``. constant: see
    :func:`constant_predictions`, fitted on the rows the tuned model was fitted on. Kept once measured."""
    data = prepared.data
    if data is None or getattr(data, "test", None) is None:
        return {}
    stored = dict(study.user_attrs.get(BASELINES_ATTR) or {})
    if not hasattr(data, "use_cv"):  # not tabular (language models): say why instead of a number
        if getattr(prepared.trainer, "untuned_baseline", False):
            return untuned_at_end(prepared, study, stored, deadline)
        stored["skipped"] = {"defaults": "not measured for this trainer (it would cost one more full training run)",
                             "constant": "defined for tabular data only"}
        study.set_user_attr(BASELINES_ATTR, stored)
        return stored
    metrics = prepared.metrics
    folds = bool(getattr(data, "folds", None))
    if "constant" not in stored:
        import numpy as np

        fit = (data.train, data.valid) if folds else (data.train,)
        y_fit = np.concatenate([p.y for p in fit])
        ws = [getattr(p, "w", None) for p in fit]  # row weights (data.weight), if the study has them
        w_fit = None if any(w is None for w in ws) else np.concatenate(ws)
        pred, what = constant_predictions(data.task, y_fit, len(data.test), data.n_classes, w_fit)
        scores = {m.name: float(m.score(data.task, data.test.y, pred, getattr(data.test, "w", None))) for m in metrics}
        stored["constant"] = {"what": what, "fit_on": "train+valid" if folds else "train",
                              "test": {k: v for k, v in scores.items() if math.isfinite(v)}}
    if "defaults" not in stored:
        t = defaults_trial(study)
        best = {str(k) for k in (study.user_attrs.get(attrs.TEST_SCORES) or {})}
        if deadline is not None and not (t is not None and str(t.number) in best) and not _fits_in(
                prepared, study, t, deadline):
            stored["skipped"] = {"defaults": "not measured: the run's time budget had no room left to fit the defaults"}
        elif t is not None:
            stored["defaults"] = {"trial": t.number, "what": f"trial {t.number}, queued first by the warm start "
                                  f"({t.user_attrs.get(attrs.WARM_START)})", "test": test_of(t)}
        else:
            from automl.trainers.base import FitContext

            ctx = FitContext(metric=metrics[0], task=prepared.task, threads=1, seed=prepared.spec.seed or 0)
            result = prepared.trainer.fit(dict(prepared.fixed), data, lambda *a, **k: None, ctx)
            values = prepared.trainer.evaluate(result, data, "test", metrics)
            stored["defaults"] = {"trial": None, "what": "the trainer's defaults (the fixed parameters alone), "
                                  "fitted at the end of the run on the train split",
                                  "test": {m.name: float(v) for m, v in zip(metrics, values) if math.isfinite(v)}}
        if "defaults" in stored:
            stored.pop("skipped", None)
    study.set_user_attr(BASELINES_ATTR, stored)
    return stored


def untuned_at_end(prepared: Any, study: optuna.Study, stored: dict[str, Any], deadline: float | None) -> dict[str, Any]:
    """A decoding study's untuned baseline (``untuned_baseline`` trainers: lm-decode): the fixed parameters alone with
    the trainer's defaults (greedy, the model's chat template, no worked examples), scored on the test split, with
    its answers to the first validation prompts (``examples``) for the report to show beside the tuned trial's."""
    from automl.trainers.base import FitContext

    stored["skipped"] = {"constant": "defined for tabular data only"}
    if "defaults" not in stored:
        if deadline is not None and not _fits_in(prepared, study, None, deadline):
            stored["skipped"]["defaults"] = "not measured: the run's time budget had no room left for the untuned decoding"
        else:
            metrics, trainer, data = prepared.metrics, prepared.trainer, prepared.data
            ctx = FitContext(metric=metrics[0], task=prepared.task, threads=1, seed=prepared.spec.seed or 0)
            result = trainer.fit(dict(prepared.fixed), data, lambda *a, **k: None, ctx)
            values = trainer.evaluate(result, data, "test", metrics)
            stored["defaults"] = {"trial": None, "what": "untuned: the fixed parameters alone (greedy decoding, the "
                                  "model's chat template when it has one, no system prompt, no worked examples)",
                                  "test": {m.name: float(v) for m, v in zip(metrics, values) if math.isfinite(v)},
                                  "examples": trainer.examples(result, data, "valid")}
    study.set_user_attr(BASELINES_ATTR, stored)
    return stored
