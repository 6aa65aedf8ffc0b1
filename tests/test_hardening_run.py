"""Issue 15 (run, storage, objective): half-created studies, trainers that exit or interrupt, studies read
without their file, storage paths relative to the current directory, resumed worker seeds, nothing at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from automl import storage as storage_mod
from automl.cli import app

runner = CliRunner()


def invoke(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)


def load(url, name="study"):
    return optuna.load_study(study_name=name, storage=url)


# -- item 9: a kill between creating the study and writing its attributes ---------------------------------
@pytest.mark.parametrize("written", [[], ["automl:space", "automl:version"]], ids=["bare", "partly"])
def test_a_half_created_study_is_completed_by_the_next_run(study_file, tmp_path, written):
    path = study_file(trials=1)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    # What a kill 0-40 ms after the study row appears leaves: the study, none or some of its attributes.
    half = optuna.create_study(storage=url, study_name="study", direction="minimize")
    if "automl:space" in written:
        from automl import api, space

        half.set_user_attr("automl:space", space.fingerprint(api.prepare_study(path).params))
        half.set_user_attr("automl:version", "0.1.0")
    res = invoke("run", path, "--no-progress")
    assert res.exit_code == 0, res.output
    attrs = load(url).user_attrs
    assert attrs.get("automl:model") == "lightgbm" and attrs["automl:metric"] == ["rmse"]
    assert attrs["automl:task"] == "regression" and attrs["automl:data"] == "reg.csv"
    assert len(attrs["automl:data_fingerprint"]) > 8 and attrs["automl:study_file"]["model"] == "lightgbm"
    assert attrs["automl:complete"] is True
    res = invoke("best", path)
    assert "best trial #0: rmse=" in res.output, res.output


def test_a_completed_study_warns_when_its_data_changes(study_file, tmp_path, regression_csv):
    path = study_file(trials=1)
    optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="study")  # killed half-way
    assert invoke("run", path, "--no-progress").exit_code == 0
    regression_csv.write_text(regression_csv.read_text().replace("\n0.", "\n1.", 3))
    res = invoke("run", path, "--no-progress", "--trials", 2)
    assert res.exit_code == 0, res.output
    assert "warning: " in res.output and "data.path: reg.csv changed since study 'study' was created" in res.output


def test_a_study_created_meanwhile_elsewhere_gets_every_check(study_file, tmp_path, monkeypatch):
    """Two machines starting the same new study: the one that loses the race resumes it, with the checks."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    assert invoke("run", study_file(trials=1), "--storage", url, "--no-progress").exit_code == 0
    space_before = load(url).user_attrs["automl:space"]
    changed = study_file(trials=2, params={"learning_rate": {"type": "float", "low": 0.01, "high": 0.5, "log": True}})
    monkeypatch.setattr(storage_mod, "study_names", lambda storage: [])  # it looked absent a moment ago
    res = invoke("run", changed, "--storage", url, "--no-progress")
    assert res.exit_code == 2, res.output
    assert "params.learning_rate: the search space changed since the study was created" in res.output
    study = load(url)
    assert study.user_attrs["automl:space"] == space_before and len(study.trials) == 1


