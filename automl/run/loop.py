"""One worker's loop on a study: claim a trial slot under the study's lock, run the trial, tell the study.

1. Under the study's **claim lock** (a file lock beside a SQLite/journal file, ``pg_advisory_lock`` on
   PostgreSQL, ``GET_LOCK`` on MySQL, a thread lock in memory): fail and requeue stale trials, count
   finished (COMPLETE + PRUNED) and RUNNING trials; stop when ``finished >= budget``; wait when
   ``finished + running >= budget`` (a running trial may still fail and free its slot); else ``study.ask()``
   (which takes a WAITING retry first) and tag the trial with this worker. Counting and creating under one
   lock is what makes the total exact: two workers can never both take the last slot.
2. Outside the lock: run the objective (``automl.objective``, unchanged) with a heartbeat thread, then
   ``study.tell`` as ``study.optimize`` would (TrialPruned -> PRUNED, an exception -> FAIL with its reason).

Heartbeats: SQL storages use Optuna's heartbeat table (``heartbeat_interval``/``grace_period``); Optuna's
journal storage has none, so a thread writes ``time.time()`` into the trial's ``automl:heartbeat`` system
attribute. ``automl.run.recovery.recover_stale_trials`` fails trials of dead local processes at once and trials whose
heartbeat is older than the grace period, then enqueues their parameters again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from automl import _optuna_compat as compat
from automl import storage as storage_mod
from automl.cpu import cores, threads_per_worker  # noqa: F401 - automl.run.loop.cores, as before
from automl.errors import TooManyFailuresError
from automl.run import recovery
from automl.run.locks import FileLock, SQLLock, lock_for  # noqa: F401 - FileLock/SQLLock: automl.run.loop's names, as before

#: Seconds between two looks at the storage while every remaining slot is taken by a running trial
#: (default of $AUTOML_POLL_SECONDS, read when a run starts).
POLL_SECONDS = 0.5

STOP = "stop"
WAIT = "wait"



def poll_seconds() -> float:
    return storage_mod.env_seconds("AUTOML_POLL_SECONDS", POLL_SECONDS)



def claim_lock(study: optuna.Study, url: str) -> Any:
    """The lock every worker of ``study`` (any process, any machine) takes to claim a trial slot.

    Behind a gRPC proxy the proxy takes the study's lock itself whenever a trial starts (automl/proxy.py), so a
    worker's claim needs none of its own; a proxy that would not is refused here."""
    storage = compat.storage_of(study)
    if storage_mod.is_grpc(storage):
        from automl import proxy

        proxy.check_gate(storage, url)
        return contextlib.nullcontext()
    return lock_for(storage_mod.rdb_of(storage), study.study_name, storage_mod.file_of(url))



# -- one trial -----------------------------------------------------------------------------------------
_NEXT_SCAN: dict[tuple[int, int], float] = {}


def _scan_due(study: optuna.Study) -> bool:
    """Whether this worker looks for stale trials in this claim: on its first, then once per heartbeat interval.
    The look reads every RUNNING trial, so doing it in every claim made a claim's time under the lock grow with
    the number of workers; a stale trial is still found within one interval of its grace period's end (a killed
    local worker at once, by its ``--jobs`` parent or the next run's start)."""
    key, now = (id(compat.storage_of(study)), compat.study_id(study)), time.monotonic()
    if now < _NEXT_SCAN.get(key, 0.0):
        return False
    _NEXT_SCAN[key] = now + storage_mod.heartbeat_seconds()
    return True


def claim(study: optuna.Study, budget: int, recovered: list[int] | None = None) -> optuna.Trial | str:
    """Call under :func:`claim_lock`: a new RUNNING trial, or STOP / WAIT. Stale RUNNING trials are failed
    and requeued first (their numbers are appended to ``recovered``), by each worker once per heartbeat interval."""
    counts = storage_mod.count_states(study)
    if counts.get(TrialState.RUNNING, 0) and _scan_due(study):
        found = recovery.recover_stale_trials(study)
        if found:
            if recovered is not None:
                recovered += found
            counts = storage_mod.count_states(study)
    finished = sum(counts.get(s, 0) for s in storage_mod.FINISHED)
    if finished >= budget:
        return STOP
    if finished + counts.get(TrialState.RUNNING, 0) >= budget:
        return WAIT
    # The objective tags the trial with this worker first thing; until the first heartbeat the trial's start
    # time stands in for it, so a worker that dies right here is still recovered after the grace period.
    with storage_mod.quiet_heartbeat_warnings():
        try:
            return study.ask()
        except Exception as e:
            from automl.proxy import is_refusal

            if is_refusal(e):  # a gRPC proxy's gate: another worker took the last slot meanwhile
                return WAIT
            raise



def run_trial(study: optuna.Study, trial: optuna.Trial, objective: Callable[[optuna.Trial], Any]) -> optuna.trial.FrozenTrial:
    """Run ``objective`` on a claimed trial and tell the study, as ``study.optimize`` does for one trial."""
    import warnings

    state: TrialState | None = None
    values: Any = None
    err: BaseException | None = None
    with compat.inside_optimize_loop(study):
        with recovery.heartbeat(study, trial):
            try:
                values = objective(trial)
            except optuna.TrialPruned:
                state = TrialState.PRUNED
            except (Exception, KeyboardInterrupt) as e:
                state, err = TrialState.FAIL, e
        interrupted = isinstance(err, KeyboardInterrupt)
        if interrupted:
            trial.set_user_attr("fail_reason", "interrupted (Ctrl-C); its parameters are retried by the next run")
        # A value Optuna cannot store (None, NaN, the wrong count) fails the trial with a warning: caught here, it
        # becomes the reason in the one log line below. A trial a reaper failed meanwhile is left as it is.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frozen = study.tell(trial, values, state=state, skip_if_finished=True)
    warning = None
    if frozen.state == TrialState.FAIL and state is None and caught:
        warning = str(caught.pop().message)  # Optuna's "could not be cast" note, the trial's last word
    for w in caught:  # any other warning goes on as it came
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    logger = optuna.logging.get_logger("optuna")
    if frozen.state == TrialState.FAIL:
        from automl.objective import describe

        why = describe(err) if err is not None else warning
        logger.warning(f"Trial {trial.number} failed with parameters: {trial.params} because of the following error: {why}.")
    if interrupted:
        if frozen.state == TrialState.FAIL:
            recovery.retry_trial(study, frozen)  # as a killed worker's trial is: its parameters run again
        raise err
    return frozen



