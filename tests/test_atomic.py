"""Writes users keep are atomic (issue 15, item 10): a report, an export folder and predictions are written
beside the target and renamed into place, so a kill leaves the old or the new, never a mix; predict refuses
an export whose files do not belong together."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from automl import export as export_mod
from automl import fsutil
from automl.api import run_study
from automl.cli import app
from automl.errors import OutputError

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def study(tmp_path, regression_csv):
    doc = {
        "data": {"path": regression_csv.name, "target": "y"},
        "model": "lightgbm",
        "trials": 3,
        "seed": 0,
        "params": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True}},
        "fixed": {"num_boost_round": 20, "num_threads": 1, "min_child_samples": 5},
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc))
    run_study(path, progress=False)
    return path


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    target.write_text("old")
    fsutil.atomic_write_text(target, "new")
    assert target.read_text() == "new"

    def fail(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OutputError, match="cannot write .*r.html: No space left on device"):
        fsutil.atomic_write_text(target, "newer")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary left behind


def test_a_failing_folder_write_leaves_the_old_folder(tmp_path):
    target = tmp_path / "ex"
    with fsutil.atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(RuntimeError), fsutil.atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("2")
        raise RuntimeError("trainer failed")
    assert [p.name for p in tmp_path.iterdir()] == ["ex"]
    assert (target / "a.txt").read_text() == "1"
    with fsutil.atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]


def test_temporaries_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    litter = [tmp_path / f".r.html.automl-{dead.pid}-x.tmp", tmp_path / f".ex.automl-{dead.pid}-y"]
    litter[0].write_text("partial")
    litter[1].mkdir()
    mine = tmp_path / f".r.html.automl-{os.getpid()}-z.tmp"  # a live writer's: kept
    mine.write_text("writing")
    fsutil.atomic_write_text(tmp_path / "r.html", "new")
    with fsutil.atomic_folder(tmp_path / "ex") as tmp:
        (tmp / "f").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.html", "ex", mine.name])


def test_unwritable_report_and_export_targets_are_one_line(study, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    res = invoke("report", study, "-o", blocker / "r.html")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.splitlines() == [f"error: cannot write {blocker / 'r.html'}: {blocker} is a file, not a folder; choose a folder you can write to"]
    res = invoke("export", study, "-o", blocker)
    assert res.exit_code == 2
    assert res.output.splitlines() == [f"error: {blocker} is a file; give a folder for the export"]
    assert blocker.read_text() == "not a folder"


def test_export_does_not_replace_a_folder_of_other_files(study, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    res = invoke("export", study, "-o", mine)
    assert res.exit_code == 2
    assert "holds files that are not part of an export (notes.txt)" in res.output
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_re_export_replaces_the_whole_folder(study, tmp_path):
    out = tmp_path / "ex"
    assert invoke("export", study, "-o", out, "--trial", "0", "--test-rows").exit_code == 0
    assert (out / "test_rows.csv").exists()
    assert invoke("export", study, "-o", out, "--trial", "1").exit_code == 0
    assert json.loads((out / "params.json").read_text())["trial"] == 1
    assert not (out / "test_rows.csv").exists()  # the old export's rows do not linger beside the new model


def test_predict_refuses_an_export_whose_files_do_not_belong_together(study, tmp_path):
    for n in (0, 1):
        assert invoke("export", study, "-o", tmp_path / f"ex{n}", "--trial", n, "--test-rows").exit_code == 0
    rows = tmp_path / "ex0" / "test_rows.csv"
    assert invoke("predict", tmp_path / "ex0", rows, "-o", tmp_path / "p.csv").exit_code == 0
    shutil.copy(tmp_path / "ex1" / "model" / "model.txt", tmp_path / "ex0" / "model" / "model.txt")
    res = invoke("predict", tmp_path / "ex0", rows, "-o", tmp_path / "q.csv")
    assert res.exit_code == 2, res.output
    assert res.output.splitlines() == [
        f"error: {tmp_path / 'ex0'}: model/model.txt do(es) not match manifest.json (changed, missing or added since "
        "the export was written); the files do not belong together: export again"]
    assert not (tmp_path / "q.csv").exists()
    (tmp_path / "ex1" / "model" / "model.txt").unlink()
    res = invoke("predict", tmp_path / "ex1", rows, "-o", tmp_path / "q.csv")
    assert res.exit_code == 2 and "model/model.txt do(es) not match" in res.output


# -- kill -9 at random moments ----------------------------------------------------------------------------
def _cli(argv: list[str]) -> None:
    """Run in a forkserver child: the command as the console script runs it."""
    from automl.cli import app as cli_app

    cli_app(argv, prog_name="automl")


def _complete_report(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"<!doctype html>") and data.endswith(b"</body></html>\n")


def _export_state(folder: Path) -> int:
    """The exported trial when the folder is one complete export whose files all match its manifest."""
    export_mod.verify(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) | {"manifest.json"} == {
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    params = json.loads((folder / "params.json").read_text())
    assert params["trial"] == manifest["trial"]
    return manifest["trial"]


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_the_old_or_the_new(study, tmp_path):
    ctx = multiprocessing.get_context("forkserver")
    # Children fork from a server that has imported everything but never trained (fork-safe OpenMP).
    ctx.set_forkserver_preload(["automl.cli", "automl.export", "automl.report.html", "lightgbm", "optuna",
                                "plotly", "sklearn.model_selection", "pandas", "test_atomic"])
    report = tmp_path / "report.html"
    out = tmp_path / "ex"
    commands = {
        "report": lambda k: ["report", str(study), "-o", str(report)],
        "export": lambda k: ["export", str(study), "-o", str(out), "--trial", str(k % 2), "--test-rows"],
    }

    def start(argv):
        p = ctx.Process(target=_cli, args=(argv,))
        p.start()
        return p

    rng = random.Random(15)
    for name, argv in commands.items():
        for _ in range(2):  # the first run also starts the fork server; time the second
            t0 = time.perf_counter()
            p = start(argv(0))
            p.join(60)
            full = time.perf_counter() - t0
            assert p.exitcode == 0, f"{name} failed on its own"
        state = report.read_bytes() if name == "report" else _export_state(out)
        kills = attempts = 0
        while kills < 20 and attempts < 60:
            attempts += 1
            k = attempts
            p = start(argv(k))
            # half the points anywhere in the command's life, half near its end, where the write happens
            time.sleep(rng.uniform(0, full) if attempts % 2 else rng.uniform(0.5 * full, 0.95 * full))
            if p.is_alive():
                os.kill(p.pid, signal.SIGKILL)
                kills += 1
            p.join(30)
            if name == "report":
                now = report.read_bytes()
                assert now == state or _complete_report(report), f"torn report after a kill at attempt {k}"
                state = now
            else:
                trial = _export_state(out)  # raises if the files do not belong together
                assert trial in (state, k % 2), (trial, state, k)
                state = trial
        print(f"{name}: full run {full:.2f}s, {kills} kills in {attempts} attempts")
        assert kills >= 20, f"{name}: only {kills} of {attempts} runs were still running when killed"
    leftovers = [p.name for p in tmp_path.iterdir() if ".automl-" in p.name]
    fsutil.clean_leftovers(report)
    fsutil.clean_leftovers(out)
    assert not [p.name for p in tmp_path.iterdir() if ".automl-" in p.name], leftovers
