"""The PyTorch `mlp` trainer: every hyperparameter reaches the model; early stopping, pruning, divergence,
determinism, export hooks; study files with `model: mlp` run end to end through `automl run`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from conftest import REPO, make_classification_frame, make_regression_frame
from optuna.trial import TrialState
from typer.testing import CliRunner

from automl import data as data_mod
from automl import runner, studyfile
from automl.cli import app
from automl.errors import StudyFileError
from automl.metrics import METRICS
from automl.objective import make_objective
from automl.trainers.base import FitContext
from automl.trainers.mlp import KNOBS, MLPTrainer, make_optimizer, resolve

torch = pytest.importorskip("torch")
nn = torch.nn


# -- helpers ------------------------------------------------------------------------------------------
def load(directory: Path, frame: pd.DataFrame, target: str, name: str = "d.csv") -> Any:
    path = directory / name
    frame.to_parquet(path) if name.endswith(".parquet") else frame.to_csv(path, index=False)
    doc = {"data": {"path": str(path), "target": target}, "model": "mlp", "trials": 1}
    return data_mod.load(studyfile.parse(doc, str(directory / "s.yaml")))


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load(tmp_path_factory.mktemp("reg"), make_regression_frame(120), "y")


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load(tmp_path_factory.mktemp("multi"), make_classification_frame(150, classes=3), "label")


def fit(data: Any, metric: str = "rmse", seed: int = 0, threads: int = 1, **params: Any) -> tuple[Any, list[dict]]:
    curve: list[dict] = []
    params.setdefault("epochs", 3)
    result = MLPTrainer().fit(
        params, data, lambda step, value, **extras: curve.append({"step": step, "value": value, **extras}),
        FitContext(METRICS[metric], data.task, threads, seed),
    )
    return result, curve


def modules(result: Any, cls: type) -> list[Any]:
    return [m for m in result.model.module.modules() if isinstance(m, cls)]


def write_study(path: Path, data_path: Path, target: str, **fields: Any) -> Path:
    doc = {"data": {"path": str(data_path), "target": target}, "model": "mlp", "trials": 3, "seed": 0, **fields}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def cli_run(study: Path, db: Path) -> optuna.Study:
    res = CliRunner().invoke(app, ["run", str(study), "--storage", f"sqlite:///{db}", "--no-progress"])
    assert res.exit_code == 0, res.output
    return optuna.load_study(study_name=study.stem, storage=f"sqlite:///{db}")


# -- each hyperparameter reaches the model ------------------------------------------------------------
def test_n_layers_and_hidden_size_set_the_parameter_count(reg: Any) -> None:
    # 5 inputs (x1, x2 standardized + 3 one-hot colors), 1 output
    one, _ = fit(reg, n_layers=1, hidden_size=8, epochs=1)
    three, _ = fit(reg, n_layers=3, hidden_size=8, epochs=1)
    zero, _ = fit(reg, n_layers=0, epochs=1)
    assert one.info["n_parameters"] == (5 * 8 + 8) + (8 + 1) == 57
    assert three.info["n_parameters"] == 57 + 2 * (8 * 8 + 8) == 201
    assert zero.info["n_parameters"] == 5 + 1  # a linear model
    assert len(modules(three, nn.Linear)) == 4


def test_dropout_appears_in_the_module_tree(reg: Any) -> None:
    with_dropout, _ = fit(reg, dropout=0.3, n_layers=2, epochs=1)
    without, _ = fit(reg, dropout=0.0, epochs=1)
    assert [m.p for m in modules(with_dropout, nn.Dropout)] == [0.3, 0.3]
    assert modules(without, nn.Dropout) == []


def test_batch_norm_adds_batchnorm_layers(reg: Any) -> None:
    on, _ = fit(reg, batch_norm=True, n_layers=2, batch_size=17, epochs=1)  # 72 rows % 17 == 4: no size-1 batch
    off, _ = fit(reg, batch_norm=False, epochs=1)
    assert len(modules(on, nn.BatchNorm1d)) == 2
    assert modules(off, nn.BatchNorm1d) == []


def test_batch_norm_survives_a_last_batch_of_one_row(reg: Any) -> None:
    n = len(reg.train)
    result, curve = fit(reg, batch_norm=True, batch_size=n - 1, epochs=2)  # n % (n-1) == 1: dropped
    assert len(curve) == 2 and np.isfinite(curve[-1]["value"])


@pytest.mark.parametrize("name,cls", [("relu", nn.ReLU), ("gelu", nn.GELU), ("silu", nn.SiLU), ("tanh", nn.Tanh)])
def test_activation_class(reg: Any, name: str, cls: type) -> None:
    result, _ = fit(reg, activation=name, n_layers=2, epochs=1)
    acts = [m for m in result.model.module if not isinstance(m, (nn.Linear, nn.Dropout, nn.BatchNorm1d))]
    assert [type(m) for m in acts] == [cls, cls]


@pytest.mark.parametrize(
    "optimizer,cls,momentum",
    [("adam", torch.optim.Adam, None), ("adamw", torch.optim.AdamW, None), ("sgd", torch.optim.SGD, 0.7)],
)
def test_optimizer_class_and_its_settings(optimizer: str, cls: type, momentum: float | None) -> None:
    p = resolve({"optimizer": optimizer, "learning_rate": 0.02, "weight_decay": 0.001, "momentum": 0.7})
    opt = make_optimizer(nn.Linear(3, 1), p)
    assert type(opt) is cls
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (0.02, 0.001)
    if momentum is not None:
        assert group["momentum"] == momentum


def test_optimizer_changes_the_fit(reg: Any) -> None:
    values = {o: fit(reg, optimizer=o, learning_rate=0.01, epochs=3)[1][-1]["value"] for o in ("adam", "sgd")}
    assert values["adam"] != values["sgd"]


def test_patience_stops_on_a_plateau(reg: Any) -> None:
    # learning_rate 0 never changes the weights: every epoch scores the same, epoch 1 stays best.
    result, curve = fit(reg, learning_rate=0.0, epochs=50, patience=3)
    assert result.info["best_epoch"] == 1
    assert result.info["epochs_run"] == 4 == len(curve)
    assert len({c["value"] for c in curve}) == 1


def test_patience_zero_runs_every_epoch_and_keeps_the_last_weights(reg: Any) -> None:
    result, curve = fit(reg, learning_rate=0.0, epochs=6, patience=0)
    assert result.info["epochs_run"] == 6 == len(curve)


def test_early_stopping_restores_the_best_epoch(reg: Any) -> None:
    result, curve = fit(reg, learning_rate=0.05, epochs=40, patience=5)
    best, run = result.info["best_epoch"], result.info["epochs_run"]
    assert run == best + 5 < 40  # stopped by patience
    valid = MLPTrainer().evaluate(result, reg, "valid", [METRICS["rmse"]])[0]
    assert valid == pytest.approx(curve[best - 1]["value"], rel=1e-9)
    assert valid < curve[-1]["value"]


def test_lr_schedule_changes_the_learning_rate_trajectory(reg: Any) -> None:
    lrs = {s: [c["lr"] for c in fit(reg, lr_schedule=s, learning_rate=0.01, epochs=10, patience=0)[1]]
           for s in ("constant", "cosine", "onecycle")}
    assert lrs["constant"] == [0.01] * 10
    assert lrs["cosine"][0] == 0.01 and all(a > b for a, b in zip(lrs["cosine"][:-1], lrs["cosine"][1:], strict=True))
    assert lrs["cosine"][-1] < 0.001
    one = lrs["onecycle"]
    assert one[0] == pytest.approx(0.01 / 25)  # OneCycleLR starts at max_lr / div_factor
    peak = int(np.argmax(one))
    assert 1 <= peak <= 4 and one[peak] > 0.008 and one[-1] < one[0]


def test_train_loss_and_lr_are_reported_every_epoch(reg: Any) -> None:
    _, curve = fit(reg, epochs=4, patience=0)
    assert [c["step"] for c in curve] == [1, 2, 3, 4]
    assert all(c["train_loss"] > 0 and c["lr"] == 0.001 for c in curve)
    assert curve[-1]["train_loss"] < curve[0]["train_loss"]


# -- data handling ------------------------------------------------------------------------------------
def test_regression_target_standardized_but_metric_in_original_units(tmp_path: Path) -> None:
    frame = make_regression_frame(120)
    frame["y"] = frame["y"] * 1000 + 5000
    data = load(tmp_path, frame, "y")
    result, curve = fit(data, epochs=30, learning_rate=0.01, patience=0)
    pred = result.model.predict(data.valid.X)
    rmse = float(np.sqrt(np.mean((pred - data.valid.y) ** 2)))
    assert curve[-1]["value"] == pytest.approx(rmse, rel=1e-9)
    assert abs(pred.mean() - data.valid.y.mean()) < 0.5 * data.valid.y.std()
    assert rmse < 0.5 * data.valid.y.std()  # learned in standardized units, reported in the original ones
    scaler = result.model.preprocessor.named_transformers_["num"][-1]
    assert scaler.mean_ == pytest.approx(data.train.X[["x1", "x2"]].mean().to_numpy())  # fitted on train only


def test_multiclass_predicts_probabilities(multi: Any) -> None:
    result, curve = fit(multi, metric="accuracy", epochs=30, learning_rate=0.01)
    proba = result.model.predict(multi.valid.X)
    assert proba.shape == (len(multi.valid), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert max(c["value"] for c in curve) >= 0.8


def test_same_seed_same_values_other_seed_other_values(reg: Any) -> None:
    kw = dict(dropout=0.2, batch_size=16, epochs=4, learning_rate=0.01)
    a, b, c = fit(reg, seed=0, **kw)[1], fit(reg, seed=0, **kw)[1], fit(reg, seed=1, **kw)[1]
    assert [x["value"] for x in a] == [x["value"] for x in b]
    assert [x["value"] for x in a] != [x["value"] for x in c]


def test_threads_come_from_the_context_for_big_matrices_and_are_1_for_tiny_ones(reg: Any) -> None:
    fit(reg, threads=2, epochs=1, hidden_size=256, batch_size=64)  # 64 * 256 * 256 = 2**22 multiply-adds
    assert torch.get_num_threads() == 2
    fit(reg, threads=2, epochs=1, hidden_size=16)
    assert torch.get_num_threads() == 1


# -- the objective: pruning and divergence --------------------------------------------------------------
def prepared(study_file: Any, **fields: Any) -> Any:
    return runner.prepare(studyfile.load(study_file(model="mlp", **fields)))


def test_pruning_raises_through_a_deterministic_pruner(study_file: Any) -> None:
    prep = prepared(study_file, params={"hidden_size": {"type": "int", "low": 8, "high": 16}},
                    fixed={"epochs": 50, "patience": 0})
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0, n_warmup_steps=3))
    study.optimize(make_objective(prep, seed=0), n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.PRUNED
    assert t.user_attrs["pruned_at_step"] == 3  # steps below n_warmup_steps are never pruned
    curve = t.user_attrs["learning_curve"]
    assert [c["step"] for c in curve] == [1, 2, 3] and all("train_loss" in c for c in curve)


def test_diverging_trial_fails_with_a_reason_and_the_study_goes_on(study_file: Any) -> None:
    prep = prepared(study_file, params={"learning_rate": {"type": "float", "low": 1e-3, "high": 1e8, "log": True}},
                    fixed={"epochs": 5, "optimizer": "sgd"})
    study = optuna.create_study()
    study.enqueue_trial({"learning_rate": 1e8})
    study.enqueue_trial({"learning_rate": 1e-2})
    study.optimize(make_objective(prep, seed=0), n_trials=2, catch=(Exception,))
    failed, ok = study.trials
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs["fail_reason"].startswith("TrialFailed: training loss is inf at epoch 1")
    assert ok.state == TrialState.COMPLETE and np.isfinite(ok.value)


# -- study-file checks ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields,expected",
    [
        ({"fixed": {"hiden_size": 8}},
         "fixed.hiden_size: is not a parameter of trainer 'mlp'; did you mean 'hidden_size'? (valid: learning_rate, "),
        ({"fixed": {"n_units": 8}}, "fixed.n_units: is not a parameter of trainer 'mlp'; valid: learning_rate, batch_size"),
        ({"fixed": {"activation": "foo"}}, "fixed.activation: must be one of 'relu', 'gelu', 'silu', 'tanh' (got 'foo')"),
        ({"fixed": {"optimizer": "rmsprop"}}, "fixed.optimizer: must be one of 'adam', 'adamw', 'sgd' (got 'rmsprop')"),
        ({"fixed": {"batch_norm": "yes"}}, "fixed.batch_norm: must be one of false, true (got 'yes')"),
        ({"fixed": {"dropout": 1.5}}, "fixed.dropout: must be < 1 (got 1.5)"),
        ({"fixed": {"epochs": 2.5}}, "fixed.epochs: must be a whole number (got 2.5)"),
        ({"params": {"activation": {"type": "categorical", "choices": ["relu", "swish"]}}},
         "params.activation: choices must be among 'relu', 'gelu', 'silu', 'tanh' (got 'swish')"),
        ({"params": {"hidden_size": {"type": "categorical", "choices": [32, 0]}}},
         "params.hidden_size: every choice must be >= 1 (got 0)"),
        ({"params": {"dropout": {"type": "float", "low": 0.0, "high": 1.0}}},
         "params.dropout: every value in the range must be < 1 (got 1)"),
        ({"params": {"n_layers": {"type": "float", "low": 1, "high": 3}}}, "params.n_layers: must be type int (got type float)"),
        ({"params": {"lr_schedule": {"type": "float", "low": 0, "high": 1}}},
         "params.lr_schedule: must be type categorical with choices from 'constant', 'cosine', 'onecycle'"),
    ],
)
def test_bad_names_and_values_are_study_file_errors(study_file: Any, fields: dict, expected: str) -> None:
    with pytest.raises(StudyFileError) as err:
        prepared(study_file, **fields)
    assert any(str(p).split(": ", 1)[1].startswith(expected) for p in err.value.problems), err.value.problems


def test_validate_cli_exits_2_on_a_bad_activation(study_file: Any) -> None:
    res = CliRunner().invoke(app, ["validate", str(study_file(model="mlp", params=None, fixed={"activation": "foo"}))])
    assert res.exit_code == 2
    assert "fixed.activation: must be one of 'relu', 'gelu', 'silu', 'tanh' (got 'foo')" in res.output


def test_default_space_is_valid_and_used_without_params(study_file: Any) -> None:
    prep = prepared(study_file, params=None, fixed={})
    assert set(prep.params) == set(MLPTrainer().default_space("regression")) <= set(KNOBS)
    assert prep.fixed == {"epochs": 100, "patience": 10}
    assert MLPTrainer().check_params(prep.params) == []


# -- export hooks -------------------------------------------------------------------------------------
def test_save_load_round_trip_predicts_raw_rows(reg: Any, tmp_path: Path) -> None:
    trainer = MLPTrainer()
    result, _ = fit(reg, epochs=5, batch_norm=True, dropout=0.1, batch_size=17)
    trainer.save_model(result, tmp_path / "model")
    assert {p.name for p in (tmp_path / "model").iterdir()} == {"model.pt", "preprocess.joblib", "mlp.json"}
    loaded = trainer.load_model(tmp_path / "model")
    raw = reg.valid.X.astype({"color": "object"})  # as rows come from a file
    expected = trainer.predict(result, reg.valid.X)
    assert np.array_equal(trainer.predict(loaded, reg.encode(raw)), expected)
    assert loaded.info["best_epoch"] == result.info["best_epoch"]


def test_final_params_train_the_best_number_of_epochs_without_early_stopping() -> None:
    out = MLPTrainer().final_params({"epochs": 100, "patience": 10, "learning_rate": 0.01}, {"best_epoch": 7})
    assert out == {"epochs": 7, "patience": 0, "learning_rate": 0.01}


# -- study files through `automl run FILE --storage URL` -----------------------------------------------------
def test_regression_from_parquet_with_a_string_column_and_missing_values(tmp_path: Path) -> None:
    frame = make_regression_frame(160)
    frame.loc[::17, "x2"] = np.nan
    frame.loc[::13, "color"] = None
    frame.to_parquet(tmp_path / "reg.parquet")
    assert pd.read_parquet(tmp_path / "reg.parquet")["color"].dtype == "str"
    study = cli_run(write_study(
        tmp_path / "reg-mlp.yaml", tmp_path / "reg.parquet", "y", metric="rmse",
        params={"learning_rate": {"type": "float", "low": 3e-3, "high": 3e-2, "log": True}},
        fixed={"epochs": 40, "patience": 5}), tmp_path / "s.db")
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 3
    assert study.best_value < 1.5  # y's standard deviation is about 3.7
    assert all(t.user_attrs["epochs_run"] == len(t.user_attrs["learning_curve"]) for t in done)


def test_multiclass_study(tmp_path: Path) -> None:
    make_classification_frame(150, classes=3).to_csv(tmp_path / "m.csv", index=False)
    study = cli_run(write_study(tmp_path / "multi-mlp.yaml", tmp_path / "m.csv", "label", metric="accuracy",
                                params={"hidden_size": {"type": "int", "low": 8, "high": 32}},
                                fixed={"epochs": 30, "learning_rate": 0.01}), tmp_path / "s.db")
    assert study.user_attrs["automl:task"] == "multiclass"
    assert study.best_value >= 0.8


def test_conditional_momentum_only_for_sgd(tmp_path: Path, regression_csv: Path) -> None:
    study = cli_run(write_study(
        tmp_path / "cond-mlp.yaml", regression_csv, "y", trials=8, sampler="random",
        params={"optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
                "momentum": {"type": "float", "low": 0.0, "high": 0.95, "when": {"optimizer": "sgd"}}},
        fixed={"epochs": 3, "learning_rate": 0.01}), tmp_path / "s.db")
    trials = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(trials) == 8
    assert {t.params["optimizer"] for t in trials} == {"adam", "sgd"}
    assert all(("momentum" in t.params) == (t.params["optimizer"] == "sgd") for t in trials)


@pytest.mark.slow
@pytest.mark.parametrize("pruner", [
    {"name": "median", "n_startup_trials": 2, "n_warmup_steps": 3},
    {"name": "hyperband", "min_resource": 2, "max_resource": 30, "reduction_factor": 3},
])
def test_pruners_stop_trials_early_and_keep_their_learning_curve(tmp_path: Path, regression_csv: Path, pruner: dict) -> None:
    study = cli_run(write_study(
        tmp_path / f"{pruner['name']}-mlp.yaml", regression_csv, "y", trials=10, pruner=pruner,
        params={"learning_rate": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True}},
        fixed={"epochs": 30, "patience": 30, "hidden_size": 16}), tmp_path / "s.db")
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned, [t.state for t in study.trials]
    for t in pruned:
        curve = t.user_attrs["learning_curve"]
        assert len(curve) == t.user_attrs["pruned_at_step"] < 30
        assert all({"step", "value", "train_loss", "lr"} <= set(c) for c in curve)
    assert len(study.trials) == 10


# -- torch stays out of the CLI and of LightGBM studies ----------------------------------------------------
def test_help_and_lightgbm_studies_never_import_torch(study_file: Any) -> None:
    code = textwrap.dedent(f"""
        import sys
        from typer.testing import CliRunner
        from automl.cli import app
        assert CliRunner().invoke(app, ["--help"]).exit_code == 0
        assert "torch" not in sys.modules, "automl --help imported torch"
        from automl.api import run_study
        run_study({str(study_file())!r}, progress=False, trials=1)
        assert "torch" not in sys.modules, "a LightGBM study imported torch"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
