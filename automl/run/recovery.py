"""Stale-trial recovery: fail the RUNNING trials whose worker is gone and queue their parameters again.

What Optuna lacks is built here: a dead worker on this host is found at once (its pid), and journal and gRPC storages,
which have no heartbeat table, get a heartbeat thread of ours (``automl:heartbeat``). SQL storages use
Optuna's heartbeat table (see :func:`recover_stale_trials` for why not ``optuna.storages.fail_stale_trials``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import optuna
from optuna.trial import TrialState

from automl import _optuna_compat as compat
from automl import storage as storage_mod
from automl.fsutil import pid_alive
from automl.storage import HEARTBEAT_ATTR, WORKER_ATTR, beats_in_attrs, grace_seconds, retry_trial

__all__ = ["recover_stale_trials", "fail_and_retry", "heartbeat", "retry_trial", "HEARTBEAT_ATTR", "WORKER_ATTR"]


def recover_stale_trials(study: optuna.Study, *, grace_period: float | None = None) -> list[int]:
    """Fail RUNNING trials whose worker is gone, and enqueue their parameters again (see :func:`retry_trial`).

    A trial is stale when its worker ran on this host and that process is dead (found at once), or when its
    heartbeat is older than the grace period: Optuna's heartbeat table on SQL storages, the trial's
    ``automl:heartbeat`` system attribute (written by :func:`heartbeat`) on journal and gRPC storages. A trial whose
    worker is alive on this host is never failed, whatever its heartbeat says. Call it under the study's claim
    lock (:func:`automl.run.loop.claim_lock`) so a freed slot goes to the retry, not to a new trial.
    """
    grace = grace_seconds() if grace_period is None else grace_period
    storage = compat.storage_of(study)
    host = socket.gethostname()
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return []
    stale_ids: set[int] | None = None
    if compat.heartbeat_enabled(storage):
        stale_ids = compat.stale_trial_ids(storage, compat.study_id(study))
    attr_beats = beats_in_attrs(storage)
    now = time.time()
    recovered = []
    for t in running:
        w = str(t.user_attrs.get(WORKER_ATTR, ""))
        h, _, pid = w.rpartition(":")
        if h == host and pid.isdigit():
            if pid_alive(int(pid)):
                continue
            reason = f"worker {w} died while the trial ran"
        elif stale_ids is not None:
            if compat.trial_id(t) not in stale_ids:
                continue
            reason = f"no heartbeat from worker {w or '?'} for more than {grace:g} s"
        elif attr_beats:
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
    storage, tid = compat.storage_of(study), compat.trial_id(trial)
    try:
        storage.set_trial_user_attr(tid, "fail_reason", reason)
        if not storage.set_trial_state_values(tid, TrialState.FAIL):
            return False
    except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
        return False  # its worker (or another reaper) finished or failed it first
    retry_trial(study, storage.get_trial(tid))
    return True



# -- heartbeats -------------------------------------------------------------------------------------------
class _JournalHeartbeat:
    """Journal and gRPC storages: one daemon thread per worker that writes ``automl:heartbeat`` = time.time() into the trial being run
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
                    self.storage.set_trial_system_attr(self.trial_id, HEARTBEAT_ATTR, time.time())
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
    """Optuna's heartbeat thread on SQL storages, ours on journal files and gRPC proxies, none in memory."""
    storage = compat.storage_of(study)
    if compat.heartbeat_enabled(storage):
        return compat.heartbeat_thread(compat.trial_id(trial), storage)
    if beats_in_attrs(storage):
        beat = _BEATS.get(id(storage))
        if beat is None or beat.storage is not storage:
            beat = _BEATS[id(storage)] = _JournalHeartbeat(storage, storage_mod.heartbeat_seconds())
        return beat.running(compat.trial_id(trial))
    return contextlib.nullcontext()

