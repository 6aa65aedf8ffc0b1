"""``automl storage-proxy``: Optuna's gRPC storage proxy in front of a SQL storage, with automl's claim gate.

Thousands of workers can share a few database connections through one proxy (``storage: grpc://host:port``),
but a worker behind it cannot take the database's claim lock (``pg_advisory_lock`` is per connection, and the
connections are the proxy's). So the proxy takes it for them: :class:`ClaimGate` wraps the proxied storage and
lets a trial become RUNNING (``create_new_trial`` with no template or a RUNNING one, or a WAITING trial set
RUNNING, the two ways ``study.ask()`` starts a trial) only under the study's claim lock and only while
``finished + running < budget``; else the call fails with :data:`REFUSED` in its message and the worker waits,
as it does when the last slot is taken. The lock is the same one direct workers take (the advisory lock on
PostgreSQL/MySQL, the ``flock`` beside a SQLite file), so several proxies and direct workers can share a study.

The budget is the study's ``automl:budget`` system attribute, written by every ``automl run`` from its
``trials`` (the last run to start wins). A plain ``optuna.storages.run_grpc_proxy_server`` has no gate: a worker
refuses to run through one (:func:`check_gate`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from automl import attrs
from automl import storage as storage_mod
from automl.errors import StorageError

#: Study system attribute: the exact budget (finished trials) the latest `automl run` asked for.
BUDGET_ATTR = attrs.BUDGET
#: The gate answers ``get_study_name_from_id(GATE_PROBE)`` with GATE_NAME (no study has a negative id; a plain
#: Optuna proxy answers NOT_FOUND): how a worker tells an `automl storage-proxy` before it writes anything.
GATE_PROBE = -1
GATE_NAME = "automl:claim-gate"
#: Marker in the error a refused claim returns to the client.
REFUSED = "automl-budget-taken"
THREADS = 16


class BudgetTaken(RuntimeError):
    """A trial may not start: every slot of the study's budget is finished or running."""


