"""One ``automl run``: open or create the study, recover stale trials, top it up to its budget with one worker
(:mod:`automl.run.loop`) or N processes (:mod:`automl.run.workers`), show progress, and score the best
trial once on the test split."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

from automl import _optuna_compat as compat
from automl import attrs
from automl import storage as storage_mod
from automl.errors import StorageError
from automl.run import loop, recovery, workers
from automl.run.study import open_or_create
from automl.spec import Prepared

#: The share of a ``timeout`` the ensemble's refits may run past it (else the best trial alone is handed over).
ENSEMBLE_SLACK = 0.1


def workers_threads(jobs: int) -> int:
    return loop.threads_per_worker(jobs)



@dataclass
class RunOutcome:
    study: optuna.Study
    url: str = ""  # the storage URL the run used (unmasked; print it through storage.mask)
    finished: int = 0  # finished (complete + pruned) trials the study holds after the run
    added: int = 0
    recovered: list[int] = field(default_factory=list)
    stopped_by: str = "budget"
    test_scores: dict[int, dict[str, float]] = field(default_factory=dict)
    died: list[str] = field(default_factory=list)  # worker processes killed while the run went on
    prepared: Any = None  # what the run used (set by automl.api), for `run --export`
    refits: dict[int, Any] = field(default_factory=dict)  # trial number -> its model refit on train+valid (CV runs)
    ensemble: Any = None  # the automl.ensemble.Ensemble chosen at the end (members refit), or None



#: The budget of a study file with a ``timeout`` and no ``trials``: run until the time is up.
UNLIMITED = 2**62



def budget_of(prepared: Prepared, trials: int | None) -> int:
    budget = trials if trials is not None else prepared.spec.trials
    if budget is None:
        budget = UNLIMITED
    if prepared.search.grid_size is not None:
        budget = min(budget, prepared.search.grid_size)
    return budget



def run(
    prepared: Prepared,
    url: str,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    force: bool = False,
    progress: bool = True,
    on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
    jobs: int = 1,
    started: float | None = None,
) -> RunOutcome:
    """Create or resume the study and top it up to ``trials`` finished (complete or pruned) trials.

    ``jobs`` > 1 runs that many worker processes (:mod:`automl.run.workers`); each claims trial slots under a
    lock shared with every other worker of the study, here or on other machines, so the total is exact.

    ``timeout`` counts from ``started`` (``time.time()``, default: now). A worker starts no trial it expects to
    end past the deadline (the median of its trials so far), and leaves room for the best trial's test refit.
    """
    spec = prepared.spec
    budget = budget_of(prepared, trials)
    timeout = timeout if timeout is not None else spec.timeout
    started = time.time() if started is None else started
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if jobs > 1 and not workers.shared_between_processes(url):
        raise StorageError(f"--jobs {jobs} needs a storage that processes share (sqlite, postgresql, journal), not {storage_mod.mask(url)}")
    loop.poll_seconds()  # a bad $AUTOML_POLL_SECONDS is refused before anything is written
    study = open_or_create(prepared, url, force=force, budget=budget)
    storage, sid = compat.storage_of(study), compat.study_id(study)
    if storage.get_study_system_attrs(sid).get(attrs.BUDGET) != budget:  # what a gRPC proxy's claim gate enforces (automl/proxy.py)
        storage.set_study_system_attr(sid, attrs.BUDGET, budget)
    outcome = RunOutcome(study, url=url)
    with loop.claim_lock(study, url):
        outcome.recovered = recovery.recover_stale_trials(study)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        done = storage_mod.count_finished(study)
        bar = tqdm(total=None if budget == UNLIMITED else budget, initial=min(done, budget), desc=spec.study_name, unit="trial", dynamic_ncols=True)

    def show(finished: int) -> None:
        if bar is not None and (finished != bar.n or jobs == 1):
            bar.n = min(finished, budget)
            best = _best_text(study)
            if best:
                bar.set_postfix_str(best, refresh=False)
            bar.refresh()

    def after_trial(st: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        show(storage_mod.count_finished(st))
        if on_trial is not None:
            on_trial(st, trial)

    try:
        if jobs > 1:
            left = None if timeout is None else max(0.001, started + timeout - time.time())
            res = workers.run_workers(prepared, study, url, jobs=jobs, budget=budget, timeout=left, progress=show)
            outcome.died = res.died
        else:
            deadline = started + timeout if timeout is not None else None
            res = loop.work(prepared, study, url, budget=budget, deadline=deadline,
                                threads=loop.threads_per_worker(1), after_trial=after_trial)
        outcome.added, outcome.stopped_by = res.added, res.stopped_by
        outcome.recovered += res.recovered
    finally:
        if bar is not None:
            bar.close()
    outcome.finished = storage_mod.count_finished(study)
    outcome.test_scores = record_test_scores(prepared, study, refits=outcome.refits)
    from automl import ensemble

    deadline = started + timeout if timeout is not None else None
    # The ensemble's refits may end up to a tenth of the budget past it (a 10 s budget: 1 s). A floor of 2 s let a
    # 10 s run on digits (one validation split, 1 s refits) end 12.1 s after launch, prediction included.
    outcome.ensemble = ensemble.build(prepared, study, url, refits=outcome.refits, deadline=deadline,
                                      slack=ENSEMBLE_SLACK * timeout if timeout is not None else 0.0)
    record_baselines(prepared, study, outcome, deadline=deadline)
    return outcome


def record_baselines(prepared: Prepared, study: optuna.Study, outcome: RunOutcome, deadline: float | None) -> None:
    """The report's baselines (the trainer's defaults, a constant predictor) on the test split; see report.record."""
    from automl.report import record as report_record

    def test_of(t: optuna.trial.FrozenTrial) -> dict[str, float]:
        return outcome.test_scores.get(t.number) or score_on_test(prepared, t)

    report_record.at_end(prepared, study, test_of=test_of, deadline=deadline)



def _best_text(study: optuna.Study) -> str:
    try:
        if len(study.directions) > 1:
            return f"pareto={len(study.best_trials)}"
        return f"best={study.best_value:.6g}"
    except ValueError:
        return ""



TEST_ATTR = attrs.TEST_SCORES

#: Which model the stored test scores are of (the CLI and the report label it; export's is always a refit).
TEST_OF_ATTR = attrs.TEST_SCORES_OF



def record_test_scores(prepared: Prepared, study: optuna.Study, max_trials: int = 5,
                       refits: dict[int, Any] | None = None) -> dict[int, dict[str, float]]:
    """Retrain the best trial (or up to 5 Pareto-optimal ones) and score it once on the test split.

    Stored as the study user attribute ``automl:test_scores`` = {trial number: {metric: value}}.
    """
    data = prepared.data
    if data is None or getattr(data, "test", None) is None:
        return {}
    try:
        best = study.best_trials if len(study.directions) > 1 else [study.best_trial]
    except ValueError:
        return {}
    stored = {int(k): v for k, v in (study.user_attrs.get(TEST_ATTR) or {}).items()}
    for t in best[:max_trials]:
        if t.number in stored:
            continue
        stored[t.number] = score_on_test(prepared, t, refits)
    keep = {t.number for t in best[:max_trials]}
    stored = {k: v for k, v in stored.items() if k in keep}
    study.set_user_attr(TEST_ATTR, {str(k): v for k, v in stored.items()})
    if not getattr(prepared.trainer, "trains", True):
        of = "used as it is with the trial's settings, nothing trained"
    else:
        of = "refit on train+valid" if getattr(data, "folds", None) else "trained on the train split"
    study.set_user_attr(TEST_OF_ATTR, of)
    return stored



def score_on_test(prepared: Prepared, t: optuna.trial.FrozenTrial, refits: dict[int, Any] | None = None) -> dict[str, float]:
    """Retrain a complete trial's configuration (refit on train+valid for CV studies) and score it on the test split."""
    from automl.trainers.base import FitContext

    data = prepared.data
    ctx = FitContext(metric=prepared.metrics[0], task=prepared.task, threads=workers_threads(1), seed=prepared.spec.seed or 0)
    params, fit_on = {**prepared.fixed, **t.params}, data
    if getattr(data, "folds", None):
        # Cross-validated trials have no model trained on one split: refit on train+valid, as export does.
        from automl.data import refit_data

        params, fit_on = prepared.trainer.final_params(params, t.user_attrs), refit_data(data)
    result = prepared.trainer.fit(params, fit_on, lambda *a, **k: None, ctx)
    if fit_on is not data and refits is not None:
        refits[t.number] = result  # the model `automl export` would fit: `run --export` reuses it
    values = prepared.trainer.evaluate(result, fit_on, "test", prepared.metrics)
    return {m.name: float(v) for m, v in zip(prepared.metrics, values, strict=False) if math.isfinite(v)}
