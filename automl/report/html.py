"""One self-contained HTML file: plotly.js embedded once, no network requests, study data as text.

Everything that comes from the study (names, parameters, user attributes, figure data) enters the page
either HTML-escaped (the header) or as JSON inside ``<script type="application/json">`` with ``<``, ``>``
and ``&`` written as ``\\u003c`` etc.; the table is built with ``textContent`` by a small inline script.
"""

from __future__ import annotations

import functools
import html
import json
import math
import statistics
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from automl import attrs
from automl.report import figures as F
from automl.report import summary as S
from automl.storage import mask

VERSION_PACKAGES = ("automl", "optuna", "lightgbm", "torch")
SKIP_ATTRS = ("learning_curve", "examples")  # curves are drawn; a language model's example answers get their own table
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "plotlyServerURL": "",
    "topojsonURL": "",
    "modeBarButtonsToRemove": ["sendDataToCloud"],
}


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _clean(v: Any) -> Any:
    """A JSON-safe copy: non-finite floats become strings ("nan", "inf"), unknown objects their str()."""
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    return str(v)


def _script_json(text: str) -> str:
    """JSON text safe inside <script>: no '<', '>' or '&' can close the element or start markup."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def json_script(element_id: str, obj: Any, *, raw: str | None = None) -> str:
    text = raw if raw is not None else json.dumps(_clean(obj), ensure_ascii=False, allow_nan=False)
    return f'<script type="application/json" id="{_esc(element_id)}">{_script_json(text)}</script>'


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


# ------------------------------------------------------------------------------------------------ table


def trial_rows(study: optuna.Study) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of the trials table (blank where a conditional parameter was inactive).

    Columns: number, state, one per objective, duration_s, ``feasible`` (yes / "no: <constraint> +<excess>") when
    the study has ``constraints:``, each parameter, each user attribute (``attr:<name>``; ``learning_curve``
    skipped), and ``pareto`` for multi-objective studies.
    """
    trials = study.get_trials(deepcopy=False)
    names = F.objective_names(study)
    constrained = any(getattr(t, "constraints", None) for t in trials)
    base = ["number", "state", *names, "duration_s", *(["feasible"] if constrained else [])]
    params = sorted({p for t in trials for p in t.params})
    attrs = sorted({a for t in trials for a in t.user_attrs if a not in SKIP_ATTRS})
    pcols = [p if p not in base else f"param:{p}" for p in params]
    multi = len(names) > 1
    front = best_numbers(study) if multi else set()
    cols = [*base, *pcols, *[f"attr:{a}" for a in attrs], *(["pareto"] if multi else [])]
    rows = []
    for t in trials:
        vals = list(t.values) if t.values else [None] * len(names)
        row = [t.number, t.state.name, *vals, F.duration_s(t), *([feasibility(t)] if constrained else []),
               *[t.params.get(p) for p in params], *[t.user_attrs.get(a) for a in attrs]]
        if multi:
            row.append("yes" if t.number in front else None)
        rows.append(row)
    return cols, rows


def feasibility(trial: Any) -> str | None:
    """"yes", "no: <name> +<excess>, ..." (the constraints it broke and by how much), or None when not measured."""
    excess = getattr(trial, "constraints", None) or {}
    if not excess:
        return None
    broken = [f"{n} +{_fmt(v)}" for n, v in sorted(excess.items()) if v > 0]
    return "no: " + ", ".join(broken) if broken else "yes"


def best_numbers(study: optuna.Study) -> set[int]:
    """The best trial's number (one objective) or the Pareto-optimal trials' (several); empty without a complete trial."""
    if not F.complete_trials(study):
        return set()
    return {t.number for t in study.best_trials} if len(study.directions) > 1 else {study.best_trial.number}


# ----------------------------------------------------------------------------------------------- header


def storage_url(study: optuna.Study) -> str | None:
    """The study's storage as a masked URL (RDB), a journal file, or None for in-memory studies."""
    from automl import _optuna_compat as compat

    st = compat.unwrap_storage(compat.storage_of(study))
    url = getattr(st, "url", None)
    if isinstance(url, str):
        return mask(url)
    path = compat.journal_file_path(st)
    if path is not None:
        return f"journal file {path}"
    return None