# -- item 11: a trainer that exits, an unprintable error, Ctrl-C --------------------------------------------
def _first_fit_does(monkeypatch, action):
    """The first trial's fit (holdout or cross-validated) does ``action`` instead of training."""
    from automl import objective

    calls = []
    real = objective.fit_and_score

    def fit_and_score(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(objective, "fit_and_score", fit_and_score)


def test_a_trainer_calling_sys_exit_fails_its_trial_and_the_run_goes_on(study_file, tmp_path, monkeypatch):
    _first_fit_does(monkeypatch, lambda: sys.exit(3))
    res = invoke("run", study_file(trials=2), "--no-progress")
    assert res.exit_code == 0, res.output
    assert "2 trials added, 2 finished" in res.output
    trials = load(f"sqlite:///{tmp_path / 'study.db'}").trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert trials[0].user_attrs["fail_reason"] == "SystemExit: the trainer called sys.exit(3)"


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")


def test_an_exception_whose_str_raises_still_leaves_a_fail_reason(study_file, tmp_path, monkeypatch):
    def boom():
        raise Unprintable()

    _first_fit_does(monkeypatch, boom)
    res = invoke("run", study_file(trials=1), "--no-progress")
    assert res.exit_code == 0, res.output
    first = load(f"sqlite:///{tmp_path / 'study.db'}").trials[0]
    assert first.state == TrialState.FAIL
    assert first.user_attrs["fail_reason"] == "Unprintable: <its message could not be read: RuntimeError>"


def test_ctrl_c_fails_the_trial_and_the_next_run_retries_its_parameters(study_file, tmp_path, monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    _first_fit_does(monkeypatch, interrupt)
    path = study_file(trials=2)
    res = invoke("run", path, "--no-progress")
    assert res.exit_code == 130 and "interrupted" in res.output
    url = f"sqlite:///{tmp_path / 'study.db'}"
    trials = load(url).trials
    # trial 0 failed; its retry waits (beside the rest of the queued warm start, if any)
    assert trials[0].state == TrialState.FAIL and all(t.state == TrialState.WAITING for t in trials[1:])
    assert "interrupted (Ctrl-C)" in trials[0].user_attrs["fail_reason"]
    retry = [t for t in trials if t.user_attrs.get("retry_of") == 0]
    assert len(retry) == 1 and retry[0].params == trials[0].params
    res = invoke("run", path, "--no-progress")
    assert res.exit_code == 0 and "2 trials added, 2 finished" in res.output, res.output
    again = {t.number: t for t in load(url).trials}
    assert again[retry[0].number].state == TrialState.COMPLETE and again[retry[0].number].params == trials[0].params


# -- item 13: best / trials / export of a study without its file ---------------------------------------------
def test_best_trials_export_read_a_make_objective_study_by_storage_and_name(study_file, tmp_path, monkeypatch):
    from automl import make_objective

    url = f"sqlite:///{tmp_path / 'plain.db'}"
    objective = make_objective(study_file(trials=2))
    study = optuna.create_study(storage=url, study_name="mine", directions=objective.directions,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=2)
    monkeypatch.chdir(tmp_path.parent)  # the study file is nowhere near: only the storage is used
    res = invoke("best", "--storage", url, "--study", "mine", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["number"] == study.best_trial.number
    res = invoke("trials", "--storage", url, "--study", "mine", "--format", "csv")
    assert res.exit_code == 0 and res.output.count("COMPLETE") == 2, res.output
    out = tmp_path / "ex"
    res = invoke("export", "--storage", url, "--study", "mine", "-o", out)
    assert res.exit_code == 0, res.output
    assert f"exported trial #{study.best_trial.number}" in res.output
    assert json.loads((out / "params.json").read_text())["params"] == study.best_trial.params
    res = invoke("best", "--storage", url, "--study", "mne")
    assert res.exit_code == 2 and "no study named 'mne'" in res.output and "did you mean 'mine'" in res.output
    res = invoke("trials")
    assert res.exit_code == 2 and "give a study file, or --study NAME" in res.output


# -- item 15: --storage and $AUTOML_STORAGE are relative to the current directory ---------------------------
@pytest.mark.parametrize("via", ["flag", "env"])
def test_relative_storage_flag_and_environment_resolve_against_the_current_directory(study_file, tmp_path,
                                                                                      monkeypatch, via):
    path = study_file(trials=1)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = ["--storage", "sqlite:///here.db"] if via == "flag" else []
    if via == "env":
        monkeypatch.setenv("AUTOML_STORAGE", "sqlite:///here.db")
    res = invoke("run", path, "--no-progress", *args)
    assert res.exit_code == 0, res.output
    assert (work / "here.db").exists() and not (tmp_path / "here.db").exists()
    assert f"in sqlite:///{work / 'here.db'}" in res.output
    for cmd in (["best", path], ["trials", path], ["report", path, "-o", work / "r.html"],
                ["report", "--study", "study", "-o", work / "r2.html"]):
        res = invoke(*cmd, *args)
        assert res.exit_code == 0, (cmd, res.output)
    for cmd in ("run", "best", "trials", "report", "export"):
        shown = " ".join(invoke(cmd, "--help").output.replace("│", " ").split())
        assert "$AUTOML_STORAGE are relative to the current directory" in shown, cmd


# -- item 16: --version, list without a storage ----------------------------------------------------------------
def test_version_and_list_without_a_storage(monkeypatch, tmp_path):
    import automl

    res = invoke("--version")
    assert res.exit_code == 0 and res.output == f"automl {automl.__version__}\n"
    monkeypatch.delenv("AUTOML_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    res = invoke("list")
    assert res.exit_code == 2
    assert res.output.strip() == ("error: no storage given: pass --storage URL (e.g. --storage sqlite:///my-study.db) "
                                  "or set $AUTOML_STORAGE")
    assert list(tmp_path.iterdir()) == []
    assert "study file" not in invoke("list", "--help").output


# -- item 17: resumed --jobs runs, import-time side effects ---------------------------------------------------
@pytest.mark.slow
def test_a_resumed_parallel_run_does_not_replay_the_first_runs_draws(study_file, tmp_path):
    path = study_file(trials=2, sampler="random", seed=7, pruner="none")
    url = f"sqlite:///{tmp_path / 'p.db'}"
    for total in (2, 4):
        res = invoke("run", path, "--storage", url, "--jobs", 2, "--trials", total, "--no-progress")
        assert res.exit_code == 0, res.output
    params = [tuple(sorted(t.params.items())) for t in load(url).trials]
    assert len(params) == 4 and not set(params[:2]) & set(params[2:])


def test_a_bad_environment_value_is_an_error_when_used_not_at_import(study_file, tmp_path):
    env = {**os.environ, "AUTOML_HEARTBEAT_INTERVAL": "soon", "AUTOML_GRACE_PERIOD": "x", "AUTOML_POLL_SECONDS": "-1"}
    code = ("import warnings, optuna, automl.storage, automl.parallel, automl.runner, automl.cli\n"
            "print(sum(1 for f in warnings.filters if f[0] == 'ignore' and (f[2] is optuna.exceptions.ExperimentalWarning"
            " or 'Heartbeat' in str(f[1]))))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0"  # no filter of ours silences the user's own Optuna warnings
    automl_bin = os.path.join(os.path.dirname(sys.executable), "automl")
    env = {**os.environ, "AUTOML_HEARTBEAT_INTERVAL": "soon"}
    res = subprocess.run([automl_bin, "run", str(study_file(trials=1)), "--no-progress"], capture_output=True,
                         text=True, env=env)
    assert res.returncode == 2
    assert res.stderr.strip() == ("error: $AUTOML_HEARTBEAT_INTERVAL: must be a positive number of seconds "
                                  "(got 'soon'); fix or unset it")
    assert not list(tmp_path.glob("*.db"))


def test_a_bad_poll_interval_is_refused_before_anything_is_written(study_file, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_POLL_SECONDS", "0")
    res = invoke("run", study_file(trials=1), "--no-progress")
    assert res.exit_code == 2 and "$AUTOML_POLL_SECONDS: must be a positive number" in res.output
    assert not list(tmp_path.glob("*.db*"))


@pytest.mark.slow
def test_ctrl_c_of_a_parallel_run_retries_every_interrupted_trial(study_file, tmp_path, slow_trainer):
    import signal

    from test_parallel import automl, peek, wait_for

    path = study_file(trials=2, pruner="none", model="slow-lightgbm", data={"path": "reg.csv", "target": "y", "cv": 0})
    url = f"sqlite:///{tmp_path / 'c.db'}"
    proc = automl("run", str(path), "--jobs", "2", "--storage", url, "--no-progress",
                  env=slow_trainer(30), start_new_session=True)

    def running():
        study = peek(url)
        # inside their objectives (parameters sampled): a Ctrl-C between ask() and the objective is a known gap
        return study is not None and len([t for t in study.get_trials(states=(TrialState.RUNNING,)) if t.params]) == 2

    wait_for(running, what="two running trials inside their objectives")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole process group
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    trials = load(url).trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(failed) == 2 and all("interrupted (Ctrl-C)" in t.user_attrs["fail_reason"] for t in failed)
    assert sorted(t.user_attrs["retry_of"] for t in waiting) == sorted(t.number for t in failed)
    assert sorted(str(t.params) for t in waiting) == sorted(str(t.params) for t in failed)
