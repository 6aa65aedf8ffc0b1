"""Report size and write time at 100 and 5,000 trials (synthetic in-memory studies, no training).

    .venv/bin/python benchmarks/report_size.py            # writes benchmarks/report_size.{md,json}
    .venv/bin/python benchmarks/report_size.py --browser  # also: open each report in headless chromium

Each study: 6 parameters (log-float, float, int, categorical, a conditional float, a conditional int),
10 intermediate values per trial with a learning_curve user attr, ~25% pruned and ~3% failed trials,
one-second-apart timestamps. Times are wall-clock seconds of ``write_report`` (best of ``--repeat``).

Internal API: it measures the report's packing itself (report, report.html).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from automl.report import write_report
from automl.report.html import B85_PAGE, pack

HERE = Path(__file__).resolve().parent
DISTS = {
    "learning_rate": FloatDistribution(1e-3, 0.3, log=True),
    "subsample": FloatDistribution(0.5, 1.0),
    "num_leaves": IntDistribution(4, 256, log=True),
    "boosting": CategoricalDistribution(["gbdt", "dart", "goss"]),
    "drop_rate": FloatDistribution(0.05, 0.5),
    "top_rate": IntDistribution(1, 9),
}


def synthetic_study(n: int, seed: int = 0) -> optuna.Study:
    """A study shaped like an automl LightGBM study, built with add_trials (fast, deterministic)."""
    rng = np.random.default_rng(seed)
    study = optuna.create_study(study_name=f"synthetic-{n}", direction="minimize")
    study.set_user_attr("automl:model", "lightgbm")
    study.set_user_attr("automl:metric", ["rmse"])
    t0 = dt.datetime(2026, 1, 1)
    trials = []
    for i in range(n):
        boosting = str(rng.choice(["gbdt", "dart", "goss"]))
        params = {"learning_rate": float(np.exp(rng.uniform(np.log(1e-3), np.log(0.3)))),
                  "subsample": float(rng.uniform(0.5, 1)), "num_leaves": int(rng.integers(4, 257)),
                  "boosting": boosting}
        if boosting == "dart":
            params["drop_rate"] = float(rng.uniform(0.05, 0.5))
        if boosting == "goss":
            params["top_rate"] = int(rng.integers(1, 10))
        final = 50 + 40 * abs(np.log10(params["learning_rate"]) + 1.2) + 5 * rng.normal() ** 2
        u = rng.uniform()
        state = TrialState.FAIL if u < 0.03 else TrialState.PRUNED if u < 0.28 else TrialState.COMPLETE
        steps = 10 if state == TrialState.COMPLETE else int(rng.integers(2, 6))
        curve = {s: float(final + 30 * np.exp(-s / 3)) for s in range(steps)} if state != TrialState.FAIL else {}
        start = t0 + dt.timedelta(seconds=i)
        trials.append(create_trial(
            state=state, value=final if state == TrialState.COMPLETE else None, params=params,
            distributions={k: DISTS[k] for k in params}, intermediate_values=curve,
            user_attrs={"fit_seconds": round(float(rng.uniform(0.1, 2)), 3),
                        "learning_curve": [{"step": s, "value": v, "train_loss": v * 0.8} for s, v in curve.items()]},
        ))
        trials[-1].datetime_start = start
        trials[-1].datetime_complete = start + dt.timedelta(seconds=float(rng.uniform(0.1, 0.9)))
    study.add_trials(trials)
    return study


def browser_times(path: Path, chromium: str = "/usr/bin/chromium") -> dict[str, float]:
    """Seconds until load, until every figure drew, and for a filter that re-renders the table (network blocked)."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
        t = time.perf_counter()
        page.goto(path.resolve().as_uri())
        load = time.perf_counter() - t
        page.wait_for_selector("body[data-figures-done]", timeout=300_000)
        figures = time.perf_counter() - t
        slowest = page.evaluate("Math.max(...Array.from(document.querySelectorAll('div.fig'), e => +e.dataset.renderMs))")
        t = time.perf_counter()
        page.fill("#trials-filter", "pruned")
        page.wait_for_function("!/^(\\d+) of \\1 /.test(document.getElementById('trials-count').textContent)")
        filt = time.perf_counter() - t
        browser.close()
    return {"load_s": round(load, 2), "all_figures_s": round(figures, 2), "slowest_figure_s": round(slowest / 1000, 2),
            "filter_s": round(filt, 2)}


