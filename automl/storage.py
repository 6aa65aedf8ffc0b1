"""Storage URLs: resolve, open (SQLite, PostgreSQL, journal file), count trials, mask passwords; the stale-trial
retry callback (the recovery itself is automl.run.recovery).

URL forms: ``sqlite:///rel.db`` / ``sqlite:////abs.db``, ``postgresql+psycopg://user:pass@host/db``,
``journal:///rel.log`` / ``journal:////abs.log``, ``grpc://host:port`` (an ``automl storage-proxy``, see
automl/proxy.py). The URL comes from ``--storage``, else ``$AUTOML_STORAGE``
(both relative to the current directory), else the study file's ``storage:`` (relative to the study file),
else ``<name>.db`` beside the study file.
"""

from __future__ import annotations

import os
import re
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from automl import _optuna_compat as compat
from automl import attrs
from automl.errors import StorageError

ENV_VAR = "AUTOML_STORAGE"
#: Defaults of $AUTOML_HEARTBEAT_INTERVAL / $AUTOML_GRACE_PERIOD (seconds), read when a storage is opened.
HEARTBEAT_INTERVAL = 10
GRACE_PERIOD = 60
MAX_RETRY = 3
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``name`` (read now, not at import)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise StorageError(f"${name}: must be a positive number of seconds (got {raw!r}); fix or unset it")
    return value


def heartbeat_seconds() -> float:
    return env_seconds("AUTOML_HEARTBEAT_INTERVAL", HEARTBEAT_INTERVAL)


def grace_seconds() -> float:
    return env_seconds("AUTOML_GRACE_PERIOD", GRACE_PERIOD)


@contextmanager
def quiet_heartbeat_warnings() -> Iterator[None]:
    """Silence, around our own calls only, Optuna's notes on what automl uses on purpose: heartbeats are
    "experimental" in Optuna 5, and automl.run.loop keeps the heartbeat thread going under ask/tell."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        yield


def resolve_url(url: str | None, spec: Any | None = None) -> str:
    """The storage URL to use. Relative file paths of ``url`` (``--storage``) and ``$AUTOML_STORAGE`` resolve
    against the current directory; only the study file's own ``storage:`` resolves against its folder."""
    base = Path.cwd()
    if not url:
        url = os.environ.get(ENV_VAR) or None
    if not url and spec is not None:
        url, base = spec.storage, spec.base_dir
    if not url:
        if spec is None:
            raise StorageError(
                f"no storage given: pass --storage URL (e.g. --storage sqlite:///my-study.db) or set ${ENV_VAR}"
            )
        return f"sqlite:///{(spec.base_dir / (spec.study_name + '.db')).resolve().as_posix()}"
    for scheme in ("sqlite:///", "journal:///"):
        if url.startswith(scheme):
            rest = url[len(scheme):]
            if rest and not rest.startswith("/") and rest != ":memory:":
                return scheme + (base / rest).resolve().as_posix()
    return url


#: Query-string keys whose values are secrets (psycopg/libpq, MySQL drivers, SQLAlchemy).
SECRET_KEYS = ("password", "passwd", "pass", "pwd", "sslpassword", "sslkey_password", "token", "secret")
# scheme://user:password@ : the password runs to the *last* "@" before the query, so a raw "@" or "/" in it
# is masked whole, and an empty user name (":pw@") still has its password masked.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://)(?P<user>[^:/?#@]*):(?P<password>[^?#\s]*)@")
_QUERY_SECRET = re.compile(r"(?P<key>[?&;](?:" + "|".join(SECRET_KEYS) + r")=)[^&#;\s]*", re.IGNORECASE)


def secrets_of(url: str) -> list[str]:
    """The secret substrings of a URL (its passwords, raw and percent-decoded), longest first."""
    from urllib.parse import unquote

    found = [m["password"] for m in _USERINFO.finditer(url)]
    found += [q.group(0).split("=", 1)[1] for q in _QUERY_SECRET.finditer(url)]
    out = {s for f in found if f for s in (f, unquote(f), unquote(f.replace("+", " ")))}
    return sorted((s for s in out if s and s != "***"), key=len, reverse=True)


