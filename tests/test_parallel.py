"""Worker processes, exact budgets, stale-trial recovery (automl/parallel.py, automl/storage.py).

The slow tests start real `automl run --jobs N` processes and kill them with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState
from typer.testing import CliRunner

from automl import cpu, parallel
from automl import storage as storage_mod
from automl.cli import app
from automl.run import recovery

REPO = Path(__file__).resolve().parents[1]
X = {"x": FloatDistribution(0.0, 1.0)}
# Our workers use ask/tell with Optuna's heartbeat thread; these tests call ask() on heartbeat storages directly.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")


# -- fast, in-process --------------------------------------------------------------------------------------
def test_derive_seed_keeps_worker0_and_separates_the_others():
    assert parallel.derive_seed(7, 0) == 7
    seeds = [parallel.derive_seed(7, i) for i in range(1, 9)]
    assert len(set(seeds)) == 8 and 7 not in seeds
    assert seeds == [parallel.derive_seed(7, i) for i in range(1, 9)]  # reproducible
    assert parallel.derive_seed(None, 3) is None


def test_threads_per_worker_splits_the_cores(monkeypatch):
    monkeypatch.setattr(cpu, "cores", lambda: 8)
    assert [parallel.threads_per_worker(n) for n in (1, 2, 3, 4, 16)] == [8, 4, 2, 2, 1]


def test_claim_waits_for_running_trials_and_stops_at_the_budget():
    study = optuna.create_study()
    for v in (0.1, 0.2):
        study.add_trial(optuna.create_trial(value=v, params={"x": v}, distributions=X))
    running = parallel.claim(study, budget=3)
    assert isinstance(running, optuna.Trial)
    assert parallel.claim(study, budget=3) == parallel.WAIT  # the last slot is taken by a running trial
    study.tell(running, state=TrialState.FAIL)  # it failed: the slot is free again
    again = parallel.claim(study, budget=3)
    study.tell(again, 0.3)
    assert parallel.claim(study, budget=3) == parallel.STOP
    assert storage_mod.count_finished(study) == 3


def _running(study: optuna.Study, worker: str, beat: float) -> optuna.Trial:
    t = study.ask(X)
    t.set_user_attr(storage_mod.WORKER_ATTR, worker)
    study._storage.set_trial_system_attr(t._trial_id, storage_mod.HEARTBEAT_ATTR, beat)
    return t


def test_journal_reaper_fails_stale_and_dead_trials_only(tmp_path):
    url = f"journal:///{tmp_path}/s.log"
    study = optuna.create_study(storage=storage_mod.open_storage(url), study_name="s")
    host, now = socket.gethostname(), time.time()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = _running(study, "far-away:123", now - 300)  # other machine, no heartbeat for 5 minutes
    fresh = _running(study, "far-away:456", now)  # other machine, beating
    live = _running(study, f"{host}:{os.getpid()}", now - 300)  # this process: alive, whatever the heartbeat
    gone = _running(study, f"{host}:{dead.pid}", now)  # a dead local process: failed at once
    recovered = recovery.recover_stale_trials(study, grace_period=60)
    assert sorted(recovered) == sorted([stale.number, gone.number])
    trials = study.get_trials(deepcopy=False)
    by_number = {t.number: t for t in trials}
    assert by_number[stale.number].state == TrialState.FAIL
    assert "no heartbeat from worker far-away:123" in by_number[stale.number].user_attrs["fail_reason"]
    assert by_number[gone.number].user_attrs["fail_reason"] == f"worker {host}:{dead.pid} died while the trial ran"
    assert by_number[fresh.number].state == TrialState.RUNNING
    assert by_number[live.number].state == TrialState.RUNNING
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert sorted(t.user_attrs["retry_of"] for t in waiting) == sorted([stale.number, gone.number])
    assert {t.number: t.params for t in waiting} == {
        w.number: by_number[w.user_attrs["retry_of"]].params for w in waiting
    }


def test_journal_heartbeat_beats_while_the_trial_runs_only(tmp_path, monkeypatch):
    monkeypatch.setattr(storage_mod, "HEARTBEAT_INTERVAL", 0.05)
    study = optuna.create_study(storage=storage_mod.open_storage(f"journal:///{tmp_path}/b.log"), study_name="b")
    trial = study.ask(X)
    t0 = time.time()
    with parallel.heartbeat(study, trial):
        time.sleep(0.4)
    beat = study.trials[0].system_attrs[storage_mod.HEARTBEAT_ATTR]
    assert t0 < beat <= time.time()
    study.tell(trial, 1.0)
    time.sleep(0.2)  # the worker's heartbeat thread lives on but writes nothing for a finished trial
    assert study.trials[0].system_attrs[storage_mod.HEARTBEAT_ATTR] == beat


def test_sql_reaper_uses_optunas_heartbeat_table(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/h.db", heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(storage=storage, study_name="h")
    far = study.ask(X)
    far.set_user_attr(storage_mod.WORKER_ATTR, "far-away:1")
    storage.record_heartbeat(far._trial_id)
    mine = study.ask(X)
    mine.set_user_attr(storage_mod.WORKER_ATTR, storage_mod.worker_id())
    storage.record_heartbeat(mine._trial_id)
    time.sleep(2.2)
    assert recovery.recover_stale_trials(study) == [far.number]
    states = {t.number: t.state for t in study.get_trials()}
    assert states[far.number] == TrialState.FAIL and states[mine.number] == TrialState.RUNNING
    retry = study.get_trials(states=(TrialState.WAITING,))
    assert [t.params for t in retry] == [study.trials[far.number].params]


def test_jobs_needs_a_shared_storage(study_file):
    result = CliRunner().invoke(app, ["run", str(study_file()), "--jobs", "2", "--storage", ":memory:", "--no-progress"])
    assert result.exit_code == 2
    assert "needs a storage that processes share" in result.output


def test_storage_from_environment_and_password_masked(study_file, tmp_path, monkeypatch):
    log = tmp_path / "env.log"
    monkeypatch.setenv(storage_mod.ENV_VAR, f"journal:///{log}")
    result = CliRunner().invoke(app, ["run", str(study_file(trials=2)), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert log.exists() and f"journal:///{log}" in result.output
    monkeypatch.setenv(storage_mod.ENV_VAR, "postgresql+psycopg://me:s3cret-pw@127.0.0.1:1/nodb")
    result = CliRunner().invoke(app, ["run", str(study_file(trials=2)), "--no-progress"])
    assert result.exit_code == 2
    assert "s3cret-pw" not in result.output and "me:***@127.0.0.1" in result.output


# -- real worker processes -----------------------------------------------------------------------------------
def automl(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    full = {**os.environ, "AUTOML_POLL_SECONDS": "0.2", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "automl", *args], cwd=REPO, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def finish(proc: subprocess.Popen, timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def load(url: str, name: str = "study") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage_mod.open_storage(url))


def peek(url: str, name: str = "study") -> optuna.Study | None:
    """The study as the workers left it, or None while it does not exist yet; never creates a schema
    (that would race the workers creating it)."""
    import sqlalchemy.exc

    try:
        if url.startswith("sqlite"):
            st = optuna.storages.RDBStorage(url, skip_table_creation=True, skip_compatibility_check=True)
            return optuna.load_study(study_name=name, storage=st)
        return load(url, name)
    except (KeyError, sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError):
        return None


def states(study: optuna.Study) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def assert_exact(study: optuna.Study, budget: int, failed: int = 0) -> None:
    assert states(study) == {"COMPLETE": budget, **({"FAIL": failed} if failed else {})}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_four_workers_finish_exactly_the_budget(study_file, tmp_path, kind, slow_trainer):
    url = f"sqlite:///{tmp_path}/w.db" if kind == "sqlite" else f"journal:///{tmp_path}/w.log"
    path = study_file(trials=10, pruner="none", model="slow-lightgbm")
    # Each trial takes at least 1 s, so the first worker up cannot finish the budget before the others have
    # started (spawned workers take seconds to import on a busy machine; the fits alone take milliseconds).
    finish(automl("run", str(path), "--jobs", "4", "--storage", url, "--no-progress",
                  env=slow_trainer(1.0)))
    study = load(url)
    assert_exact(study, 10)
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) >= 2  # trials really ran in several processes
    assert sorted(t.number for t in study.trials) == list(range(10))


def wait_for(pred, timeout: float = 120, what: str = ""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def running_with_params(url: str):
    def look():
        study = peek(url)
        if study is None:
            return None
        return [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)) if t.params]

    return look


@pytest.mark.slow
def test_kill_one_worker_mid_trial_its_params_are_retried(study_file, tmp_path, slow_trainer):
    url = f"sqlite:///{tmp_path}/k.db"
    path = study_file(trials=5, pruner="none", model="slow-lightgbm")
    proc = automl("run", str(path), "--jobs", "2", "--storage", url, "--no-progress",
                  env=slow_trainer(1.5))
    victim = wait_for(running_with_params(url), what="a running trial")[0]
    pid = int(victim.user_attrs["worker"].rpartition(":")[2])
    assert pid != proc.pid  # a worker process, not the parent
    os.kill(pid, signal.SIGKILL)
    out = finish(proc)
    study = load(url)
    assert_exact(study, 5, failed=1)
    dead = study.trials[victim.number]
    assert dead.state == TrialState.FAIL and "died while the trial ran" in dead.user_attrs["fail_reason"]
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == victim.number]
    assert [(t.state, t.params) for t in retries] == [(TrialState.COMPLETE, dead.params)]
    assert f"ended by signal {signal.SIGKILL.value}" in out


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@pytest.mark.slow
def test_kill_every_worker_then_one_rerun(study_file, tmp_path, slow_trainer, monkeypatch):
    url = f"journal:///{tmp_path}/all.log"
    path = study_file(trials=6, pruner="none", model="slow-lightgbm")
    proc = automl("run", str(path), "--jobs", "2", "--storage", url, "--no-progress",
                  env=slow_trainer(1.0))

    def two_running_after_one_done():
        look = running_with_params(url)()
        return look if look and len(look) == 2 and storage_mod.count_finished(peek(url)) >= 1 else None

    wait_for(two_running_after_one_done, what="two running trials after a finished one")
    workers = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the parent first, so it cannot tidy up after its workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    left = load(url).trials
    killed = [t for t in left if t.state == TrialState.RUNNING]
    before = {t.number: (t.state, t.values, t.params) for t in left if t.state == TrialState.COMPLETE}
    assert killed and before
    from automl.api import run_study

    monkeypatch.syspath_prepend(str(slow_trainer.site))  # the plugin, here without its sleep
    study = run_study(path, storage=url)  # one worker, in this process
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    assert storage_mod.count_finished(study) == 6
    after = {t.number: (t.state, t.values, t.params) for t in study.trials}
    assert {n: after[n] for n in before} == before  # no finished trial changed
    for k in killed:
        assert study.trials[k.number].state == TrialState.FAIL
        retry = [t for t in study.trials if t.user_attrs.get("retry_of") == k.number]
        assert [t.state for t in retry] == [TrialState.COMPLETE]
        if k.params:  # killed after its parameters were sampled: the retry runs the same ones
            assert retry[0].params == k.params


def test_run_trial_tells_through_the_public_api_and_logs_why_a_value_failed(caplog):
    import warnings

    study = optuna.create_study()

    def nan(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        warnings.warn("a note of the objective's own", UserWarning, stacklevel=1)
        return float("nan")

    with pytest.warns(UserWarning, match="a note of the objective's own"):
        frozen = parallel.run_trial(study, study.ask(), nan)
    assert frozen.state == TrialState.FAIL
    assert "Trial 0 failed with parameters" in caplog.text and "nan" in caplog.text.lower()
    assert parallel.run_trial(study, study.ask(), lambda t: 2.0).state == TrialState.COMPLETE
    pruned = parallel.run_trial(study, study.ask(), lambda t: (_ for _ in ()).throw(optuna.TrialPruned()))
    assert pruned.state == TrialState.PRUNED
    done = study.ask()
    study.tell(done, 5.0)  # finished elsewhere (a reaper, another worker): told again, it is left as it was
    assert parallel.run_trial(study, done, lambda t: 1.0).values == [5.0]
