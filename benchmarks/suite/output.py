"""Write the suite's results: a markdown table, raw JSON, and one offline HTML page of plotly plots."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any


def _f(v: Any, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.0f}%"


def markdown(result: dict[str, Any]) -> str:
    meta, a = result["meta"], result["analysis"]
    b = meta["budget"]
    lines = [
        f"# Benchmark suite — {meta['mode']} mode",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']} · wall time {meta['wall_seconds']:.0f} s  ",
        f"Machine: {meta['machine']}  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + "  ",
        f"Budget per run: {b['trials']} trials or {b['timeout']:g} s wall clock, whichever first; LightGBM "
        f"num_boost_round={b['rounds']}, early_stopping_rounds={b['early_stopping']}, num_threads=1; "
        f"seeds {meta['seeds']}; split 60/20/20 (automl.data.load, split seed 0, stratified for classification); "
        "metric = automl's default (rmse for regression, logloss for classification).",
        "",
        "Normalized regret: 0 = the best validation value any run found on the task, 1 = the worst final value "
        "of any run. Rank: within each (task, seed), 1 = best. Target: the median of all runs' final values on the "
        "task. Equal wall-clock: each run's regret when the task's fastest run (of any contender) had finished. "
        "Lower is better everywhere except the win columns.",
        "",
        "## Summary per contender (equal trial budget)",
        "",
        "| contender | mean regret | mean rank | beats random | beats optuna-tpe | mean regret at equal wall-clock | reached target | median time to target (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c, s in sorted(a["summary"].items(), key=lambda kv: (kv[1]["rank_mean"] is None, kv[1]["rank_mean"] or 0)):
        lines.append(
            f"| {c} | {_f(s['regret_mean'], 3)} | {_f(s['rank_mean'], 3)} | {_pct(s['beats_random'])} | "
            f"{_pct(s['beats_optuna_tpe'])} | {_f(s['regret_at_equal_time_mean'], 3)} | {s['reached_target']}/{s['task_seeds']} | {_f(s['time_to_target_median'], 3)} |"
        )
    g = a.get("goals")
    if g:
        def ok(v: bool | None) -> str:
            return "—" if v is None else ("met" if v else "**not met**")

        lines += [
            "",
            "## automl against issue 9's goals",
            "",
            f"- Equal trials, mean normalized regret: automl {_f(g['regret'], 3)} vs optuna-tpe "
            f"{_f(g['optuna_tpe_regret'], 3)} (goal ≤): {ok(g['regret_le_tpe'])}.",
            f"- Equal trials, better than random on {_pct(g['beats_random'])} of task-seeds (goal ≥ 80%): "
            f"{ok(g['beats_random_ge_80'])}.",
        ]
        if g["equal_time_ahead"]:
            lines += [
                f"- Equal wall-clock, lower mean regret than both LightGBMTuner and FLAML on {g['tasks_ahead']} of "
                f"{len(g['equal_time_ahead'])} tasks (goal ≥ {g['tasks_needed']}): {ok(g['tasks_ahead_ok'])}.",
                "",
                "| task | automl regret at equal wall-clock | lgbm-tuner | flaml-cfo | automl ahead of both |",
                "|---|---:|---:|---:|---|",
            ]
            for task, row in g["equal_time_ahead"].items():
                lines.append(f"| {task} | {_f(row['mine'], 3)} | {_f(row.get('lgbm-tuner'), 3)} | "
                             f"{_f(row.get('flaml-cfo'), 3)} | {'yes' if row['ahead'] else 'no'} |")
    for task, t in a["tasks"].items():
        info = result["tasks"][task]
        lines += [
            "",
            f"## {task} ({info['task']}, {info['metric']}; {info['source']}; rows train/valid/test "
            f"{info['rows'][0]}/{info['rows'][1]}/{info['rows'][2]})",
            "",
            f"Best {_f(t['best'], 6)}, worst final {_f(t['worst'], 6)}, target {_f(t['target'], 6)}, "
            f"equal wall-clock at {_f(t['t_equal'], 3)} s.",
            "",
            "| contender | best valid (mean ± sd) | test of final choice (mean ± sd) | regret | regret at equal wall-clock | reached target | median time to target (s) | evals | seconds |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c, row in t["contenders"].items():
            evals = "/".join(str(s["evals"]) for s in row["seeds"])
            secs = "/".join(f"{s['seconds']:.1f}" for s in row["seeds"])
            lines.append(
                f"| {c} | {_f(row['best_valid_mean'], 5)} ± {_f(row['best_valid_sd'], 2)} | "
                f"{_f(row['test_mean'], 5)} ± {_f(row['test_sd'], 2)} | {_f(row['regret_mean'], 3)} | "
                f"{_f(row['regret_at_equal_time_mean'], 3)} | {row['reached_target']}/{len(row['seeds'])} | {_f(row['time_to_target_median'], 3)} | {evals} | {secs} |"
            )
    prune = [(task, p) for task, t in a["tasks"].items() for p in t["contenders"].get("automl", {}).get("pruning", [])]
    if prune:
        lines += [
            "",
            "## automl: pruning's saved compute",
            "",
            "Rounds saved = for each pruned trial, the complete trials' median number of boosting rounds minus the "
            "rounds it trained (an estimate: a pruned trial might have early-stopped sooner).",
            "",
            "| task | seed | pruned / trials | boosting rounds trained | rounds saved (est.) | saved fraction |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for task, p in prune:
            lines.append(f"| {task} | {p.get('seed', '—')} | {p['pruned']}/{p['trials']} | {p['rounds_trained']} | {p['rounds_saved_est']:g} | {_pct(p['saved_fraction'])} |")
    notes = result.get("notes") or []
    if notes:
        lines += ["", "## Not run", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def figures(result: dict[str, Any]) -> list[tuple[str, Any]]:
    """(title, plotly Figure) pairs: anytime curves per task, then regret, rank and test score per contender."""
    import plotly.graph_objects as go

    a = result["analysis"]
    colors = {c: f"hsl({int(360 * i / max(1, len(a['contenders'])))},65%,45%)" for i, c in enumerate(a["contenders"])}
    out = []
    for task, t in a["tasks"].items():
        for kind, xlabel in (("trials", "trial"), ("time", "seconds")):
            fig = go.Figure()
            for c, row in t["contenders"].items():
                ys = row[f"curve_{kind}"]
                xs = list(range(1, len(ys) + 1)) if kind == "trials" else t["time_grid"]
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=c, line={"color": colors[c]}))
            fig.update_layout(title=f"{task}: normalized regret of the best so far vs {xlabel}s (mean over seeds)",
                              xaxis_title=xlabel, yaxis_title="normalized regret", height=380)
            out.append((f"{task} — vs {xlabel}s", fig))
    summ = a["summary"]
    names = list(summ)
    for key, title in (("regret_mean", "mean normalized regret (lower is better)"), ("rank_mean", "mean rank (lower is better)")):
        fig = go.Figure(go.Bar(x=names, y=[summ[c][key] for c in names], marker_color=[colors[c] for c in names]))
        fig.update_layout(title=title, height=360)
        out.append((title, fig))
    for task, t in a["tasks"].items():
        rows = t["contenders"]
        fig = go.Figure(go.Bar(x=list(rows), y=[r["test_mean"] for r in rows.values()],
                               error_y={"type": "data", "array": [r["test_sd"] or 0 for r in rows.values()]},
                               marker_color=[colors[c] for c in rows]))
        fig.update_layout(title=f"{task}: test {result['tasks'][task]['metric']} of each final choice (mean ± sd)", height=360)
        out.append((f"{task} — test score", fig))
    return out


def html_page(result: dict[str, Any]) -> str:
    meta = result["meta"]
    parts = []
    for i, (title, fig) in enumerate(figures(result)):
        # plotly.js inline exactly once, in the first figure: the page works offline.
        parts.append(f"<h3>{html.escape(title)}</h3>" + fig.to_html(full_html=False, include_plotlyjs=i == 0))
    head = (
        f"<h1>automl benchmark suite — {html.escape(meta['mode'])} mode</h1>"
        f"<p>Command: <code>{html.escape(meta['command'])}</code><br>Date: {html.escape(meta['date'])}<br>"
        f"Machine: {html.escape(meta['machine'])}<br>Versions: "
        + html.escape(", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
        + "</p><p>The tables are in the markdown file beside this page.</p>"
    )
    return f"<!doctype html><html><head><meta charset='utf-8'><title>automl benchmark suite</title></head><body>{head}{''.join(parts)}</body></html>\n"


def write(result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"suite-{result['meta']['mode']}"
    paths = {"md": out_dir / f"{stem}.md", "json": out_dir / f"{stem}.json", "html": out_dir / f"{stem}.html"}
    paths["json"].write_text(json.dumps(result, indent=1, default=float) + "\n")
    paths["md"].write_text(markdown(result))
    paths["html"].write_text(html_page(result))
    return paths
