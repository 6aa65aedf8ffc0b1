"""The only place that reads private Optuna names; each use is pinned by tests/test_optuna_compat.py, which fails
on the Optuna upgrade that renames it."""

from __future__ import annotations

import optuna


def first_step_used(pruner: optuna.pruners.BasePruner) -> int | None:
    """The first step whose intermediate value ``pruner`` can use (for this trial or to compare others with it);
    None if it uses none.

    One ``trial.report`` is a storage round trip (milliseconds on SQLite): steps no pruner reads are kept in
    the trial's in-memory learning curve, stored once when the trial ends. Median, percentile and threshold
    pruners skip steps before ``n_warmup_steps`` (Optuna keeps it as ``_n_warmup_steps``); NopPruner skips all;
    any other pruner (successive halving, Hyperband, wrappers, a user's own) gets every step.
    """
    if isinstance(pruner, optuna.pruners.NopPruner):
        return None
    if isinstance(pruner, (optuna.pruners.PercentilePruner, optuna.pruners.ThresholdPruner)):
        return int(getattr(pruner, "_n_warmup_steps", 0) or 0)
    return 0
