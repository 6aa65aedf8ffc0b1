"""Run a prepared study (:func:`automl.spec.prepare`): open or create it, the optimize loop (exact budget, timeout,
stale-trial recovery, progress), and the best trial's test score."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from automl import manifest, samplers, space
from automl import storage as storage_mod
from automl.errors import (
    SearchSpaceChangedError,
    StorageError,
)
from automl.spec.resolve import Prepared, choose_cv, prepare  # noqa: F401 - re-exported (automl.runner.prepare)

SPACE_ATTR = "automl:space"


def workers_threads(jobs: int) -> int:
    from automl.parallel import threads_per_worker

    return threads_per_worker(jobs)


def open_or_create(prepared: Prepared, url: str, *, force: bool = False, seed: int | None = None,
                   budget: int | None = None) -> optuna.Study:
    """Resume the study if it exists (checking its search space), else create it (queuing at most ``budget``
    warm-start trials)."""
    spec = prepared.spec
    storage = storage_mod.open_storage(url)
    n_obj = len(prepared.metrics)
    sampler = samplers.make_sampler(spec.sampler, seed=spec.seed if seed is None else seed, n_objectives=n_obj, grid=prepared.grid)
    pruner = samplers.study_pruner(prepared)
    fp = space.fingerprint(prepared.params)
    name = spec.study_name
    if name not in storage_mod.study_names(storage):
        try:
            study = optuna.create_study(
                storage=storage, study_name=name, directions=prepared.directions, sampler=sampler, pruner=pruner,
            )
        except optuna.exceptions.DuplicatedStudyError:
            pass  # created meanwhile by another worker or machine: resume it below, with every check
        else:
            complete_attrs(study, prepared, fp, budget=budget)
            return study
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    base_seed = spec.seed if seed is None else seed
    if base_seed is not None and study.trials:
        # A resumed run must not replay the first run's random draws: derive the seed from the history.
        study.sampler = samplers.make_sampler(
            spec.sampler, seed=base_seed + len(study.trials), n_objectives=n_obj, grid=prepared.grid
        )
    stored_dirs = [d.name.lower() for d in study.directions]
    if stored_dirs != prepared.directions:
        raise SearchSpaceChangedError(
            f"{spec.label}: metric: the stored study {name!r} optimizes {stored_dirs}, this file {prepared.directions}; "
            "use another name or storage"
        )
    stored = study.user_attrs.get(SPACE_ATTR)
    if stored is not None and not force:
        diff = space.changed(stored, fp)
        if diff:
            raise SearchSpaceChangedError(
                f"{spec.label}: params.{diff[0]}: the search space changed since the study was created "
                f"({', '.join(diff)}); rename the study, use another storage, or pass --force"
            )
    if force or stored is None:
        study.set_user_attr(SPACE_ATTR, fp)
    if COMPLETE_ATTR not in study.user_attrs:
        # Killed between creating the study and writing its attributes (or made by plain Optuna): finish it.
        complete_attrs(study, prepared, fp, budget=budget)
    manifest.on_resume(study, prepared)  # warns if the data file changed; records this run's manifest
    return study


#: Written last when a study is created, so a study without it was left half-created (see complete_attrs).
COMPLETE_ATTR = "automl:complete"


def complete_attrs(study: optuna.Study, prepared: Prepared, fp: Any, *, budget: int | None = None) -> None:
    """Write the automl study attributes the study lacks, then the ``automl:complete`` marker.

    Optuna writes each attribute on its own, so a kill between creating a study and its last attribute
    leaves a study without some of them; the next run calls this again and completes it (attributes already
    there, such as an older data fingerprint, are kept so their checks still apply)."""
    have = study.user_attrs
    for k, v in {SPACE_ATTR: fp, **study_attrs(prepared)}.items():
        if k not in have:
            study.set_user_attr(k, v)
    if all(t.state == TrialState.WAITING for t in study.get_trials(deepcopy=False)):
        enqueue_warm_start(prepared, study, budget=budget)  # queued once, before any trial ran (a study run elsewhere keeps its own)
    study.set_user_attr(COMPLETE_ATTR, True)


WARM_ATTR = "automl:warm_start"  # on a trial: where its parameters came from; on the study: how many were queued


def enqueue_warm_start(prepared: Prepared, study: optuna.Study, *, budget: int | None = None) -> int:
    """Queue the trainer's warm-start configurations (``warm_start(task)``: its defaults, a mined portfolio) as
    the study's first trials, each tagged with ``automl:warm_start``; the sampler takes over after them.

    Done once, when the study is created (a resume never re-queues). Each configuration is restricted to the
    study's space (:func:`automl.space.project`): one outside a user's ``params:`` ranges is skipped. Grid
    studies walk their grid instead. At most ``budget`` are queued, so a short study leaves none waiting (the rest
    of the portfolio is not queued later: a resume hands over to the sampler)."""
    hook = getattr(prepared.trainer, "warm_start", None)
    if hook is None or prepared.grid is not None or study.user_attrs.get(WARM_ATTR) is not None:
        return 0
    seen: list[dict[str, Any]] = []
    for tag, config in hook(prepared.task):
        params = space.project(config, prepared.params)
        if params is None or params in seen:
            continue
        if budget is not None and len(seen) >= budget:
            break
        seen.append(params)
        study.enqueue_trial(params, user_attrs={WARM_ATTR: tag}, skip_if_exists=True)
    study.set_user_attr(WARM_ATTR, len(seen))
    return len(seen)


def study_attrs(prepared: Prepared) -> dict[str, Any]:
    from automl._version import __version__

    spec = prepared.spec
    return {
        "automl:version": __version__,
        "automl:model": spec.model,
        "automl:metric": [m.name for m in prepared.metrics],
        "automl:task": prepared.task,
        "automl:data": str(spec.data.path),
        "automl:data_fingerprint": getattr(prepared.data, "fingerprint", ""),
        # The stored copy of the study file, with the passwords of any URL in it (storage:) masked.
        "automl:study_file": storage_mod.redact_obj(spec.model_dump(mode="json", exclude_none=True)),
        manifest.MANIFEST_ATTR: manifest.build(spec, prepared.data),
    }


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
    if prepared.grid is not None:
        budget = min(budget, space.grid_size(prepared.grid))
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

    ``jobs`` > 1 runs that many worker processes (``automl.parallel``); each claims trial slots under a
    lock shared with every other worker of the study, here or on other machines, so the total is exact.

    ``timeout`` counts from ``started`` (``time.time()``, default: now). A worker starts no trial it expects to
    end past the deadline (the median of its trials so far), and leaves room for the best trial's test refit.
    """
    from automl import parallel

    spec = prepared.spec
    budget = budget_of(prepared, trials)
    timeout = timeout if timeout is not None else spec.timeout
    started = time.time() if started is None else started
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if jobs > 1 and not parallel.shared_between_processes(url):
        raise StorageError(f"--jobs {jobs} needs a storage that processes share (sqlite, postgresql, journal), not {storage_mod.mask(url)}")
    parallel.poll_seconds()  # a bad $AUTOML_POLL_SECONDS is refused before anything is written
    study = open_or_create(prepared, url, force=force, budget=budget)
    outcome = RunOutcome(study, url=url)
    with parallel.claim_lock(study, url):
        outcome.recovered = storage_mod.recover_stale_trials(study)

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
            res = parallel.run_workers(prepared, study, url, jobs=jobs, budget=budget, timeout=left, progress=show)
            outcome.died = res.died
        else:
            deadline = started + timeout if timeout is not None else None
            res = parallel.work(prepared, study, url, budget=budget, deadline=deadline,
                                threads=parallel.threads_per_worker(1), after_trial=after_trial)
        outcome.added, outcome.stopped_by = res.added, res.stopped_by
        outcome.recovered += res.recovered
    finally:
        if bar is not None:
            bar.close()
    outcome.finished = storage_mod.count_finished(study)
    outcome.test_scores = record_test_scores(prepared, study, refits=outcome.refits)
    from automl import ensemble

    deadline = started + timeout if timeout is not None else None
    outcome.ensemble = ensemble.build(prepared, study, url, refits=outcome.refits, deadline=deadline,
                                      slack=max(2.0, 0.1 * timeout) if timeout is not None else 0.0)
    return outcome


def _best_text(study: optuna.Study) -> str:
    try:
        if len(study.directions) > 1:
            return f"pareto={len(study.best_trials)}"
        return f"best={study.best_value:.6g}"
    except ValueError:
        return ""


TEST_ATTR = "automl:test_scores"
#: Which model the stored test scores are of (the CLI and the report label it; export's is always a refit).
TEST_OF_ATTR = "automl:test_scores_of"


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
    from automl.trainers.base import FitContext

    for t in best[:max_trials]:
        if t.number in stored:
            continue
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
        stored[t.number] = {m.name: float(v) for m, v in zip(prepared.metrics, values, strict=False) if math.isfinite(v)}
    keep = {t.number for t in best[:max_trials]}
    stored = {k: v for k, v in stored.items() if k in keep}
    study.set_user_attr(TEST_ATTR, {str(k): v for k, v in stored.items()})
    study.set_user_attr(TEST_OF_ATTR, "refit on train+valid" if getattr(data, "folds", None) else "trained on the train split")
    return stored
