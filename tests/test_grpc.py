"""`storage: grpc://host:port` through `automl storage-proxy` (Optuna's gRPC proxy plus automl's claim gate,
automl/proxy.py): the budget stays exact and a killed worker's trial is failed and retried, as on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState
from pg import free_port
from test_parallel import REPO, X, assert_exact, automl, finish, load, running_with_params, wait_for
from typer.testing import CliRunner

from automl import parallel, proxy
from automl import storage as storage_mod
from automl.cli import app
from automl.run import recovery

pytest.importorskip("grpc")
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")


def start_proxy(backing: str, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "automl", "storage-proxy", "--storage", backing, "--port", str(port), *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Wait until it serves: minutes to start on a loaded machine, and workers then wait 20 s at most.
    client = optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=port)
    try:
        client.wait_server_ready(timeout=300)
    finally:
        client.close()
    return proc, f"grpc://127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return out


@pytest.fixture
def pg_proxy(postgres_url):
    proc, url = start_proxy(postgres_url)
    try:
        yield url
    finally:
        out = stop(proc)
        password = postgres_url.split(":")[2].split("@")[0]
        assert password not in out and "automl:***@127.0.0.1" in out  # the proxy's own output is masked


def test_gate_lets_a_trial_start_only_while_the_budget_has_a_free_slot(tmp_path):
    url = f"sqlite:///{tmp_path}/g.db"
    gate = proxy.make_gate(url, threads=2)
    study = optuna.create_study(storage=gate, study_name="g")
    gate.set_study_system_attr(study._study_id, proxy.BUDGET_ATTR, 2)
    first, second = study.ask(X), study.ask(X)
    with pytest.raises(proxy.BudgetTaken, match="0 finished \\+ 2 running trials of a budget of 2"):
        study.ask(X)
    study.enqueue_trial({"x": 0.5})  # a queued retry is created, but not started while no slot is free
    with pytest.raises(proxy.BudgetTaken):
        study.ask(X)
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING, TrialState.RUNNING, TrialState.WAITING]
    study.tell(first, state=TrialState.FAIL)  # a failed trial frees its slot: the queued trial takes it
    retry = study.ask(X)
    assert retry.number == 2 and retry.params == {"x": 0.5}
    study.tell(second, 0.1)
    study.tell(retry, 0.2)
    with pytest.raises(proxy.BudgetTaken, match="2 finished"):
        study.ask(X)
    proxy.check_gate(gate, url)  # the gate answers the probe
    with pytest.raises(storage_mod.StorageError, match="is not an `automl storage-proxy`"):
        proxy.check_gate(optuna.storages.RDBStorage(url), url)


def test_gate_needs_a_sql_storage(tmp_path):
    with pytest.raises(storage_mod.StorageError, match="not a SQL storage"):
        proxy.make_gate(f"journal:///{tmp_path}/j.log")


@pytest.mark.parametrize("url, message", [
    ("grpc://nohost", "write grpc://HOST:PORT"),
    ("grpc://host:99999", "write grpc://HOST:PORT"),
    ("grpc://u:pw@host:1", "write grpc://HOST:PORT"),
])
def test_bad_grpc_url_is_one_line(study_file, url, message):
    result = CliRunner().invoke(app, ["run", str(study_file()), "--storage", url, "--no-progress"])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert "pw" not in result.output


def test_no_proxy_there_is_one_line(study_file, monkeypatch):
    monkeypatch.setenv("AUTOML_PROXY_WAIT", "0.5")
    port = free_port()
    result = CliRunner().invoke(app, ["run", str(study_file()), "--storage", f"grpc://127.0.0.1:{port}", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert f"no storage proxy answers at grpc://127.0.0.1:{port}" in result.output and "automl storage-proxy" in result.output


@pytest.mark.slow
def test_plain_optuna_proxy_is_refused(study_file, tmp_path):
    port = free_port()
    code = (f"import optuna; optuna.storages.run_grpc_proxy_server(optuna.storages.get_storage('sqlite:///{tmp_path}/p.db'), "
            f"host='127.0.0.1', port={port})")
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = CliRunner().invoke(app, ["run", str(study_file()), "--storage", f"grpc://127.0.0.1:{port}", "--no-progress"])
    finally:
        server.kill()
        server.wait()
    assert result.exit_code == 2, result.output
    assert "is not an `automl storage-proxy`" in result.output
    assert not optuna.get_all_study_names(f"sqlite:///{tmp_path}/p.db")  # nothing written


@pytest.mark.slow
def test_proxy_port_in_use_is_one_line(tmp_path):
    first, url = start_proxy(f"sqlite:///{tmp_path}/a.db")
    try:
        storage_mod.open_storage(url)  # listening
        port = url.rpartition(":")[2]
        r = subprocess.run([sys.executable, "-m", "automl", "storage-proxy", "--storage", f"sqlite:///{tmp_path}/b.db",
                            "--port", port], cwd=REPO, capture_output=True, text=True, timeout=60)
    finally:
        stop(first)
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_four_workers_over_the_proxy_finish_exactly_the_budget(study_file, pg_proxy, slow_trainer):
    path = study_file(trials=10, pruner="none", model="slow-lightgbm")
    # Two invocations of --jobs 2 (as two machines would), with trials of at least 1 s so both join in time.
    env = slow_trainer(1.0)
    runs = [automl("run", str(path), "--jobs", "2", "--storage", pg_proxy, "--no-progress", env=env) for _ in range(2)]
    for r in runs:
        finish(r)
    study = load(pg_proxy)
    assert_exact(study, 10)
    assert sorted(t.number for t in study.trials) == list(range(10))
    assert len({t.user_attrs["worker"] for t in study.trials}) >= 3
    assert study._storage.get_study_system_attrs(study._study_id)[proxy.BUDGET_ATTR] == 10


@pytest.mark.slow
def test_kill_one_worker_over_the_proxy_its_trial_is_failed_and_retried(study_file, pg_proxy, slow_trainer):
    path = study_file(trials=5, pruner="none", model="slow-lightgbm")
    proc = automl("run", str(path), "--jobs", "2", "--storage", pg_proxy, "--no-progress",
                  env=slow_trainer(1.5))
    victim = wait_for(running_with_params(pg_proxy), what="a running trial")[0]
    before = {t.number: t.values for t in load(pg_proxy).trials if t.state == TrialState.COMPLETE}
    pid = int(victim.user_attrs["worker"].rpartition(":")[2])
    assert pid != proc.pid
    os.kill(pid, signal.SIGKILL)
    out = finish(proc)
    study = load(pg_proxy)
    assert_exact(study, 5, failed=1)
    dead = study.trials[victim.number]
    assert dead.state == TrialState.FAIL and "died while the trial ran" in dead.user_attrs["fail_reason"]
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == victim.number]
    assert [(t.state, t.params) for t in retries] == [(TrialState.COMPLETE, dead.params)]
    assert {n: study.trials[n].values for n in before} == before  # no finished trial lost or changed
    assert f"ended by signal {signal.SIGKILL.value}" in out


@pytest.mark.slow
def test_lost_machine_over_the_proxy_is_failed_after_the_grace_period(postgres_url, monkeypatch):
    monkeypatch.setenv("AUTOML_HEARTBEAT_INTERVAL", "0.05")
    proc, url = start_proxy(postgres_url)
    try:
        storage = storage_mod.open_storage(url)
        study = optuna.create_study(storage=storage, study_name="lost")
        storage.set_study_system_attr(study._study_id, proxy.BUDGET_ATTR, 3)
        lost = study.ask(X)
        lost.set_user_attr(storage_mod.WORKER_ATTR, "machine-that-died:77")
        storage.set_trial_system_attr(lost._trial_id, storage_mod.HEARTBEAT_ATTR, 0.0)  # its last beat: long ago
        live = study.ask(X)
        live.set_user_attr(storage_mod.WORKER_ATTR, "machine-still-up:78")
        import time

        with parallel.heartbeat(study, live):  # beats through the proxy
            time.sleep(0.3)
        assert storage.get_trial(live._trial_id).system_attrs[storage_mod.HEARTBEAT_ATTR] > time.time() - 1
        assert recovery.recover_stale_trials(study, grace_period=30) == [lost.number]
        trials = study.get_trials()
        assert trials[lost.number].state == TrialState.FAIL and trials[live.number].state == TrialState.RUNNING
        assert "no heartbeat from worker machine-that-died:77" in trials[lost.number].user_attrs["fail_reason"]
        (retry,) = study.get_trials(states=(TrialState.WAITING,))
        assert retry.params == trials[lost.number].params
    finally:
        stop(proc)
