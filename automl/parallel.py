"""Many workers on one study: worker processes, race-free budget claiming, heartbeats.

Every worker (a process of ``automl run --jobs N`` here, or an ``automl run`` on another machine) runs the
same loop, :func:`work`:

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
attribute. ``storage.recover_stale_trials`` fails trials of dead local processes at once and trials whose
heartbeat is older than the grace period, then enqueues their parameters again.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from automl import _optuna_compat as compat
from automl import storage as storage_mod
from automl.cpu import cores, threads_per_worker  # noqa: F401 - automl.parallel.cores, as before
from automl.errors import AutomlError, StorageError, TooManyFailuresError

#: Seconds between two looks at the storage while every remaining slot is taken by a running trial
#: (default of $AUTOML_POLL_SECONDS, read when a run starts).
POLL_SECONDS = 0.5
#: Tests only: seconds each trial sleeps inside the trainer's fit (after its parameters are sampled),
#: so a test can kill a worker in the middle of a trial.
TEST_SLEEP_ENV = "AUTOML_TEST_TRIAL_SLEEP"

STOP = "stop"
WAIT = "wait"


def poll_seconds() -> float:
    return storage_mod.env_seconds("AUTOML_POLL_SECONDS", POLL_SECONDS)


def derive_seed(seed: int | None, index: int) -> int | None:
    """Worker ``index``'s sampler seed: the study seed for worker 0, a fixed mix of both for the others."""
    if seed is None:
        return None
    if index == 0:
        return seed
    return zlib.crc32(f"{seed}:{index}".encode()) & 0x7FFFFFFF


# -- the claim lock ----------------------------------------------------------------------------------------
class _FileLock:
    """An exclusive ``flock`` on a file; the OS drops it when the process dies (kill -9 included)."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None
        self._thread = threading.Lock()

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            import fcntl
        except ImportError:  # Windows
            import filelock

            self._fl = filelock.FileLock(self.path, preserve_lock_file=True)
            self._fl.acquire()
            return
        if self._fd is None:  # opened once, kept open between claims
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._fd is not None:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_UN)
            else:
                self._fl.release()
        finally:
            self._thread.release()

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


class _SQLLock:
    """A server-side lock held on its own connection: released on unlock or when the connection drops."""

    def __init__(self, engine: Any, dialect: str, study_name: str):
        self.engine, self.dialect = engine, dialect
        key = zlib.crc32(study_name.encode())
        self.key = key - (1 << 32) if key >= 1 << 31 else key  # PostgreSQL wants a signed int4
        self.name = f"automl:{study_name}"[:64]
        self._conn: Any = None
        self._thread = threading.Lock()

    def __enter__(self) -> None:
        import sqlalchemy

        self._thread.acquire()
        try:
            conn = self.engine.connect()
            if self.dialect == "postgresql":
                conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(1635087471, :k)"), {"k": self.key})
            else:  # mysql
                conn.execute(sqlalchemy.text("SELECT GET_LOCK(:n, -1)"), {"n": self.name})
            conn.commit()
            self._conn = conn
        except BaseException:
            self._thread.release()
            raise

    def __exit__(self, *exc: Any) -> None:
        import sqlalchemy

        conn, self._conn = self._conn, None
        try:
            if self.dialect == "postgresql":
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(1635087471, :k)"), {"k": self.key})
            else:
                conn.execute(sqlalchemy.text("SELECT RELEASE_LOCK(:n)"), {"n": self.name})
            conn.commit()
        finally:
            conn.close()
            self._thread.release()


def claim_lock(study: optuna.Study, url: str) -> Any:
    """The lock every worker of ``study`` (any process, any machine) takes to claim a trial slot."""
    rdb = storage_mod.rdb_of(compat.storage_of(study))
    if rdb is not None and rdb.engine.dialect.name in ("postgresql", "mysql"):
        return _SQLLock(rdb.engine, rdb.engine.dialect.name, study.study_name)
    path = storage_mod.file_of(url)
    if path is not None and str(path) != ":memory:":
        return _FileLock(f"{path}.claim-lock")
    return threading.Lock()


def shared_between_processes(url: str) -> bool:
    return not (url in ("memory", "inmemory", ":memory:") or url.rstrip("/").endswith(":memory:"))


# -- one trial -----------------------------------------------------------------------------------------
def claim(study: optuna.Study, budget: int, recovered: list[int] | None = None) -> optuna.Trial | str:
    """Call under :func:`claim_lock`: a new RUNNING trial, or STOP / WAIT. Stale RUNNING trials are failed
    and requeued first (their numbers are appended to ``recovered``)."""
    counts = storage_mod.count_states(study)
    if counts.get(TrialState.RUNNING, 0):
        found = storage_mod.recover_stale_trials(study)
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
        return study.ask()


class _JournalHeartbeat:
    """One daemon thread per worker that writes ``automl:heartbeat`` = time.time() into the trial being run
    every HEARTBEAT_INTERVAL seconds (a thread per trial cost ~1 ms per trial to start and join)."""

    def __init__(self, storage: optuna.storages.BaseStorage, interval: float):
        self.storage, self.interval = storage, interval
        self.trial_id: int | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _beat(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:  # held while writing: no beat lands after the trial was told
                if self.trial_id is None:
                    continue
                try:
                    self.storage.set_trial_system_attr(self.trial_id, storage_mod.HEARTBEAT_ATTR, time.time())
                except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
                    self.trial_id = None  # failed by a reaper meanwhile

    @contextlib.contextmanager
    def running(self, trial_id: int) -> Iterator[None]:
        with self._lock:
            self.trial_id = trial_id
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="automl-heartbeat", daemon=True)
            self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self.trial_id = None


_BEATS: dict[int, _JournalHeartbeat] = {}


def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Any:
    """Optuna's heartbeat thread on SQL storages, ours on journal files, none in memory."""
    storage = compat.storage_of(study)
    if compat.heartbeat_enabled(storage):
        return compat.heartbeat_thread(compat.trial_id(trial), storage)
    if storage_mod.is_journal(storage):
        beat = _BEATS.get(id(storage))
        if beat is None or beat.storage is not storage:
            beat = _BEATS[id(storage)] = _JournalHeartbeat(storage, storage_mod.heartbeat_seconds())
        return beat.running(compat.trial_id(trial))
    return contextlib.nullcontext()


