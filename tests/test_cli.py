"""CliRunner tests of every command and exit code."""

from __future__ import annotations

import json

import optuna
import pytest
from typer.testing import CliRunner

from automl.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def finished(url, name):
    study = optuna.load_study(study_name=name, storage=url)
    return [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]


def test_run_creates_then_tops_up_then_adds_nothing(study_file, tmp_path):
    path = study_file(trials=3)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    res = invoke("run", path, "--storage", url, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "3 trials added, 3 finished" in res.output
    assert "best trial #" in res.output and "test: rmse=" in res.output
    res = invoke("run", path, "--storage", url, "--no-progress")
    assert res.exit_code == 0 and "0 trials added, 3 finished" in res.output
    before = [(t.number, t.values, t.params) for t in finished(url, "study")]
    res = invoke("run", path, "--storage", url, "--no-progress", "--trials", 5)
    assert res.exit_code == 0 and "2 trials added, 5 finished" in res.output
    after = [(t.number, t.values, t.params) for t in finished(url, "study")]
    assert after[:3] == before and len(after) == 5


def test_default_storage_is_a_sqlite_file_beside_the_study_file(study_file, tmp_path):
    path = study_file("beside.yaml", trials=2)
    res = invoke("run", path, "--no-progress")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "beside.db").exists()
    assert len(finished(f"sqlite:///{tmp_path / 'beside.db'}", "beside")) == 2


def test_storage_from_the_environment(study_file, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOML_STORAGE", f"sqlite:///{tmp_path / 'env.db'}")
    res = invoke("run", study_file(trials=2), "--no-progress")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "env.db").exists() and not (tmp_path / "study.db").exists()


def test_relative_sqlite_path_resolves_against_the_study_file(study_file, tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    res = invoke("run", study_file(trials=1, storage="sqlite:///sub/rel.db"), "--no-progress")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sub" / "rel.db").exists()


def test_validate_ok_and_bad(study_file, tmp_path):
    res = invoke("validate", study_file())
    assert res.exit_code == 0 and "ok" in res.output and "task regression" in res.output
    bad = study_file("bad.yaml", metric="auc", model="lightgbmm")
    res = invoke("validate", bad)
    assert res.exit_code == 2
    assert f"{bad}: model: unknown trainer 'lightgbmm'; did you mean 'lightgbm'?" in res.output
    assert "Traceback" not in res.output
    assert not list(tmp_path.glob("*.db"))


MALFORMED = [
    ({"data": {"path": "nope.csv", "target": "y"}}, "data.path: file not found"),
    ({"data": {"path": "reg.csv", "target": "price"}}, "data.target: column 'price' is not in reg.csv"),
    ({"metric": "auc"}, "metric: 'auc' does not fit a regression task; use one of rmse, mae, r2"),
    ({"metric": "rsme"}, "metric: unknown metric 'rsme'; did you mean 'rmse'?"),
    ({"model": "xgbooost"}, "model: unknown trainer 'xgbooost'"),
    ({"sampler": "tpee"}, "sampler: unknown sampler 'tpee'; did you mean 'tpe'?"),
    ({"sampler": {"name": "tpe", "n_startup": 3}}, "sampler.n_startup: is not an option of TPESampler; did you mean 'n_startup_trials'?"),
    ({"pruner": "hyperbnd"}, "pruner: unknown pruner 'hyperbnd'; did you mean 'hyperband'?"),
    ({"trials": 0}, "trials: must be a positive whole number (got 0)"),
    ({"fixed": {"num_leavs": 3}}, "fixed.num_leavs: is not a LightGBM parameter or alias; did you mean 'num_leaves'?"),
    ({"params": {"lr": {"type": "float", "low": 0, "high": 1, "log": True}}}, "params.lr: is not a LightGBM parameter"),
    ({"sampler": "grid"}, "params.learning_rate: has no finite grid"),
    ({"data": {"path": "reg.csv", "target": "y", "task": "binary"}}, "data.task: binary needs exactly 2 classes"),
]


@pytest.mark.parametrize(("override", "line"), MALFORMED, ids=[line.split(":")[0] for _, line in MALFORMED])
def test_malformed_file_exit_2_one_line_nothing_written(study_file, tmp_path, override, line):
    path = study_file("m.yaml", **override)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    res = invoke("run", path, "--storage", url, "--no-progress")
    assert res.exit_code == 2, res.output
    assert f"{path}: {line}" in res.output, res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "m.db").exists()


@pytest.mark.parametrize(("text", "line"), [
    ("", "file is empty"),
    ("data: [1\nmodel: x", "line 2, column 6: invalid YAML"),
    ("- a\n- b\n", "must be a mapping of fields"),
])
def test_unparseable_files(tmp_path, text, line):
    path = tmp_path / "u.yaml"
    path.write_text(text)
    res = invoke("run", path, "--no-progress")
    assert res.exit_code == 2 and f"{path}: {line}" in res.output
    assert not list(tmp_path.glob("*.db"))


def test_missing_study_file():
    res = invoke("validate", "no/such.yaml")
    assert res.exit_code == 2 and "no/such.yaml: file not found" in res.output


