"""One self-contained HTML file: plotly.js embedded once, no network requests, study data as text."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def trial_rows(study: optuna.Study) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of the trials table (blank where a conditional parameter was inactive)."""
    trials = study.get_trials(deepcopy=False)
    params = sorted({p for t in trials for p in t.params})
    attrs = sorted({a for t in trials for a in t.user_attrs if a not in ("learning_curve", "worker")})
    n_obj = len(study.directions)
    value_cols = ["value"] if n_obj == 1 else [f"value_{i}" for i in range(n_obj)]
    cols = ["number", "state", *value_cols, "duration_s", *params, *attrs]
    rows = []
    for t in trials:
        vals = list(t.values) if t.values else [None] * n_obj
        dur = t.duration.total_seconds() if t.duration else None
        rows.append([t.number, t.state.name, *vals, dur, *[t.params.get(p, "") for p in params],
                     *[t.user_attrs.get(a, "") for a in attrs]])
    return cols, rows


def write_report(study: optuna.Study, path: str | Path) -> Path:
    """Write the report of ``study`` to ``path``; returns the path."""
    import plotly.io as pio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"<h1>{_esc(study.study_name)}</h1>"]
    counts = {s.name: len(study.get_trials(deepcopy=False, states=(s,))) for s in TrialState}
    parts.append("<p>" + ", ".join(f"{k.lower()}: {v}" for k, v in counts.items() if v) + "</p>")
    figs = []
    if counts.get("COMPLETE") and len(study.directions) == 1:
        figs.append(optuna.visualization.plot_optimization_history(study))
    for i, fig in enumerate(figs):
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs="inline" if i == 0 else False))
    cols, rows = trial_rows(study)
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_esc('' if v is None else v)}</td>" for v in r) + "</tr>" for r in rows)
    parts.append(f"<table border=1><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    doc = f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(study.study_name)}</title></head><body>{''.join(parts)}</body></html>"
    path.write_text(doc, encoding="utf-8")
    return path
