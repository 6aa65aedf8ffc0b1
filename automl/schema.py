"""The JSON Schema of a study file, generated from the pydantic models in :mod:`automl.studyfile`.

Editors (VS Code's YAML extension, JetBrains) read it through the first line of each study file,
``# yaml-language-server: $schema=study.schema.json``, to autocomplete and check fields. On top of the
models' own schema it adds, from the tables that validation reads: the sampler and pruner names (an enum),
trainer and metric names (suggestions: plugins may add more), and the numeric rules of ``studyfile``
(positive trials, fractions, non-empty lists, the fields each parameter type requires).
Regenerate ``studies/study.schema.json`` with ``automl schema > studies/study.schema.json``.
"""

from __future__ import annotations

import json
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _branch(prop: dict[str, Any], type_: str) -> dict[str, Any]:
    """The member of a union (``anyOf``) that has JSON type ``type_``."""
    for b in prop.get("anyOf", [prop]):
        if b.get("type") == type_:
            return b
    raise KeyError(type_)


def study_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a study file; the internal ``source`` field is left out."""
    from automl import samplers, trainers
    from automl.metrics import METRICS
    from automl.studyfile import StudySpec

    s = StudySpec.model_json_schema()
    props, defs = s["properties"], s["$defs"]
    props.pop("source", None)
    if "source" in s.get("required", []):
        s["required"].remove("source")

    s["anyOf"] = [{"required": ["trials"]}, {"required": ["timeout"]}]  # a timeout alone runs until time is up
    cv = defs["DataSpec"]["properties"]["cv"]
    cv["anyOf"] = [{"const": 0}, {"type": "integer", "minimum": 2}, {"type": "null"}]

    from automl.studyfile import RANGES

    for path, rule in RANGES.items():  # numeric bounds: the same table validation reads
        *parent, key = path.split(".")
        prop = (defs["DataSpec"]["properties"] if parent == ["data"] else props)[key]
        target = next((b for b in prop.get("anyOf", [prop]) if b.get("type") in ("integer", "number")), prop)
        if rule.low is not None:
            target["exclusiveMinimum" if rule.low_open else "minimum"] = rule.low
        if rule.high is not None:
            target["exclusiveMaximum" if rule.high_open else "maximum"] = rule.high
    props["model"]["examples"] = list(trainers.BUILTIN)
    _branch(props["metric"], "string")["examples"] = list(METRICS)
    metric_list = _branch(props["metric"], "array")
    metric_list.update(minItems=1, uniqueItems=True)
    metric_list["items"]["examples"] = list(METRICS)
    for key, table in (("sampler", samplers.SAMPLERS), ("pruner", samplers.PRUNERS)):
        names = sorted(table)
        _branch(props[key], "string")["enum"] = names
        obj = _branch(props[key], "object")
        obj["required"] = ["name"]
        obj["properties"] = {"name": {"enum": names, "description": f"the {key}; other keys are its options"}}
    _branch(props["params"], "object")["minProperties"] = 1

    param = defs["ParamSpec"]
    pp = param["properties"]
    _branch(pp["choices"], "array")["minItems"] = 1
    param["allOf"] = [
        {  # categorical: choices required; bounds, step and log belong to float/int only
            "if": {"properties": {"type": {"const": "categorical"}}},
            "then": {
                "required": ["choices"],
                "properties": {"low": {"type": "null"}, "high": {"type": "null"}, "step": {"type": "null"},
                               "log": {"const": False}, "choices": {"type": "array"}},
            },
            "else": {"required": ["low", "high"], "properties": {"choices": {"type": "null"},
                                                                 "low": {"type": "number"}, "high": {"type": "number"}}},
        },
        {  # log scale: low > 0 and no step
            "if": {"properties": {"log": {"const": True}}, "required": ["log"]},
            "then": {"properties": {"low": {"exclusiveMinimum": 0}, "step": {"type": "null"}}},
        },
        {  # int: whole-number bounds and step
            "if": {"properties": {"type": {"const": "int"}}},
            "then": {"properties": {"low": {"type": "integer"}, "high": {"type": "integer"},
                                    "step": {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}]}}},
        },
        {"properties": {"step": {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]}}},
    ]
    s.update(title="automl study file", description="An automl study file: the data, model, metric, search space and budget of an Optuna study.")
    return {"$schema": DIALECT, "$id": "study.schema.json", **s}


def dumps() -> str:
    """The schema as ``automl schema`` prints it (stable key order, trailing newline)."""
    return json.dumps(study_schema(), indent=2) + "\n"