def _versions_now() -> dict[str, str]:
    out = {}
    for pkg in VERSION_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def header_facts(study: optuna.Study, url: str | None = None) -> dict[str, Any]:
    """The facts at the top of the report, from automl's study user attrs where present, else from Optuna alone."""
    ua = study.user_attrs
    trials = study.get_trials(deepcopy=False)
    names = F.objective_names(study)
    complete = F.complete_trials(study)
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in trials:
        counts[t.state.name.lower()] += 1
    best: list[dict[str, Any]] = []
    if complete:
        if len(names) == 1:
            bt = study.best_trial
            best = [{"number": bt.number, "values": {names[0]: bt.values[0]}, "params": dict(bt.params)}]
        else:
            best = [{"number": t.number, "values": dict(zip(names, t.values, strict=True)), "params": dict(t.params)}
                    for t in sorted(study.best_trials, key=lambda t: t.number)]
    tests = ua.get(attrs.TEST_SCORES)
    test_scores = {str(k): v for k, v in tests.items()} if isinstance(tests, dict) else {}
    durations = [d for t in trials if t.state.is_finished() and (d := F.duration_s(t)) is not None]
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    versions_then = ua.get(attrs.VERSIONS)
    if not isinstance(versions_then, dict):
        versions_then = {"automl": ua[attrs.VERSION]} if attrs.VERSION in ua else {}
    return {
        "name": study.study_name,
        "directions": [d.name.lower() for d in study.directions],
        "metrics": names,
        "model": ua.get(attrs.MODEL),
        "task": ua.get(attrs.TASK),
        "data": ua.get(attrs.DATA),
        "fingerprint": ua.get(attrs.DATA_FINGERPRINT),
        "storage": mask(url) if url else storage_url(study),
        "counts": {k: v for k, v in counts.items() if v},
        "trials": len(trials),
        "infeasible": sum(1 for t in trials if any(v > 0 for v in (getattr(t, "constraints", None) or {}).values())),
        "constrained": any(getattr(t, "constraints", None) for t in trials),
        "best": best,
        "test_scores": test_scores,
        "test_scores_of": ua.get(attrs.TEST_SCORES_OF) or "trained on the train split",
        "time": {
            "trial_seconds_total": sum(durations) if durations else None,
            "trial_seconds_mean": statistics.fmean(durations) if durations else None,
            "trial_seconds_median": statistics.median(durations) if durations else None,
            "wall_seconds": (max(ends) - min(starts)).total_seconds() if starts and ends else None,
            "first_start": min(starts) if starts else None,
        },
        "versions_study": versions_then,
        "versions_report": _versions_now(),
    }


def _seconds(s: float | None) -> str:
    if s is None:
        return "–"
    if s < 60:
        return f"{s:.3g} s"
    if s < 3600:
        return f"{s / 60:.3g} min"
    return f"{s / 3600:.3g} h"


def _header_html(f: dict[str, Any]) -> str:
    def kv(d: dict[str, Any]) -> str:
        return ", ".join(f"{k}={_fmt(v)}" for k, v in d.items()) or "–"

    rows: list[tuple[str, str]] = []
    dirs = ", ".join(f"{m} ({d})" for m, d in zip(f["metrics"], f["directions"], strict=True))
    rows.append(("objective" if len(f["metrics"]) == 1 else "objectives", dirs))
    if f["model"]:
        rows.append(("trainer", f"{f['model']}" + (f" ({f['task']})" if f["task"] else "")))
    if f["data"]:
        rows.append(("data", f"{f['data']}" + (f" (fingerprint {f['fingerprint']})" if f["fingerprint"] else "")))
    if f["storage"]:
        rows.append(("storage", f["storage"]))
    rows.append(("trials", f"{f['trials']}: " + (", ".join(f"{v} {k}" for k, v in f["counts"].items()) or "none")
                 + (f"; {f['infeasible']} broke a constraint (never the best trial or exported; column feasible)"
                    if f.get("infeasible") else "; every measured trial met the constraints" if f.get("constrained") else "")))
    t = f["time"]
    if t["trial_seconds_total"] is not None:
        rows.append(("time", f"{_seconds(t['wall_seconds'])} wall clock, {_seconds(t['trial_seconds_total'])} in trials; "
                             f"per trial mean {_seconds(t['trial_seconds_mean'])}, median {_seconds(t['trial_seconds_median'])}"))
    best = f["best"]
    if not best:
        rows.append(("best", "no complete trial yet"))
    elif len(best) == 1:
        b = best[0]
        rows.append(("best value", f"{kv(b['values'])} (trial {b['number']})"))
        rows.append(("best parameters", kv(b["params"])))
        ts = f["test_scores"].get(str(b["number"]))
        rows.append((f"test split (model {f['test_scores_of']})", kv(ts) if isinstance(ts, dict) else "not scored (no automl:test_scores for this trial)"))
    else:
        shown = best[:10]
        rows.append(("Pareto front", f"{len(best)} trials" + (" (first 10 below)" if len(best) > 10 else "")))
        for b in shown:
            ts = f["test_scores"].get(str(b["number"]))
            rows.append((f"trial {b['number']}", f"{kv(b['values'])}; {kv(b['params'])}"
                         + (f"; test: {kv(ts)}" if isinstance(ts, dict) else "")))
    # versions: in the Settings section
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


