"""Study-file params -> Optuna distributions; conditional parameters; suggesting from a trial."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)

from automl.studyfile import ParamSpec


def to_distribution(p: ParamSpec) -> BaseDistribution:
    """The one Optuna distribution a parameter of the study file maps to."""
    if p.type == "float":
        return FloatDistribution(float(p.low), float(p.high), log=p.log, step=p.step)
    if p.type == "int":
        return IntDistribution(int(p.low), int(p.high), log=p.log, step=int(p.step) if p.step else 1)
    return CategoricalDistribution(list(p.choices))


def distributions(params: Mapping[str, ParamSpec]) -> dict[str, BaseDistribution]:
    """The search space as ``{name: distribution}`` (conditional parameters included)."""
    return {name: to_distribution(p) for name, p in params.items()}


def order(params: Mapping[str, ParamSpec]) -> list[str]:
    """Parameter names so that every parameter comes after the ones its ``when`` names."""
    done: list[str] = []
    pending = list(params)
    while pending:
        progressed = False
        for name in list(pending):
            deps = (params[name].when or {}).keys()
            if all(d in done for d in deps):
                done.append(name)
                pending.remove(name)
                progressed = True
        if not progressed:  # cycles are rejected by validation; keep file order as a fallback
            done.extend(pending)
            break
    return done


def is_active(p: ParamSpec, values: Mapping[str, Any]) -> bool:
    """Whether a conditional parameter is sampled, given the values chosen so far."""
    for other, wanted in (p.when or {}).items():
        if other not in values:
            return False
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if values[other] not in allowed:
            return False
    return True


def suggest(trial: Any, params: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """Sample every active parameter from ``trial`` (an ``optuna.Trial``); inactive ones are absent."""
    values: dict[str, Any] = {}
    for name in order(params):
        p = params[name]
        if not is_active(p, values):
            continue
        if p.type == "float":
            values[name] = trial.suggest_float(name, float(p.low), float(p.high), log=p.log, step=p.step)
        elif p.type == "int":
            values[name] = trial.suggest_int(name, int(p.low), int(p.high), log=p.log, step=int(p.step or 1))
        else:
            values[name] = trial.suggest_categorical(name, list(p.choices))
    return values


#: The most points ``sampler: grid`` walks; GridSampler lists every combination up front, so a grid of
#: 10**12 points is a MemoryError rather than a long study.
MAX_GRID = 100_000


def grid_problems(params: Mapping[str, ParamSpec]) -> list[tuple[str, str]]:
    """(field, message) for a space GridSampler cannot walk: a parameter with no finite grid, or more than
    MAX_GRID points in all. Counted, not listed, so a huge range costs nothing."""
    sizes: dict[str, int] = {}
    out = []
    for name, p in params.items():
        if p.type == "categorical":
            sizes[name] = len(p.choices or [])
        elif p.type == "int" and not p.log:
            sizes[name] = (int(p.high) - int(p.low)) // int(p.step or 1) + 1
        elif p.type == "float" and p.step:
            sizes[name] = int(round((p.high - p.low) / p.step)) + 1
        else:
            out.append((f"params.{name}", "has no finite grid for sampler grid; give it a step (and no log) or make it categorical"))
    total = 1
    for n in sizes.values():
        total *= n
    if not out and total > MAX_GRID:
        big = max(sizes, key=sizes.get)
        out.append(("sampler", f"grid has {total:,} points, more than the {MAX_GRID:,} automl walks; give params.{big} "
                               f"({sizes[big]:,} values) a larger step or fewer choices, or use another sampler"))
    return out


def grid(params: Mapping[str, ParamSpec]) -> dict[str, list[Any]]:
    """The grid GridSampler walks, derived from the file: choices, or low..high by step.

    Raises ValueError naming a parameter that has no finite grid (a float or int without step, or log).
    """
    import numpy as np

    out: dict[str, list[Any]] = {}
    for name, p in params.items():
        if p.type == "categorical":
            out[name] = list(p.choices)
        elif p.type == "int" and not p.log:
            out[name] = list(range(int(p.low), int(p.high) + 1, int(p.step or 1)))
        elif p.type == "float" and p.step:
            n = int(round((p.high - p.low) / p.step))
            out[name] = [float(round(v, 12)) for v in np.linspace(p.low, p.low + n * p.step, n + 1)]
        else:
            raise ValueError(name)
    return out


def grid_size(g: Mapping[str, list[Any]]) -> int:
    n = 1
    for v in g.values():
        n *= len(v)
    return n


def fingerprint(params: Mapping[str, ParamSpec]) -> dict[str, str]:
    """A JSON-able description of the space, stored with the study to detect a changed space on resume."""
    return {
        name: json.dumps(
            {"dist": json.loads(distribution_to_json(to_distribution(p))), "when": p.when}, sort_keys=True
        )
        for name, p in params.items()
    }


def changed(stored: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Names of parameters added, removed or changed between two fingerprints."""
    names = sorted(set(stored) | set(current))
    return [n for n in names if stored.get(n) != current.get(n)]


def project(config: Mapping[str, Any], params: Mapping[str, ParamSpec]) -> dict[str, Any] | None:
    """A warm-start configuration restricted to the study's space, or None when it does not fit.

    Names the space does not search are dropped (fixed or absent there); a value outside its parameter's range
    or choices (or off its step) drops the whole configuration, so a user's own ``params:`` ranges are never
    overridden; a conditional parameter is kept when the configuration's own values activate it (``model: auto``
    configurations name their family), else left to the sampler. None too when nothing of it is searched."""
    out: dict[str, Any] = {}
    for name in order({n: params[n] for n in config if n in params}):
        v, p = config[name], params[name]
        if p.when and not is_active(p, out):
            continue  # conditional on a value this configuration does not have: left to the sampler
        if p.type in ("float", "int"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not p.low <= v <= p.high:
                return None
            if p.type == "int":
                if float(v) != int(v):
                    return None
                v = int(v)
            if p.step and abs((v - p.low) / p.step - round((v - p.low) / p.step)) > 1e-9:
                return None
            out[name] = float(v) if p.type == "float" else v
        else:
            if v not in list(p.choices):
                return None
            out[name] = v
    return out or None
