"""LoRA adapters for ``causal-lm`` (issue 20), with peft: ``lora_r`` (0 = full fine-tuning), ``lora_alpha``,
``lora_dropout`` and ``lora_target``, a name for a group of layers mapped to the loaded model's own module names.

The groups are found by where a linear layer sits, not by a per-architecture table: a ``nn.Linear`` (or GPT-2's
``Conv1D``) under an attention block (``self_attn``, ``attn``, ``attention``) is "attention", under an MLP block
(``mlp``, ``feed_forward``) is "mlp". For Llama-style models (SmolLM2) that is q/k/v/o_proj and gate/up/down_proj;
for GPT-2 (``builtin:tiny``) c_attn/c_proj and c_fc/c_proj. The output head and embeddings are never adapted.
"""

from __future__ import annotations

from typing import Any

#: lora_target -> the layer groups it adapts (one table: validation, the schema's text and errors read it).
TARGETS: dict[str, tuple[str, ...]] = {
    "attention": ("attention",),
    "mlp": ("mlp",),
    "attention+mlp": ("attention", "mlp"),
}
ATTENTION_PARTS = {"self_attn", "attn", "attention", "self_attention"}
MLP_PARTS = {"mlp", "feed_forward", "ffn"}


def _linear_types() -> tuple[type, ...]:
    import torch

    types: list[type] = [torch.nn.Linear]
    try:
        from transformers.pytorch_utils import Conv1D

        types.append(Conv1D)
    except ImportError:  # pragma: no cover - every supported transformers has it
        pass
    return tuple(types)


def groups(model: Any) -> dict[str, list[str]]:
    """{"attention": [module names], "mlp": [...]}: the model's linear layers by the block they sit in."""
    out: dict[str, list[str]] = {"attention": [], "mlp": []}
    linear = _linear_types()
    for name, module in model.named_modules():
        if not isinstance(module, linear):
            continue
        parts = set(name.split("."))
        if parts & ATTENTION_PARTS:
            out["attention"].append(name)
        elif parts & MLP_PARTS:
            out["mlp"].append(name)
    return out


def target_modules(model: Any, target: str) -> list[str]:
    """The full names of the modules ``lora_target`` adapts in ``model`` (TrialFailed when there are none)."""
    from automl.errors import TrialFailed

    if target not in TARGETS:
        raise TrialFailed(f"lora_target {target!r} is not one of {', '.join(TARGETS)}")
    found = groups(model)
    names = [n for g in TARGETS[target] for n in found[g]]
    if not names:
        raise TrialFailed(f"lora_target {target!r} matches no linear layer of this model "
                          f"({type(model).__name__}); use lora_r: 0 (full fine-tuning)")
    return names


def apply(model: Any, *, r: int, alpha: float | None, dropout: float, target: str) -> Any:
    """``model`` with LoRA adapters of rank ``r`` on ``target``'s layers; only the adapters are trainable.
    ``alpha`` None: 2 r (the scale alpha / r is then 2, a common choice)."""
    from peft import LoraConfig, get_peft_model

    names = target_modules(model, target)
    conv1d = any(type(m).__name__ == "Conv1D" for n, m in model.named_modules() if n in set(names))
    config = LoraConfig(r=int(r), lora_alpha=float(alpha if alpha is not None else 2 * r), lora_dropout=float(dropout),
                        target_modules=names, bias="none", task_type="CAUSAL_LM", fan_in_fan_out=conv1d)
    import warnings

    with warnings.catch_warnings():  # peft asks transformers' deprecated is_gradient_checkpointing: not the user's to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config)


def merge(model: Any) -> Any:
    """A plain model with the adapters folded into its weights (what export saves and decoding uses)."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model


def parameter_counts(model: Any) -> tuple[int, int]:
    """(trainable, total) parameters; tied weights count once."""
    seen: set[int] = set()
    trainable = total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return trainable, total