def mask(url: str) -> str:
    """The URL with every password replaced by ***: ``user:pw@``, ``:pw@`` (empty user), a raw ``@`` in the
    password, and ``?password=`` (or another secret key) in the query string."""
    if not isinstance(url, str):
        return url
    out = _USERINFO.sub(lambda m: f"{m['head']}{m['user']}:***@", url)
    return _QUERY_SECRET.sub(lambda m: m["key"] + "***", out)


def check_url(url: str) -> None:
    """Refuse a URL whose password has a raw ``@``: drivers split it there and would send (and print) its tail
    as the host name."""
    m = _USERINFO.search(url)
    if m and "@" in m["password"]:
        raise StorageError(
            f"storage URL {mask(url)}: the password contains a raw '@'; percent-encode it as %40 "
            "(and ':' '/' '%' as %3A %2F %25), or pass it as ?password=..."
        )


def redact(text: str, url: str | None = None) -> str:
    """``text`` with every URL in it masked, and the secrets of ``url`` removed wherever they appear
    (a driver's error message may quote them outside a URL)."""
    out = mask(text)
    for secret in secrets_of(url or ""):
        out = out.replace(secret, "***")
    return out


def redact_obj(obj: Any) -> Any:
    """A JSON-like value with every URL-looking string masked (the stored copy of a study file)."""
    if isinstance(obj, str):
        return mask(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


def file_of(url: str) -> Path | None:
    for scheme in ("sqlite:///", "journal:///"):
        if url.startswith(scheme):
            return Path(url[len(scheme) - 1:]) if url[len(scheme):].startswith("/") else Path(url[len(scheme):])
    return None


def open_storage(url: str, *, must_exist: bool = False, pool_size: int | None = None) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; with ``must_exist`` a missing file is an error, not a new study.
    ``pool_size``: connections kept open to a PostgreSQL/MySQL server (default 2, plus up to 4 more at peaks)."""
    path = file_of(url)
    if must_exist and path is not None and not path.exists():
        raise StorageError(f"storage not found: {mask(url)} (no file {path}); run the study first or pass --storage")
    interval, grace = heartbeat_seconds(), grace_seconds()
    check_url(url)
    try:
        if url.startswith("journal:///"):
            from optuna.storages.journal import JournalFileBackend

            from automl.run.locks import journal_lock

            path.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(path), lock_obj=journal_lock(str(path))))
        if url.startswith("sqlite:"):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            storage = _rdb(
                url,
                engine_kwargs={"connect_args": {"timeout": 60}},
                heartbeat_interval=interval,
                grace_period=grace,
                heartbeat_stale_trial_callback=retry_trial,
            )
            with storage.engine.connect() as conn:  # WAL lets readers and one writer work at once
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            _sqlite_synchronous_normal(storage.engine)
            return storage
        if url.startswith(("postgresql", "mysql")):
            return _rdb(
                url,
                engine_kwargs={"pool_pre_ping": True, "pool_size": pool_size or 2, "max_overflow": 4},
                heartbeat_interval=interval,
                grace_period=grace,
                heartbeat_stale_trial_callback=retry_trial,
            )
        if url in ("memory", "inmemory", ":memory:"):
            return optuna.storages.InMemoryStorage()
        if url.startswith(GRPC_SCHEME):
            return _grpc(url)
    except StorageError:
        raise
    except Exception as e:  # noqa: BLE001 - driver errors vary; one line for the user
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise StorageError(f"cannot open storage {mask(url)}: {redact(first, url)}") from None
    raise StorageError(
        f"unsupported storage URL {mask(url)}; use sqlite:///file.db, postgresql+psycopg://..., journal:///file.log "
        "or grpc://host:port"
    )


GRPC_SCHEME = "grpc://"
#: Seconds a worker waits for the storage proxy to answer when it opens a grpc:// storage ($AUTOML_PROXY_WAIT).
PROXY_WAIT = 20


def grpc_address(url: str) -> tuple[str, int]:
    """(host, port) of a ``grpc://host:port`` URL, or a StorageError naming the fix."""
    rest = url[len(GRPC_SCHEME):].rstrip("/")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in rest or "@" in rest:
        raise StorageError(f"storage URL {mask(url)}: write grpc://HOST:PORT (the address of `automl storage-proxy`)")
    return host.strip("[]"), int(port)


def _grpc(url: str) -> optuna.storages.BaseStorage:
    """A GrpcStorageProxy client of ``automl storage-proxy``, once the proxy answers."""
    host, port = grpc_address(url)
    try:
        import grpc  # noqa: F401
    except ImportError:
        raise StorageError(f"storage {mask(url)} needs grpcio: pip install 'automl[grpc]'") from None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        storage = optuna.storages.GrpcStorageProxy(host=host, port=port)
    wait = env_seconds("AUTOML_PROXY_WAIT", PROXY_WAIT)
    try:
        storage.wait_server_ready(timeout=wait)
    except ConnectionError:
        storage.close()
        raise StorageError(
            f"no storage proxy answers at {url} after {wait:g} s; start one there with "
            "`automl storage-proxy --storage URL --port PORT` (or raise $AUTOML_PROXY_WAIT)"
        ) from None
    return storage


def is_grpc(storage: optuna.storages.BaseStorage) -> bool:
    return isinstance(storage, optuna.storages.GrpcStorageProxy)


def beats_in_attrs(storage: optuna.storages.BaseStorage) -> bool:
    """Storages with no heartbeat table of Optuna's (journal files, the gRPC proxy's clients): workers write
    ``automl:heartbeat`` into the running trial instead."""
    return is_journal(storage) or is_grpc(storage)


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
            with quiet_heartbeat_warnings():
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
        from automl.errors import suggest

        names = study_names(storage)
        hint = suggest(name, names) if names else "; the storage holds no study"
        raise StorageError(f"no study named {name!r} in {mask(url)}{hint}") from None


def count_states(study: optuna.Study) -> dict[TrialState, int]:
    """How many trials of the study are in each state; one COUNT query on SQL storages."""
    return count_states_of(compat.storage_of(study), compat.study_id(study))


def count_states_of(storage: optuna.storages.BaseStorage, study_id: int) -> dict[TrialState, int]:
    """:func:`count_states` of the study ``study_id`` in ``storage`` (the storage proxy counts for its workers)."""
    rdb = rdb_of(storage)
    if rdb is not None:
        return {TrialState[name]: n for name, n in compat.trial_state_counts(rdb.engine, study_id).items()}
    counts: dict[TrialState, int] = {}
    for t in storage.get_all_trials(study_id, deepcopy=False):
        counts[t.state] = counts.get(t.state, 0) + 1
    return counts


def count_finished(study: optuna.Study) -> int:
    counts = count_states(study)
    return sum(counts.get(s, 0) for s in FINISHED)


def rdb_of(storage: optuna.storages.BaseStorage) -> optuna.storages.RDBStorage | None:
    """The RDBStorage behind ``storage`` (Optuna wraps it in a cache), else None."""
    inner = compat.unwrap_storage(storage)
    return inner if isinstance(inner, optuna.storages.RDBStorage) else None


def is_journal(storage: optuna.storages.BaseStorage) -> bool:
    return isinstance(storage, optuna.storages.JournalStorage)


WORKER_ATTR = "worker"
#: Journal storages have no heartbeat table: workers write time.time() here every HEARTBEAT_INTERVAL s.
HEARTBEAT_ATTR = attrs.HEARTBEAT


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
