"""The study file's JSON Schema: generated from the models, committed, referenced by every example study."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from automl.api import prepare_study
from automl.cli import app
from automl.errors import StudyFileError
from automl.schema import study_schema

REPO = Path(__file__).resolve().parents[1]
STUDIES = REPO / "studies"
SCHEMA_FILE = STUDIES / "study.schema.json"
EXAMPLES = sorted(STUDIES.glob("*.yaml")) + sorted((REPO / "examples").glob("**/*.yaml"))
FIRST_LINE = "# yaml-language-server: $schema="

BASE = {
    "data": {"path": "d.csv", "target": "y"},
    "model": "lightgbm",
    "trials": 5,
    "params": {"learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True}},
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = study_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_what_automl_schema_prints():
    res = CliRunner().invoke(app, ["schema"])
    assert res.exit_code == 0
    assert json.loads(res.output) == study_schema()
    assert SCHEMA_FILE.read_text() == res.output, "regenerate: automl schema > studies/study.schema.json"


def test_schema_hides_the_internal_source_field():
    s = study_schema()
    assert "source" not in s["properties"] and "source" not in s.get("required", [])
    assert s["required"] == ["data", "model"] and s["anyOf"] == [{"required": ["trials"]}, {"required": ["timeout"]}]
    assert "median" in s["properties"]["pruner"]["anyOf"][0]["enum"]  # read from the pruner table


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_study_validates_and_references_the_schema(validator, path):
    lines = path.read_text().splitlines()
    assert lines[0].startswith(FIRST_LINE), f"{path.name}: first line must be `{FIRST_LINE}<path to study.schema.json>`"
    target = (path.parent / lines[0][len(FIRST_LINE):].strip()).resolve()
    assert target == SCHEMA_FILE.resolve()
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def with_(**changes):
    doc = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = doc
        for p in parents:
            node = node[p]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return doc


VALID = [
    BASE,
    with_(metric=["rmse", "mae"], sampler={"name": "nsga2", "population_size": 10}, pruner="none"),
    with_(params__learning_rate={"type": "categorical", "choices": [0.1, 0.2]}, timeout=60, seed=3),
    with_(params__num_leaves={"type": "int", "low": 1, "high": 9, "step": 2}, data__test_size=0, fixed={"num_boost_round": 10}),
    with_(params__learning_rate={"type": "categorical", "choices": [0.1, 0.2]},
          params__drop_rate={"type": "float", "low": 0.1, "high": 0.5, "when": {"learning_rate": [0.1, 0.2]}}),
    with_(params=...),
    with_(trials=..., timeout=30, data__cv=5),  # a timeout alone; 5-fold cross-validation
    with_(data__cv=0),
]

MALFORMED = {
    "unknown top-level field": with_(trails=5),
    "missing model": with_(model=...),
    "missing trials": with_(trials=...),
    "cv of one fold": with_(data__cv=1),
    "trials not a number": with_(trials="many"),
    "trials zero": with_(trials=0),
    "timeout negative": with_(timeout=-1),
    "unknown data field": with_(data__taret="y"),
    "valid_size above 1": with_(data__valid_size=1.5),
    "test_size negative": with_(data__test_size=-0.1),
    "task not a task": with_(data__task="ranking"),
    "empty metric list": with_(metric=[]),
    "repeated metric": with_(metric=["rmse", "rmse"]),
    "unknown sampler": with_(sampler="tpee"),
    "sampler without name": with_(sampler={"seed": 1}),
    "empty params": with_(params={}),
    "param without type": with_(params__learning_rate={"low": 0, "high": 1}),
    "param type unknown": with_(params__learning_rate={"type": "double", "low": 0, "high": 1}),
    "unknown param field": with_(params__learning_rate={"type": "float", "low": 0.1, "high": 1, "lg": True}),
    "float without high": with_(params__learning_rate={"type": "float", "low": 0.1}),
    "log with low 0": with_(params__learning_rate={"type": "float", "low": 0, "high": 1, "log": True}),
    "log with step": with_(params__learning_rate={"type": "float", "low": 0.1, "high": 1, "log": True, "step": 0.1}),
    "categorical without choices": with_(params__learning_rate={"type": "categorical"}),
    "categorical empty choices": with_(params__learning_rate={"type": "categorical", "choices": []}),
    "categorical with bounds": with_(params__learning_rate={"type": "categorical", "choices": [1], "low": 0}),
    "float with choices": with_(params__learning_rate={"type": "float", "low": 0.1, "high": 1, "choices": [1]}),
    "int with fractional bound": with_(params__learning_rate={"type": "int", "low": 1.5, "high": 4}),
    "step zero": with_(params__learning_rate={"type": "float", "low": 0.1, "high": 1, "step": 0}),
    "fixed not a mapping": with_(fixed=[1, 2]),
}


def validate(tmp_path, doc):
    """What `automl validate` does with the file (structure, names, data)."""
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{i % 7}.5\n" for i in range(40)))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    return prepare_study(path)


@pytest.mark.parametrize("doc", VALID)
def test_valid_files_pass_both_the_schema_and_the_loader(validator, tmp_path, doc):
    assert [e.message for e in validator.iter_errors(doc)] == []
    validate(tmp_path, doc)


@pytest.mark.parametrize("doc", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_files_are_rejected_by_both_the_schema_and_the_loader(validator, tmp_path, doc):
    assert list(validator.iter_errors(doc)), "the schema accepted it"
    with pytest.raises(StudyFileError):
        validate(tmp_path, doc)
