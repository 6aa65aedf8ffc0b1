"""The report in a real browser: headless Debian chromium through playwright, network blocked."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import optuna
import pytest

from automl.report.html import write_report

pytestmark = pytest.mark.slow

XSS = "</script><script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _browser_or_skip():
    if CHROMIUM is None or not _has_playwright():
        if os.environ.get("CI"):
            pytest.fail("CI is set but chromium or playwright is missing: .ci/run installs both")
        pytest.skip("no chromium at /usr/bin/chromium (apt-get install chromium) or no playwright; CI runs this test")


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _xss_study(n: int = 24) -> optuna.Study:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -3, 3)
        kind = trial.suggest_categorical(XSS, ["a", XSS])
        y = trial.suggest_int("y", 0, 4) if kind == XSS else 0
        trial.set_user_attr("note", XSS)
        for step in range(4):
            trial.report(x * x + step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x * x + y

    study = optuna.create_study(study_name=XSS, sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1))
    study.set_user_attr("automl:model", XSS)
    study.optimize(objective, n_trials=n)
    return study


def _open(page_path: Path):
    """Load the page; returns (page, console errors, attempted network URLs, dialogs) after figures drew."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def route(r):
        if r.request.url.startswith(("file://", "data:", "blob:")):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(page_path.resolve().as_uri())
    page.wait_for_selector("body[data-figures-done]", timeout=60_000)
    return pw, browser, page, errors, requests, dialogs


def test_report_in_headless_chromium(tmp_path: Path) -> None:
    _browser_or_skip()
    study = _xss_study()
    path = write_report(study, tmp_path / "r.html")
    pw, browser, page, errors, requests, dialogs = _open(path)
    try:
        assert errors == []
        assert requests == [], f"the page tried the network: {requests}"
        assert dialogs == [], "a script from the study ran"
        figs = page.query_selector_all("div.fig")
        assert len(figs) >= 8
        for div in figs:  # every figure div drew an SVG
            assert div.query_selector(".main-svg") is not None, div.get_attribute("id")
        assert page.get_attribute("body", "data-figures-done") == str(len(figs))
        n = len(study.trials)
        assert len(page.query_selector_all("#trials tbody tr")) == n
        assert page.inner_text("#trials-count") == f"{n} of {n} trials shown"
        # The XSS string is text: in the title, the header, a table header and cells.
        assert page.title().startswith(XSS)
        assert page.inner_text("h1") == XSS
        headers = [th.inner_text() for th in page.query_selector_all("#trials thead th")]
        assert XSS in headers and "attr:note" in headers
        # Filter and sort work on the rendered rows.
        page.fill("#trials-filter", "pruned")
        page.wait_for_function("document.getElementById('trials-count').textContent.indexOf(' of ') > 0 && "
                               f"!document.getElementById('trials-count').textContent.startsWith('{n} of')")
        pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
        assert page.inner_text("#trials-count") == f"{pruned} of {n} trials shown"
        page.fill("#trials-filter", "")
        page.click("#trials thead th:first-child")
        page.click("#trials thead th:first-child")  # descending by number, the best trial pinned first
        best = study.best_trial.number
        last = max(t.number for t in study.trials if t.number != best)
        page.wait_for_function("document.querySelectorAll('#trials tbody tr')[1].firstChild.textContent === "
                               f"'{last}'")
        first = page.query_selector("#trials tbody tr")
        assert first.get_attribute("class").split() == ["COMPLETE", "best"] and first.inner_text().startswith(str(best))
        # CSV download of the shown rows, made in the page (Blob), no network.
        with page.expect_download() as dl:
            page.click("#trials-csv")
        csv = Path(dl.value.path()).read_text(encoding="utf-8").splitlines()
        assert len(csv) == n + 1 and csv[0].startswith("number,state,value,duration_s")
        assert requests == []
    finally:
        browser.close()
        pw.stop()


def test_summary_in_headless_chromium_shows_the_storage_values(study_file, tmp_path: Path) -> None:
    """A real run: the summary's numbers, as the browser renders them, are the stored test scores and baselines."""
    _browser_or_skip()
    from automl import api

    url = f"sqlite:///{tmp_path / 's.db'}"
    outcome = api.run_study_outcome(study_file(storage=url, params=None, trials=5))
    study = optuna.load_study(study_name=outcome.study.study_name, storage=url)
    path = write_report(study, tmp_path / "s.html")
    pw, browser, page, errors, requests, dialogs = _open(path)
    try:
        assert errors == [] and requests == [] and dialogs == []
        shown = {el.get_attribute("data-key"): (float(el.get_attribute("data-value")), el.inner_text())
                 for el in page.query_selector_all("#summary [data-key][data-value]")}
        best = study.best_trial
        base = study.user_attrs["automl:baselines"]
        want = {"valid:best": best.value, "test:best:rmse": study.user_attrs["automl:test_scores"][str(best.number)]["rmse"],
                "test:defaults:rmse": base["defaults"]["test"]["rmse"], "test:constant:rmse": base["constant"]["test"]["rmse"]}
        ens = study.user_attrs.get("automl:ensemble")
        if ens:  # the ensemble that export hands over, when the run chose one
            want.update({"valid:ensemble": ens["valid"], "valid:ensemble-best-single": ens["best_single"]["valid"]})
            want.update({f"test:ensemble:{m}": v for m, v in ens["test"].items()})
        assert {k: v[0] for k, v in shown.items()} == want
        for k, (v, text) in shown.items():
            assert text == f"{v:.4g}", k
        headline = page.inner_text("#headline")
        assert headline.startswith(f"The tuned model (trial {best.number}) scores rmse {want['test:best:rmse']:.4g}")
        assert "better than a constant predictor" in headline
        assert page.is_visible("#settings-table") and "TPESampler" in page.inner_text("#settings-table")
        # Every figure drew; panels with nothing to show are listed once, not drawn empty.
        figs = page.query_selector_all("div.fig")
        assert all(div.query_selector(".main-svg") is not None for div in figs)
        assert page.query_selector("#extras") is None and "Training-side curves" in page.inner_text("#not-shown")
    finally:
        browser.close()
        pw.stop()