def run_trial(study: optuna.Study, trial: optuna.Trial, objective: Callable[[optuna.Trial], Any]) -> optuna.trial.FrozenTrial:
    """Run ``objective`` on a claimed trial and tell the study, as ``study.optimize`` does for one trial."""
    import warnings

    state: TrialState | None = None
    values: Any = None
    err: BaseException | None = None
    with compat.inside_optimize_loop(study):
        with heartbeat(study, trial):
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
            storage_mod.retry_trial(study, frozen)  # as a killed worker's trial is: its parameters run again
        raise err
    return frozen


class _SlowTrainer:
    """Tests only (``AUTOML_TEST_TRIAL_SLEEP``): the trainer, sleeping at the start of each fit."""

    def __init__(self, trainer: Any, seconds: float):
        self._trainer, self._seconds = trainer, seconds

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._trainer, name)
        if name != "fit_cv":
            return found

        def fit_cv(*args: Any, **kwargs: Any) -> Any:  # cross-validated trials sleep too
            time.sleep(self._seconds)
            return found(*args, **kwargs)

        return fit_cv

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(self._seconds)
        return self._trainer.fit(*args, **kwargs)


# -- one worker ----------------------------------------------------------------------------------------
@dataclass
class WorkerResult:
    added: int = 0
    recovered: list[int] = field(default_factory=list)
    stopped_by: str = "budget"


def resume_seed(seed: int | None, study: optuna.Study) -> int | None:
    """The run's base sampler seed: the study file's, offset by the trials the study already holds, so a
    resumed run (single or ``--jobs N``) does not replay the first run's random draws."""
    if seed is None:
        return None
    n = len(study.get_trials(deepcopy=False))
    return seed + n if n else seed


