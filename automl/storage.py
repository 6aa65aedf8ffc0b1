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
from pathlib import Path
from typing import Any

import warnings

import optuna
from optuna.trial import TrialState

from automl.errors import StorageError

ENV_VAR = "AUTOML_STORAGE"
HEARTBEAT_INTERVAL = int(os.environ.get("AUTOML_HEARTBEAT_INTERVAL", "10"))
GRACE_PERIOD = int(os.environ.get("AUTOML_GRACE_PERIOD", "60"))
MAX_RETRY = 3

# Heartbeats are "experimental" in Optuna 5 but are the documented way to recover stale trials.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
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
            from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

            path.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
        if url.startswith("sqlite:"):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            storage = optuna.storages.RDBStorage(
                url,
                engine_kwargs={"connect_args": {"timeout": 60}},
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=GRACE_PERIOD,
                heartbeat_stale_trial_callback=retry_trial,
            )
            with storage.engine.connect() as conn:  # WAL lets readers and one writer work at once
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            return storage
        if url.startswith(("postgresql", "mysql")):
            return optuna.storages.RDBStorage(
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


def count_finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


WORKER_ATTR = "worker"


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
    return True


def recover_stale_trials(study: optuna.Study) -> list[int]:
    """Fail RUNNING trials whose worker process on this host is gone, and enqueue their parameters again.

    Trials of live workers (here or on other machines) are left alone; trials of dead workers on other
    machines are failed by the RDB storage's heartbeat after its grace period.
    """
    host = socket.gethostname()
    recovered = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        w = t.user_attrs.get(WORKER_ATTR, "")
        h, _, pid = str(w).rpartition(":")
        if h != host or not pid.isdigit() or _alive(int(pid)):
            continue
        storage = study._storage
        try:
            storage.set_trial_user_attr(t._trial_id, "fail_reason", f"worker {w} died while the trial ran")
            if not storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                continue
        except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            continue  # someone else finished or failed it first
        retry_trial(study, storage.get_trial(t._trial_id))
        recovered.append(t.number)
    return recovered
