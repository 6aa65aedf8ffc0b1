"""A trainer plugin for tests only: LightGBM, sleeping ``$AUTOML_TEST_TRIAL_SLEEP`` seconds at the start of
each fit (after the trial's parameters are sampled), so a test can kill a worker in the middle of a trial.

Registered as ``model: slow-lightgbm`` by the ``slow_trainer`` fixture (tests/conftest.py), which puts this
folder and an entry point for it on the PYTHONPATH of the ``automl`` processes a test starts."""

from __future__ import annotations

import os
import time
from typing import Any

from automl.trainers.lightgbm import LightGBMTrainer

SLEEP_ENV = "AUTOML_TEST_TRIAL_SLEEP"
NAME = "slow-lightgbm"


def _sleep() -> None:
    time.sleep(float(os.environ.get(SLEEP_ENV) or 0))


class SlowLightGBM(LightGBMTrainer):
    name = NAME

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        _sleep()
        return super().fit(*args, **kwargs)

    def fit_cv(self, *args: Any, **kwargs: Any) -> Any:  # cross-validated trials sleep too
        _sleep()
        return super().fit_cv(*args, **kwargs)
