"""The Python API, automl as an objective inside a plain Optuna script, and studies as plain Optuna storages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from typer.testing import CliRunner

import automl
from automl.cli import app
from automl.errors import AutomlError

runner = CliRunner()
FAST = {"fixed": {"num_boost_round": 20, "min_child_samples": 5, "num_threads": 1}, "trials": 2}


def test_public_api_is_reexported():
    for name in ("load_study_file", "run_study", "write_report", "make_objective", "search_space",
                 "export_study", "predict", "list_trainers", "study_schema"):
        assert callable(getattr(automl, name)), name


def test_search_space_is_optuna_distributions(study_file):
    space = automl.search_space(study_file())
    assert space == {
        "learning_rate": FloatDistribution(0.05, 0.3, log=True),
        "num_leaves": IntDistribution(4, 16),
    }
    # Without params, the trainer's default space, less what the file fixes (min_child_samples).
    default = automl.search_space(study_file(params=None))
    assert default["num_leaves"] == IntDistribution(4, 256, log=True)
    assert sorted(default) == ["bagging_fraction", "feature_fraction", "lambda_l1", "lambda_l2", "learning_rate",
                               "num_leaves"]


def test_plain_optuna_script_with_its_own_sampler_storage_and_callbacks(tmp_path, study_file):
    path = study_file(**FAST)
    url = f"sqlite:///{tmp_path / 'mine.db'}"

    # --- what a user's own Optuna script looks like ---
    objective = automl.make_objective(path)
    seen: list[int] = []
    study = optuna.create_study(
        study_name="mine", storage=url, directions=objective.directions,
        sampler=optuna.samplers.RandomSampler(seed=1), pruner=optuna.pruners.NopPruner(),
    )
    study.optimize(objective, n_trials=3, callbacks=[lambda s, t: seen.append(t.number)])
    # ---

    assert seen == [0, 1, 2]
    assert objective.directions == ["minimize"]
    space = automl.search_space(path)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert t.distributions == space  # automl's space, sampled by the script's sampler
        assert t.user_attrs["valid_rmse"] == t.value
        assert t.user_attrs["learning_curve"][-1]["step"] == 20
    assert study.user_attrs["automl:metric"] == ["rmse"] and study.user_attrs["automl:model"] == "lightgbm"
    assert "automl:manifest" in study.user_attrs

    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "--storage", url, "--study", "mine", "-o", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "mine" in html and "rmse" in html


def test_objective_refuses_a_study_with_the_wrong_direction(study_file):
    objective = automl.make_objective(study_file(**FAST))
    study = optuna.create_study(direction="maximize")
    with pytest.raises(AutomlError, match=r"optimizes \['maximize'\] but metric \['rmse'\] needs \['minimize'\]"):
        study.optimize(objective, n_trials=1)


def test_notebook_api_round_trip(tmp_path, study_file):
    spec = automl.load_study_file(study_file(**FAST))
    study = automl.run_study(spec, storage=f"sqlite:///{tmp_path / 'nb.db'}", progress=False)
    assert len(study.trials) == 2
    path = automl.write_report(study, tmp_path / "nb.html")
    assert path.exists() and path.stat().st_size > 1000


@pytest.mark.slow
def test_optuna_cli_sees_the_same_trials(tmp_path, study_file):
    path = study_file(**FAST)
    study = automl.run_study(path, progress=False)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna_cli = Path(sys.executable).parent / "optuna"
    out = subprocess.run(
        [str(optuna_cli), "trials", "--study-name", "study", "--storage", url, "-f", "json"],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = json.loads(out)
    # The study stores its metric names (study.set_metric_names), so Optuna's CLI labels the value "rmse".
    assert [(r["number"], r["state"], r["value"]) for r in rows] == [
        (t.number, t.state.name, {"rmse": t.value}) for t in study.trials
    ]
