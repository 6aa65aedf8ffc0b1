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
