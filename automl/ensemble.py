"""An ensemble of the study's best trials: greedy ensemble selection with replacement (Caruana et al., 2004, as
auto-sklearn and AutoGluon do) over the trials' out-of-fold validation predictions.

Why: with more trials, the single best cross-validation score is more and more a lucky draw (the winner's curse):
on small data the best trial of a 60 s study scored worse on held-out rows than that of a 15 s one
(benchmarks/results/suite-wallclock.md). A weighted average of several good trials is steadier, and it has more to
choose from the longer a study runs.

How:
- During the study (:class:`Recorder`), each trial whose value is among the best :data:`POOL` this process has
  seen, or among the best :data:`FAMILY_POOL` of its model family (``model: auto``), stores its validation
  predictions (float32): out-of-fold ones for every train+valid row of a
  cross-validated study, else the valid rows' own, as an Optuna artifact (``optuna.artifacts``) in a folder beside the study's file, so the ensemble can be rebuilt
  from the storage alone, after a resume or with ``--jobs`` too.
- After the study (:func:`build`): the best :data:`POOL` complete trials that have predictions, and with
  ``model: auto`` the best :data:`FAMILY_POOL` of each family too. TPE settles on one family, so the best 20
  trials alone are often 20 near-copies of one model, and averaging copies hedges nothing: on wine (142 rows) the
  best 20 of a 300 s study were all logistic regressions with C ≈ 100-300, whose one confident miss cost
  most of the test log loss. Greedy selection
  adds, :data:`ITERATIONS` times, the trial (repeats allowed) whose addition to the running average scores best on
  the study's metric; the iteration with the best score wins. Its first step is the best single trial, so the
  ensemble is never worse than it on validation; it is used only when strictly better with two or more members.
- Its members are refit on train+valid (as one trial's export is), scored once on the test split, and exported
  together (``automl export``); ``automl predict`` averages their predictions with the weights.

Only single-objective studies of an exportable tabular trainer get one, and not when refitting its members would
end more than max(2 s, 10% of the timeout) past the time budget (large data, where one refit costs a trial); a
study file sets ``ensemble: false`` to turn it off.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from automl import attrs
from automl.trainers.base import MODEL_PARAM, exportable  # noqa: F401 - automl.ensemble.exportable, as before

#: The artifact id of a trial's stored out-of-fold predictions (a trial user attribute).
PREDICTIONS_ATTR = "valid_predictions"
#: The study user attribute holding the chosen ensemble (see :func:`build`).
ENSEMBLE_ATTR = attrs.ENSEMBLE
#: How many of the best trials keep their predictions and are candidates.
POOL = 20
#: How many of each model family's best trials are candidates too (``model: auto``; AutoGluon ensembles one
#: model per family, auto-sklearn its best 50 of any family).
FAMILY_POOL = 3
#: Greedy steps (members with repeats); AutoGluon uses 25 by default, auto-sklearn 50.
ITERATIONS = 25
#: The artifact file name of a trial's out-of-fold predictions.
PREDICTIONS_FILE = "valid_predictions.npy"
#: Where artifacts go for storages without a file of their own (PostgreSQL): a folder every worker sees.
ARTIFACTS_ENV = "AUTOML_ARTIFACTS"
#: Expected distinct members to refit at the end, for the time reserved after the last trial.
EXPECTED_MEMBERS = 4


def artifact_dir(url: str) -> Path | None:
    """The artifact folder of a study's storage: ``<file>.artifacts`` beside a SQLite/journal file, else
    ``$AUTOML_ARTIFACTS`` (None: no folder, no ensemble)."""
    from automl.storage import file_of

    path = file_of(url)
    if path is not None and str(path) not in (":memory:", "/:memory:"):
        if path.is_absolute():
            path = Path("/" + str(path).lstrip("/"))  # sqlite:////abs gives //abs, which artifact stores refuse
        return path.with_name(path.name + ".artifacts")
    env = os.environ.get(ARTIFACTS_ENV)
    return Path(env) if env else None




def supported(prepared: Any, url: str) -> bool:
    """Whether the study keeps predictions and gets an ensemble (see the module's docstring)."""
    return (
        getattr(prepared.spec, "ensemble", None) is not False
        and len(prepared.metrics) == 1
        and hasattr(prepared.data, "covered")
        and exportable(prepared.trainer)
        and artifact_dir(url) is not None
    )


def store_for(url: str) -> Any:
    from optuna.artifacts import FileSystemArtifactStore

    d = artifact_dir(url)
    assert d is not None  # noqa: S101 - callers check supported() first
    d.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(d))


