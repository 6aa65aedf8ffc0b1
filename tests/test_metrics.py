"""automl.metrics computes rmse, mae and logloss with NumPy (sklearn's validation was most of a blend's scoring
time): the values must be scikit-learn's, weights, extreme probabilities and odd label dtypes included."""

import numpy as np
import pytest
from sklearn.metrics import log_loss, mean_absolute_error, root_mean_squared_error

from automl.metrics import BINARY, METRICS, MULTICLASS, REGRESSION


@pytest.mark.parametrize("k", [2, 3, 7])
@pytest.mark.parametrize("weighted", [False, True])
def test_logloss_equals_sklearn(k, weighted):
    rng = np.random.default_rng(k)
    n = 300
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    proba[0] = 0.0
    proba[0, y[0]] = 1.0  # certain and right
    proba[1] = 0.0
    proba[1, (y[1] + 1) % k] = 1.0  # certain and wrong: clipped, as sklearn does
    w = rng.random(n) if weighted else None
    want = log_loss(y, proba, labels=np.arange(k), sample_weight=w)
    if k == 2:  # automl's binary predictions are P(class 1)
        got = METRICS["logloss"].score(BINARY, y, proba[:, 1], w)
    else:
        got = METRICS["logloss"].score(MULTICLASS, y, proba, w)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_logloss_float_and_odd_labels():
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = np.array([0.1, 0.8, 0.6, 0.3])
    want = log_loss(y, np.column_stack([1 - p, p]), labels=[0, 1])
    assert METRICS["logloss"].score(BINARY, y, p) == pytest.approx(want, rel=1e-12)
    # Labels that are not class codes go to sklearn unchanged (and get its error).
    with pytest.raises(ValueError):
        METRICS["logloss"].score(BINARY, np.array(["a", "b"]), np.array([0.2, 0.7]))


@pytest.mark.parametrize("weighted", [False, True])
def test_rmse_mae_equal_sklearn(weighted):
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=200) * 10, rng.normal(size=200) * 10
    w = rng.random(200) if weighted else None
    assert METRICS["rmse"].score(REGRESSION, y, p, w) == pytest.approx(root_mean_squared_error(y, p, sample_weight=w), rel=1e-12)
    assert METRICS["mae"].score(REGRESSION, y, p, w) == pytest.approx(mean_absolute_error(y, p, sample_weight=w), rel=1e-12)
