"""Open or resume a study: SQLite, PostgreSQL, journal file; stale-trial recovery; password masking.

URL forms: ``sqlite:///rel.db`` (relative to the study file) / ``sqlite:////abs.db``,
``postgresql+psycopg://user:pass@host/db``, ``journal:///rel.log`` / ``journal:////abs.log``.
The URL comes from ``--storage``, else ``$AUTOML_STORAGE``, else the study file, else ``<name>.db``
beside the study file.
"""

from __future__ import annotations

import os
import re
import socket
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from automl.errors import StorageError

ENV_VAR = "AUTOML_STORAGE"
HEARTBEAT_INTERVAL = int(os.environ.get("AUTOML_HEARTBEAT_INTERVAL", "10"))
GRACE_PERIOD = int(os.environ.get("AUTOML_GRACE_PERIOD", "60"))
MAX_RETRY = 3

# Heartbeats are "experimental" in Optuna 5 but are the documented way to recover stale trials.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
# automl.parallel runs trials with ask/tell and keeps Optuna's heartbeat thread going itself.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def resolve_url(url: str | None, spec: Any | None = None) -> str:
    """The storage URL to use, with relative file paths resolved against the study file's folder."""
    url = url or os.environ.get(ENV_VAR) or (spec.storage if spec is not None else None)
    base = spec.base_dir if spec is not None else Path.cwd()
    if not url:
        if spec is None:
            raise StorageError("no storage given: pass --storage URL or set AUTOML_STORAGE")
        return f"sqlite:///{(base / (spec.study_name + '.db')).as_posix()}"
    for scheme in ("sqlite:///", "journal:///"):
        if url.startswith(scheme):
            rest = url[len(scheme):]
            if rest and not rest.startswith("/") and rest != ":memory:":
                return scheme + (base / rest).resolve().as_posix()
    return url


def mask(url: str) -> str:
    """The URL with its password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def file_of(url: str) -> Path | None:
    for scheme in ("sqlite:///", "journal:///"):
        if url.startswith(scheme):
            return Path(url[len(scheme) - 1:]) if url[len(scheme):].startswith("/") else Path(url[len(scheme):])
    return None


def open_storage(url: str, *, must_exist: bool = False) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; with ``must_exist`` a missing file is an error, not a new study."""
    path = file_of(url)
    if must_exist and path is not None and not path.exists():
        raise StorageError(f"storage not found: {mask(url)} (no file {path}); run the study first or pass --storage")
    try:
        if url.startswith("journal:///"):
            from optuna.storages.journal import JournalFileBackend

            path.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(path), lock_obj=_journal_lock(str(path))))
        if url.startswith("sqlite:"):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            storage = _rdb(
                url,
                engine_kwargs={"connect_args": {"timeout": 60}},
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=retry_trial,
            )
            with storage.engine.connect() as conn:  # WAL lets readers and one writer work at once
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            _sqlite_synchronous_normal(storage.engine)
            return storage
        if url.startswith(("postgresql", "mysql")):
            return _rdb(
                url,
                engine_kwargs={"pool_pre_ping": True, "pool_size": 2, "max_overflow": 4},
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=retry_trial,
            )
        if url in ("memory", "inmemory", ":memory:"):
            return optuna.storages.InMemoryStorage()
    except StorageError:
        raise
    except Exception as e:  # noqa: BLE001 - driver errors vary; one line for the user
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise StorageError(f"cannot open storage {mask(url)}: {first}") from None
    raise StorageError(
        f"unsupported storage URL {mask(url)}; use sqlite:///file.db, postgresql+psycopg://..., or journal:///file.log"
    )


def _journal_lock(path: str) -> Any:
    """The journal's append lock: an ``flock`` (the kernel drops it when its process dies, so a worker killed
    while appending stalls nobody), or Optuna's lock file where there is no fcntl (Windows)."""
    from optuna.storages.journal import JournalFileOpenLock
    from optuna.storages.journal._file import BaseJournalFileLock

    try:
        import fcntl
    except ImportError:
        return JournalFileOpenLock(path)

    class FlockJournalLock(BaseJournalFileLock):
        def __init__(self, lock_path: str) -> None:
            self.lock_path = lock_path
            self._fd: int | None = None

        def acquire(self) -> bool:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fd = fd
            return True

        def release(self) -> None:
            fd, self._fd = self._fd, None
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    return FlockJournalLock(path + ".flock")


def _sqlite_synchronous_normal(engine: Any) -> None:
    """``synchronous=NORMAL`` on every connection: in WAL mode a commit then waits for no fsync (trial.report
    was ~6 ms each). A killed process loses nothing; a power cut may lose the last commits, never the file."""
    import sqlalchemy

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    sqlalchemy.event.listen(engine, "connect", on_connect)
    engine.dispose()  # reopen pooled connections with the pragma