# ------------------------------------------------------------------------------------------------ summary


def _num(v: Any, key: str = "") -> str:
    """A number for the page, with its exact value in ``data-value`` (the browser test compares it to the storage)."""
    if not isinstance(v, (int, float)):
        return _esc(v)
    attr = f' data-key="{_esc(key)}"' if key else ""
    return f'<span class="num"{attr} data-value="{_esc(repr(float(v)))}">{_esc(f"{v:.4g}")}</span>'


def _pct(imp: float | None) -> str:
    if imp is None:
        return "–"
    if abs(imp) < 0.0005:
        return "same"
    return f"{abs(imp) * 100:.1f}% {'better' if imp > 0 else 'worse'}"


def _data_sentence(d: dict[str, Any] | None) -> str:
    if not d:
        return "not recorded (the study was not made by automl)"
    parts = [str(d.get("file", "?"))]
    # Only whole numbers are read, so a study whose attributes another tool wrote cannot break the page.
    rows = {k: v for k, v in (d.get("rows") or {}).items() if isinstance(v, int)} if isinstance(d.get("rows"), dict) else {}
    if rows:
        parts.append(" / ".join(f"{v:,} {k}" for k, v in rows.items()) + " rows")
    cols = {k: v for k, v in (d.get("columns") or {}).items() if isinstance(v, int)} if isinstance(d.get("columns"), dict) else {}
    if cols:
        parts.append(f"{sum(cols.values())} feature columns (" + ", ".join(f"{v} {k}" for k, v in cols.items()) + ")")
    if d.get("target"):
        parts.append(f"target {d['target']!s}" + (f" ({d['classes']} classes)" if d.get("classes") else "")
                     + (f", {d['task']}" if d.get("task") else ""))
    roles = d.get("roles") if isinstance(d.get("roles"), dict) else {}
    named = {"dropped": "dropped", "features_only": "only features", "categorical": "as categories", "id": "row id",
             "weight": "row weights"}
    said = [f"{named[k]}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in roles.items() if k in named and v]
    if said:
        parts.append("columns by role: " + "; ".join(said))
    split = d.get("split") if isinstance(d.get("split"), dict) else None
    if split and split.get("by") in ("time", "group"):
        parts.append(f"split by {split['by']} ({split.get('column')})"
                     + (": train on the past, validate and test on later rows" if split["by"] == "time"
                        else ": each group's rows in one split"))
    if d.get("cv_folds"):
        parts.append(f"trials scored by {d['cv_folds']}-fold cross-validation on train+valid"
                     + (" (forward-chaining folds)" if split and split.get("by") == "time" else
                        " (group folds)" if split and split.get("by") == "group" else ""))
    elif "cv_folds" in d:
        parts.append("trials scored on the validation split")
    return "; ".join(parts)


def _budget_sentence(b: dict[str, Any]) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(b["counts"].items(), key=lambda kv: -kv[1])) or "none"
    text = f"{b['trials']} trials ({counts})"
    if b["wall_seconds"] is not None:
        text += f" in {_seconds(b['wall_seconds'])} wall clock, {_seconds(b['trial_seconds'])} of trial time"
    if b["saved_seconds"] is not None:
        text += (f". Pruning saved about {_seconds(b['saved_seconds'])} of trial time: the {b['pruned']} pruned "
                 f"trials ran {_seconds(b['pruned_seconds'])} in all; run as long as the median complete trial "
                 f"({_seconds(b['median_complete_seconds'])}) they would have taken {_seconds(b['saved_seconds'])} more")
    elif not b["pruned"]:
        text += ". No trial was pruned"
    return text + "."


def examples_html(ex: dict[str, Any]) -> str:
    """The example answers of a language-model study's best trial beside the untuned model's (every text escaped)."""
    untuned = ex.get("untuned")
    head = "<th>prompt</th><th>reference</th>" + f"<th>trial {int(ex['trial'])}</th>" + ("<th>untuned</th>" if untuned else "")

    def cell(text: Any, correct: bool) -> str:
        if text is None:
            return "<td>–</td>"
        hit = ' class="hit"' if correct else ""
        return f"<td{hit}><pre>{_esc(text)}</pre></td>"

    rows = "".join(f"<tr><td><pre>{_esc(r['prompt'])}</pre></td><td><pre>{_esc(r['reference'])}</pre></td>"
                   + cell(r["tuned"], r["tuned_correct"])
                   + (cell(r["untuned"], r["untuned_correct"]) if untuned else "") + "</tr>"
                   for r in ex["rows"])
    note = ("the tuned trial's answers (majority vote over its samples) next to the untuned decoding's (the fixed "
            "parameters alone)" if untuned else "the best trial's answers (majority vote over its samples)")
    return (f'<h3>Example answers</h3><table class="grid" id="examples"><tr>{head}</tr>{rows}</table>'
            f"<p class='note'>The first validation prompts: {_esc(note)}; a shaded cell is a correct answer (by the study's answer_match).</p>")


