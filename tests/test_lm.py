"""Language-model helpers on a tiny, randomly initialised GPT-2 (built in the test, never pretrained)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from automl.lm import builtin, encode, generate  # noqa: E402
from automl.lm.tokenizer import char_tokenizer  # noqa: E402


def tiny_model(seed: int = 0, tie: bool = True):
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = char_tokenizer()
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                     eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=tie)
    model = GPT2LMHeadModel(cfg).eval()
    if not tie:  # never emit pad/eos/unk, so generated texts are long enough to test stop sequences
        with torch.no_grad():
            model.lm_head.weight[:3] = 0.0
            model.lm_head.weight[3:] *= 50.0
    return model, tok


# -- tokenizer ------------------------------------------------------------------------------------
def test_char_tokenizer_round_trip_and_ids(tmp_path: Path):
    from transformers import AutoTokenizer

    tok = char_tokenizer()
    ids = tok("ab c\n", add_special_tokens=False)["input_ids"]
    assert len(ids) == 5 and tok.decode(ids) == "ab c\n"
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    assert again("ab c\n", add_special_tokens=False)["input_ids"] == ids
    assert tok.decode(tok("é", add_special_tokens=False)["input_ids"]) == "<unk>"


# -- prompt loss weight and truncation -------------------------------------------------------------
def test_prompt_loss_weight_zero_ignores_prompt_tokens_exactly():
    model, tok = tiny_model()
    rows = [encode.encode(tok, "reverse abc =", " cba"), encode.encode(tok, "add 1 2 =", " 3")]
    ids_lists = [r.ids for r in rows]
    batch0 = encode.collate(rows, tok.pad_token_id, 0.0)
    logits = model(input_ids=batch0["input_ids"], attention_mask=batch0["attention_mask"]).logits
    loss0 = encode.weighted_loss(logits, batch0["input_ids"], batch0["loss_weights"])
    # Reference: Hugging Face's own loss with prompt (and padding) labels masked out by -100.
    labels = batch0["input_ids"].clone()
    labels[batch0["loss_weights"] == 0] = -100
    ref = model(input_ids=batch0["input_ids"], attention_mask=batch0["attention_mask"], labels=labels).loss
    assert loss0.item() == pytest.approx(ref.item(), rel=1e-5)
    # Changing prompt tokens' labels cannot change it: the gradient w.r.t. prompt-position logits is 0.
    lg = logits.detach().requires_grad_(True)
    encode.weighted_loss(lg, batch0["input_ids"], batch0["loss_weights"]).backward()
    n_prompt = len(tok("reverse abc =", add_special_tokens=False)["input_ids"])
    assert torch.all(lg.grad[0, : n_prompt - 1] == 0) and torch.any(lg.grad[0, n_prompt - 1] != 0)

    # Weight 1: every real token counts, as with labels = input_ids.
    batch1 = encode.collate(rows, tok.pad_token_id, 1.0)
    labels1 = batch1["input_ids"].clone()
    labels1[batch1["attention_mask"] == 0] = -100
    ref1 = model(input_ids=batch1["input_ids"], attention_mask=batch1["attention_mask"], labels=labels1).loss
    loss1 = encode.weighted_loss(logits, batch1["input_ids"], batch1["loss_weights"])
    assert loss1.item() == pytest.approx(ref1.item(), rel=1e-5)

    # Weight 0.25: sum(0.25 * prompt CE + completion CE) / (0.25 * n_prompt + n_completion).
    ce = encode.token_losses(logits, batch0["input_ids"]).detach()
    comp = batch0["loss_weights"][:, 1:]
    real = batch1["loss_weights"][:, 1:]
    prompt = real - comp
    want = ((0.25 * prompt + comp) * ce).sum() / (0.25 * prompt.sum() + comp.sum())
    b = encode.collate(rows, tok.pad_token_id, 0.25)
    assert encode.weighted_loss(logits, b["input_ids"], b["loss_weights"]).item() == pytest.approx(want.item(), rel=1e-6)
    assert [r.ids for r in rows] == ids_lists


def test_left_truncation_keeps_the_completion():
    tok = char_tokenizer()
    full = encode.encode(tok, "reverse abcdefghij =", " jihgfedcba")
    assert len(full.ids) == 20 + 11 + 1
    cut = encode.encode(tok, "reverse abcdefghij =", " jihgfedcba", max_seq_length=16)
    assert len(cut.ids) == 16
    assert tok.decode(cut.ids, skip_special_tokens=True) == "ij = jihgfedcba"
    assert cut.ids[-1] == tok.eos_token_id and sum(cut.is_completion) == 12
    assert cut.ids == full.ids[-16:]
    # A completion longer than the limit keeps its beginning; no prompt token is left.
    long = encode.encode(tok, "p =", " 0123456789", max_seq_length=5)
    assert tok.decode(long.ids) == " 0123" and all(long.is_completion)


def test_completion_loss_counts_completion_tokens_only():
    model, tok = tiny_model()
    rows = [encode.encode(tok, "upper ab =", " AB")]
    b = encode.collate(rows, tok.pad_token_id, 0.0)
    with torch.no_grad():
        logits = model(input_ids=b["input_ids"]).logits
    # The completion " AB" + eos is the last 4 targets; the 9 prompt targets before them do not count.
    want = encode.token_losses(logits, b["input_ids"])[0, -4:].mean().item()
    assert encode.token_losses(logits, b["input_ids"]).shape[1] == 10 + 4 - 1
    assert encode.completion_loss(model, rows, tok.pad_token_id) == pytest.approx(want, rel=1e-6)


# -- generation ------------------------------------------------------------------------------------
def test_cut_at_stop():
    assert generate.cut_at_stop("abc\ndef.", ["\n"]) == ("abc", True)
    assert generate.cut_at_stop("abc\ndef.", [".", "c"]) == ("ab", True)
    assert generate.cut_at_stop("abc", ["x"]) == ("abc", False)
    assert generate.stop_list(None) == [] and generate.stop_list("\n") == ["\n"] and generate.stop_list(["a", ""]) == ["a"]


def test_stop_sequences_cut_generated_output_and_batching_matches_single_prompts():
    model, tok = tiny_model(tie=False)
    prompts = ["add 1 2 =", "reverse abcdef ="]
    free = generate.generate(model, tok, prompts, max_new_tokens=12)
    texts = [s[0].text for s in free]
    assert all(len(t) == 12 for t in texts) and all(s[0].tokens == 12 for s in free)
    # Left padding + attention mask: each prompt alone gives the same greedy text as in the batch.
    assert [generate.generate(model, tok, [p], max_new_tokens=12)[0][0].text for p in prompts] == texts
    stop = texts[1][4]
    cut = generate.generate(model, tok, prompts, max_new_tokens=12, stop=[stop])
    want = texts[1][: texts[1].index(stop)]
    assert cut[1][0].text == want and stop not in cut[1][0].text
    assert cut[1][0].tokens == len(want) + 1  # generation stopped right after the stop sequence


def test_sampling_is_reproducible_with_a_seed():
    model, tok = tiny_model(tie=False)
    a = generate.generate(model, tok, ["sort abc ="], max_new_tokens=6, num_samples=3, temperature=1.0, top_p=0.9, seed=3)
    b = generate.generate(model, tok, ["sort abc ="], max_new_tokens=6, num_samples=3, temperature=1.0, top_p=0.9, seed=3)
    assert a == b and len(a[0]) == 3


@pytest.mark.parametrize(
    "n,c,k,want",
    [(5, 0, 1, 0.0), (5, 5, 1, 1.0), (2, 1, 1, 0.5), (4, 1, 2, 0.5), (5, 2, 3, 0.9), (10, 3, 1, 0.3), (3, 1, 3, 1.0)],
)
def test_pass_at_k_matches_the_formula(n, c, k, want):
    assert generate.pass_at_k(n, c, k) == pytest.approx(want)
    assert generate.pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


def test_pass_at_k_rejects_k_above_n():
    with pytest.raises(ValueError, match="k <= n"):
        generate.pass_at_k(2, 1, 3)


def test_scores_majority_vote_pass_at_k_and_tokens():
    S = generate.Sample
    samples = [[S("4", 2), S("5", 2), S("4", 2)], [S("x", 3), S("y", 1), S("z", 2)]]
    s = generate.scores(samples, [" 4", "y"], k=2)
    assert s["exact_match"] == pytest.approx(0.5)  # majority "4" right; "x" (first of a 3-way tie) wrong
    assert s["pass_at_k"] == pytest.approx(((1 - 0 / 3) + (1 - 1 / 3)) / 2)
    assert s["tokens_generated"] == pytest.approx(12 / 6)


# -- the builtin model cache ------------------------------------------------------------------------
TINY_CFG = {**builtin.CONFIGS["tiny"], "n_layer": 1, "n_embd": 16, "n_head": 2, "n_positions": 32, "seq_len": 16,
            "batch_size": 2, "steps": 2, "warmup_steps": 1, "threads": 1}


def test_builtin_model_is_built_once_then_loaded_from_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUTOML_CACHE", str(tmp_path / "cache"))
    calls = []
    real = builtin.pretrain
    monkeypatch.setattr(builtin, "pretrain", lambda cfg, out, log=None: (calls.append(cfg), real(cfg, out, log)))
    path = builtin.ensure("tiny", TINY_CFG)
    assert calls == [TINY_CFG] and path.parent == tmp_path / "cache" / "models"
    assert path.name == f"tiny-{builtin.config_key(TINY_CFG)}"
    assert json.loads((path / "automl-builtin.json").read_text())["config"] == TINY_CFG
    assert builtin.ensure("tiny", TINY_CFG) == path and len(calls) == 1  # second call: cache hit
    model, tok = builtin.load(path)
    assert model.config.n_embd == 16 and tok.decode(tok("ok", add_special_tokens=False)["input_ids"]) == "ok"
    other = builtin.ensure("tiny", {**TINY_CFG, "seed": 1})  # another configuration: another folder
    assert other != path and len(calls) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, other.name])  # no temp leftovers


def test_builtin_corpus_is_local_ascii_text():
    text = builtin.corpus_text()
    assert len(text) > 100_000 and text.isascii()


def test_resolve_unknown_builtin_is_an_error():
    from automl.errors import AutomlError

    with pytest.raises(AutomlError, match="builtin:tiny"):
        builtin.resolve("builtin:huge")


def test_instruct_task_files_are_reproducible_and_the_heldout_file_is_disjoint():
    """studies/data/make_instruct.py (issue 20's task data): the committed files are what the script writes, and
    no held-out prompt (nor capital question's country) appears in the file trials see."""
    import importlib.util
    import json as _json

    from conftest import STUDIES

    spec = importlib.util.spec_from_file_location("make_instruct", STUDIES / "data" / "make_instruct.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    seen = [_json.loads(line) for line in (STUDIES / "data" / "instruct.jsonl").read_text().splitlines()]
    held = [_json.loads(line) for line in (STUDIES / "data" / "instruct-heldout.jsonl").read_text().splitlines()]
    assert seen == mod.make(600, 0) and held == mod.make(200, 1)
    # the LoRA study's smaller file (make_instruct.py -n 240) is the first 240 rows of the same file
    small = [_json.loads(line) for line in (STUDIES / "data" / "instruct-240.jsonl").read_text().splitlines()]
    assert small == mod.make(240, 0) == seen[:240]
    assert {r["kind"] for r in seen} == set(mod.KINDS)
    assert not {r["prompt"] for r in held} & {r["prompt"] for r in seen}
    countries = lambda rows: {r["prompt"] for r in rows if r["kind"] == "capital"}  # noqa: E731
    assert not countries(held) & countries(seen)


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def test_prompt_formatting_chat_template_system_prompt_and_few_shot():
    """automl.lm.prompting: the exact text (hence tokens) for each combination of the prompt knobs."""
    from automl.lm.data import Example
    from automl.lm.prompting import PromptStyle, format_prompt, shots
    from automl.lm.tokenizer import char_tokenizer

    tok = char_tokenizer()
    train = [Example("add 1 2 =", " 3"), Example("add 2 2 =", " 4"), Example("add 5 1 =", " 6")]
    ex = shots(train, 2)
    assert ex == [("add 1 2 =", " 3"), ("add 2 2 =", " 4")]
    # no chat template on this tokenizer: plain text, even when asked for one
    assert format_prompt(tok, "add 3 4 =", PromptStyle(chat_template=True)) == "add 3 4 ="
    assert format_prompt(tok, "add 3 4 =", PromptStyle(system_prompt="Be brief.", few_shot=2), ex) == \
        "Be brief.\nadd 1 2 = 3\nadd 2 2 = 4\nadd 3 4 ="
    tok.chat_template = CHATML
    got = format_prompt(tok, "add 3 4 =", PromptStyle(chat_template=True, system_prompt="Be brief.", few_shot=1), ex[:1])
    assert got == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nadd 1 2 =<|im_end|>\n"
                   "<|im_start|>assistant\n3<|im_end|>\n<|im_start|>user\nadd 3 4 =<|im_end|>\n<|im_start|>assistant\n")
    assert tok(got, add_special_tokens=False)["input_ids"] == [tok.convert_tokens_to_ids(ch) for ch in got]
    assert format_prompt(tok, "q", PromptStyle(chat_template=False)) == "q"


def test_prompt_style_problems():
    from automl.lm.prompting import PromptStyle

    assert PromptStyle(few_shot=3).problems(2) == [
        ("few_shot", "asks for 3 worked examples but the train split has 2; use fewer, or more data")]
    assert PromptStyle(few_shot=-1).problems(5)[0][0] == "few_shot"
    assert PromptStyle(system_prompt=3).problems(5) == [("system_prompt", "must be a string (got 3)")]
    assert PromptStyle(few_shot=2, system_prompt="x").problems(2) == []