def load_for_worker(prepared: Any, url: str, index: int, seed: int | None = None) -> optuna.Study:
    """Load the (existing) study with this worker's own sampler seed (derived from ``seed``, by default the
    study file's)."""
    from automl import samplers

    spec = prepared.spec
    n_obj = len(prepared.metrics)
    base = spec.seed if seed is None else seed
    sampler = samplers.make_sampler(spec.sampler, seed=derive_seed(base, index), n_objectives=n_obj, grid=prepared.grid)
    pruner = samplers.study_pruner(prepared)
    return optuna.load_study(study_name=spec.study_name, storage=storage_mod.open_storage(url), sampler=sampler, pruner=pruner)


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
    from dataclasses import replace

    from automl.objective import make_objective

    sleep = float(os.environ.get(TEST_SLEEP_ENV) or 0)
    if sleep > 0:
        prepared = replace(prepared, trainer=_SlowTrainer(prepared.trainer, sleep))
    from automl import ensemble

    recorder = ensemble.Recorder(url, prepared.metrics[0].greater_is_better) if ensemble.supported(prepared, url) else None
    objective = make_objective(prepared, threads=threads or threads_per_worker(1), deadline=deadline, recorder=recorder)
    lock = claim_lock(study, url)
    poll = poll_seconds()
    result = WorkerResult()
    failures = 0
    durations: list[float] = []
    while True:
        if stop is not None and stop():
            result.stopped_by = "stopped"
            break
        # Past the deadline a run still starts one trial when the study has no complete trial (cut short at the
        # deadline, it is something to hand over); else no trial that would end past it.
        if deadline is not None and time.time() + _expected(durations, prepared) >= deadline and (
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
        if after_trial is not None:
            after_trial(study, frozen)
    return result


def _expected(durations: list[float], prepared: Any) -> float:
    """Seconds a next trial is expected to take (the median of this worker's trials), plus the refit that ends
    the run (:func:`automl.objective.refit_share` of it)."""
    from automl.objective import refit_share

    if not durations:
        return 0.0
    typical = sorted(durations)[len(durations) // 2]
    return typical * (1 + refit_share(prepared.data))


# -- N worker processes --------------------------------------------------------------------------------
def _child(spec: Any, url: str, budget: int, deadline: float | None, index: int, threads: int, queue: Any, stop: Any,
           parent: int, seed: int | None = None) -> None:
    """Entry point of a worker process (multiprocessing 'spawn')."""
    import sys

    os.environ["OMP_NUM_THREADS"] = str(threads)  # before LightGBM/torch load their OpenMP runtime
    from automl.spec import prepare

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        prepared = prepare(spec)
        study = load_for_worker(prepared, url, index, seed)
        res = work(prepared, study, url, budget=budget, deadline=deadline, threads=threads,
                   stop=lambda: stop.is_set() or os.getppid() != parent)
        queue.put(("done", index, res.added, res.recovered, res.stopped_by))
    except AutomlError as e:
        stop.set()
        queue.put(("error", index, type(e).__name__, str(e), e.exit_code))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - reported to the parent as one line, then re-raised here
        stop.set()
        queue.put(("error", index, type(e).__name__, f"worker {index}: {e.__class__.__name__}: {e}", 1))
        raise


@dataclass
class ParallelOutcome:
    added: int = 0
    recovered: list[int] = field(default_factory=list)
    stopped_by: str = "budget"
    died: list[str] = field(default_factory=list)


def run_workers(
    prepared: Any,
    study: optuna.Study,
    url: str,
    *,
    jobs: int,
    budget: int,
    timeout: float | None = None,
    progress: Any = None,
) -> ParallelOutcome:
    """Start ``jobs`` worker processes on the (already created) study and wait for them.

    ``progress(finished)`` is called about twice a second with the study's finished-trial count. A worker
    killed mid-trial is reported in ``died``; its trial is failed and retried by the workers still alive.
    """
    import multiprocessing as mp
    import queue as queue_mod

    if not shared_between_processes(url):
        raise StorageError(f"--jobs {jobs} needs a storage that processes share (sqlite, postgresql, journal), not {storage_mod.mask(url)}")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    stop = ctx.Event()
    deadline = time.time() + timeout if timeout is not None else None
    threads = threads_per_worker(jobs)
    poll = poll_seconds()
    seed = resume_seed(prepared.spec.seed, study)
    procs = [
        ctx.Process(target=_child, name=f"automl-worker-{i}",
                    args=(prepared.spec, url, budget, deadline, i, threads, q, stop, os.getpid(), seed))
        for i in range(jobs)
    ]
    out = ParallelOutcome()
    errors: list[tuple[str, str, int]] = []
    lock = claim_lock(study, url)
    seen_dead: set[int] = set()

    def drain() -> None:
        while True:
            try:
                msg = q.get_nowait()
            except queue_mod.Empty:
                return
            if msg[0] == "done":
                out.added += msg[2]
                out.recovered += msg[3]
                if msg[4] == "timeout":
                    out.stopped_by = "timeout"
            else:
                errors.append((msg[2], msg[3], msg[4]))

    try:
        for p in procs:
            p.start()
        while True:
            alive = [p.is_alive() for p in procs]  # is_alive() also reaps a dead child
            drain()
            for i, p in enumerate(procs):
                if not alive[i] and i not in seen_dead and p.exitcode is not None and p.exitcode < 0:
                    seen_dead.add(i)
                    out.died.append(f"worker {i} (pid {p.pid}) ended by signal {-p.exitcode}")
                    with lock:
                        out.recovered += storage_mod.recover_stale_trials(study)
            if progress is not None:
                progress(storage_mod.count_finished(study))
            if not any(alive):
                break
            time.sleep(poll)
        drain()
    except KeyboardInterrupt:
        stop.set()
        for p in procs:
            p.join(timeout=30)
        raise
    finally:
        for p in procs:
            if p.is_alive():
                p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        q.close()
    if errors:
        name, message, code = errors[0]
        from automl import errors as errors_mod

        cls = getattr(errors_mod, name, None)
        if isinstance(cls, type) and issubclass(cls, AutomlError) and not issubclass(cls, errors_mod.StudyFileError):
            raise cls(message)
        err = AutomlError(message)
        err.exit_code = code
        raise err
    finished = storage_mod.count_finished(study)
    if out.died and out.stopped_by != "timeout" and finished < budget:
        raise AutomlError(
            f"{'; '.join(out.died)}: the study holds {finished} of {budget} finished trials; "
            "run the same command again to resume (trials the dead workers left running are retried)"
        )
    return out
