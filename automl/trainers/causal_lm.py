"""Trainer ``causal-lm``: fine-tune a causal language model on prompt/completion pairs with
``transformers.Trainer``; the objective is the completion-only ``eval_loss`` or greedy ``exact_match``.

Evaluation after each epoch goes to the pruner through a ``TrainerCallback`` that calls ``report``.
``base_model`` is ``builtin:tiny`` / ``builtin:smollm2-135m-instruct`` (see :mod:`automl.lm.builtin`), a ``.gguf``
file, a local directory with a causal LM and its tokenizer, or an ``automl export`` folder. Prompts are formatted by
:class:`automl.lm.prompting.Prompter` (chat template, system prompt, few-shot) the same way at training, decoding and
predict time; ``lora_r > 0`` trains a LoRA adapter (:mod:`automl.lm.lora`) that is merged into the weights after
training, so what is scored and exported is a plain model. Tunable: see ``PARAM_NAMES``; unknown names and bad
values (:mod:`automl.lm.checks`) are study-file errors.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.lm.checks import SCHEDULERS
from automl.lm.data import TASK
from automl.metrics import Metric
from automl.trainers.base import FitContext, FitResult, Report, TabularTrainer


def _not_tabular(task: str, y: Any, pred: Any) -> float:
    """LM metrics are computed by the trainer's ``evaluate``; ``fn`` only compares texts if given some."""
    import numpy as np

    return float(np.mean(np.asarray(y) == np.asarray(pred))) if len(y) else float("nan")


LM_METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("eval_loss", "minimize", (TASK,), _not_tabular, "cross-entropy on completion tokens only (nats per token)"),
        Metric("exact_match", "maximize", (TASK,), _not_tabular, "fraction of prompts whose decoded completion equals the reference (majority vote over samples)"),
        Metric("pass_at_k", "maximize", (TASK,), _not_tabular, "unbiased pass@k of Chen et al. 2021 (k = fixed pass_k, default 1)"),
        Metric("tokens_generated", "minimize", (TASK,), _not_tabular, "mean tokens generated per sample (a cost)"),
        Metric("seconds_per_prompt", "minimize", (TASK,), _not_tabular, "wall-clock seconds of decoding per prompt, all samples (a cost)"),
    ]
}

#: Defaults for every accepted name; a study's fixed/params override them.
DEFAULTS: dict[str, Any] = {
    "base_model": "builtin:tiny",
    "learning_rate": 2e-3,
    "per_device_train_batch_size": 16,
    "num_train_epochs": 4,
    "weight_decay": 0.0,
    "warmup_ratio": 0.05,
    "lr_scheduler_type": "linear",
    "dropout": 0.0,
    "prompt_loss_weight": 0.1,
    "max_seq_length": 64,
    "max_new_tokens": None,  # None: longest reference completion in tokens + 1
    "eval_batch_size": 64,
    "num_threads": None,  # torch threads; None: the runner's share of the cores (1 is faster on a busy machine)
    # LoRA (automl.lm.lora): lora_r 0 = full fine-tuning
    "lora_r": 0,
    "lora_alpha": None,  # None: 2 * lora_r
    "lora_dropout": 0.0,
    "lora_target": "attention",
    # the prompt (automl.lm.prompting), as at decoding time
    "chat_template": None,  # None: the tokenizer's chat template when it has one
    "system_prompt": None,
    "few_shot": 0,
    "answer_match": "exact",  # how exact_match compares texts: exact | normalized (case, final period)
}
#: Example completions kept per trial (user attribute ``examples``) and shown in the report.
EXAMPLES_SHOWN = 5
PARAM_NAMES = tuple(DEFAULTS)


@dataclass
class LMModel:
    """A fitted (or loaded) model + tokenizer, with the settings evaluation needs and cached scores.

    ``prompter`` formats prompts (None: as given); ``samples`` caches each split's decoded samples (for the
    examples a trial keeps); ``max_new_tokens`` is what ``predict`` generates at most when the parameters say
    None (the longest training answer + 1, fixed at fit time)."""

    model: Any
    tokenizer: Any
    params: dict[str, Any]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    prompter: Any = None
    samples: dict[str, Any] = field(default_factory=dict)
    max_new_tokens: int | None = None


