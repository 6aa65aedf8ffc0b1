"""Every private Optuna name automl reads (automl/_optuna_compat.py), pinned so an Optuna upgrade that breaks
one fails here first."""

import optuna

from automl import _optuna_compat


def test_first_step_used_reads_the_warmup_of_percentile_median_and_threshold_pruners():
    assert optuna.pruners.MedianPruner(n_warmup_steps=37)._n_warmup_steps == 37  # the private name itself
    assert _optuna_compat.first_step_used(optuna.pruners.MedianPruner(n_warmup_steps=37)) == 37
    assert _optuna_compat.first_step_used(optuna.pruners.PercentilePruner(25.0, n_warmup_steps=5)) == 5
    assert _optuna_compat.first_step_used(optuna.pruners.ThresholdPruner(upper=1.0, n_warmup_steps=3)) == 3
    assert _optuna_compat.first_step_used(optuna.pruners.NopPruner()) is None
    assert _optuna_compat.first_step_used(optuna.pruners.SuccessiveHalvingPruner()) == 0
    assert _optuna_compat.first_step_used(optuna.pruners.HyperbandPruner()) == 0


def test_set_user_attrs_writes_every_attribute_in_one_transaction(tmp_path):
    from optuna.storages._rdb import models  # noqa: F401 - the private module it imports
    from optuna.storages._rdb.storage import _create_scoped_session  # noqa: F401

    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = optuna.create_study(storage=url)
    trial = study.ask()
    assert isinstance(trial.storage._backend, optuna.storages.RDBStorage)
    _optuna_compat.set_user_attrs(trial, {"a": 1, "b": [1.5, "x"], "c": {"d": None}})
    _optuna_compat.set_user_attrs(trial, {"a": 2})
    study.tell(trial, 1.0)
    again = optuna.load_study(study_name=study.study_name, storage=url).trials[0]
    assert again.user_attrs == {"a": 2, "b": [1.5, "x"], "c": {"d": None}}
    mem = optuna.create_study()
    t = mem.ask()
    _optuna_compat.set_user_attrs(t, {"a": 1})
    assert mem.trials[0].user_attrs == {"a": 1}