def breakdown(text: str) -> dict[str, int]:
    """Bytes of the page's parts: packed plotly.js, packed figures, the trials table (JSON), everything else."""
    import re

    out = {}
    for key, pat in (("plotly_js", r'<script type="application/x-automl-packed" id="automl-plotly">.*?</script>'),
                     ("figures", r'<script type="application/x-automl-packed" id="automl-figures">.*?</script>'),
                     ("trials_table", r'<script type="application/json" id="automl-trials">.*?</script>')):
        m = re.search(pat, text, re.S)
        out[key] = len(m.group(0).encode()) if m else 0
    out["rest"] = len(text.encode()) - sum(out.values())
    return out


def bundle_options() -> list[tuple[str, int]]:
    """What plotly.js itself would weigh in the page, embedded each way (bytes)."""
    import base64
    import gzip
    import zlib

    from plotly.offline import get_plotlyjs

    js = get_plotlyjs().encode()
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    raw = c.compress(js) + c.flush()
    assert len(B85_PAGE) == 85
    return [("plotly.min.js as text (before)", len(js)), ("gzip -9 + base64", len(base64.b64encode(gzip.compress(js, 9)))),
            ("raw deflate -9 + base85 (the report's)", len(pack(js))), ("raw deflate -9, binary (not embeddable)", len(raw))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,5000")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "report_size"))
    ap.add_argument("--browser", action="store_true", help="also time the page in headless chromium")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        study = synthetic_study(n)
        path = Path("/tmp") / f"automl-report-bench-{n}.html"
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            write_report(study, path)
            times.append(time.perf_counter() - t)
        size = path.stat().st_size
        parts = breakdown(path.read_text(encoding="utf-8"))
        plain = Path("/tmp") / f"automl-report-bench-{n}-plain.html"
        t = time.perf_counter()
        write_report(study, plain, packed=False)
        plain_s = time.perf_counter() - t
        results.append({"trials": n, "write_s": round(min(times), 2), "write_s_all": [round(x, 2) for x in times],
                        "bytes": size, "mib": round(size / 2**20, 2), "parts": parts,
                        "plain_bytes": plain.stat().st_size, "plain_write_s": round(plain_s, 2)})
        if args.browser:
            results[-1]["browser"] = browser_times(path)
        print(results[-1], flush=True)
    meta = {"command": "python benchmarks/report_size.py --sizes {} --repeat {}{}".format(
                args.sizes, args.repeat, " --browser" if args.browser else ""),
            "python": platform.python_version(), "optuna": optuna.__version__, "machine": platform.machine(),
            "date": dt.date.today().isoformat()}
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    lines = ["# Report size and write time", "", f"`{meta['command']}` (Python {meta['python']}, Optuna {meta['optuna']}, "
             f"{meta['date']}; 2-core shared machine; best of {args.repeat})", "",
             "| trials | write time (s), best | every run (s) | size (MiB) | size (bytes) | plotly.js | figures | trials table | rest | unpacked page (bytes) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['trials']:,} | {r['write_s']} | {', '.join(map(str, r['write_s_all']))} | {r['mib']} | {r['bytes']:,} | "
              + " | ".join(f"{r['parts'][k]:,}" for k in ("plotly_js", "figures", "trials_table", "rest"))
              + f" | {r['plain_bytes']:,} |" for r in results]
    lines += ["", "plotly.js (plotly.py's bundle, the full plotly.js) in the page each way, bytes:", "", "| embedding | bytes |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" for k, v in bundle_options()]
    if args.browser:
        lines += ["", "In headless chromium (Debian package, network blocked), seconds:", "",
                  "| trials | load event | every figure drawn | slowest figure | filter re-renders table |",
                  "|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['trials']:,} | {b['load_s']} | {b['all_figures_s']} | {b['slowest_figure_s']} | {b['filter_s']} |"
                  for r in results if (b := r.get("browser"))]
    lines += ["", "plotly.js and the figures' JSON are deflated and base85-encoded in the page (`automl.report.html.pack`);",
              "the page inflates them with the browser's DecompressionStream, so the summary, settings and table",
              "(plain HTML and JSON) show at once and the figures draw one per task after plotly.js is unpacked.",
              "`write_report(..., packed=False)` writes the plain page (the 'unpacked page' column)."]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