def check_names(trainer: Any, names: Iterable[str]) -> list[tuple[str, str]]:
    from automl.errors import suggest
    from automl.lm.checks import value_problems

    unknown = [
        (n, f"is not a parameter of trainer {trainer.name!r}" + suggest(n, list(trainer.param_names)))
        for n in names
        if n not in trainer.param_names
    ]
    return unknown + value_problems(names, trainer.param_names)


def load_base(base_model: str, data: Any = None) -> tuple[Any, Any]:
    from automl.lm import builtin

    base_dir = getattr(data, "base_dir", None)
    return builtin.load(builtin.resolve(str(base_model), base_dir))


def make_prompter(tok: Any, params: dict[str, Any], data: Any) -> Any:
    """The trial's prompt format; worked examples come from the (first rows of the) train split."""
    from automl.lm.prompting import Prompter

    train = getattr(getattr(data, "train", None), "examples", None) or []
    return Prompter.from_params(tok, params, train)


def encode_examples(lm: LMModel, examples: Iterable[Any], max_seq_length: int) -> list[Any]:
    """Token rows of formatted prompt + answer (+ eos): the prompt part is what prompt_loss_weight weighs."""
    from automl.lm import encode as enc

    pr = lm.prompter
    return [enc.encode(lm.tokenizer, pr.prompt(e.prompt), pr.completion(e.prompt, e.completion), max_seq_length)
            for e in examples]


def longest_answer(lm: LMModel, examples: Iterable[Any]) -> int:
    """Tokens of the longest answer as the model writes it, + 1 for eos: the default ``max_new_tokens``."""
    tok, pr = lm.tokenizer, lm.prompter
    lengths = [len(tok(pr.completion(e.prompt, e.completion) if pr else e.completion,
                       add_special_tokens=False)["input_ids"]) for e in examples]
    return max(lengths, default=16) + 1


def set_dropout(model: Any, p: float) -> None:
    """Set every dropout layer of ``model`` to ``p`` (works for any architecture)."""
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = float(p)


def decode(lm: LMModel, prompts: list[str], *, max_new_tokens: int, seed: int, batch_size: int = 64,
           stop: Any = None, num_samples: int = 1, temperature: float = 0.0, top_p: float = 1.0,
           top_k: int = 0, max_prompt_tokens: int | None = None) -> list[Any]:
    """Samples for raw ``prompts``, formatted by the model's prompter first."""
    from automl.lm import generate as gen

    texts = [lm.prompter.prompt(q) for q in prompts] if lm.prompter is not None else list(prompts)
    return gen.generate(
        lm.model, lm.tokenizer, texts, max_new_tokens=int(max_new_tokens), stop=gen.stop_list(stop),
        num_samples=int(num_samples), temperature=float(temperature), top_p=float(top_p), top_k=int(top_k),
        batch_size=batch_size, seed=seed, max_prompt_tokens=max_prompt_tokens,
    )


def decode_scores(lm: LMModel, split: Any, *, max_new_tokens: int | None, seed: int, batch_size: int = 64,
                  stop: Any = None, num_samples: int = 1, temperature: float = 0.0, top_p: float = 1.0,
                  top_k: int = 0, pass_k: int = 1, max_prompt_tokens: int | None = None,
                  name: str | None = None) -> dict[str, float]:
    """Generate for ``split``'s prompts and score against its completions (``answer_match`` of the model's
    parameters); the samples are kept in ``lm.samples[name]`` when a name is given."""
    from automl.lm import generate as gen

    if max_new_tokens is None:
        max_new_tokens = longest_answer(lm, split.examples)
    t0 = time.perf_counter()
    samples = decode(lm, split.prompts, max_new_tokens=int(max_new_tokens), seed=seed, batch_size=batch_size,
                     stop=stop, num_samples=num_samples, temperature=temperature, top_p=top_p, top_k=top_k,
                     max_prompt_tokens=max_prompt_tokens)
    seconds = time.perf_counter() - t0
    if name is not None:
        lm.samples[name] = samples
    out = gen.scores(samples, split.completions, k=int(pass_k), match=str(lm.params.get("answer_match") or "exact"))
    out["seconds_per_prompt"] = seconds / max(1, len(split))
    return out


