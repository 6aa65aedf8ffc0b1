"""Checks that need no valid spec: run on the raw mapping of a study file that failed structural validation,
so one run of ``automl validate`` lists every problem of the file (names, data file, target column) at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl.errors import Problem


def raw_problems(raw: dict[str, Any], label: str, base_dir: Path) -> list[Problem]:
    from automl import samplers, trainers
    from automl.errors import suggest

    out: list[Problem] = []
    for kind, table, default in (
        ("sampler", samplers.SAMPLERS, samplers.DEFAULT_SAMPLER),
        ("pruner", samplers.PRUNERS, samplers.DEFAULT_PRUNER),
    ):
        for f, m in samplers.option_problems(kind, raw.get(kind), table, default):
            out.append(Problem(label, f, m))
    model = raw.get("model")
    if isinstance(model, str) and model not in trainers.names():
        out.append(Problem(label, "model", f"unknown trainer {model!r}" + suggest(model, trainers.names())))
    elif isinstance(model, str):
        trainer = trainers.get(model)
        for section in ("params", "fixed"):
            if isinstance(raw.get(section), dict):
                for n, m in trainer.check_params(list(raw[section])):
                    out.append(Problem(label, f"{section}.{n}", m))
    data = raw.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        path = Path(data["path"])
        path = path if path.is_absolute() else base_dir / path
        if not path.exists():
            out.append(Problem(label, "data.path", f"file not found: {path}; check the path (relative to the study file)"))
        elif path.suffix.lower() == ".csv" and isinstance(data.get("target"), str):
            import pandas as pd

            try:
                columns = [str(c) for c in pd.read_csv(path, nrows=0).columns]
            except Exception:  # noqa: BLE001 - reported in full once the structure is fixed
                columns = None
            if columns is not None and data["target"] not in columns:
                out.append(Problem(label, "data.target", f"column {data['target']!r} is not in {path.name}" + suggest(data["target"], columns)))
    return out
