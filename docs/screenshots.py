"""Screenshots of a report for the README: headless Debian chromium, network blocked.

    .venv/bin/automl run studies/diabetes-lgbm.yaml --report
    .venv/bin/python docs/screenshots.py reports/diabetes-lgbm.html
writes docs/report-header.png, docs/report-importance.png, docs/report-parallel.png,
docs/report-curves.png and docs/report-table.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = {  # file -> CSS selector of the element to capture
    "report-header.png": "body > table.facts",
    "report-importance.png": "#importance-0",
    "report-parallel.png": "#parallel",
    "report-curves.png": "#curves",
    "report-table.png": "#trials-section",
}


def main(report: str, browser_path: str = "/usr/bin/chromium") -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
        page.goto(Path(report).resolve().as_uri())
        page.wait_for_selector("body[data-figures-done]", timeout=60_000)
        for name, selector in SHOTS.items():
            el = page.query_selector(selector)
            if el is None:
                print(f"skip {name}: no {selector}")
                continue
            if name == "report-header.png":  # the title line and the facts table together
                box = page.evaluate("""() => { const r = document.querySelector('body > table.facts').getBoundingClientRect();
                                       return {x: 0, y: 0, width: 1200, height: r.bottom + window.scrollY + 40}; }""")
                page.screenshot(path=str(DOCS / name), clip=box)
            elif name == "report-table.png":  # sorted by value, best first: the top of the table
                page.click("#trials thead th:nth-child(3)")
                page.evaluate("document.getElementById('trials-wrap').style.maxHeight = '420px'")
                el.screenshot(path=str(DOCS / name))
            else:
                el.screenshot(path=str(DOCS / name))
            print(DOCS / name)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