class ClaimGate(BaseStorage):
    """``storage`` (an RDB storage, as Optuna's proxy needs), where a trial becomes RUNNING only under the
    study's claim lock and while the budget has a free slot."""

    def __init__(self, storage: BaseStorage, url: str):
        rdb = storage_mod.rdb_of(storage)
        if rdb is None:
            raise StorageError(f"storage-proxy: {storage_mod.mask(url)} is not a SQL storage; use postgresql+psycopg://, "
                               "mysql:// or sqlite:/// (Optuna's gRPC proxy does not serve journal files)")
        self._backend, self._rdb, self._url = storage, rdb, url
        self._locks: dict[int, Any] = {}
        self._mu = threading.Lock()

    # -- the gate --------------------------------------------------------------------------------------
    def _lock(self, study_id: int) -> Any:
        from automl.run.locks import lock_for

        with self._mu:
            if study_id not in self._locks:
                name = self._backend.get_study_name_from_id(study_id)
                self._locks[study_id] = lock_for(self._rdb, name, storage_mod.file_of(self._url))
            return self._locks[study_id]

    def _check(self, study_id: int) -> None:
        """Under the claim lock: refuse when no slot of the budget is free."""
        budget = self._backend.get_study_system_attrs(study_id).get(BUDGET_ATTR)
        if budget is None:
            return
        counts = storage_mod.count_states_of(self._backend, study_id)
        finished = sum(counts.get(s, 0) for s in storage_mod.FINISHED)
        running = counts.get(TrialState.RUNNING, 0)
        if finished + running >= int(budget):
            raise BudgetTaken(f"{REFUSED}: {finished} finished + {running} running trials of a budget of {budget}")

    def create_new_trial(self, study_id: int, template_trial: optuna.trial.FrozenTrial | None = None) -> int:
        if template_trial is not None and template_trial.state != TrialState.RUNNING:
            return self._backend.create_new_trial(study_id, template_trial)  # queued retries, finished imports
        with self._lock(study_id):
            self._check(study_id)
            return self._backend.create_new_trial(study_id, template_trial)

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        if state != TrialState.RUNNING:
            return self._backend.set_trial_state_values(trial_id, state, values)
        study_id = self._study_of(trial_id)
        with self._lock(study_id):
            try:
                self._check(study_id)
            except BudgetTaken:
                return False  # as if another worker had taken this WAITING trial: ask() looks further, then creates
            return self._backend.set_trial_state_values(trial_id, state, values)

    def _study_of(self, trial_id: int) -> int:
        import sqlalchemy

        with self._rdb.engine.connect() as conn:
            sid = conn.execute(sqlalchemy.text("SELECT study_id FROM trials WHERE trial_id = :t"), {"t": trial_id}).scalar()
        if sid is None:
            raise KeyError(f"no trial with id {trial_id}")
        return int(sid)


    # -- everything else: the proxied storage ----------------------------------------------------------
    def create_new_study(self, directions: Sequence[Any], study_name: str | None = None) -> int:
        return self._backend.create_new_study(directions, study_name)

    def delete_study(self, study_id: int) -> None:
        with self._mu:
            self._locks.pop(study_id, None)
        self._backend.delete_study(study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._backend.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._backend.set_study_system_attr(study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        return self._backend.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        if study_id == GATE_PROBE:
            return GATE_NAME
        return self._backend.get_study_name_from_id(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._backend.get_study_system_attrs(study_id)

    def get_study_directions(self, study_id: int) -> list[Any]:
        return self._backend.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._backend.get_study_user_attrs(study_id)

    def get_all_studies(self) -> list[Any]:
        return self._backend.get_all_studies()

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any) -> None:
        self._backend.set_trial_param(trial_id, param_name, param_value_internal, distribution)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return self._backend.get_trial_id_from_study_id_trial_number(study_id, trial_number)

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        self._backend.set_trial_intermediate_value(trial_id, step, intermediate_value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._backend.set_trial_user_attr(trial_id, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._backend.set_trial_system_attr(trial_id, key, value)

    def get_trial(self, trial_id: int) -> optuna.trial.FrozenTrial:
        return self._backend.get_trial(trial_id)

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[optuna.trial.FrozenTrial]:
        return self._backend.get_all_trials(study_id, deepcopy=deepcopy, states=states)


class _QuietRefusals(logging.Filter):
    """gRPC logs every exception a handler raises with its traceback; a refused claim is routine."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, BudgetTaken)


def make_gate(url: str, threads: int = THREADS) -> ClaimGate:
    """The gated storage a proxy serves: ``url`` opened with a connection pool sized for ``threads`` requests,
    behind Optuna's cache (finished trials are read once), behind the gate."""
    backend = storage_mod.open_storage(url, pool_size=threads)
    return ClaimGate(optuna.storages.get_storage(backend), url)


def serve(url: str, *, host: str = "127.0.0.1", port: int, threads: int = THREADS) -> None:
    """Serve ``url`` at ``host:port`` until interrupted (Optuna's ``run_grpc_proxy_server``)."""
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    _check_port(host, port)
    gate = make_gate(url, threads)
    logging.getLogger("grpc._server").addFilter(_QuietRefusals())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        try:
            optuna.storages.run_grpc_proxy_server(gate, host=host, port=port,
                                                  thread_pool=ThreadPoolExecutor(max_workers=threads))
        except RuntimeError as e:
            if "bind" not in str(e).lower():
                raise
            raise StorageError(f"storage-proxy: cannot listen on {host}:{port} ({e}); choose another --port or --host") from None


def _check_port(host: str, port: int) -> None:
    """gRPC binds with SO_REUSEPORT, so a second proxy on a port in use would silently share it: bind once
    without it first."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise StorageError(f"storage-proxy: --host {host}: {e.strerror}") from None
    family, kind, _, _, address = infos[0]
    with socket.socket(family, kind) as s:
        try:
            s.bind(address)
        except OSError as e:
            raise StorageError(f"storage-proxy: cannot listen on {host}:{port} ({e.strerror}); choose another --port or --host") from None


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` (raised by a GrpcStorageProxy call) is the gate refusing a claim."""
    details = getattr(exc, "details", None)
    return callable(details) and REFUSED in (details() or "")


def check_gate(storage: BaseStorage, url: str) -> None:
    """Refuse to run trials through a gRPC proxy that does not enforce the budget (a plain Optuna proxy)."""
    try:
        answer = storage.get_study_name_from_id(GATE_PROBE)
    except KeyError:
        answer = None
    if answer != GATE_NAME:
        raise StorageError(
            f"{storage_mod.mask(url)} is not an `automl storage-proxy`: a plain Optuna gRPC proxy cannot keep the "
            "budget exact; start `automl storage-proxy --storage URL --port PORT` and point the workers at it"
        )
