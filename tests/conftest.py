"""Shared test helpers: tiny data sets and a study-file factory (like Optuna's testing/ package)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

# A throw-away PostgreSQL cluster (session) and a fresh database per test; see tests/pg.py.
from pg import postgres_server, postgres_url  # noqa: E402, F401

REPO = Path(__file__).resolve().parents[1]
STUDIES = REPO / "studies"


def make_regression_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    y = 3 * x1 - 2 * x2 + (color == "red") * 1.5 + rng.normal(scale=0.3, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "y": y})


def make_classification_frame(n: int = 240, classes: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logits = X @ rng.normal(size=(3, classes))
    labels = np.array([f"c{i}" for i in range(classes)])[logits.argmax(axis=1)]
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": labels})


@pytest.fixture
def regression_csv(tmp_path: Path) -> Path:
    path = tmp_path / "reg.csv"
    make_regression_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def binary_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bin.csv"
    make_classification_frame(classes=2).to_csv(path, index=False)
    return path


@pytest.fixture
def multiclass_csv(tmp_path: Path) -> Path:
    path = tmp_path / "multi.csv"
    make_classification_frame(classes=3).to_csv(path, index=False)
    return path


@pytest.fixture
def study_file(tmp_path: Path, regression_csv: Path) -> Callable[..., Path]:
    """Write a study file; keyword arguments override a small, fast LightGBM regression study."""

    def make(name: str = "study.yaml", **overrides: Any) -> Path:
        doc: dict[str, Any] = {
            "data": {"path": str(regression_csv.name), "target": "y"},
            "model": "lightgbm",
            "metric": "rmse",
            "trials": 4,
            "seed": 0,
            "params": {
                "learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True},
                "num_leaves": {"type": "int", "low": 4, "high": 16},
            },
            "fixed": {"num_boost_round": 30, "min_child_samples": 5, "num_threads": 1},
        }
        for k, v in overrides.items():
            if v is None:
                doc.pop(k, None)
            else:
                doc[k] = v
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return make


PLUGINS = Path(__file__).resolve().parent / "plugins"


@pytest.fixture(scope="session")
def slow_trainer(tmp_path_factory: pytest.TempPathFactory) -> Callable[[float], dict[str, str]]:
    """``env(seconds)``: the environment for an ``automl`` process in which ``model: slow-lightgbm`` (the test
    plugin tests/plugins/automl_test_slow.py) is LightGBM sleeping ``seconds`` at the start of each fit.

    The plugin is registered as a user's would be, by an entry point in the group ``automl.trainers``: a
    dist-info folder (what pip writes) on the PYTHONPATH, never installed into the environment running the tests."""
    import os

    from automl.trainers import ENTRY_POINT_GROUP

    site = tmp_path_factory.mktemp("slow-plugin-site")
    info = site / "automl_test_slow-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: automl-test-slow\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nslow-lightgbm = automl_test_slow:SlowLightGBM\n")

    import sys

    sys.path.insert(0, str(PLUGINS))  # importable here too (tests read its constants); registered only there
    from automl_test_slow import NAME, SLEEP_ENV

    assert NAME == "slow-lightgbm"

    def env(seconds: float) -> dict[str, str]:
        path = [str(site), str(PLUGINS), *filter(None, [os.environ.get("PYTHONPATH")])]
        return {"PYTHONPATH": os.pathsep.join(path), SLEEP_ENV: str(seconds)}

    env.site = site  # type: ignore[attr-defined] - for monkeypatch.syspath_prepend: the plugin in this process
    return env


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    """A tiny random GPT-2 with the character tokenizer, saved as tmp_path/tiny-model (seconds)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2LMHeadModel

    from automl.lm.tokenizer import char_tokenizer

    tok = char_tokenizer()
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                     eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    out = tmp_path / "tiny-model"
    GPT2LMHeadModel(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out