def summary_html(s: dict[str, Any]) -> str:
    """The summary block: headline, the tuned model against the baselines, data, budget, parameter sentences."""
    out = [f'<section id="summary"><h2>Summary</h2><p class="headline" id="headline">{_esc(S.headline(s))}</p>']
    names = s["metrics"]
    if s["best"] is not None:
        b = s["best"]
        vs = bool(s["baselines"])  # the comparison column only when there is something to compare
        head = "".join(f"<th>test {_esc(m)}</th>" for m in names) + (f"<th>vs the tuned model ({_esc(names[0])})</th>" if vs else "")
        rows = [f'<tr class="best"><td>the tuned model: trial {b["number"]} (validation {_num(b["valid"][names[0]], "valid:best")})</td>'
                + "".join("<td>" + (_num(b["test"][m], "test:best:" + m) if m in b["test"] else "not scored") + "</td>"
                          for m in names)
                + ("<td></td>" if vs else "") + "</tr>"]
        ens = s.get("ensemble")
        if ens and isinstance(ens.get("members"), list):  # what automl export hands over (automl.ensemble)
            members = ", ".join(f"#{m.get('trial')} ×{float(m.get('weight', 0)):.2f}" for m in ens["members"] if isinstance(m, dict))
            test = ens.get("test") if isinstance(ens.get("test"), dict) else {}
            rows.append(f'<tr class="ensemble" id="ensemble-row"><td>the ensemble export hands over: {len(ens["members"])} trials '
                        f'({_esc(members)}); validation {_num(ens.get("valid"), "valid:ensemble")} against '
                        f'{_num((ens.get("best_single") or {}).get("valid"), "valid:ensemble-best-single")} for the best trial alone</td>'
                        + "".join("<td>" + (_num(test[m], "test:ensemble:" + m) if m in test else "–") + "</td>" for m in names)
                        + ("<td></td>" if vs else "") + "</tr>")
        for r in s["baselines"]:
            rows.append(f'<tr data-baseline="{_esc(r["key"])}"><td>{_esc(r["label"])}: {_esc(r["what"])}</td>'
                        + "".join("<td>" + (_num(r["test"][m], f"test:{r['key']}:{m}") if m in r["test"] else "–") + "</td>"
                                  for m in names)
                        + f'<td data-key="improvement:{_esc(r["key"])}">{_esc(_pct(r["improvement"]) if r["improvement"] is not None else "–")}</td></tr>')
        out.append(f'<table class="grid" id="baselines"><tr><th>model</th>{head}</tr>{"".join(rows)}</table>')
        out.append(f'<p class="note">Test scores: each model {_esc(s["test_of"])}, scored once on the held-out '
                   "test split with the study's metric; the baselines are measured by the run itself.</p>")
    if s["pareto"]:
        head = "".join(f"<th>{_esc(m)}</th>" for m in names) + "".join(f"<th>test {_esc(m)}</th>" for m in names)
        rows = []
        for r in s["pareto"][:20]:
            rows.append(f'<tr><td>{r["number"]}</td>'
                        + "".join("<td>" + _num(r["values"][m], f"pareto:{r['number']}:{m}") + "</td>" for m in names)
                        + "".join("<td>" + (_num(r["test"][m]) if m in r["test"] else "–") + "</td>" for m in names) + "</tr>")
        more = f" (first 20 of {len(s['pareto'])})" if len(s["pareto"]) > 20 else ""
        out.append(f'<table class="grid" id="pareto-table"><tr><th>trial</th>{head}</tr>{"".join(rows)}</table>'
                   f'<p class="note">Validation values; test scores for the first 5 Pareto trials{_esc(more)}.</p>')
        if s["baselines"]:
            head = "".join(f"<th>test {_esc(m)}</th>" for m in names)
            rows = [f'<tr data-baseline="{_esc(r["key"])}"><td>{_esc(r["label"])}: {_esc(r["what"])}</td>'
                    + "".join("<td>" + (_num(r["test"][m], f"test:{r['key']}:{m}") if m in r["test"] else "–") + "</td>"
                              for m in names) + "</tr>" for r in s["baselines"]]
            out.append(f'<table class="grid" id="baselines"><tr><th>baseline</th>{head}</tr>{"".join(rows)}</table>')
    items = ([("Data", _data_sentence(s["data"]))] if s["data"] else []) + [("Budget spent", _budget_sentence(s["budget"]))]
    labels = {"defaults": "the trainer's defaults", "constant": "a constant predictor"}
    reasons = sorted(set(s["not_measured"].values()))
    if len(reasons) == 1 and len(s["not_measured"]) > 1:
        items.append(("Baselines not shown", reasons[0]))
    elif s["not_measured"]:
        items.append(("Baselines not shown", "; ".join(f"{labels[k]}: {v}" for k, v in s["not_measured"].items())))
    out.append('<ul class="facts-list">' + "".join(f"<li><b>{_esc(k)}:</b> {_esc(v)}</li>" for k, v in items) + "</ul>")
    if s.get("examples"):
        out.append(examples_html(s["examples"]))
    if s["params"]:
        out.append("<h3>What the parameters say</h3><ul id=\"param-sentences\">"
                   + "".join(f"<li>{_esc(p['sentence'])}</li>" for p in s["params"]) + "</ul>")
        cond = [p["name"] for p in s["params"] if p["name"] in s["conditional"]]
        if cond:
            out.append(f'<p class="note">{_esc(", ".join(cond))}: set only in some trials (conditional), '
                       "so the importance compares only the trials that set it.</p>")
    out.append("</section>")
    return "".join(out)