class Recorder:
    """Stores a trial's out-of-fold predictions when its value is among the best :data:`POOL` seen here, or among
    the best :data:`FAMILY_POOL` of its ``family`` (the ``model`` parameter of a ``model: auto`` study)."""

    def __init__(self, url: str, greater_is_better: bool):
        self.url = url
        self.sign = -1.0 if greater_is_better else 1.0
        self._best: list[float] = []  # the POOL best values seen by this process, sign-adjusted, ascending
        self._family: dict[str, list[float]] = {}  # each family's FAMILY_POOL best, likewise
        self._store = None

    def wants(self, value: float, family: str | None = None) -> bool:
        v = self.sign * value
        if not math.isfinite(v):
            return False
        if len(self._best) < POOL or v < self._best[-1]:
            return True
        best = self._family.get(family, []) if family is not None else None
        return best is not None and (len(best) < FAMILY_POOL or v < best[-1])

    def record(self, trial: Any, value: float, predictions: np.ndarray, family: str | None = None) -> str:
        """Upload the predictions as an artifact of ``trial``; returns its artifact id."""
        import optuna

        v = self.sign * value
        self._best = sorted([*self._best, v])[:POOL]
        if family is not None:
            self._family[family] = sorted([*self._family.get(family, []), v])[:FAMILY_POOL]
        if self._store is None:
            self._store = store_for(self.url)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / PREDICTIONS_FILE
            np.save(path, np.asarray(predictions, dtype=np.float32))
            return optuna.artifacts.upload_artifact(artifact_store=self._store, file_path=str(path), study_or_trial=trial)


def _predictions_of(trial: Any, store: Any) -> np.ndarray | None:
    import io


    artifact_id = trial.user_attrs.get(PREDICTIONS_ATTR)
    if not artifact_id:
        return None
    from optuna.artifacts.exceptions import ArtifactNotFound

    try:
        with store.open_reader(artifact_id) as f:
            return np.load(io.BytesIO(f.read()))
    except (OSError, ValueError, ArtifactNotFound):
        return None  # a folder moved or cleaned: the trial is no candidate


def greedy_selection(preds: list[np.ndarray], y: np.ndarray, score: Any, greater_is_better: bool,
                     iterations: int = ITERATIONS) -> tuple[dict[int, int], float, list[float]]:
    """Caruana's greedy ensemble selection with replacement: ({candidate index: times chosen}, best score, the
    score after each step). Ties go to the earlier candidate (the better single trial)."""
    sign = -1.0 if greater_is_better else 1.0
    total = np.zeros_like(preds[0], dtype=np.float64)
    counts: dict[int, int] = {}
    history: list[float] = []
    best_counts: dict[int, int] = {}
    best = math.inf
    for step in range(1, iterations + 1):
        scores = [sign * score(y, (total + p) / step) for p in preds]
        i = int(np.nanargmin(scores))
        total += preds[i]
        counts[i] = counts.get(i, 0) + 1
        history.append(sign * scores[i])
        if scores[i] < best - 1e-12:
            best, best_counts = scores[i], dict(counts)
    return best_counts, sign * best, history


@dataclass
class Ensemble:
    """A weighted average of trials' models: ``members`` [(trial number, weight)], their refit ``results``."""

    members: list[tuple[int, float]]
    valid: float
    best_single: tuple[int, float]
    results: dict[int, Any] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)

    def to_attr(self) -> dict[str, Any]:
        return {"members": [{"trial": n, "weight": w} for n, w in self.members], "valid": self.valid,
                "best_single": {"trial": self.best_single[0], "valid": self.best_single[1]}, "test": self.test,
                "pool": POOL, "family_pool": FAMILY_POOL, "iterations": ITERATIONS}

    @classmethod
    def from_attr(cls, attr: dict[str, Any]) -> Ensemble:
        return cls([(int(m["trial"]), float(m["weight"])) for m in attr["members"]], float(attr["valid"]),
                   (int(attr["best_single"]["trial"]), float(attr["best_single"]["valid"])), test=dict(attr.get("test") or {}))


def candidates(done: list[Any], family_pool: int | None = None) -> list[Any]:
    """The first :data:`POOL` of ``done`` (complete trials, best first), then, best first, enough of the rest to
    make ``family_pool`` (default :data:`FAMILY_POOL`) of each model family."""
    from collections import Counter

    keep = FAMILY_POOL if family_pool is None else family_pool
    chosen = list(done[:POOL])
    per_family = Counter(family_of(t.params) for t in chosen)
    for t in done[POOL:]:
        f = family_of(t.params)
        if f is not None and per_family[f] < keep:
            chosen.append(t)
            per_family[f] += 1
    return chosen


def family_of(params: dict[str, Any]) -> str | None:
    """The model family of a ``model: auto`` trial's parameters, else None."""
    f = params.get(MODEL_PARAM)
    return f if isinstance(f, str) else None


