"""One self-contained HTML file: plotly.js embedded once, no network requests, study data as text.

Everything that comes from the study (names, parameters, user attributes, figure data) enters the page
either HTML-escaped (the header) or as JSON inside ``<script type="application/json">`` with ``<``, ``>``
and ``&`` written as ``\\u003c`` etc.; the table is built with ``textContent`` by a small inline script.
"""

from __future__ import annotations

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
from automl.storage import mask

VERSION_PACKAGES = ("automl", "optuna", "lightgbm", "torch")
SKIP_ATTRS = ("learning_curve",)
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

    Columns: number, state, one per objective, duration_s, each parameter, each user attribute
    (``attr:<name>``; ``learning_curve`` skipped), and ``pareto`` for multi-objective studies.
    """
    trials = study.get_trials(deepcopy=False)
    names = F.objective_names(study)
    base = ["number", "state", *names, "duration_s"]
    params = sorted({p for t in trials for p in t.params})
    attrs = sorted({a for t in trials for a in t.user_attrs if a not in SKIP_ATTRS})
    pcols = [p if p not in base else f"param:{p}" for p in params]
    multi = len(names) > 1
    front = {t.number for t in study.best_trials} if multi and F.complete_trials(study) else set()
    cols = [*base, *pcols, *[f"attr:{a}" for a in attrs], *(["pareto"] if multi else [])]
    rows = []
    for t in trials:
        vals = list(t.values) if t.values else [None] * len(names)
        row = [t.number, t.state.name, *vals, F.duration_s(t), *[t.params.get(p) for p in params],
               *[t.user_attrs.get(a) for a in attrs]]
        if multi:
            row.append("yes" if t.number in front else None)
        rows.append(row)
    return cols, rows


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
    rows.append(("trials", f"{f['trials']}: " + (", ".join(f"{v} {k}" for k, v in f["counts"].items()) or "none")))
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
    if f["versions_study"]:
        rows.append(("run with", kv(f["versions_study"])))
    rows.append(("report by", kv(f["versions_report"])))
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


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
"""

TABLE_JS = r"""
(function(){
  var T = JSON.parse(document.getElementById('automl-trials').textContent);
  var cols = T.columns, rows = T.rows, view = rows.slice(), sortCol = -1, sortDir = 1;
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
    Array.prototype.forEach.call(htr.children, function(th, i){
      th.textContent = cols[i] + (i === sortCol ? (sortDir > 0 ? ' \u25b2' : ' \u25bc') : '');
    });
    var frag = document.createDocumentFragment();
    view.forEach(function(r){
      var tr = document.createElement('tr'); tr.className = String(r[1]);
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
})();
"""


def write_report(
    study: optuna.Study,
    path: str | Path,
    *,
    importance: str = "pedanova",
    storage: str | None = None,
    max_lines: int = F.PARALLEL_MAX_LINES,
) -> Path:
    """Write the report of ``study`` to ``path`` (one offline HTML file); returns the path.

    ``importance``: ``pedanova`` (Optuna 5's default) or ``fanova``. ``storage``: a URL to show (masked).
    """
    from plotly.offline import get_plotlyjs

    path = Path(path)
    panels = F.build_panels(study, importance=importance, max_lines=max_lines)
    facts = header_facts(study, storage)
    cols, rows = trial_rows(study)

    nav = " ".join(f'<a href="#{p.key}">{_esc(p.title)}</a>' for p in panels) + ' <a href="#trials-section">Trials</a>'
    sections, figs = [], []
    for p in panels:
        parts = [f'<section id="{_esc(p.key)}"><h2>{_esc(p.title)}</h2>']
        if p.figure is not None:
            if p.note:
                parts.append(f'<p class="note">{_esc(p.note)}</p>')
            fid = f"fig-{p.key}"
            parts.append(f'<div class="fig" id="{_esc(fid)}"></div>')
            figs.append(f'{{"id": {json.dumps(fid)}, "figure": {p.figure.to_json()}}}')
        else:
            parts.append(f'<p class="reason">{_esc(p.reason)}</p>')
        parts.append("</section>")
        sections.append("".join(parts))
    figures_json = '{"config": ' + json.dumps(PLOTLY_CONFIG) + ', "figures": [' + ", ".join(figs) + "]}"
    direction_word = "multi-objective" if len(study.directions) > 1 else (
        "minimize" if study.direction == StudyDirection.MINIMIZE else "maximize")
    written = datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")
    doc = "".join([
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_esc(study.study_name)} · automl report</title><style>{CSS}</style>",
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
        f"<script>{get_plotlyjs()}</script>",  # plotly.js, inline, exactly once
        "</head><body>",
        f"<h1>{_esc(study.study_name)}</h1>",
        f'<p class="note">Optuna study ({_esc(direction_word)}) · report written {_esc(written)}</p>',
        _header_html(facts),
        f"<nav>{nav}</nav>",
        *sections,
        '<section id="trials-section"><h2>Trials</h2>',
        '<div class="tools"><input id="trials-filter" type="search" placeholder="filter: words that must all appear in a row">',
        '<button id="trials-csv" type="button">Download CSV (shown rows)</button><span id="trials-count"></span></div>',
        '<div id="trials-wrap"><table id="trials"></table></div></section>',
        "<footer>Self-contained: plotly.js is embedded and the page makes no network request. "
        "Click a column to sort; blank cells are parameters a trial did not use.</footer>",
        json_script("automl-trials", {"columns": cols, "rows": rows, "filename": f"{study.study_name}-trials.csv"}),
        json_script("automl-figures", None, raw=figures_json),
        f"<script>{TABLE_JS}</script><script>{FIGURES_JS}</script>",
        "</body></html>\n",
    ])
    from automl.fsutil import atomic_write_text

    return atomic_write_text(path, doc)  # beside the target, then renamed: a killed write keeps the old report
