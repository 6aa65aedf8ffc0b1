"""automl.testing.check_trainer: every built-in trainer and the example plugin pass it; broken trainers do not,
and the error names the check that caught each one."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_lm_trainers import EXAMPLES, write_jsonl

from automl import trainers
from automl.testing import TrainerCheckError, check_trainer
from automl.trainers.base import BaseTrainer
from automl.trainers.lightgbm import LightGBMTrainer

REPO = Path(__file__).resolve().parents[1]
QUICK = {"lightgbm": {"num_boost_round": 30}, "xgboost": {"num_boost_round": 30}, "catboost": {"num_boost_round": 30},
         "auto": {"lightgbm.num_boost_round": 30, "catboost.num_boost_round": 30}}


@pytest.mark.parametrize("name", [n for n in trainers.names() if trainers.get(n).data_kind == "tabular"])
def test_every_builtin_tabular_trainer_conforms(name):
    check_trainer(trainers.get(name), fixed=QUICK.get(name, {}))


def test_the_example_plugin_conforms(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "examples" / "hgb-plugin"))
    from automl_hgb import HGBTrainer

    check_trainer(HGBTrainer)


@pytest.fixture
def lm_folder(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """The LM trainers' test folder: a tiny random GPT-2 (tiny-model/) and 12 prompt/completion rows."""
    write_jsonl(tmp_path / "tasks.jsonl", EXAMPLES)
    return tmp_path


@pytest.mark.parametrize("name", ["causal-lm", "lm-decode"])
def test_the_language_model_trainers_conform(lm_folder, name):
    fixed = {"base_model": str(lm_folder / "tiny-model")}
    if name == "causal-lm":
        fixed |= {"num_train_epochs": 2, "per_device_train_batch_size": 4}
    study = {"data": {"path": "tasks.jsonl", "valid_size": 0.25, "test_size": 0.25, "seed": 0}, "fixed": fixed}
    check_trainer(trainers.get(name), study=study, folder=lm_folder)
    with pytest.raises(TrainerCheckError, match="pass study="):  # other data than tables: the caller says which
        check_trainer(trainers.get(name))


class Silent(LightGBMTrainer):
    """Never reports: no learning curve, nothing for a pruner."""

    name = "silent"

    def fit(self, params, data, report, ctx):
        return super().fit(params, data, lambda *a, **k: None, ctx)


class Swallows(LightGBMTrainer):
    """Catches what report raises, so a pruner cannot stop it."""

    name = "swallows"

    def fit(self, params, data, report, ctx):
        def safe(*a, **k):
            try:
                report(*a, **k)
            except Exception:  # noqa: BLE001 - the bug under test
                pass

        return super().fit(params, data, safe, ctx)


class Unseeded(LightGBMTrainer):
    """Draws its bagging seed from the clock instead of ctx.seed."""

    name = "unseeded"
    calls = 0

    def fit(self, params, data, report, ctx):
        Unseeded.calls += 1
        return super().fit({**params, "bagging_fraction": 0.5, "bagging_freq": 1, "seed": Unseeded.calls}, data, report, ctx)


class NotTrainer:
    name, tasks, description = "duck", ("regression",), "a duck-typed trainer"


@pytest.mark.parametrize(("broken", "check", "message"), [
    (Silent, "fit[regression]", "never called report"),
    (Swallows, "fit[binary]", "was swallowed by fit"),
    (Unseeded, "fit[multiclass]", "use ctx.seed"),
])
def test_a_broken_trainer_fails_the_check_that_catches_it(broken, check, message):
    with pytest.raises(TrainerCheckError) as e:
        check_trainer(broken(), fixed={"num_boost_round": 30})
    failures = dict(e.value.failures)
    assert check in failures and message in failures[check], e.value
    assert str(e.value).startswith(f"trainer {broken.name!r} failed")


def test_undeclared_names_and_an_open_parameter_list_fail():
    class Open(LightGBMTrainer):
        name = "open"

        def check_params(self, names):
            return []  # accepts any name: a typo in a study file would pass silently

    with pytest.raises(TrainerCheckError) as e:
        check_trainer(Open(), fixed={"num_boost_round": 30})
    assert "no_such_parameter_xyz" in dict(e.value.failures)["check_params"]

    class Partial(BaseTrainer):  # fit and evaluate missing: not instantiable, as abc says
        name = "partial"

    with pytest.raises(TypeError, match="abstract"):
        Partial()
    with pytest.raises(TrainerCheckError) as e:
        check_trainer(NotTrainer())
    assert "subclass automl.trainers.base.BaseTrainer" in dict(e.value.failures)["declares"]

