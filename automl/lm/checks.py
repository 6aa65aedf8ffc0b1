"""The values the language-model trainers accept, in one table, checked before any trial (issue 20).

``value_problems`` checks a study's ``fixed`` values and the ranges / choices of its ``params`` against
:data:`RULES`; ``split_problems`` checks what needs the split data (``few_shot`` against the train split). Each
problem is one ``(field, message)`` line that names the fix; the trainers' ``check_params`` and ``load_data`` turn
them into study-file errors (exit 2), so a bad value never reaches a trial.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """What one knob accepts: a number in a range (each end open or closed), one of some choices, or a string.
    ``None`` is always accepted: it means the trainer's default."""

    kind: str  # "int" | "float" | "choice" | "str" | "stop"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    hint: str = ""

    def problem(self, v: Any) -> str | None:
        if v is None:
            return None
        if self.kind == "choice":
            if any(v == c and type(v) is type(c) for c in self.choices):
                return None
            return f"must be one of {', '.join(_show(c) for c in self.choices)} (got {_show(v)})"
        if self.kind == "str":
            return None if isinstance(v, str) else f"must be a string (got {_show(v)})"
        if self.kind == "stop":
            ok = isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))
            return None if ok else f"must be a string or a list of strings (got {_show(v)})"
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return f"must be a {'whole ' if self.kind == 'int' else ''}number (got {_show(v)})"
        if self.kind == "int" and not float(v).is_integer():
            return f"must be a whole number (got {_show(v)})"
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return f"must be {'>' if self.low_open else '>='} {_show(self.low)} (got {_show(v)}){self.hint}"
        if self.high is not None and (v > self.high or (self.high_open and v == self.high)):
            return f"must be {'<' if self.high_open else '<='} {_show(self.high)} (got {_show(v)}){self.hint}"
        return None


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if v is None:
        return "null"
    return repr(v) if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)


def _targets() -> tuple[str, ...]:
    from automl.lm.lora import TARGETS

    return tuple(TARGETS)


def _matches() -> tuple[str, ...]:
    from automl.lm.generate import MATCHES

    return MATCHES


#: The learning-rate schedules causal-lm accepts (transformers' names).
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")
#: Every knob with a value rule; names not here (base_model, num_threads) are checked elsewhere.
RULES: dict[str, Rule] = {
    # fine-tuning
    "learning_rate": Rule("float", low=0, low_open=True),
    "per_device_train_batch_size": Rule("int", low=1),
    "num_train_epochs": Rule("int", low=1),
    "weight_decay": Rule("float", low=0),
    "warmup_ratio": Rule("float", low=0, high=1),
    "dropout": Rule("float", low=0, high=1, high_open=True),
    "prompt_loss_weight": Rule("float", low=0, high=1),
    "max_seq_length": Rule("int", low=2),
    "eval_batch_size": Rule("int", low=1),
    "lora_r": Rule("int", low=0, hint="; 0 = full fine-tuning, r > 0 = a LoRA adapter of rank r"),
    "lora_alpha": Rule("float", low=0, low_open=True, hint="; the adapter's scale is lora_alpha / lora_r"),
    "lora_dropout": Rule("float", low=0, high=1, high_open=True),
    # the prompt
    "chat_template": Rule("choice", choices=(True, False)),
    "system_prompt": Rule("str"),
    "few_shot": Rule("int", low=0, hint="; the number of worked examples from the train split before the question"),
    # decoding
    "temperature": Rule("float", low=0, hint="; 0 = greedy decoding"),
    "top_p": Rule("float", low=0, high=1, low_open=True, hint="; 1 = off (top_p 0 would keep no token)"),
    "top_k": Rule("int", low=0, hint="; 0 = off"),
    "num_samples": Rule("int", low=1),
    "pass_k": Rule("int", low=1),
    "max_new_tokens": Rule("int", low=1),
    "max_prompt_tokens": Rule("int", low=1),
    "batch_size": Rule("int", low=1),
    "stop": Rule("stop"),
}
#: Rules whose choices come from another module (read when checked, so importing this module stays cheap).
LAZY_CHOICES = {"lora_target": _targets, "lr_scheduler_type": lambda: SCHEDULERS, "answer_match": _matches}


def rule(name: str) -> Rule | None:
    if name in LAZY_CHOICES:
        return Rule("choice", choices=LAZY_CHOICES[name]())
    return RULES.get(name)


def value_problems(items: Mapping[str, Any] | Iterable[str], accepted: Iterable[str]) -> list[tuple[str, str]]:
    """(name, message) for each fixed value or searched range / choice that its knob cannot take.

    ``items`` is a study's ``fixed`` (name -> value) or ``params`` (name -> ParamSpec); a plain list of names
    (checks.py's raw pass) has no values to check."""
    if not isinstance(items, Mapping):
        return []
    accepted = set(accepted)
    out = []
    for name, v in items.items():
        r = rule(name) if name in accepted else None
        if r is None:
            continue
        if hasattr(v, "type") and hasattr(v, "choices"):
            found = _spec_problem(r, v)
            if found:
                out.append((f"{name}{found[0]}", found[1]))
        elif (problem := r.problem(v)) is not None:
            out.append((name, problem))
    return out


def _spec_problem(r: Rule, p: Any) -> tuple[str, str] | None:
    """(field suffix, message) for a searched parameter's range or choices against its rule (each end of a range
    must be a valid value), or None."""
    if p.type == "categorical":
        for c in p.choices or []:
            problem = r.problem(c)
            if problem:
                return ".choices", f"every choice {problem}"
        return None
    if r.kind in ("choice", "str", "stop"):
        return ".type", f"must be categorical (got {p.type})"
    if r.kind == "int" and p.type != "int":
        return ".type", f"must be int (got {p.type})"
    for end, bound in (("low", p.low), ("high", p.high)):
        problem = r.problem(bound) if bound is not None else None
        if problem:
            return f".{end}", problem
    return None


def largest(items: Mapping[str, Any], params: Mapping[str, Any], name: str) -> tuple[str, Any] | None:
    """(field, the largest value a study can give ``name``): its fixed value or its searched range's top."""
    if name in params and params[name] is not None:
        p = params[name]
        if p.type == "categorical":
            nums = [c for c in p.choices or [] if isinstance(c, (int, float)) and not isinstance(c, bool)]
            return (f"params.{name}", max(nums)) if nums else None
        return (f"params.{name}.high", p.high) if p.high is not None else None
    if isinstance(items.get(name), (int, float)) and not isinstance(items.get(name), bool):
        return (f"fixed.{name}", items[name])
    return None


def split_problems(fixed: Mapping[str, Any], params: Mapping[str, Any] | None, n_train: int) -> list[tuple[str, str]]:
    """What the loaded split must allow: ``few_shot`` worked examples come from the train split."""
    found = largest(fixed, params or {}, "few_shot")
    if found is None:
        return []
    where, k = found
    if k > n_train:
        return [(where, f"asks for {_show(k)} worked examples but the train split has {n_train}; use at most "
                        f"{n_train}, or more data (or a smaller data.valid_size / test_size)")]
    return []
