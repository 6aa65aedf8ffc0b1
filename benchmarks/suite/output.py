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


def html_page(result: dict[str, Any], figs: list[tuple[str, Any]] | None = None) -> str:
    meta = result["meta"]
    parts = []
    for i, (title, fig) in enumerate(figures(result) if figs is None else figs):
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


def _is_wallclock(result: dict[str, Any]) -> bool:
    return "wallclock" in result["meta"]["budget"]


def markdown_wallclock(result: dict[str, Any]) -> str:
    """Issue 14's tables: mean test-score rank per budget, automl's end-to-end seconds, the goals, then per task the
    mean test score per contender and budget."""
    meta, a = result["meta"], result["analysis"]
    b, ks = meta["budget"], a["budgets"]
    lines = [
        f"# Benchmark suite — {meta['mode']} (wall-clock mode)",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']} · wall time {meta['wall_seconds']:.0f} s  ",
        f"Machine: {meta['machine']}  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + "  ",
        f"Budgets: {', '.join(k + ' s' for k in ks)} per run, one thread (OMP/MKL/OpenBLAS threads 1, num_threads 1 / "
        f"n_jobs 1), no trial cap; tuners' fits: num_boost_round={b['rounds']}, early_stopping_rounds={b['early_stopping']}; "
        f"seeds {meta['seeds']}. Per task-seed one split: 80% dev (the file every contender sees) / 20% test rows no "
        "contender sees (stratified for classification, split seed = the run seed). Test score = the suite's metric "
        "(rmse for regression, logloss for classification) of the model each contender hands over at the end, on "
        "the test rows; lower is better. lgbm-default and flaml-zeroshot are one fit each and count at every budget.",
        "",
        "## Mean test-score rank per budget",
        "",
        "Rank within each (task, seed), 1 = lowest test loss, ties averaged, a missing run last; then averaged.",
        "",
        "| contender | " + " | ".join(f"rank at {k} s" for k in ks) + " | task-seeds |",
        "|---|" + "---:|" * (len(ks) + 1),
    ]
    last = ks[-1]
    for c in sorted(a["contenders"], key=lambda c: (a["summary"][last][c]["rank_mean"] is None, a["summary"][last][c]["rank_mean"] or 0)):
        lines.append(f"| {c} | " + " | ".join(_f(a["summary"][k][c]["rank_mean"], 3) for k in ks)
                     + f" | {a['summary'][last][c]['task_seeds']} |")
    es = a.get("automl_seconds_summary") or {}
    if es:
        lines += [
            "",
            "## automl: end-to-end seconds against its budget",
            "",
            "`automl run --export` + `automl predict`, each a fresh process, from spawn to exit "
            "(start-up, search, refit on dev, export, prediction).",
            "",
            "| budget (s) | runs | mean (s) | min (s) | max (s) | mean over budget (s) |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for k, v in es.items():
            lines.append(f"| {k} | {v['runs']} | {_f(v['mean'], 4)} | {_f(v['min'], 4)} | {_f(v['max'], 4)} | {_f(v['over_mean'], 3)} |")
        lines += ["", "| task | seed | budget (s) | end to end (s) | run --export / predict (s) |", "|---|---:|---:|---:|---|"]
        for x in a["automl_seconds"]:
            st = x.get("steps") or {}
            lines.append(f"| {x['task']} | {x['seed']} | {x['budget']:g} | {x['seconds']:.2f} | "
                         + " / ".join(f"{st[s]:.2f}" for s in ("run", "export", "predict") if s in st) + " |")
    g = a.get("goals")
    if g:
        def ok(v: bool | None) -> str:
            return "not measured" if v is None else ("met" if v else "**not met**")

        lines += ["", "## automl against issue 14's goals", ""]
        for k in ("15", "60"):
            r = g["rank_best"].get(k)
            if r is None:
                lines.append(f"- (a) Best mean test-score rank at {k} s: not measured (no {k} s budget).")
            else:
                lines.append(f"- (a) Best mean test-score rank at {k} s: automl {_f(r['rank'], 3)}, best other "
                             f"{r['best_other_name']} {_f(r['best_other'], 3)}: {ok(r['ok'])}.")
        v = g["vs_tuners"]
        if v is None:
            lines.append("- (b) Test score no worse than both lgbm-tuner and flaml at 60 s on ≥ 7 of 9 tasks: not measured (no 60 s budget).")
        else:
            lines.append(f"- (b) Test score (mean over seeds) no worse than both lgbm-tuner and flaml at 60 s on "
                         f"{v['tasks_ok']} of {len(v['tasks'])} tasks (goal ≥ {v['tasks_needed']}): {ok(v['ok'])}.")
        c = g["longer_not_worse"]
        if c is None:
            lines.append("- (c) Test score worse at 60 s than at 15 s on at most 1 task: not measured (needs 15 and 60 s budgets).")
        else:
            lines.append(f"- (c) Test score worse at 60 s than at 15 s on {c['tasks_worse']} of {len(c['tasks'])} tasks "
                         f"(goal ≤ 1): {ok(c['ok'])}.")
        d = g["startup"]
        if d is None:
            lines.append("- (d) A 10 s budget ends within 12 s end to end on the small tasks: not measured (no 10 s budget).")
        else:
            lines.append(f"- (d) A 10 s budget ends within {d['limit']:g} s end to end on the small tasks: slowest of "
                         f"{d['runs']} runs {_f(d['max_seconds'], 4)} s: {ok(d['ok'])}.")
        if v and v["tasks"]:
            lines += ["", "| task | automl test at 60 s | lgbm-tuner | flaml | no worse than both |", "|---|---:|---:|---:|---|"]
            for task, row in v["tasks"].items():
                lines.append(f"| {task} | {_f(row['mine'], 5)} | {_f(row.get('lgbm-tuner'), 5)} | {_f(row.get('flaml'), 5)} | "
                             f"{'yes' if row['ok'] else 'no'} |")
        if c and c["tasks"]:
            lines += ["", "| task | automl test at 15 s | at 60 s | worse at 60 s |", "|---|---:|---:|---|"]
            for task, row in c["tasks"].items():
                lines.append(f"| {task} | {_f(row['short'], 5)} | {_f(row['long'], 5)} | {'yes' if row['worse'] else 'no'} |")
    lines += _auto_goals_lines(a.get("goals_auto"))
    for task, t in a["tasks"].items():
        info = result["tasks"][task]
        lines += [
            "",
            f"## {task} ({info['task']}, {info['metric']}; {info['source']}; rows dev/test {info['rows'][0]}/{info['rows'][1]})",
            "",
            "Mean test score over seeds (± sd); below it, evaluations and seconds per seed.",
            "",
            "| contender | " + " | ".join(f"test at {k} s" for k in ks) + " | " + " | ".join(f"evals / s at {k} s" for k in ks) + " |",
            "|---|" + "---:|" * (2 * len(ks)),
        ]
        for c, row in t["contenders"].items():
            tests = [f"{_f(row[k]['test_mean'], 5)} ± {_f(row[k]['test_sd'], 2)}" if k in row else "—" for k in ks]
            used = ["/".join(str(n) for n in row[k]["evals"]) + " · " + "/".join(f"{x:.1f}" for x in row[k]["seconds"])
                    if k in row else "—" for k in ks]
            lines.append(f"| {c} | " + " | ".join(tests) + " | " + " | ".join(used) + " |")
    failed = [r for r in result["runs"] if r.get("skipped")]
    notes = (result.get("notes") or []) + [f"{r['contender']} on {r['task']} seed {r['seed']} at {r['budget']} s failed: "
                                           f"{r['skipped'].splitlines()[-1] if r['skipped'] else ''}" for r in failed]
    if notes:
        lines += ["", "## Not run", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _auto_goals_lines(ga: dict[str, Any] | None) -> list[str]:
    """Issue 17's goals (benchmarks.suite.analysis.goals_auto), one section per budget."""
    lines: list[str] = []
    for k, g in (ga or {}).items():
        single = any("automl" in row for row in g["tasks"].values())
        lines += ["", f"## automl-auto against issue 17's goals at {k} s", "",
                  "Mean test score over the seeds all three of automl-auto, flaml-all and autogluon ran"
                  + (" (automl: the LightGBM-only contender on the same seeds, where it ran)" if single else "") + ".", "",
                  f"- Better than flaml-all on {g['better_than_peer']} of {len(g['tasks'])} tasks (goal ≥ "
                  f"{g['tasks_needed']}): {'met' if g['ok_peer'] else '**not met**'}.",
                  f"- Test-score ratio to AutoGluon: mean {_f(g['ratio_mean'], 4)}, geometric {_f(g['ratio_geo'], 4)}, "
                  f"median {_f(g.get('ratio_median'), 4)} "
                  f"(goal: mean ≤ 1.01): {'met' if g['ok_ref'] else '**not met**'}.",
                  f"- Handed over an ensemble in {g['ensembles']} of {g['runs']} runs; end to end {_f(g['seconds_mean'], 4)} s "
                  f"on average, {_f(g['seconds_max'], 4)} s at most.",
                  *([f"- The ensemble had a lower test loss than its own study's best single trial (refit and scored "
                     f"the same way) in {g['single_beaten']} of the {g['single_measured']} ensembles measured "
                     f"(geometric mean test-loss ratio ensemble / single {_f(g['single_ratio_geo'], 4)})."]
                    if g.get("single_measured") else []), "",
                  "| task | seeds | automl-auto | " + ("automl | " if single else "") + "flaml-all | autogluon | "
                  "auto vs flaml | auto / AutoGluon | ensembles |",
                  "|---|---|---:|" + ("---:|" if single else "") + "---:|---:|---|---:|---:|"]
        for task, r in g["tasks"].items():
            lines.append(f"| {task} | {','.join(map(str, r['seeds']))} | {_f(r['automl-auto'], 5)} | "
                         + (f"{_f(r.get('automl'), 5)} | " if single else "")
                         + f"{_f(r['flaml-all'], 5)} | {_f(r['autogluon'], 5)} | "
                         f"{'better' if r['better_than_peer'] else 'worse'} | {_f(r['ratio_to_ref'], 4)} | "
                         f"{r['ensembles']} of {r['runs']} |")
    return lines


def figures_wallclock(result: dict[str, Any]) -> list[tuple[str, Any]]:
    """Per task: mean test score against the budget; per task and budget, the best-so-far validation value of
    each contender's first seed against time (each tool's own validation: split or CV); the rank per budget."""
    import plotly.graph_objects as go

    a = result["analysis"]
    colors = {c: f"hsl({int(360 * i / max(1, len(a['contenders'])))},65%,45%)" for i, c in enumerate(a["contenders"])}
    out = []
    ks = a["budgets"]
    fig = go.Figure()
    for c in a["contenders"]:
        fig.add_trace(go.Scatter(x=[float(k) for k in ks], y=[a["summary"][k][c]["rank_mean"] for k in ks],
                                 mode="lines+markers", name=c, line={"color": colors[c]}))
    fig.update_layout(title="mean test-score rank vs budget (lower is better)", xaxis_title="budget (s)",
                      yaxis_title="mean rank", height=380)
    out.append(("mean test-score rank vs budget", fig))
    for task, t in a["tasks"].items():
        fig = go.Figure()
        for c, row in t["contenders"].items():
            fig.add_trace(go.Scatter(x=[float(k) for k in ks if k in row], y=[row[k]["test_mean"] for k in ks if k in row],
                                     mode="lines+markers", name=c, line={"color": colors[c]}))
        fig.update_layout(title=f"{task}: test {result['tasks'][task]['metric']} of the model handed over vs budget "
                          "(mean over seeds)", xaxis_title="budget (s)", yaxis_title="test score", height=380)
        out.append((f"{task} — test score vs budget", fig))
        k = ks[-1]
        fig = go.Figure()
        for c, row in t["contenders"].items():
            pts = [p for p in (row[k]["curves"][0] if k in row and row[k]["curves"] else []) if p[1] is not None]
            if pts:
                fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", line_shape="hv",
                                         name=c, line={"color": colors[c]}))
        fig.update_layout(title=f"{task}: best-so-far validation value vs seconds at {k} s (first seed; each tool's own "
                          "validation)", xaxis_title="seconds", yaxis_title="validation", height=380)
        out.append((f"{task} — validation vs seconds at {k} s", fig))
    return out


def write(result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"suite-{result['meta']['mode']}"
    paths = {"md": out_dir / f"{stem}.md", "json": out_dir / f"{stem}.json", "html": out_dir / f"{stem}.html"}
    wall = _is_wallclock(result)
    paths["json"].write_text(json.dumps(result, indent=1, default=float) + "\n")
    paths["md"].write_text(markdown_wallclock(result) if wall else markdown(result))
    paths["html"].write_text(html_page(result, figures_wallclock(result) if wall else None))
    return paths
