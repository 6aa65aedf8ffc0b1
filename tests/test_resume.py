"""kill -9 a real `automl run` mid-study, run the same command again: nothing lost, nothing left RUNNING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

pytestmark = pytest.mark.slow


def snapshot(url):
    study = optuna.load_study(study_name="study", storage=url)
    return study, {t.number: (t.state, t.values, t.params) for t in study.trials}


def test_kill_9_then_resume(study_file, tmp_path):
    # Slow-ish trials (many rounds, no early stopping) so the kill lands inside one.
    path = study_file(trials=8, fixed={"num_boost_round": 400, "early_stopping_rounds": 0, "min_child_samples": 5, "num_threads": 1})
    url = f"sqlite:///{tmp_path / 'k.db'}"
    cmd = [sys.executable, "-m", "automl", "run", str(path), "--storage", url, "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            time.sleep(0.2)
            if (tmp_path / "k.db").exists():
                try:
                    study, _ = snapshot(url)
                except Exception:  # noqa: BLE001 - the study may not exist yet
                    continue
                done = [t for t in study.trials if t.state == TrialState.COMPLETE]
                running = [t for t in study.trials if t.state == TrialState.RUNNING and t.params]
                if len(done) >= 3 and running:
                    break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    _, before = snapshot(url)
    killed = [n for n, (s, _, _) in before.items() if s == TrialState.RUNNING]
    assert killed, "the kill should land inside a trial"
    done_before = {n: v for n, v in before.items() if v[0] == TrialState.COMPLETE}
    assert 3 <= len(done_before) < 8

    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"recovered trials left running by a dead process: {killed}" in res.stdout

    study, after = snapshot(url)
    for n, v in done_before.items():  # no finished trial lost or changed
        assert after[n] == v
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 8
    for n in killed:  # the dead trial is failed and its parameters were tried again
        assert after[n][0] == TrialState.FAIL
        retries = [t for t in study.trials if t.user_attrs.get("retry_of") == n]
        assert len(retries) == 1 and retries[0].params == before[n][2]
        assert retries[0].state == TrialState.COMPLETE
    # A resumed seeded sampler does not replay the first run's parameters.
    params = [tuple(sorted(t.params.items())) for t in finished if "retry_of" not in t.user_attrs]
    assert len(set(params)) == len(params)
