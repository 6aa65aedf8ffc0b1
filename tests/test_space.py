"""The space grammar: one table of (study-file snippet, expected distribution or expected error)."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from automl import space
from automl.errors import StudyFileError
from automl.studyfile import parse

BASE = {"data": {"path": "d.csv", "target": "y"}, "model": "lightgbm", "trials": 3}

GOOD = [
    ({"type": "float", "low": 0.01, "high": 0.3, "log": True}, FloatDistribution(0.01, 0.3, log=True)),
    ({"type": "float", "low": 0, "high": 1}, FloatDistribution(0.0, 1.0)),
    ({"type": "float", "low": 0, "high": 1, "step": 0.25}, FloatDistribution(0.0, 1.0, step=0.25)),
    ({"type": "int", "low": 8, "high": 256, "log": True}, IntDistribution(8, 256, log=True)),
    ({"type": "int", "low": 5, "high": 100, "step": 5}, IntDistribution(5, 100, step=5)),
    ({"type": "int", "low": 3, "high": 3}, IntDistribution(3, 3)),
    ({"type": "categorical", "choices": ["gbdt", "dart"]}, CategoricalDistribution(["gbdt", "dart"])),
    ({"type": "categorical", "choices": [1, 2.5, False, None]}, CategoricalDistribution([1, 2.5, False, None])),
]


@pytest.mark.parametrize(("snippet", "expected"), GOOD, ids=[str(s) for s, _ in GOOD])
def test_snippet_maps_to_distribution(snippet, expected):
    spec = parse({**BASE, "params": {"p": snippet}}, "s.yaml")
    assert space.distributions(spec.params)["p"] == expected


BAD = [
    ({"type": "float", "low": 0, "high": 0.3, "log": True}, "params.p.low: must be > 0 when log is true (got 0)"),
    ({"type": "float", "low": -1, "high": 2, "log": True}, "params.p.low: must be > 0 when log is true (got -1)"),
    ({"type": "float", "low": 2, "high": 1}, "params.p.low: must be <= high (got low 2 > high 1)"),
    ({"type": "int", "low": 5, "high": 100, "step": 0}, "params.p.step: must be > 0 (got 0)"),
    ({"type": "float", "low": 0, "high": 1, "step": -0.1}, "params.p.step: must be > 0 (got -0.1)"),
    ({"type": "int", "low": 1, "high": 9, "step": 2, "log": True}, "params.p.step: cannot be combined with log"),
    ({"type": "int", "low": 1.5, "high": 9}, "params.p.low: must be a whole number for type int (got 1.5)"),
    ({"type": "categorical", "choices": []}, "params.p.choices: must not be empty"),
    ({"type": "categorical"}, "params.p.choices: required for type categorical"),
    ({"type": "categorical", "choices": ["a", "a"]}, "params.p.choices: must not repeat a value"),
    ({"type": "categorical", "choices": ["a"], "low": 1}, "params.p.low: only for types float and int"),
    ({"type": "float", "high": 1}, "params.p.low: required for type float"),
    ({"type": "flot", "low": 0, "high": 1}, "params.p.type: must be one of 'float', 'int' or 'categorical'; did you mean 'float'?"),
    ({"type": "float", "low": 0, "hgh": 1}, "params.p.hgh: unknown field; did you mean 'high'?"),
    ({"type": "float", "low": "a", "high": 1}, "params.p.low: input should be a valid number"),
    ({"type": "float", "low": 0, "high": 1, "when": {"q": "x"}}, "params.p.when.q: names an unknown parameter"),
    ({"type": "float", "low": 0, "high": 1, "when": {"p": 1}}, "params.p.when.p: a parameter cannot depend on itself"),
    ({"type": "float", "low": 0, "high": 1, "when": {"kind": "c"}}, "params.p.when.kind: 'c' is not one of kind's choices"),
    ({"type": "float", "low": 0, "high": 1, "when": {"kind": ["a", "z"]}}, "params.p.when.kind: 'z' is not one of kind's choices"),
    (None, "params.p: is empty"),
]


@pytest.mark.parametrize(("snippet", "error"), BAD, ids=[e.split(":")[0] + ":" + e.split(":")[1] for _, e in BAD])
def test_snippet_is_rejected_with_one_clear_line(snippet, error):
    params = {"p": snippet, "kind": {"type": "categorical", "choices": ["a", "b"]}}
    with pytest.raises(StudyFileError) as err:
        parse({**BASE, "params": params}, "s.yaml")
    lines = str(err.value).splitlines()
    assert any(line.startswith("s.yaml: " + error) for line in lines), lines


TOP_BAD = [
    ({"trials": 0}, "trials: must be a positive whole number (got 0)"),
    ({"trials": -3}, "trials: must be a positive whole number (got -3)"),
    ({"trials": 2.5}, "trials: input should be a valid integer"),
    ({"trials": "many"}, "trials: "),
    ({"trials": None}, "trials: "),
    ({"timeout": -1}, "timeout: must be > 0 seconds (got -1)"),
    ({"data": {"path": "d.csv", "target": "y", "valid_size": 1.5}}, "data.valid_size: must be a fraction between 0 and 1"),
    ({"data": {"path": "d.csv", "target": "y", "valid_size": 0.5, "test_size": 0.5}}, "data.valid_size: valid_size + test_size must be < 1"),
    ({"data": {"path": "d.csv", "target": "y", "taks": "binary"}}, "data.taks: unknown field; did you mean 'task'?"),
    ({"data": {"path": "d.csv", "target": "y", "task": "regresion"}}, "data.task: must be one of"),
    ({"metric": []}, "metric: must not be an empty list"),
    ({"metric": ["rmse", "rmse"]}, "metric: lists a metric twice"),
    ({"sampler": {"seed": 1}}, "sampler: needs a name"),
    ({"samplr": "tpe"}, "samplr: unknown field; did you mean 'sampler'?"),
    ({"params": {}}, "params: is empty"),
    ({"params": {"a": {"type": "int", "low": 1, "high": 2}}, "fixed": {"a": 3}}, "fixed.a: is also in params"),
    ({"model": None}, "model: "),
]


@pytest.mark.parametrize(("override", "error"), TOP_BAD, ids=[e.split(":")[0] for _, e in TOP_BAD])
def test_top_level_errors(override, error):
    raw = {**BASE, **override}
    raw = {k: v for k, v in raw.items() if not (v is None and k in ("trials", "model"))} if None in override.values() else raw
    with pytest.raises(StudyFileError) as err:
        parse(raw, "s.yaml")
    assert any(line.startswith("s.yaml: " + error) for line in str(err.value).splitlines()), str(err.value)


def test_every_problem_is_reported_at_once():
    raw = {
        **BASE,
        "trials": 0,
        "params": {
            "lr": {"type": "float", "low": 0, "high": 1, "log": True},
            "n": {"type": "int", "low": 9, "high": 1},
            "c": {"type": "categorical", "choices": []},
        },
    }
    with pytest.raises(StudyFileError) as err:
        parse(raw, "s.yaml")
    assert len(err.value.problems) == 4


def test_cycle_in_conditions_is_rejected():
    raw = {**BASE, "params": {
        "a": {"type": "categorical", "choices": [1, 2], "when": {"b": 1}},
        "b": {"type": "categorical", "choices": [1, 2], "when": {"a": 1}},
    }}
    with pytest.raises(StudyFileError, match="cycle"):
        parse(raw, "s.yaml")


def test_conditional_parameter_is_absent_when_inactive():
    spec = parse({**BASE, "params": {
        "drop_rate": {"type": "float", "low": 0.05, "high": 0.5, "when": {"boosting": "dart"}},
        "boosting": {"type": "categorical", "choices": ["gbdt", "dart"]},
    }}, "s.yaml")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {"gbdt": 0, "dart": 0}
    for _ in range(30):
        trial = study.ask()
        values = space.suggest(trial, spec.params)
        seen[values["boosting"]] += 1
        assert ("drop_rate" in values) == (values["boosting"] == "dart")
        if "drop_rate" in values:
            assert 0.05 <= values["drop_rate"] <= 0.5
        study.tell(trial, 0.0)
    assert seen["gbdt"] and seen["dart"]


def test_grid_is_derived_from_the_file():
    spec = parse({**BASE, "params": {
        "a": {"type": "categorical", "choices": ["x", "y"]},
        "b": {"type": "int", "low": 1, "high": 5, "step": 2},
        "c": {"type": "float", "low": 0, "high": 1, "step": 0.5},
    }}, "s.yaml")
    g = space.grid(spec.params)
    assert g == {"a": ["x", "y"], "b": [1, 3, 5], "c": [0.0, 0.5, 1.0]}
    assert space.grid_size(g) == 18


def test_fingerprint_names_the_changed_parameter():
    a = parse({**BASE, "params": {"x": {"type": "float", "low": 0, "high": 1}, "y": {"type": "int", "low": 1, "high": 3}}}, "s")
    b = parse({**BASE, "params": {"x": {"type": "float", "low": 0, "high": 2}, "y": {"type": "int", "low": 1, "high": 3}}}, "s")
    assert space.changed(space.fingerprint(a.params), space.fingerprint(b.params)) == ["x"]