def test_changed_search_space_is_an_error_unless_force(study_file, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    path = study_file("s.yaml", trials=2)
    assert invoke("run", path, "--storage", url, "--no-progress").exit_code == 0
    study_file("s.yaml", trials=3, params={
        "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
        "num_leaves": {"type": "int", "low": 4, "high": 16},
    })
    res = invoke("run", path, "--storage", url, "--no-progress")
    assert res.exit_code == 2
    assert "params.learning_rate: the search space changed" in res.output and "--force" in res.output
    assert len(finished(url, "s")) == 2
    res = invoke("run", path, "--storage", url, "--no-progress", "--force")
    assert res.exit_code == 0 and len(finished(url, "s")) == 3


def test_failed_trials_do_not_count_and_study_goes_on(study_file, tmp_path):
    # num_leaves=1 makes LightGBM raise; those trials fail, the rest complete, the budget still holds.
    path = study_file(trials=6, sampler="random", seed=3, params={"num_leaves": {"type": "int", "low": 1, "high": 3}})
    url = f"sqlite:///{tmp_path / 'f.db'}"
    res = invoke("run", path, "--storage", url, "--no-progress")
    assert res.exit_code == 0, res.output
    study = optuna.load_study(study_name="study", storage=url)
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert failed and all("num_leaves" in t.user_attrs["fail_reason"] for t in failed)
    assert all(t.params["num_leaves"] == 1 for t in failed)
    assert len(finished(url, "study")) == 6


def test_too_many_failures_in_a_row_stops_with_a_clear_error(study_file, tmp_path):
    path = study_file(trials=5, max_failures=3, fixed={"num_boost_round": 5, "objective": "no_such_objective"})
    res = invoke("run", path, "--storage", f"sqlite:///{tmp_path / 'ff.db'}", "--no-progress")
    assert res.exit_code == 1
    assert "stopped after 3 failed trials in a row" in res.output and "no_such_objective" in res.output


def test_best_trials_list_report_commands(study_file, tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    path = study_file(trials=3)
    assert invoke("run", path, "--storage", url, "--no-progress").exit_code == 0
    study = optuna.load_study(study_name="study", storage=url)

    res = invoke("best", path, "--storage", url, "--json")
    assert res.exit_code == 0
    best = json.loads(res.output)
    assert best["number"] == study.best_trial.number
    assert best["values"]["rmse"] == pytest.approx(study.best_value)
    assert best["params"] == study.best_trial.params
    assert set(best["test"]) == {"rmse"}

    res = invoke("best", path, "--storage", url)
    assert res.exit_code == 0 and f"best trial #{study.best_trial.number}" in res.output

    res = invoke("trials", path, "--storage", url, "--format", "json")
    rows = json.loads(res.output)
    assert [r["number"] for r in rows] == [0, 1, 2]
    assert all(r["state"] == "COMPLETE" and "params_learning_rate" in r and "user_attrs_best_iteration" in r for r in rows)
    res = invoke("trials", path, "--storage", url, "--format", "csv")
    assert res.exit_code == 0 and res.output.splitlines()[0].startswith("number,state,rmse,duration_s")
    assert len(res.output.strip().splitlines()) == 4
    res = invoke("trials", path, "--storage", url)
    assert res.exit_code == 0 and "COMPLETE" in res.output
    res = invoke("trials", path, "--storage", url, "--format", "xml")
    assert res.exit_code == 2

    res = invoke("list", "--storage", url)
    assert res.exit_code == 0 and "study  3 finished / 3 trials  minimize" in res.output

    out = tmp_path / "r.html"
    res = invoke("report", path, "--storage", url, "-o", out)
    assert res.exit_code == 0 and out.exists() and "study" in out.read_text()
    out2 = tmp_path / "r2.html"
    res = invoke("report", "--storage", url, "--study", "study", "-o", out2)
    assert res.exit_code == 0 and out2.exists()


def test_commands_on_a_missing_storage_or_study(study_file, tmp_path):
    path = study_file()
    res = invoke("best", path, "--storage", f"sqlite:///{tmp_path / 'none.db'}")
    assert res.exit_code == 2 and "storage not found" in res.output
    assert not (tmp_path / "none.db").exists()
    url = f"sqlite:///{tmp_path / 'c.db'}"
    invoke("run", path, "--storage", url, "--no-progress", "--trials", 1)
    res = invoke("report", "--storage", url, "--study", "stdy")
    assert res.exit_code == 2 and "no study named 'stdy'" in res.output and "did you mean 'study'?" in res.output
    res = invoke("report")
    assert res.exit_code == 2


def test_password_is_masked_in_output(study_file, tmp_path):
    res = invoke("list", "--storage", "postgresql+psycopg://bob:s3cret@127.0.0.1:1/nodb")
    assert res.exit_code == 2 and "s3cret" not in res.output and "bob:***@" in res.output


def test_run_report_with_fanova_and_a_bad_importance_name(study_file, tmp_path):
    path = study_file(trials=3)
    url = f"sqlite:///{tmp_path / 'imp.db'}"
    res = invoke("run", path, "--storage", url, "--no-progress", "--importance", "anova")
    assert res.exit_code == 2 and "--importance must be one of pedanova, fanova" in res.output
    assert not (tmp_path / "imp.db").exists()
    out = tmp_path / "imp.html"
    res = invoke("run", path, "--storage", url, "--no-progress", "--report", "--report-path", out, "--importance", "fanova")
    assert res.exit_code == 0, res.output
    assert "fANOVA" in out.read_text()
