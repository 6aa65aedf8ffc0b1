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
