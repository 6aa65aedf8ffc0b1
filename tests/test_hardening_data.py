"""Issue 15, data items: odd targets and columns are one line each (exit 2, nothing written), names LightGBM
refuses and datetime columns train, trials keep their integers, predict warns on unseen categories and the
two test scores are labelled apart."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd
import yaml
from typer.testing import CliRunner

from automl.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
DIABETES = REPO / "studies" / "data" / "diabetes.csv"


def base_frame() -> pd.DataFrame:
    df = pd.read_csv(DIABETES)
    df["progression"] = df["progression"].astype(float)
    return df


def write_study(folder: Path, data_name: str, trials: int = 2, **extra) -> Path:
    doc = {
        "data": {"path": data_name, "target": "progression"},
        "model": "lightgbm",
        "trials": trials,
        "seed": 0,
        "params": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True}},
        "fixed": {"num_boost_round": 20, "num_threads": 1},
        **extra,
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(res, folder: Path, field: str, *words: str) -> str:
    """Exit 2, exactly one line naming the study file and the field, no traceback, nothing written."""
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert lines[0].startswith(f"{folder / 'study.yaml'}: {field}: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    assert "Traceback" not in res.output
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".db", ".log", ".html")) == []
    return lines[0]



def test_trials_json_and_csv_keep_integers_and_leave_inactive_parameters_empty(tmp_path):
    base_frame().to_csv(tmp_path / "d.csv", index=False)
    params = {
        "boosting": {"type": "categorical", "choices": ["gbdt", "dart"]},
        "drop_rate": {"type": "float", "low": 0.05, "high": 0.5, "when": {"boosting": "dart"}},
        "num_leaves": {"type": "int", "low": 4, "high": 16},
    }
    path = write_study(tmp_path, "d.csv", trials=6, params=params)
    assert invoke("run", path, "--no-progress").exit_code == 0
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert {t.params["boosting"] for t in study.trials} == {"gbdt", "dart"}  # seed 0 draws both

    res = invoke("trials", path, "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    for row, t in zip(rows, study.trials, strict=True):
        assert row["user_attrs_best_iteration"] == t.user_attrs["best_iteration"]
        assert isinstance(row["user_attrs_best_iteration"], int) and isinstance(row["params_num_leaves"], int)
        assert row["params_drop_rate"] == t.params.get("drop_rate")  # None (null) when inactive
    assert "NaN" not in res.output

    res = invoke("trials", path, "--format", "csv")
    lines = res.output.splitlines()
    header = lines[0].split(",")
    for line, t in zip(lines[1:], study.trials, strict=True):
        cells = dict(zip(header, line.split(","), strict=True))
        assert cells["user_attrs_best_iteration"] == str(t.user_attrs["best_iteration"])
        assert cells["params_num_leaves"] == str(t.params["num_leaves"])
        assert cells["params_drop_rate"] == ("" if "drop_rate" not in t.params else repr(t.params["drop_rate"]))
