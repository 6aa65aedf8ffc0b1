"""The only place that reads private Optuna names; each use is pinned by tests/test_optuna_compat.py, which fails
on the Optuna upgrade that renames it."""

from __future__ import annotations

from typing import Any

import optuna


def first_step_used(pruner: optuna.pruners.BasePruner) -> int | None:
    """The first step whose intermediate value ``pruner`` can use (for this trial or to compare others with it);
    None if it uses none.

    One ``trial.report`` is a storage round trip (milliseconds on SQLite): steps no pruner reads are kept in
    the trial's in-memory learning curve, stored once when the trial ends. Median, percentile and threshold
    pruners skip steps before ``n_warmup_steps`` (Optuna keeps it as ``_n_warmup_steps``); NopPruner skips all;
    any other pruner (successive halving, Hyperband, wrappers, a user's own) gets every step.
    """
    pruner = getattr(pruner, "inner", pruner)  # a wrapper (automl.trainers.auto.FamilyPruner) prunes as its pruner
    if isinstance(pruner, optuna.pruners.NopPruner):
        return None
    if isinstance(pruner, (optuna.pruners.PercentilePruner, optuna.pruners.ThresholdPruner)):
        return int(getattr(pruner, "_n_warmup_steps", 0) or 0)
    return 0


def set_user_attrs(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """``trial.set_user_attr`` for each item, in one transaction on an RDB storage (SQLite, PostgreSQL).

    Optuna commits every ``set_user_attr`` on its own (an fsync on SQLite: milliseconds each); a trial ends with
    five to eight attributes. RDBStorage's ``_set_trial_attr_without_commit`` (and ``_create_scoped_session``,
    ``_backend`` of the cache wrapper) do what ``set_trial_user_attr`` does without the commit; any other
    storage gets the public calls."""
    storage = trial.storage
    backend = getattr(storage, "_backend", storage)
    if attrs and isinstance(backend, optuna.storages.RDBStorage):
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        with _create_scoped_session(backend.scoped_session, True) as session:
            for key, value in attrs.items():
                backend._set_trial_attr_without_commit(session, models.TrialUserAttributeModel, trial._trial_id, key, value)
        return
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


# -- a study's and a trial's storage handles (Optuna keeps them private; the public API has no getter) --------
def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage object a study reads and writes (``Study._storage``; ``Trial.storage`` is public for trials)."""
    return study._storage


def study_id(study: optuna.Study) -> int:
    """The study's id in its storage (``Study._study_id``), without the name lookup
    ``storage.get_study_id_from_name`` costs (a query per call on SQL storages)."""
    return study._study_id


def trial_id(trial: optuna.Trial | optuna.trial.FrozenTrial) -> int:
    """The trial's id in its storage (``_trial_id`` of a Trial and of a FrozenTrial alike)."""
    return trial._trial_id


def unwrap_storage(storage: optuna.storages.BaseStorage) -> optuna.storages.BaseStorage:
    """The storage behind Optuna's cache wrapper (``_CachedStorage._backend``, around every RDBStorage a study
    opened from a URL), else ``storage`` itself."""
    return getattr(storage, "_backend", storage)


# -- heartbeats (optuna.storages._heartbeat: public only through study.optimize and fail_stale_trials) ------
def heartbeat_enabled(storage: optuna.storages.BaseStorage) -> bool:
    """Whether ``storage`` keeps Optuna's heartbeat table (an RDBStorage opened with ``heartbeat_interval``)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(storage)


def heartbeat_thread(trial_id: int, storage: optuna.storages.BaseStorage) -> Any:
    """A context manager that records the trial's heartbeat every interval while it runs, as study.optimize does
    (automl runs trials with ask/tell, where Optuna starts no heartbeat thread)."""
    from optuna.storages._heartbeat import get_heartbeat_thread

    return get_heartbeat_thread(trial_id, storage)


def stale_trial_ids(storage: optuna.storages.BaseStorage, study_id: int) -> set[int]:
    """Ids of the study's RUNNING trials whose heartbeat is older than the grace period (heartbeat storages only).

    ``optuna.storages.fail_stale_trials`` would fail them all at once: automl first spares those whose worker
    is alive on this host (a busy machine can delay a beat) and writes each one's ``fail_reason``."""
    return set(storage._get_stale_trial_ids(study_id))


def trial_state_counts(engine: Any, study_id: int) -> dict[str, int]:
    """{state name: trials} of a study in one COUNT query on an RDBStorage's engine (Optuna's ``trials`` table,
    its ``study_id`` and ``state`` columns); ``get_trials`` would load every trial with its attributes."""
    import sqlalchemy

    with engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.text("SELECT state, COUNT(*) FROM trials WHERE study_id = :sid GROUP BY state"), {"sid": study_id}
        ).all()
    return {str(getattr(state, "name", state)): int(n) for state, n in rows}


class inside_optimize_loop:  # noqa: N801 - used as a context manager, like contextlib's
    """Mark the calling thread as inside ``study.optimize`` (``Study._thread_local.in_optimize_loop``) while an
    ask/tell trial runs: objectives and samplers may call ``study.stop()``, which Optuna refuses outside it.
    The budget loop ends the run; the stop flag itself is ignored."""

    def __init__(self, study: optuna.Study):
        self._local = study._thread_local

    def __enter__(self) -> None:
        self._was = getattr(self._local, "in_optimize_loop", False)
        self._local.in_optimize_loop = True

    def __exit__(self, *exc: Any) -> None:
        self._local.in_optimize_loop = self._was


def journal_file_path(storage: optuna.storages.BaseStorage) -> str | None:
    """The log file of a JournalStorage on a JournalFileBackend (``JournalStorage._backend._file_path``), else None."""
    return getattr(getattr(storage, "_backend", None), "_file_path", None)