def select(prepared: Any, study: Any, url: str, family_pool: int | None = None) -> Ensemble | None:
    """The ensemble of the study's best trials (see the module's docstring; ``family_pool`` as in
    :func:`candidates`), or None when the best single trial is as good on validation, or fewer than two trials
    have predictions."""
    from optuna.trial import TrialState

    if not supported(prepared, url):
        return None
    metric = prepared.metrics[0]
    from automl.constraints import feasible

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value) and feasible(t)]
    done.sort(key=lambda t: ((-t.value if metric.greater_is_better else t.value), t.number))
    store = store_for(url)
    trials, preds = [], []
    covered = prepared.data.covered  # rows some fold validates on (a time split's first block is none's)
    y = prepared.data.dev.y[covered]
    w = None if prepared.data.dev.w is None else prepared.data.dev.w[covered]
    for t in candidates(done, family_pool):
        p = _predictions_of(t, store)
        if p is not None and len(p) in (len(prepared.data.dev.y), len(covered)):
            # cross-validated: one out-of-fold prediction per train+valid row; one split: the valid rows' own
            p = (p[covered] if len(p) != len(covered) else p).astype(np.float64)
            if p.ndim == 2:  # class probabilities stored as float32: rows sum to 1 again in float64
                p /= np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
            trials.append(t)
            preds.append(p)
    if len(preds) < 2:
        return None
    task = prepared.task

    def score(y_true: np.ndarray, pred: np.ndarray) -> float:
        return float(metric.score(task, y_true, pred, w))

    counts, value, _history = greedy_selection(preds, y, score, metric.greater_is_better)
    single = score(y, preds[0])
    better = (value > single) if metric.greater_is_better else (value < single)
    if len(counts) < 2 or not better or abs(value - single) <= 1e-9 * max(1.0, abs(single)):
        return None
    n = sum(counts.values())
    members = [(trials[i].number, c / n) for i, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    limits = getattr(prepared.spec, "constraints", None) or {}
    for name, spec in limits.items():  # the members predict together and are saved together: their sum counts
        total = sum(float(trials[i].user_attrs.get(name, math.inf)) for i in counts)
        if spec.max is not None and total > spec.max:
            return None
    return Ensemble(members, value, (trials[0].number, single))


def refit(prepared: Any, study: Any, ens: Ensemble, refits: dict[int, Any] | None = None) -> Ensemble:
    """Fit each member on train+valid (reusing ``refits`` {trial: result}), as a single trial's export does."""
    from automl.cpu import threads_per_worker
    from automl.data import refit_data
    from automl.trainers.base import FitContext

    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    full = refit_data(prepared.data)
    trainer = prepared.trainer
    ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=threads_per_worker(1), seed=prepared.spec.seed or 0)
    for number, _w in ens.members:
        if number in ens.results:
            continue
        if refits and number in refits:
            ens.results[number] = refits[number]
            continue
        t = by_number[number]
        params = trainer.final_params({**prepared.fixed, **t.params}, t.user_attrs)
        ens.results[number] = trainer.fit(params, full, lambda *a, **k: None, ctx)
    return ens


def predict(trainer: Any, ens: Ensemble, X: Any) -> np.ndarray:
    """The members' predictions averaged with their weights (probabilities for classification)."""
    out = None
    for number, w in ens.members:
        p = np.asarray(trainer.predict(ens.results[number], X), dtype=np.float64) * w
        out = p if out is None else out + p
    assert out is not None  # noqa: S101 - an ensemble has members
    return out


def trial_refit_seconds(trial: Any) -> float:
    """The expected seconds of refitting a finished trial on train+valid: its fit time (one fold's share of a
    cross-validated trial) times 1.25, as automl.objective.refit_share assumes."""
    attrs = trial.user_attrs
    seconds = float(attrs.get("fit_seconds") or (trial.duration.total_seconds() if trial.duration else 0.0))
    folds = list((attrs.get("fold_values") or {}).values())
    return seconds * 1.25 / max(1, len(folds[0]) if folds else 1)


def refit_seconds(study: Any, ens: Ensemble, refits: dict[int, Any] | None = None) -> float:
    """The expected seconds of refitting the members not refit yet: each member's fit time (one fold's share of a
    cross-validated trial) times 1.25 (train+valid is more rows), as automl.objective.refit_share assumes."""
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    return sum(trial_refit_seconds(by_number[number]) for number, _w in ens.members if not (refits and number in refits))


def build(prepared: Any, study: Any, url: str, refits: dict[int, Any] | None = None, *,
          deadline: float | None = None, slack: float = 0.0) -> Ensemble | None:
    """Choose the ensemble, refit its members, score it on the test split and store it on the study
    (``automl:ensemble``; removed when no ensemble beats the best trial).

    With a ``deadline`` (``time.time()``), an ensemble whose members' refits are expected to end more than
    ``slack`` seconds past it is not built (the best trial alone is handed over): on large data one refit can
    take as long as a trial."""
    import time

    ens = select(prepared, study, url)
    if ens is not None and deadline is not None and time.time() + refit_seconds(study, ens, refits) > deadline + slack:
        ens = None
    if ens is None:
        if study.user_attrs.get(ENSEMBLE_ATTR) is not None and supported(prepared, url):
            study.set_user_attr(ENSEMBLE_ATTR, None)
        return None
    refit(prepared, study, ens, refits)
    data = prepared.data
    if getattr(data, "test", None) is not None:
        pred = predict(prepared.trainer, ens, data.test.X)
        ens.test = {m.name: float(m.score(prepared.task, data.test.y, pred, data.test.w)) for m in prepared.metrics}
    study.set_user_attr(ENSEMBLE_ATTR, ens.to_attr())
    return ens


def stored(study: Any) -> Ensemble | None:
    attr = study.user_attrs.get(ENSEMBLE_ATTR)
    return Ensemble.from_attr(attr) if attr else None