def _rdb(url: str, **kwargs: Any) -> optuna.storages.RDBStorage:
    """RDBStorage(url), tried again when another process is creating the same schema at the same moment
    (several workers or machines starting on a new database)."""
    import random
    import time

    import sqlalchemy.exc

    for attempt in range(4):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError):
            if attempt == 3:
                raise
            time.sleep(0.5 + random.random())
    raise AssertionError("unreachable")


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def load_study(storage: optuna.storages.BaseStorage, name: str, url: str = "") -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        from automl.studyfile import suggest

        names = study_names(storage)
        hint = suggest(name, names) if names else "; the storage holds no study"
        raise StorageError(f"no study named {name!r} in {mask(url)}{hint}") from None


def count_states(study: optuna.Study) -> dict[TrialState, int]:
    """How many trials of the study are in each state; one COUNT query on SQL storages."""
    rdb = rdb_of(study._storage)
    if rdb is not None:
        import sqlalchemy

        with rdb.engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text("SELECT state, COUNT(*) FROM trials WHERE study_id = :sid GROUP BY state"),
                {"sid": study._study_id},
            ).all()
        return {TrialState[str(getattr(state, "name", state))]: int(n) for state, n in rows}
    counts: dict[TrialState, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state] = counts.get(t.state, 0) + 1
    return counts


def count_finished(study: optuna.Study) -> int:
    counts = count_states(study)
    return sum(counts.get(s, 0) for s in FINISHED)


def rdb_of(storage: optuna.storages.BaseStorage) -> optuna.storages.RDBStorage | None:
    """The RDBStorage behind ``storage`` (Optuna wraps it in a cache), else None."""
    inner = getattr(storage, "_backend", storage)
    return inner if isinstance(inner, optuna.storages.RDBStorage) else None


def is_journal(storage: optuna.storages.BaseStorage) -> bool:
    return isinstance(storage, optuna.storages.JournalStorage)


WORKER_ATTR = "worker"
#: Journal storages have no heartbeat table: workers write time.time() here every HEARTBEAT_INTERVAL s.
HEARTBEAT_ATTR = "automl:heartbeat"


def retry_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Queue a failed (stale) trial's parameters again, up to MAX_RETRY times.

    Like Optuna's RetryHeartbeatStaleTrialCallback, but the new trial keeps only ``retry_of`` as a user
    attribute, not the dead trial's worker, learning curve or failure reason.
    """
    history = list(trial.system_attrs.get("retry_history", [])) + [trial.number]
    if len(history) > MAX_RETRY:
        return
    study.add_trial(
        optuna.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={"retry_of": history[0]},
            system_attrs={"failed_trial": history[0], "retry_history": history},
        )
    )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child its parent has not reaped yet is a zombie: dead for our purpose
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def recover_stale_trials(study: optuna.Study, *, grace_period: float | None = None) -> list[int]:
    """Fail RUNNING trials whose worker is gone, and enqueue their parameters again (see :func:`retry_trial`).

    A trial is stale when its worker ran on this host and that process is dead (found at once), or when its
    heartbeat is older than the grace period: Optuna's heartbeat table on SQL storages, the trial's
    ``automl:heartbeat`` system attribute (written by ``automl.parallel``) on journal storages. A trial whose
    worker is alive on this host is never failed, whatever its heartbeat says. Call it under the study's claim
    lock (``automl.parallel.claim_lock``) so a freed slot goes to the retry, not to a new trial.
    """
    import time

    from optuna.storages._heartbeat import is_heartbeat_enabled

    grace = GRACE_PERIOD if grace_period is None else grace_period
    storage = study._storage
    host = socket.gethostname()
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return []
    stale_ids: set[int] | None = None
    if is_heartbeat_enabled(storage):
        stale_ids = set(storage._get_stale_trial_ids(study._study_id))
    now = time.time()
    recovered = []
    for t in running:
        w = str(t.user_attrs.get(WORKER_ATTR, ""))
        h, _, pid = w.rpartition(":")
        if h == host and pid.isdigit():
            if _alive(int(pid)):
                continue
            reason = f"worker {w} died while the trial ran"
        elif stale_ids is not None:
            if t._trial_id not in stale_ids:
                continue
            reason = f"no heartbeat from worker {w or '?'} for more than {grace:g} s"
        elif is_journal(storage):
            last = t.system_attrs.get(HEARTBEAT_ATTR)
            if last is None:
                last = t.datetime_start.timestamp() if t.datetime_start else now
            if now - float(last) <= grace:
                continue
            reason = f"no heartbeat from worker {w or '?'} for {now - float(last):.0f} s"
        else:
            continue
        if fail_and_retry(study, t, reason):
            recovered.append(t.number)
    return recovered


def fail_and_retry(study: optuna.Study, trial: optuna.trial.FrozenTrial, reason: str) -> bool:
    """Fail a RUNNING trial with ``reason`` and enqueue its parameters again; False if it had finished."""
    storage = study._storage
    try:
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
        if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
            return False
    except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
        return False  # its worker (or another reaper) finished or failed it first
    retry_trial(study, storage.get_trial(trial._trial_id))
    return True
