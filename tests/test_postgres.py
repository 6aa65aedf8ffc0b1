"""PostgreSQL storage against a real throw-away server (tests/pg.py): exact budget with 4 worker processes,
the advisory claim lock, heartbeat recovery of a lost machine's trial, password masking."""

from __future__ import annotations

import time

import optuna
import pytest
import sqlalchemy
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState
from test_parallel import assert_exact, automl, finish, load

from automl import parallel
from automl import storage as storage_mod
from automl.run import recovery

X = {"x": FloatDistribution(0.0, 1.0)}
# Our workers use ask/tell with Optuna's heartbeat thread; these tests call ask() on heartbeat storages directly.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")


def test_claim_lock_is_a_server_side_advisory_lock(postgres_url):
    study = optuna.create_study(storage=storage_mod.open_storage(postgres_url), study_name="lock")
    lock = parallel.claim_lock(study, postgres_url)
    assert isinstance(lock, parallel._SQLLock)
    other = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
    try_lock = sqlalchemy.text("SELECT pg_try_advisory_lock(1635087471, :k)")
    unlock = sqlalchemy.text("SELECT pg_advisory_unlock(1635087471, :k)")
    with other.connect() as conn:
        with lock:
            assert conn.execute(try_lock, {"k": lock.key}).scalar() is False  # held by the claim
        assert conn.execute(try_lock, {"k": lock.key}).scalar() is True  # released after it
        conn.execute(unlock, {"k": lock.key})
    other.dispose()


def test_lost_machines_trial_is_failed_after_the_grace_period(postgres_url):
    storage = optuna.storages.RDBStorage(postgres_url, heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(storage=storage, study_name="lost")
    lost = study.ask(X)
    lost.set_user_attr(storage_mod.WORKER_ATTR, "machine-that-died:77")
    storage.record_heartbeat(lost._trial_id)
    live = study.ask(X)
    live.set_user_attr(storage_mod.WORKER_ATTR, "machine-still-up:78")
    time.sleep(2.2)
    storage.record_heartbeat(live._trial_id)  # its heartbeat thread is still beating
    assert recovery.recover_stale_trials(study) == [lost.number]
    trials = study.get_trials()
    assert trials[lost.number].state == TrialState.FAIL
    assert "no heartbeat from worker machine-that-died:77" in trials[lost.number].user_attrs["fail_reason"]
    assert trials[live.number].state == TrialState.RUNNING
    (retry,) = study.get_trials(states=(TrialState.WAITING,))
    assert retry.params == trials[lost.number].params and retry.user_attrs["retry_of"] == lost.number


@pytest.mark.slow
def test_four_workers_on_postgresql_finish_exactly_the_budget(study_file, postgres_url):
    path = study_file(trials=10, pruner="none")
    out = finish(automl("run", str(path), "--jobs", "4", "--storage", postgres_url, "--no-progress"))
    password = postgres_url.split(":")[2].split("@")[0]
    assert password not in out and "automl:***@127.0.0.1" in out
    study = load(postgres_url)
    assert_exact(study, 10)
    assert len({t.user_attrs["worker"] for t in study.trials}) >= 2