def settings_data(study: optuna.Study) -> dict[str, Any]:
    """How the study was run, from automl's attributes: sampler, pruner, seeds, fixed params, study file, versions."""
    ua = study.user_attrs
    st = ua.get(attrs.SETTINGS) if isinstance(ua.get(attrs.SETTINGS), dict) else None
    sf = ua.get(attrs.STUDY_FILE)
    text = None
    if isinstance(sf, dict):
        import yaml

        text = yaml.safe_dump(sf, sort_keys=False, allow_unicode=True)
    return {"settings": st, "study_file": text, "versions": ua.get(attrs.VERSIONS) if isinstance(ua.get(attrs.VERSIONS), dict) else None}


def settings_html(d: dict[str, Any], facts: dict[str, Any]) -> str:
    def kv(x: dict[str, Any]) -> str:
        return ", ".join(f"{k}={_fmt(v)}" for k, v in x.items()) or "none"

    rows: list[tuple[str, str]] = []
    st = d["settings"]
    if st:
        for kind in ("sampler", "pruner"):
            x = st.get(kind) or {}
            rows.append((kind, f"{x.get('name')} ({x.get('class')}): {kv(x.get('options') or {})}"
                         + (f"; {x['note']}" if x.get("note") else "")))
        rows.append(("seeds", kv(st.get("seeds") or {})))
        rows.append(("fixed parameters", kv(st.get("fixed") or {})))
        rows.append(("budget (study file)", kv({k: v for k, v in (st.get("budget") or {}).items() if v is not None})))
    else:
        rows.append(("sampler, pruner", "not recorded (the study was not made by automl)"))
    rows.append(("run with", kv(facts["versions_study"]) if facts["versions_study"] else "not recorded"))
    rows.append(("report by", kv(facts["versions_report"])))
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    out = f'<section id="settings"><h2>Settings</h2><table class="facts" id="settings-table">{body}</table>'
    if d["study_file"]:
        out += ("<details><summary>The study file, as stored when the study was created (passwords masked): "
                f'save it as a .yaml file and pass it to <code>automl run</code> to run it again</summary><pre id="study-file">'
                f"{_esc(d['study_file'])}</pre></details>")
    return out + "</section>"