def decode_kwargs(lm: LMModel, max_new_tokens: int) -> dict[str, Any]:
    """How ``lm`` decodes outside a trial (predict, examples): its parameters' decoding knobs (causal-lm: greedy)."""
    p = lm.params
    msl = p.get("max_seq_length")
    return {"max_new_tokens": int(max_new_tokens), "seed": int(p.get("seed") or 0),
            "batch_size": int(p.get("batch_size") or p.get("eval_batch_size") or 16), "stop": p.get("stop"),
            "num_samples": int(p.get("num_samples") or 1), "temperature": float(p.get("temperature") or 0.0),
            "top_p": float(p.get("top_p") or 1.0), "top_k": int(p.get("top_k") or 0),
            "max_prompt_tokens": p.get("max_prompt_tokens") or (int(msl) - 1 if msl else None)}


def examples_of(lm: LMModel, split: Any, name: str, n: int = EXAMPLES_SHOWN) -> list[dict[str, str]]:
    """The first ``n`` prompts of a decoded split with their reference and the model's answer (majority vote)."""
    from automl.lm import generate as gen

    samples = lm.samples.get(name) or []
    match = str(lm.params.get("answer_match") or "exact")
    out = []
    for e, ss in zip(split.examples[:n], samples[:n]):
        answer = gen.majority([gen.normalize(s.text) for s in ss])
        out.append({"prompt": e.prompt, "reference": e.completion, "completion": answer,
                    "correct": gen.normalize(answer, match) == gen.normalize(e.completion, match)})
    return out


class LMTrainer(TabularTrainer):
    """What the language-model trainers share: JSONL data, the task "lm", a base model, closed names."""

    tasks = (TASK,)
    data_kind = "jsonl-prompts"
    defaults: dict[str, Any] = {}
    metric_names: tuple[str, ...] = ()

    def metrics(self) -> Mapping[str, Metric]:
        return {n: LM_METRICS[n] for n in self.metric_names}

    def default_fixed(self, task: str) -> dict[str, Any]:
        return {"base_model": self.defaults["base_model"]}

    def check_params(self, names: Iterable[str]) -> list[tuple[str, str]]:
        return check_names(self, names)

    def load_data(self, spec: Any) -> Any:
        from automl.lm import data

        return data.load(spec)

    def refit_data(self, data: Any) -> Any:
        """For export: train on train+valid (valid is still scored, for the learning
        curve); the worked examples of few_shot stay the first training rows."""
        from dataclasses import replace

        from automl.lm.data import LMSplit

        return replace(data, train=LMSplit(data.train.examples + data.valid.examples))

    # -- predict (automl predict on an export) and the report's examples -------------------------
    def complete(self, result: FitResult, prompts: list[str], seed: int = 0) -> list[str]:
        """The answer to each raw prompt, decoded as the trials decoded (majority vote over samples)."""
        from automl.lm import generate as gen

        lm: LMModel = result.model
        samples = decode(lm, prompts, **decode_kwargs(lm, lm.params.get("max_new_tokens") or lm.max_new_tokens or 64))
        return [gen.majority([s.text.strip() for s in ss]) for ss in samples]

    def examples(self, result: FitResult, data: Any, split: str, n: int = EXAMPLES_SHOWN) -> list[dict[str, str]]:
        """The first ``n`` prompts of ``split`` with reference and answer (decoding only those when the split was
        not decoded yet), as the trials keep them: what the report shows next to the tuned trial's."""
        lm: LMModel = result.model
        part = getattr(data, split)
        if split not in lm.samples:
            mnt = lm.params.get("max_new_tokens") or longest_answer(lm, part.examples)
            lm.samples[split] = decode(lm, part.prompts[:n], **decode_kwargs(lm, mnt))
        return examples_of(lm, part, split, n)

    # -- export hooks ----------------------------------------------------------------------------
    def save_model(self, result: FitResult, directory: Any) -> None:
        """A Hugging Face directory (model + tokenizer): usable as ``base_model`` of another study. LoRA adapters
        are already merged into the weights; ``automl-lm.json`` holds the parameters and the prompt format."""
        import json

        lm: LMModel = result.model
        lm.model.save_pretrained(directory)
        lm.tokenizer.save_pretrained(directory)
        meta = {"params": lm.params, "prompter": lm.prompter.to_json() if lm.prompter is not None else None,
                "max_new_tokens": lm.max_new_tokens}
        Path(directory, "automl-lm.json").write_text(json.dumps(meta, indent=1, default=str))

    def load_model(self, directory: Any) -> FitResult:
        import json

        from automl.lm import builtin
        from automl.lm.prompting import Prompter

        model, tok = builtin.load(Path(directory))
        path = Path(directory, "automl-lm.json")
        meta = json.loads(path.read_text()) if path.exists() else {}
        params = meta.get("params") or dict(self.defaults)
        prompter = (Prompter.from_json(tok, meta["prompter"]) if meta.get("prompter")
                    else Prompter.from_params(tok, params, []))
        return FitResult(LMModel(model, tok, params, prompter=prompter, max_new_tokens=meta.get("max_new_tokens")))

    def peek_task(self, spec: Any) -> str | None:
        return TASK


