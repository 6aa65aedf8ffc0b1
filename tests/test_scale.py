"""What keeps a claim's cost flat as workers are added (automl/run/loop.py), and the scale benchmark's smoke run."""

from __future__ import annotations

import subprocess
import sys
import time
import types

import optuna
import pytest
from optuna.trial import TrialState
from test_parallel import REPO, _running

from automl import storage as storage_mod
from automl.run import loop


def test_a_worker_looks_for_stale_trials_once_per_heartbeat_interval(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_HEARTBEAT_INTERVAL", "30")
    clock = [1000.0]  # automl.run.loop's monotonic clock, moved by hand (a loaded machine takes seconds per claim)
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(time=time.time, sleep=time.sleep, perf_counter=time.perf_counter,
                                                                monotonic=lambda: clock[0]))
    study = optuna.create_study(storage=storage_mod.open_storage(f"journal:///{tmp_path}/s.log"), study_name="s")
    recovered: list[int] = []
    _running(study, "far-away:2", time.time())  # a live worker elsewhere: its claims have a running trial to check
    first = loop.claim(study, budget=10, recovered=recovered)  # the first claim looks (nothing is stale)
    stale = _running(study, "far-away:1", time.time() - 300)  # no heartbeat for 5 minutes
    second = loop.claim(study, budget=10, recovered=recovered)  # within the interval: no look
    assert recovered == [] and study.trials[stale.number].state == TrialState.RUNNING
    clock[0] += 29
    loop.claim(study, budget=10, recovered=recovered)
    assert recovered == []  # still within the interval
    clock[0] += 2
    third = loop.claim(study, budget=10, recovered=recovered)
    assert recovered == [stale.number] and study.trials[stale.number].state == TrialState.FAIL
    assert third.user_attrs["retry_of"] == stale.number  # the same claim then took the queued retry
    running = {t.number for t in study.get_trials(states=(TrialState.RUNNING,))}
    assert len(running) == 5 and {first.number, second.number, third.number} < running


@pytest.mark.slow
def test_scale_benchmark_quick_run_is_exact():
    r = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--quick"], cwd=REPO, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert '"exact": true' in r.stdout and '"failed_workers": []' in r.stdout