# ------------------------------------------------------------------------------------------------- page

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#222}
h1{font-size:1.6em;margin:.2em 0;word-break:break-all}h2{font-size:1.2em;margin:1.6em 0 .3em;border-bottom:1px solid #ddd}
.facts{border-collapse:collapse}.facts th{text-align:left;padding:2px 12px 2px 0;color:#555;font-weight:600;vertical-align:top;white-space:nowrap}
.facts td{padding:2px 0;word-break:break-word}
nav a{margin-right:10px;font-size:.92em}.note{color:#555;margin:.2em 0}.reason{color:#8a5300;background:#fff6e5;padding:8px 12px;border-radius:4px}
.fig{width:100%;min-height:420px}
#trials-wrap{max-height:640px;overflow:auto;border:1px solid #ddd}
#trials{border-collapse:collapse;font-size:12.5px;width:100%}
#trials th{position:sticky;top:0;background:#f3f3f3;cursor:pointer;user-select:none;white-space:nowrap;padding:4px 8px;border-bottom:1px solid #ccc;text-align:left}
#trials td{padding:2px 8px;border-bottom:1px solid #eee;white-space:nowrap;max-width:360px;overflow:hidden;text-overflow:ellipsis}
#trials tr.PRUNED td{color:#b03a2e}#trials tr.FAIL td{color:#999;font-style:italic}
.tools{margin:8px 0;display:flex;gap:12px;align-items:center}.tools input{width:320px;padding:4px}
footer{margin-top:2em;color:#777;font-size:.85em}
#trials tr.best td{background:#fff3c4;font-weight:600}.grid{border-collapse:collapse;margin:.5em 0}
.grid th,.grid td{border:1px solid #ddd;padding:4px 10px;text-align:left}.grid tr.best td{background:#fff3c4;font-weight:600}
#examples pre{margin:0;white-space:pre-wrap;max-width:32em;font:inherit}#examples td.hit{background:#e3f4e0}
.headline{font-size:1.15em;margin:.4em 0 .6em}.facts-list{padding-left:1.2em}pre{background:#f6f6f6;padding:8px;overflow:auto}
h3{font-size:1.05em;margin:1em 0 .2em}
"""

TABLE_JS = r"""
(function(){
  var T = JSON.parse(document.getElementById('automl-trials').textContent);
  var cols = T.columns, rows = T.rows, view = rows.slice(), sortCol = -1, sortDir = 1, best = {};
  (T.best || []).forEach(function(n){ best[n] = true; });
  var table = document.getElementById('trials'), count = document.getElementById('trials-count');
  function show(v){
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(parseFloat(v.toPrecision(6)));
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function raw(v){ if (v === null || v === undefined) return ''; return typeof v === 'object' ? JSON.stringify(v) : String(v); }
  var text = rows.map(function(r){ return r.map(raw).join('\u0001').toLowerCase(); });
  var thead = document.createElement('thead'), htr = document.createElement('tr');
  cols.forEach(function(c, i){
    var th = document.createElement('th'); th.textContent = c; th.title = 'sort by ' + c;
    th.addEventListener('click', function(){ sortDir = (sortCol === i) ? -sortDir : 1; sortCol = i; apply(); });
    htr.appendChild(th);
  });
  thead.appendChild(htr); table.appendChild(thead);
  var tbody = document.createElement('tbody'); table.appendChild(tbody);
  function cmp(a, b){
    var ea = (a === null || a === undefined || a === ''), eb = (b === null || b === undefined || b === '');
    if (ea || eb) return ea === eb ? 0 : (ea ? 1 : -1) * sortDir;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return raw(a).localeCompare(raw(b), undefined, {numeric: true});
  }
  function apply(){
    var terms = document.getElementById('trials-filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    view = [];
    for (var i = 0; i < rows.length; i++) {
      var ok = true;
      for (var j = 0; j < terms.length; j++) if (text[i].indexOf(terms[j]) < 0) { ok = false; break; }
      if (ok) view.push(rows[i]);
    }
    if (sortCol >= 0) view.sort(function(a, b){ return sortDir * cmp(a[sortCol], b[sortCol]) || (a[0] - b[0]); });
    var top = view.filter(function(r){ return best[r[0]]; });  // the best trial(s) stay pinned first
    if (top.length) view = top.concat(view.filter(function(r){ return !best[r[0]]; }));
    Array.prototype.forEach.call(htr.children, function(th, i){
      th.textContent = cols[i] + (i === sortCol ? (sortDir > 0 ? ' \u25b2' : ' \u25bc') : '');
    });
    var frag = document.createDocumentFragment();
    view.forEach(function(r){
      var tr = document.createElement('tr'); tr.className = String(r[1]) + (best[r[0]] ? ' best' : '');
      r.forEach(function(v){ var td = document.createElement('td'); td.textContent = show(v); td.title = raw(v); tr.appendChild(td); });
      frag.appendChild(tr);
    });
    tbody.textContent = ''; tbody.appendChild(frag);
    count.textContent = view.length + ' of ' + rows.length + ' trials shown';
  }
  var timer = null;
  document.getElementById('trials-filter').addEventListener('input', function(){ clearTimeout(timer); timer = setTimeout(apply, 120); });
  document.getElementById('trials-csv').addEventListener('click', function(){
    function q(s){ return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; }
    var lines = [cols.map(q).join(',')].concat(view.map(function(r){ return r.map(function(v){ return q(raw(v)); }).join(','); }));
    var blob = new Blob([lines.join('\r\n') + '\r\n'], {type: 'text/csv;charset=utf-8'});
    var a = document.createElement('a'); a.href = URL.createObjectURL(blob); a.download = T.filename;
    document.body.appendChild(a); a.click(); setTimeout(function(){ URL.revokeObjectURL(a.href); a.remove(); }, 0);
  });
  apply();
})();
"""

FIGURES_JS = r"""
(function(){
  var F = JSON.parse(document.getElementById('automl-figures').textContent);
  drawAll(F);
})();
"""

PACKED_FIGURES_JS = r"""
(function(){
  function fail(msg){
    document.querySelectorAll('.fig').forEach(function(el){ el.textContent = msg; });
    document.body.setAttribute('data-figures-done', '0'); document.body.setAttribute('data-figures-error', msg);
  }
  if (typeof DecompressionStream === 'undefined') {
    fail('This browser cannot unpack the figures (it needs DecompressionStream: Chrome 80+, Firefox 113+, Safari 16.4+).');
    return;
  }
  automlUnpack('automl-plotly').then(function(js){
    var s = document.createElement('script'); s.textContent = js; document.head.appendChild(s);  // plotly.js, once
    return automlUnpack('automl-figures');
  }).then(function(text){ drawAll(JSON.parse(text)); }, function(err){ fail('The figures could not be unpacked: ' + err); });
})();
"""

DRAW_JS = r"""
function drawAll(F){
  var config = F.config, figs = F.figures, i = 0;
  function next(){
    if (i >= figs.length) { document.body.setAttribute('data-figures-done', String(figs.length)); return; }
    var f = figs[i++], el = document.getElementById(f.id), t0 = performance.now();
    // One figure per task so the page (header, table) stays responsive while large figures draw.
    Plotly.newPlot(el, f.figure.data, f.figure.layout || {}, config).then(function(){
      el.setAttribute('data-rendered', '1'); el.setAttribute('data-render-ms', String(Math.round(performance.now() - t0)));
      setTimeout(next, 0);
    }, function(err){
      el.textContent = 'This figure failed to draw: ' + err; console.error(err); setTimeout(next, 0);
    });
  }
  setTimeout(next, 0);
}
"""


#: Alphabet of the packed blocks: RFC 1924 base85 with "<" written as "." so a block can never close its element.
B85_PAGE = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;.=>?@^_`{|}~"
_B85_PY = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"


def pack(data: bytes) -> str:
    """Raw-deflate (level 9) then base85 with :data:`B85_PAGE`: plotly.js's 4.6 MiB become 1.8 MiB of page text
    (base64 would be 1.9). The page inflates it with the browser's DecompressionStream ('deflate-raw')."""
    import base64
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return base64.b85encode(c.compress(data) + c.flush()).decode("ascii").replace("<", ".")


def unpack(text: str) -> bytes:
    """The inverse of :func:`pack` (tests read the page's packed blocks with it)."""
    import base64
    import zlib

    return zlib.decompress(base64.b85decode(text.replace(".", "<")), -15)


def packed_block(html_text: str, element_id: str) -> str:
    """The text of a packed ``<script type="application/x-automl-packed">`` block of a written page, unpacked."""
    import re

    m = re.search(rf'<script type="application/x-automl-packed" id="{element_id}">(.*?)</script>', html_text, re.S)
    if m is None:
        raise KeyError(element_id)
    return unpack(m.group(1)).decode("utf-8")


def _packed_script(element_id: str, data: str) -> str:
    return f'<script type="application/x-automl-packed" id="{_esc(element_id)}">{pack(data.encode("utf-8"))}</script>'


@functools.lru_cache(maxsize=1)
def _packed_plotly(version: str) -> str:
    """plotly.js packed once per process (0.3 s; the same for every report of one plotly version)."""
    from plotly.offline import get_plotlyjs

    return _packed_script("automl-plotly", get_plotlyjs())


UNPACK_JS = r"""
window.automlUnpack = function(id){
  var A = __ALPHABET__, T = new Int16Array(128).fill(-1), s = document.getElementById(id).textContent.trim();
  for (var i = 0; i < A.length; i++) T[A.charCodeAt(i)] = i;
  var n = s.length, full = Math.floor(n / 5), rest = n % 5, out = new Uint8Array(full * 4 + (rest ? rest - 1 : 0)), o = 0;
  function group(p, len){
    var v = 0;
    for (var j = 0; j < 5; j++) v = v * 85 + (j < len ? T[s.charCodeAt(p + j)] : 84);
    for (var k = 0; k < len - 1; k++) out[o++] = (v >>> (24 - 8 * k)) & 255;
  }
  for (var g = 0; g < full; g++) group(g * 5, 5);
  if (rest) group(full * 5, rest);
  var stream = new Blob([out]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Response(stream).text();
};
""".replace("__ALPHABET__", json.dumps(B85_PAGE))


def write_report(
    study: optuna.Study,
    path: str | Path,
    *,
    importance: str = "pedanova",
    storage: str | None = None,
    max_lines: int = F.PARALLEL_MAX_LINES,
    packed: bool = True,
) -> Path:
    """Write the report of ``study`` to ``path`` (one offline HTML file); returns the path.

    ``importance``: ``pedanova`` (Optuna 5's default) or ``fanova``. ``storage``: a URL to show (masked).
    ``packed``: plotly.js and the figures deflated in the page (a third of the size; needs a browser with
    DecompressionStream: Chrome 80, Firefox 113, Safari 16.4); False embeds them as plain text.
    """
    from plotly.offline import get_plotlyjs

    path = Path(path)
    panels = F.build_panels(study, importance=importance, max_lines=max_lines)
    facts = header_facts(study, storage)
    cols, rows = trial_rows(study)
    imp = next((p.data["importances"] for p in panels if p.key == "importance-0" and p.figure is not None), None)
    try:
        summary_block = summary_html(S.summary_data(study, imp))
    except Exception as e:  # noqa: BLE001 - odd attributes from another tool must not take the report down
        summary_block = (f'<section id="summary"><h2>Summary</h2><p class="reason">The summary could not be computed '
                         f"for this study ({_esc(type(e).__name__)}: {_esc(e)}).</p></section>")

    shown = [p for p in panels if p.figure is not None]
    hidden = [p for p in panels if p.figure is None]
    nav = ('<a href="#summary">Summary</a> <a href="#settings">Settings</a> '
           + " ".join(f'<a href="#{p.key}">{_esc(p.title)}</a>' for p in shown) + ' <a href="#trials-section">Trials</a>')
    sections, figs = [], []
    for p in shown:
        parts = [f'<section id="{_esc(p.key)}"><h2>{_esc(p.title)}</h2>']
        if p.note:
            parts.append(f'<p class="note">{_esc(p.note)}</p>')
        fid = f"fig-{p.key}"
        parts.append(f'<div class="fig" id="{_esc(fid)}"></div></section>')
        figs.append(f'{{"id": {json.dumps(fid)}, "figure": {p.figure.to_json()}}}')
        sections.append("".join(parts))
    if hidden:
        sections.append('<section id="not-shown"><h2>Not shown</h2><ul>'
                        + "".join(f'<li data-panel="{_esc(p.key)}"><b>{_esc(p.title)}</b>: {_esc(p.reason)}</li>' for p in hidden)
                        + "</ul></section>")
    figures_json = '{"config": ' + json.dumps(PLOTLY_CONFIG) + ', "figures": [' + ", ".join(figs) + "]}"
    direction_word = "multi-objective" if len(study.directions) > 1 else (
        "minimize" if study.direction == StudyDirection.MINIMIZE else "maximize")
    written = datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")
    if packed:
        import plotly

        scripts = [_packed_plotly(plotly.__version__), _packed_script("automl-figures", figures_json),
                   f"<script>{UNPACK_JS}</script>"]
    else:
        scripts = [f"<script>{get_plotlyjs()}</script>", json_script("automl-figures", None, raw=figures_json)]
    best = sorted(best_numbers(study))
    doc = "".join([
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_esc(study.study_name)} · automl report</title><style>{CSS}</style>",
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
        "</head><body>",
        f"<h1>{_esc(study.study_name)}</h1>",
        f'<p class="note">Optuna study ({_esc(direction_word)}) · report written {_esc(written)}</p>',
        summary_block,
        settings_html(settings_data(study), facts),
        '<section id="details"><h2>Details</h2>', _header_html(facts), "</section>",
        f"<nav>{nav}</nav>",
        *sections,
        '<section id="trials-section"><h2>Trials</h2>',
        '<div class="tools"><input id="trials-filter" type="search" placeholder="filter: words that must all appear in a row">',
        '<button id="trials-csv" type="button">Download CSV (shown rows)</button><span id="trials-count"></span></div>',
        '<div id="trials-wrap"><table id="trials"></table></div></section>',
        "<footer>Self-contained: plotly.js is embedded and the page makes no network request. "
        "Click a column to sort; the best trial" + (" (Pareto-optimal ones)" if len(study.directions) > 1 else "")
        + " stays pinned first, highlighted; blank cells are parameters a trial did not use.</footer>",
        json_script("automl-trials", {"columns": cols, "rows": rows, "best": best, "filename": f"{study.study_name}-trials.csv"}),
        *scripts,
        f"<script>{TABLE_JS}</script><script>{DRAW_JS}{FIGURES_JS if not packed else PACKED_FIGURES_JS}</script>",
        "</body></html>\n",
    ])
    from automl.fsutil import atomic_write_text

    return atomic_write_text(path, doc)  # beside the target, then renamed: a killed write keeps the old report