@dataclass
class WorkerResult:
    added: int = 0
    recovered: list[int] = field(default_factory=list)
    stopped_by: str = "budget"



def work(
    prepared: Any,
    study: optuna.Study,
    url: str,
    *,
    budget: int,
    deadline: float | None = None,
    threads: int | None = None,
    stop: Callable[[], bool] | None = None,
    after_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> WorkerResult:
    """Claim and run trials until the study holds ``budget`` finished trials, ``deadline`` (time.time())
    passes or ``stop()`` says so. Raises TooManyFailuresError after ``max_failures`` own failures in a row."""
    from automl import ensemble
    from automl.objective import make_objective

    recorder = ensemble.Recorder(url, prepared.metrics[0].greater_is_better) if ensemble.supported(prepared, url) else None
    # The run ends with the refit of its best trial: with trials of very different cost (model: auto, where a
    # CatBoost trial can take 60x a linear one) the time a later trial leaves must cover that refit, not only a
    # typical trial's. Before, a 60 s model: auto study on diamonds ran 69-80 s: a 19 s CatBoost trial was best
    # and its 24 s refit came after two forests had used the time.
    best = _Best(prepared.metrics[0].greater_is_better if len(prepared.metrics) == 1 else None)
    objective = make_objective(prepared, threads=threads or threads_per_worker(1), deadline=deadline, recorder=recorder,
                               reserve=best.refit_seconds)
    lock = claim_lock(study, url)
    poll = poll_seconds()
    result = WorkerResult()
    failures = 0
    durations: list[float] = []
    complete_before = storage_mod.count_states(study).get(TrialState.COMPLETE, 0) if deadline is not None else 0
    while True:
        if stop is not None and stop():
            result.stopped_by = "stopped"
            break
        # Past the deadline a run still starts one trial when the study has no complete trial (cut short at the
        # deadline, it is something to hand over); else no trial that would end past it.
        if deadline is not None and time.time() + _expected(durations, prepared, complete_before + result.added + 1,
                                                            best.refit_seconds()) >= deadline and (
            result.added or storage_mod.count_states(study).get(TrialState.COMPLETE, 0)
        ):
            result.stopped_by = "timeout"
            break
        with lock:
            got = claim(study, budget, result.recovered)
        if got == STOP:
            result.stopped_by = "budget"
            break
        if got == WAIT:
            time.sleep(poll)
            continue
        t_trial = time.time()
        frozen = run_trial(study, got, objective)
        durations.append(time.time() - t_trial)
        if frozen.state == TrialState.FAIL:
            failures += 1
            if failures >= prepared.spec.max_failures:
                reason = frozen.user_attrs.get("fail_reason", "see the trial's fail_reason")
                raise TooManyFailuresError(
                    f"{prepared.spec.label}: stopped after {failures} failed trials in a row; last: {reason}"
                )
        else:
            failures = 0
            result.added += 1
            best.saw(frozen)
        if after_trial is not None:
            after_trial(study, frozen)
    return result



class _Best:
    """This worker's best complete trial so far and the seconds its refit is expected to take (single-objective
    studies; ``greater`` None: multi-objective, nothing kept)."""

    def __init__(self, greater: bool | None):
        self.greater, self.value, self.refit = greater, None, 0.0

    def saw(self, frozen: optuna.trial.FrozenTrial) -> None:
        import math

        from automl.ensemble import trial_refit_seconds

        if self.greater is None or frozen.state != TrialState.COMPLETE or frozen.value is None or not math.isfinite(frozen.value):
            return
        if self.value is None or (frozen.value > self.value if self.greater else frozen.value < self.value):
            self.value, self.refit = frozen.value, trial_refit_seconds(frozen)

    def refit_seconds(self) -> float:
        return self.refit


def _expected(durations: list[float], prepared: Any, complete: int | None = None, reserve: float = 0.0) -> float:
    """Seconds a next trial is expected to take (the median of this worker's trials), plus the refit that ends
    the run (:func:`automl.objective.refit_share` of it, for a study of ``complete`` trials after this one), or
    ``reserve`` (the best trial's refit) when longer.

    Counting the ensemble members a study can have, not always 4, matters where a trial takes seconds: on
    digits (1,437 rows, 10 classes, 5-fold CV, 4 s a trial) a 15 s run stopped after its first trial, 6 s before
    its deadline, keeping time to refit 4 members of an ensemble that one trial cannot make. Starting a trial when
    only half of one fits (cut short at the deadline) was tried and not kept: it did not help digits at 15 s and
    made 60 s flights runs end up to 9.8 s late (benchmarks/results/suite-wallclock-partial-start.md)."""
    from automl.objective import refit_share

    if not durations:
        return 0.0
    typical = sorted(durations)[len(durations) // 2]
    return typical + max(typical * refit_share(prepared.data, complete), reserve)
