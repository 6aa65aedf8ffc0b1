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


def test_storage_study_and_trial_ids(tmp_path):
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    study = optuna.create_study(storage=url, study_name="ids")
    trial = study.ask()
    storage = _optuna_compat.storage_of(study)
    assert storage is study._storage and isinstance(storage, optuna.storages.BaseStorage)
    assert _optuna_compat.study_id(study) == storage.get_study_id_from_name("ids")
    tid = _optuna_compat.trial_id(trial)
    assert storage.get_trial(tid).number == trial.number
    frozen = study.tell(trial, 1.0)
    assert _optuna_compat.trial_id(frozen) == tid
    inner = _optuna_compat.unwrap_storage(storage)
    assert isinstance(inner, optuna.storages.RDBStorage) and inner is not storage  # behind Optuna's cache
    mem = optuna.storages.InMemoryStorage()
    assert _optuna_compat.unwrap_storage(mem) is mem


def test_heartbeat_thread_records_and_stale_ids_find_the_silent_trial(tmp_path):
    import time

    # A grace period of 3 s (the smallest heartbeat interval is 1 s): a loaded machine may delay one beat. The
    # silent trial then waits 4.5 s: SQLite keeps whole seconds, so 3.8 s could read as 3, not past the grace.
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'hb.db'}", heartbeat_interval=1, grace_period=3)
    assert _optuna_compat.heartbeat_enabled(storage)
    assert not _optuna_compat.heartbeat_enabled(optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'no.db'}"))
    assert not _optuna_compat.heartbeat_enabled(optuna.storages.InMemoryStorage())
    study = optuna.create_study(storage=storage, study_name="hb")
    silent, beating = study.ask(), study.ask()
    storage.record_heartbeat(_optuna_compat.trial_id(silent))
    time.sleep(4.5)
    with _optuna_compat.heartbeat_thread(_optuna_compat.trial_id(beating), storage):
        time.sleep(0.3)
        stale = _optuna_compat.stale_trial_ids(storage, _optuna_compat.study_id(study))
    assert stale == {_optuna_compat.trial_id(silent)}


def test_journal_file_path(tmp_path):
    from optuna.storages.journal import JournalFileBackend

    path = str(tmp_path / "j.log")
    storage = optuna.storages.JournalStorage(JournalFileBackend(path))
    assert _optuna_compat.journal_file_path(storage) == path
    assert _optuna_compat.journal_file_path(optuna.storages.InMemoryStorage()) is None


def test_trial_state_counts_reads_optunas_trials_table(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'c.db'}", study_name="c")
    for v in (1.0, 2.0):
        study.tell(study.ask(), v)
    study.tell(study.ask(), state=optuna.trial.TrialState.PRUNED)
    study.ask()
    other = optuna.create_study(storage=study._storage, study_name="other")
    other.tell(other.ask(), 3.0)
    engine = _optuna_compat.unwrap_storage(study._storage).engine
    assert _optuna_compat.trial_state_counts(engine, _optuna_compat.study_id(study)) == {
        "COMPLETE": 2, "PRUNED": 1, "RUNNING": 1,
    }


def test_inside_optimize_loop_lets_an_ask_tell_trial_call_study_stop():
    study = optuna.create_study()
    assert not getattr(study._thread_local, "in_optimize_loop", False)
    import pytest

    with pytest.raises(RuntimeError):
        study.stop()  # Optuna refuses it outside study.optimize
    with _optuna_compat.inside_optimize_loop(study):
        assert study._thread_local.in_optimize_loop is True
        study.stop()
    assert study._thread_local.in_optimize_loop is False
