"""Issue 15, study files: every bad file is one line per problem naming the file and field, exit 2, no traceback,
and nothing written (no .db). One table of (how base study B is changed, expected line); B is the issue's base study."""

from __future__ import annotations

import builtins
import os
import shutil

import pytest
import yaml
from conftest import STUDIES
from typer.testing import CliRunner

from automl.cli import app

B = """data: {path: data/d.csv, target: progression}
model: lightgbm
trials: 2
params:
  learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
fixed: {num_boost_round: 20}
"""
LR = "learning_rate: {type: float, low: 0.01, high: 0.3, log: true}"
ROUNDS = "fixed: {num_boost_round: 20}"


def lr(text: str) -> dict[str, str]:
    return {LR: text}


def laughs(levels: int) -> str:
    lines = ["fixed:", "  num_boost_round: 20", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines)


# (id, {old text: new text} applied to B, lines appended to B, expected line after "study.yaml: ")
CASES = [
    # 1. numbers written as strings are checked after conversion
    ("str-low>high", lr("learning_rate: {type: float, low: '0.5', high: '0.1'}"), "",
     "params.learning_rate.low: must be <= high (got low '0.5' > high '0.1')"),
    ("str-log-yes", lr("learning_rate: {type: float, low: 0, high: 0.3, log: 'yes'}"), "",
     "params.learning_rate.low: must be > 0 when log is true (got 0)"),
    ("str-step-0", lr("learning_rate: {type: float, low: 0.01, high: 0.3, step: '0'}"), "",
     "params.learning_rate.step: must be > 0 (got '0')"),
    ("str-low-nan", lr("learning_rate: {type: float, low: 'nan', high: 0.3}"), "",
     "params.learning_rate.low: must be finite (got 'nan')"),
    ("str-int-fraction", lr("num_leaves: {type: int, low: '2.5', high: 8}"), "",
     "params.num_leaves.low: must be a whole number for type int (got '2.5')"),
    ("str-timeout", {}, "timeout: '-1'", "timeout: must be > 0 seconds (got '-1')"),
    ("str-max-failures", {}, "max_failures: '-1'", "max_failures: must be a positive whole number (got '-1')"),
    ("str-valid-size", {"target: progression}": "target: progression, valid_size: '1.5'}"}, "",
     "data.valid_size: must be a fraction between 0 and 1 (got '1.5')"),
    ("str-cv", {"target: progression}": "target: progression, cv: '1'}"}, "",
     "data.cv: must be 0 (one validation split) or a number of folds >= 2 (got '1')"),
    # 2. values only Optuna or numpy rejected
    ("seed-negative", {}, "seed: -1", "seed: must be a whole number from 0 to 2**32 - 1 (got -1)"),
    ("seed-huge", {}, "seed: 1180591620717411303424", "seed: must be a whole number from 0 to 2**32 - 1"),
    ("percentile-150", {}, "pruner: {name: percentile, percentile: 150}",
     "pruner.percentile: Optuna's PercentilePruner refuses it: Percentile must be between 0 and 100"),
    ("median-startup-negative", {}, "pruner: {name: median, n_startup_trials: -1}",
     "pruner.n_startup_trials: Optuna's MedianPruner refuses it"),
    ("sha-min-resource-0", {}, "pruner: {name: sha, min_resource: 0}",
     "pruner.min_resource: Optuna's SuccessiveHalvingPruner refuses it"),
    ("threshold-no-bounds", {}, "pruner: threshold", "pruner: Optuna's ThresholdPruner refuses it: Either lower or upper"),
    ("nsga2-population-1", {}, "sampler: {name: nsga2, population_size: 1}",
     "sampler.population_size: Optuna's NSGAIISampler refuses it"),
    ("sampler-seed-negative", {}, "sampler: {name: tpe, seed: -1}", "sampler.seed: Optuna's TPESampler refuses it"),
    ("tpe-startup-abc", {}, "sampler: {name: tpe, n_startup_trials: abc}",
     "sampler.n_startup_trials: must be int for TPESampler (got 'abc'"),
    ("tpe-multivariate-maybe", {}, "sampler: {name: tpe, multivariate: maybe}",
     "sampler.multivariate: must be bool | None for TPESampler (got 'maybe'"),
    ("choices-empty-set", lr("learning_rate: {type: categorical, choices: !!set {}}"), "",
     "params.learning_rate.choices: must be a YAML list, e.g. [a, b] (got a set)"),
    ("storage-no-file", {}, "storage: 'sqlite:///'", "storage: 'sqlite:///' names no file"),
    ("storage-memory", {}, "storage: 'sqlite://'", "storage: 'sqlite://' names no file"),
    ("rounds-ten", {ROUNDS: "fixed: {num_boost_round: ten}"}, "", "fixed.num_boost_round: must be a whole number (got 'ten')"),
    ("rounds-negative", {ROUNDS: "fixed: {num_boost_round: -5}"}, "", "fixed.num_boost_round: must be >= 1 (got -5)"),
    ("early-stopping-negative", {ROUNDS: "fixed: {num_boost_round: 20, early_stopping_rounds: -1}"}, "",
     "fixed.early_stopping_rounds: must be >= 0 (got -1)"),
    ("rounds-searched-negative", {ROUNDS: "fixed: {}", LR: LR + "\n  num_boost_round: {type: int, low: -5, high: 10}"}, "",
     "params.num_boost_round: every value in the range must be >= 1 (got -5)"),
    # 3. duplicate keys
    ("duplicate-trials", {}, "trials: 3", "trials: duplicate key: set on line 3 and again on line 7; keep one of them"),
    ("duplicate-params", {}, "params:\n  num_leaves: {type: int, low: 4, high: 8}",
     "params: duplicate key: set on line 4 and again on line 7"),
    ("duplicate-nested", lr("learning_rate: {type: float, low: 0.01, high: 0.3, low: 0.02}"), "",
     "params.learning_rate.low: duplicate key: set on line 5 and again on line 5"),
    # 4. accepted but meaningless
    ("when-on-int", lr(LR + "\n  num_leaves: {type: int, low: 4, high: 8}\n"
                       "  max_depth: {type: int, low: 2, high: 5, when: {num_leaves: 1000}}"), "",
     "params.max_depth.when.num_leaves: num_leaves is type int; when can only name a categorical parameter"),
    ("when-on-float", lr(LR + "\n  max_depth: {type: int, low: 2, high: 5, when: {learning_rate: 0.1}}"), "",
     "params.max_depth.when.learning_rate: learning_rate is type float"),
    ("timeout-nan", {}, "timeout: .nan", "timeout: must be > 0 seconds (got nan)"),
    ("timeout-inf", {}, "timeout: .inf", "timeout: must be > 0 seconds (got inf)"),
    ("choices-equal-values", lr("min_child_samples: {type: categorical, choices: [1, 1.0, true]}"), "",
     "params.min_child_samples.choices: must not repeat a value: 1 and 1.0 are equal"),
    ("choices-false-zero", lr("min_child_samples: {type: categorical, choices: [0, false]}"), "",
     "params.min_child_samples.choices: must not repeat a value: 0 and False are equal"),
    ("data-seed-negative", {"target: progression}": "target: progression, seed: -1}"}, "",
     "data.seed: must be a whole number from 0 to 2**32 - 1 (got -1)"),
    # 5. resource abuse
    ("billion-laughs", {ROUNDS: laughs(6)}, "", "expands to more than 100,000 values once its aliases"),
    ("recursive-alias", {ROUNDS: "fixed: {num_boost_round: 20, a: &a [*a]}"}, "",
     "fixed.a.0: contains itself (a recursive alias)"),
    ("grid-huge", lr("num_leaves: {type: int, low: 0, high: 1000000000000}"), "sampler: grid",
     "sampler: grid has 1,000,000,000,001 points, more than the 100,000 automl walks"),
    ("grid-product", lr("\n  ".join(f"p{i}: {{type: categorical, choices: [a, b, c, d, e, f, g, h, i, j]}}" for i in range(6))),
     "sampler: grid", "sampler: grid has 1,000,000 points"),
    ("name-too-long", {}, "name: " + "n" * 300, "name: is 300 bytes; it names files"),
    ("name-with-slash", {}, "name: ../elsewhere", "name: must not contain '/'"),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    shutil.copy(STUDIES / "data" / "diabetes.csv", tmp_path / "data" / "d.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_b(folder, replace: dict[str, str], extra: str, *args: str):
    text = B
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    (folder / "study.yaml").write_text(text + (extra + "\n" if extra else ""))
    return CliRunner().invoke(app, ["run", "study.yaml", "--no-progress", *args])


def assert_rejected(folder, res, expected: str) -> None:
    lines = res.output.splitlines()
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), res.exception  # no traceback
    assert "Traceback" not in res.output
    assert lines and all(line.startswith("study.yaml: ") for line in lines), lines
    assert any(line.startswith("study.yaml: " + expected) for line in lines), lines
    assert sorted(p.name for p in folder.iterdir()) == ["data", "study.yaml"]  # no .db, no report


@pytest.mark.parametrize(("replace", "extra", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_study_file_is_one_line_per_problem_and_writes_nothing(folder, replace, extra, expected):
    res = run_b(folder, replace, extra)
    assert_rejected(folder, res, expected)
    # validate says the same: it no longer says ok to a file run would reject
    val = CliRunner().invoke(app, ["validate", "study.yaml"])
    assert val.exit_code == 2 and any(line.startswith("study.yaml: " + expected) for line in val.output.splitlines())


def test_every_problem_of_a_file_is_reported_at_once(folder):
    res = run_b(folder, lr("learning_rate: {type: float, low: '0.5', high: '0.1'}"), "seed: -1\ntimeout: .nan")
    assert_rejected(folder, res, "seed: ")
    fields = sorted(line.split(": ")[1] for line in res.output.splitlines())
    assert fields == ["params.learning_rate.low", "seed", "timeout"]


def test_numbers_as_strings_that_are_valid_run_as_numbers(folder):
    """Converted, not rejected: '1e-3' is what PyYAML makes of 1e-3, and it must reach Optuna as 0.001."""
    res = run_b(folder, lr("learning_rate: {type: float, low: 1e-3, high: '0.3', log: 'true'}"),
                "sampler: {name: tpe, n_startup_trials: '1'}\nseed: '3'")
    assert res.exit_code == 0, res.output
    import optuna

    study = optuna.load_study(study_name="study", storage=f"sqlite:///{folder / 'study.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]  # a str n_startup_trials failed each trial
    assert all(1e-3 <= t.params["learning_rate"] <= 0.3 for t in study.trials)


def test_a_grid_at_the_limit_still_runs(folder):
    from automl.space import MAX_GRID

    res = run_b(folder, lr(f"num_leaves: {{type: int, low: 2, high: {MAX_GRID + 1}}}"), "sampler: grid")
    assert res.exit_code == 0, res.output
    assert "2 trials added" in res.output


def test_a_long_name_within_the_limit_writes_its_report(folder):
    name = "n" * 200
    res = run_b(folder, {}, f"name: {name}", "--report")
    assert res.exit_code == 0, res.output
    assert (folder / "reports" / f"{name}.html").exists() and (folder / f"{name}.db").exists()


def test_an_oversized_file_is_one_line(folder):
    (folder / "study.yaml").write_text(B + "#" * 1_100_000 + "\n")
    res = CliRunner().invoke(app, ["run", "study.yaml", "--no-progress"])
    assert_rejected(folder, res, "is larger than 1,000,000 bytes")


def test_unreadable_study_file_is_one_line_exit_2(folder, monkeypatch):
    """Mode 000: the file is reported by automl in one line, not by click's usage box. Root reads any file, so
    the denial is simulated where both click (os.access) and automl (open) would meet it."""
    (folder / "study.yaml").write_text(B)
    real_access, real_open = os.access, builtins.open

    def denied(path) -> bool:
        return str(path).endswith("study.yaml")

    def fake_open(file, *args, **kwargs):
        if denied(file):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if denied(p) else real_access(p, mode, *a, **k))
    monkeypatch.setattr(builtins, "open", fake_open)
    for command in (["run", "study.yaml", "--no-progress"], ["validate", "study.yaml"]):
        res = CliRunner().invoke(app, command)
        assert res.output.splitlines() == [
            "study.yaml: cannot be read (PermissionError: Permission denied); check its permissions"], res.output
        assert res.exit_code == 2
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == ["data", "study.yaml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_mode_000_study_file_for_real(folder):
    (folder / "study.yaml").write_text(B)
    (folder / "study.yaml").chmod(0)
    res = CliRunner().invoke(app, ["validate", "study.yaml"])
    assert res.exit_code == 2 and len(res.output.splitlines()) == 1 and "cannot be read" in res.output


def test_duplicate_keys_are_found_inside_flow_and_block_mappings_alike():
    from automl.errors import StudyFileError
    from automl.studyfile import read_yaml

    assert yaml.safe_load("a: 1\na: 2") == {"a": 2}  # what YAML alone does
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.yaml"
        p.write_text("data:\n  path: x.csv\n  target: y\n  path: z.csv\n")
        with pytest.raises(StudyFileError) as err:
            read_yaml(p, "s.yaml")
        assert [str(x) for x in err.value.problems] == [
            "s.yaml: data.path: duplicate key: set on line 2 and again on line 4; keep one of them"]
        p.write_text("base: &b {x: 1}\nother:\n  <<: *b\n  x: 2\n")  # a merge key overridden is not a duplicate
        assert read_yaml(p, "s.yaml") == {"base": {"x": 1}, "other": {"x": 2}}
