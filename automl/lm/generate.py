"""Generation for evaluation: batched prompts (left padding + attention mask), real stop sequences,
majority vote, and pass@k (the unbiased estimator of Chen et al. 2021)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    text: str  # the completion, cut at the first stop sequence (eos excluded)
    tokens: int  # tokens generated for it, up to and including eos / the stop sequence


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to (not including) the first occurrence of any stop string, and whether one was found."""
    first = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:first], True) if first >= 0 else (text, False)


def stop_list(stop: Any) -> list[str]:
    """A study's ``stop`` value: None/"" (no stop sequence), one string, or a list of strings."""
    if stop is None or stop == "":
        return []
    if isinstance(stop, str):
        return [stop]
    return [s for s in stop if s]


def stopping_criteria(tok: Any, stops: Sequence[str], prompt_len: int) -> Any:
    """A ``StoppingCriteria`` that ends each row once its generated text contains a stop string."""
    import torch
    from transformers import StoppingCriteria

    class StopOnStrings(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
            texts = tok.batch_decode(input_ids[:, prompt_len:], skip_special_tokens=True)
            return torch.tensor([cut_at_stop(t, stops)[1] for t in texts], dtype=torch.bool, device=input_ids.device)

    return StopOnStrings()


def generate(
    model: Any,
    tok: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    stop: Sequence[str] = (),
    num_samples: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    top_k: int = 0,
    batch_size: int = 32,
    seed: int = 0,
    max_prompt_tokens: int | None = None,
) -> list[list[Sample]]:
    """``num_samples`` completions per prompt; temperature 0 is greedy decoding. Prompts longer than
    ``max_prompt_tokens`` keep their last tokens (as training's left truncation does)."""
    import torch
    from transformers import StoppingCriteriaList

    torch.manual_seed(seed)
    do_sample = temperature > 0
    tok.padding_side = "left"
    tok.truncation_side = "left"
    out: list[list[Sample]] = []
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(prompts), batch_size):
            chunk = list(prompts[i : i + batch_size])
            enc = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False,
                      truncation=max_prompt_tokens is not None, max_length=max_prompt_tokens)
            n_prompt = enc["input_ids"].shape[1]
            kwargs: dict[str, Any] = {
                "max_new_tokens": max_new_tokens,
                "pad_token_id": tok.pad_token_id,
                "eos_token_id": tok.eos_token_id,
                "num_return_sequences": num_samples if do_sample else 1,
                "do_sample": do_sample,
            }
            if do_sample:
                kwargs.update(temperature=temperature, top_p=top_p, top_k=top_k or None)
            else:
                kwargs.update(temperature=None, top_p=None, top_k=None)
            if stop:
                kwargs["stopping_criteria"] = StoppingCriteriaList([stopping_criteria(tok, stop, n_prompt)])
            with torch.no_grad():
                seqs = model.generate(**enc, **kwargs)
            new = seqs[:, n_prompt:]
            per = kwargs["num_return_sequences"]
            for j in range(len(chunk)):
                samples = []
                for row in new[j * per : (j + 1) * per]:
                    ids = row.tolist()
                    n = len(ids)
                    # After a row has finished, generate() pads it; count only real tokens up to eos.
                    if tok.eos_token_id in ids:
                        n = ids.index(tok.eos_token_id) + 1
                    elif tok.pad_token_id != tok.eos_token_id:
                        while n and ids[n - 1] == tok.pad_token_id:
                            n -= 1
                    text = tok.decode(ids[:n], skip_special_tokens=True)
                    text, _ = cut_at_stop(text, stop)
                    samples.append(Sample(text, n))
                # Greedy decoding is deterministic: its one sample stands for all num_samples.
                out.append(samples * (num_samples if not do_sample else 1))
    finally:
        model.train(was_training)
    return out


def pass_at_k(n: int, c: int, k: int) -> float:
    """P(at least one of k samples drawn without replacement from n is correct), c of n correct:
    1 - C(n-c, k) / C(n, k) (Chen et al. 2021)."""
    if not 0 < k <= n:
        raise ValueError(f"pass@k needs 0 < k <= n (got k={k}, n={n})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def majority(texts: Sequence[str]) -> str:
    """The most common text (ties: the one seen first)."""
    counts = Counter(texts)
    best = max(counts.values())
    return next(t for t in texts if counts[t] == best)


#: How a completion is compared with its reference (the ``answer_match`` knob): ``exact`` trims spaces at both
#: ends; ``normalized`` also ignores case, runs of spaces and a final period ("Paris." matches "paris").
MATCHES = ("exact", "normalized")


def normalize(text: str, match: str = "exact") -> str:
    text = text.strip()
    if match == "normalized":
        text = " ".join(text.split()).rstrip(".").strip().casefold()
    return text


def scores(samples: list[list[Sample]], references: Sequence[str], k: int = 1, match: str = "exact") -> dict[str, float]:
    """exact_match (majority vote per prompt), pass_at_k and tokens_generated (mean per sample)."""
    em, pk, toks, n_samples = 0.0, 0.0, 0.0, 0
    for ss, ref in zip(samples, references, strict=True):
        texts = [normalize(s.text, match) for s in ss]
        ref = normalize(ref, match)
        em += majority(texts) == ref
        pk += pass_at_k(len(texts), sum(t == ref for t in texts), k)
        toks += sum(s.tokens for s in ss)
        n_samples += len(ss)
    n = max(1, len(references))
    return {"exact_match": em / n, "pass_at_k": pk / n, "tokens_generated": toks / max(1, n_samples)}
