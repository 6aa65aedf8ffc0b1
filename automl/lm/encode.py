"""Turn prompt/completion pairs into training tensors, and the losses on them.

Each example is ``prompt + completion + <eos>``. A token's weight is ``prompt_loss_weight`` when it belongs
to the prompt and 1 when it belongs to the completion (its eos included); the training loss is the
weighted mean of per-token cross-entropy, so weight 0 ignores prompt tokens exactly. Examples longer than
``max_seq_length`` are cut from the LEFT so the completion survives. ``eval_loss`` is the completion-only
cross-entropy (weight 0), comparable across prompt loss weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Encoded:
    ids: list[int]
    is_completion: list[bool]


def encode(tok: Any, prompt: str, completion: str, max_seq_length: int | None = None) -> Encoded:
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    c = tok(completion, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    ids, mask = p + c, [False] * len(p) + [True] * len(c)
    if max_seq_length is not None and len(ids) > max_seq_length:
        if len(c) >= max_seq_length:  # even the completion is too long: keep its beginning, drop the prompt
            ids, mask = c[:max_seq_length], [True] * max_seq_length
        else:  # left truncation: drop the prompt's first tokens
            ids, mask = ids[-max_seq_length:], mask[-max_seq_length:]
    return Encoded(ids, mask)


def collate(rows: list[Encoded], pad_id: int, prompt_loss_weight: float) -> dict[str, Any]:
    """Right-padded batch: input_ids, attention_mask, loss_weights (0 on padding)."""
    import torch

    n = max(len(r.ids) for r in rows)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    att = torch.zeros((len(rows), n), dtype=torch.long)
    w = torch.zeros((len(rows), n), dtype=torch.float32)
    for i, r in enumerate(rows):
        k = len(r.ids)
        ids[i, :k] = torch.tensor(r.ids)
        att[i, :k] = 1
        w[i, :k] = torch.tensor([1.0 if c else float(prompt_loss_weight) for c in r.is_completion])
    return {"input_ids": ids, "attention_mask": att, "loss_weights": w}


def token_losses(logits: Any, input_ids: Any) -> Any:
    """Per-token cross-entropy of predicting token t from tokens < t: shape (batch, seq-1)."""
    import torch.nn.functional as F

    logits = logits[:, :-1].float()
    target = input_ids[:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none").view(target.shape)


def weighted_loss(logits: Any, input_ids: Any, weights: Any) -> Any:
    """sum(w * ce) / sum(w) over predicted tokens (the first token of a row is never predicted)."""
    ce = token_losses(logits, input_ids)
    w = weights[:, 1:]
    return (ce * w).sum() / w.sum().clamp_min(1e-12)


def completion_loss(model: Any, rows: list[Encoded], pad_id: int, batch_size: int = 64) -> float:
    """Mean cross-entropy over all completion tokens of ``rows`` (token-weighted across batches)."""
    import torch

    total, count = 0.0, 0.0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            b = collate(rows[i : i + batch_size], pad_id, 0.0)
            logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
            ce = token_losses(logits, b["input_ids"])
            w = b["loss_weights"][:, 1:]
            total += float((ce * w).sum())
            count += float(w.sum())
    model.train(was_training)
    return total / max(count, 1e-12)
