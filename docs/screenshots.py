"""Screenshots of reports for the README: headless Debian chromium, network blocked.

    .venv/bin/automl run studies/diabetes-lgbm.yaml --report          # regression (LightGBM)
    .venv/bin/automl run studies/wine-mlp.yaml --report               # classification (MLP, 3 classes)
    .venv/bin/automl run studies/breast-cancer-lgbm.yaml --report     # multi-objective (logloss, accuracy)
    .venv/bin/automl run studies/tasks-lm-finetune.yaml --trials 4 --report   # language model (*)
    .venv/bin/python docs/screenshots.py reports/diabetes-lgbm.html reports/wine-mlp.html \\
        reports/breast-cancer-lgbm.html reports/tasks-lm-finetune.html

(*) The committed LM screenshot is of a shortened run, made on a loaded 2-core machine: the first 400 examples of
studies/data/tasks.jsonl, a 1-layer builtin model (n_embd 32, 80 pretraining steps), metric eval_loss, a 2 x 2 grid
of prompt_loss_weight {0, 1} x learning_rate {0.003, 0.01}, 6 epochs. The tabular ones ran with --trials 10, 6 and 5.

The first report also gives docs/report-importance.png, report-parallel.png, report-curves.png and
report-table.png; every report gives docs/summary-<study>.png (the summary block at the top of the page).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = {  # file -> CSS selector of the element to capture (from the first report)
    "report-importance.png": "#importance-0",
    "report-parallel.png": "#parallel",
    "report-curves.png": "#curves",
    "report-table.png": "#trials-section",
}


def summary_shot(page, path: Path) -> None:
    """The title line and the summary block together."""
    box = page.evaluate("""() => { const r = document.getElementById('summary').getBoundingClientRect();
                           return {x: 0, y: 0, width: 1200, height: r.bottom + window.scrollY + 16}; }""")
    page.screenshot(path=str(path), clip=box)


def main(reports: list[str], browser_path: str = "/usr/bin/chromium") -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=ARGS, headless=True)
        for i, report in enumerate(reports):
            page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
            page.goto(Path(report).resolve().as_uri())
            page.wait_for_selector("body[data-figures-done]", timeout=60_000)
            out = DOCS / f"summary-{Path(report).stem}.png"
            summary_shot(page, out)
            print(out)
            for name, selector in (SHOTS.items() if i == 0 else ()):
                el = page.query_selector(selector)
                if el is None:
                    print(f"skip {name}: no {selector}")
                    continue
                if name == "report-table.png":  # sorted by value, best first: the top of the table
                    page.click("#trials thead th:nth-child(3)")
                    page.evaluate("document.getElementById('trials-wrap').style.maxHeight = '420px'")
                el.screenshot(path=str(DOCS / name))
                print(DOCS / name)
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