class CausalLMTrainer(LMTrainer):
    name = "causal-lm"
    description = "fine-tune a causal language model (transformers) on JSONL prompt/completion pairs"
    step_unit = "epoch"
    param_names = PARAM_NAMES
    defaults = DEFAULTS
    metric_names = ("eval_loss", "exact_match")

    def default_metric(self, task: str) -> str:
        return "eval_loss"

    def default_space(self, task: str) -> dict[str, dict[str, Any]]:
        return {
            "learning_rate": {"type": "float", "low": 3e-4, "high": 1e-2, "log": True},
            "prompt_loss_weight": {"type": "float", "low": 0.0, "high": 1.0},
            "warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2},
            "weight_decay": {"type": "float", "low": 0.0, "high": 0.1},
        }

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, params: dict[str, Any], data: Any, report: Report, ctx: FitContext) -> FitResult:
        import torch
        from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

        from automl.errors import TrialFailed
        from automl.lm import encode as enc
        from automl.lm import lora

        p = {**DEFAULTS, **params}
        if p["lr_scheduler_type"] not in SCHEDULERS:
            raise TrialFailed(f"lr_scheduler_type {p['lr_scheduler_type']!r} is not one of {', '.join(SCHEDULERS)}")
        plw = float(p["prompt_loss_weight"])
        if not 0.0 <= plw <= 1.0:
            raise TrialFailed(f"prompt_loss_weight must be in [0, 1] (got {plw})")
        torch.set_num_threads(max(1, int(p["num_threads"] or ctx.threads)))
        set_seed(ctx.seed)
        t0 = time.perf_counter()
        model, tok = load_base(p["base_model"], data)
        load_seconds = time.perf_counter() - t0
        set_dropout(model, p["dropout"])
        msl = int(p["max_seq_length"])
        n_pos = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
        if n_pos and msl > n_pos:
            raise TrialFailed(f"max_seq_length {msl} exceeds the model's {n_pos} positions")
        r = int(p["lora_r"] or 0)
        if r > 0:
            model = lora.apply(model, r=r, alpha=p["lora_alpha"], dropout=float(p["lora_dropout"]), target=str(p["lora_target"]))
        trainable, total = lora.parameter_counts(model)
        lm = LMModel(model, tok, p, prompter=make_prompter(tok, p, data))
        train_rows = encode_examples(lm, data.train.examples, msl)
        valid_rows = encode_examples(lm, data.valid.examples, msl)
        lm.max_new_tokens = longest_answer(lm, data.train.examples)
        pad = tok.pad_token_id
        want_em = ctx.metric.name == "exact_match"
        epochs = int(p["num_train_epochs"])

        def evaluate_now() -> dict[str, float]:
            out = {"eval_loss": enc.completion_loss(lm.model, valid_rows, pad, int(p["eval_batch_size"]))}
            if want_em:
                out.update(self._greedy(lm, data.valid, ctx.seed))
            return out

        class Weighted(Trainer):
            """Trainer whose loss weighs prompt tokens by prompt_loss_weight (see automl.lm.encode)."""

            running = [0.0, 0]

            def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
                w = inputs.pop("loss_weights")
                out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
                loss = enc.weighted_loss(out.logits, inputs["input_ids"], w)
                self.running[0] += float(loss.detach())
                self.running[1] += 1
                return (loss, out) if return_outputs else loss

        class ReportEachEpoch(TrainerCallback):
            """Evaluate after each epoch and hand the value to ``report`` (which may prune the trial)."""

            def on_epoch_end(self, args, state, control, **kwargs):
                epoch = max(1, round(state.epoch or 0))
                values = evaluate_now()
                train_loss = Weighted.running[0] / max(1, Weighted.running[1])
                Weighted.running[:] = [0.0, 0]
                extras = {k: v for k, v in values.items() if k != ctx.metric.name}
                report(epoch, values[ctx.metric.name], train_loss=train_loss, **extras)
                return control

        with tempfile.TemporaryDirectory(prefix="automl-lm-") as tmp:
            args = TrainingArguments(
                output_dir=tmp, per_device_train_batch_size=int(p["per_device_train_batch_size"]),
                num_train_epochs=epochs, learning_rate=float(p["learning_rate"]),
                weight_decay=float(p["weight_decay"]), warmup_steps=float(p["warmup_ratio"]),
                lr_scheduler_type=p["lr_scheduler_type"], seed=ctx.seed, data_seed=ctx.seed,
                optim="adamw_torch", use_cpu=not torch.cuda.is_available(), report_to="none",
                save_strategy="no", eval_strategy="no", logging_strategy="no", disable_tqdm=True,
                remove_unused_columns=False, dataloader_num_workers=0, dataloader_pin_memory=False,
                label_names=[],
            )
            trainer = Weighted(
                model=model, args=args, train_dataset=train_rows,
                data_collator=lambda rows: enc.collate(rows, pad, plw), callbacks=[ReportEachEpoch()],
            )
            trainer.remove_callback(_printer_class())
            trainer.train()
        lm.model = lora.merge(model)  # a plain model from here on: scored, exported, decoded
        lm.model.eval()
        lm.scores["valid"] = {"eval_loss": enc.completion_loss(lm.model, valid_rows, pad, int(p["eval_batch_size"])),
                              **self._greedy(lm, data.valid, ctx.seed, name="valid")}
        info = {
            "train_examples": len(train_rows),
            "train_seconds": round(time.perf_counter() - t0, 2),
            "load_seconds": round(load_seconds, 2),
            "trainable_params": trainable,
            "total_params": total,
            "valid_exact_match": lm.scores["valid"]["exact_match"],
            "valid_eval_loss": lm.scores["valid"]["eval_loss"],
            "peak_rss_mb": peak_rss_mb(),
            "examples": examples_of(lm, data.valid, "valid"),
        }
        return FitResult(lm, info)

    def _greedy(self, lm: LMModel, split: Any, seed: int, name: str | None = None) -> dict[str, float]:
        p = lm.params
        s = decode_scores(lm, split, max_new_tokens=p.get("max_new_tokens"), seed=seed,
                          batch_size=int(p.get("eval_batch_size", 64)),
                          max_prompt_tokens=int(p.get("max_seq_length", 64)) - 1, name=name)
        return {"exact_match": s["exact_match"]}

    def evaluate(self, result: FitResult, data: Any, split: str, metrics: list[Metric]) -> list[float]:
        from automl.lm import encode as enc

        lm: LMModel = result.model
        part = getattr(data, split)
        have = lm.scores.get(split, {})
        if any(m.name not in have for m in metrics):
            if lm.prompter is None:
                lm.prompter = make_prompter(lm.tokenizer, lm.params, data)
            rows = encode_examples(lm, part.examples, int(lm.params.get("max_seq_length", 64)))
            have = {"eval_loss": enc.completion_loss(lm.model, rows, lm.tokenizer.pad_token_id),
                    **self._greedy(lm, part, 0, name=split)}
            lm.scores[split] = have
        return [float(have[m.name]) for m in metrics]

    # -- export hooks ----------------------------------------------------------------------------
    def final_params(self, params: dict[str, Any], user_attrs: Mapping[str, Any]) -> dict[str, Any]:
        return dict(params)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MB (Linux/macOS; None elsewhere)."""
    try:
        import resource
        import sys
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _printer_class() -> Any:
    from transformers.trainer_callback import PrinterCallback

    return PrinterCallback
