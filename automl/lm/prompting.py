"""The prompt a language model sees (issue 20): the tokenizer's chat template when the model has one, an optional
system prompt, and K worked examples (few-shot) from the train split before the question.

These are the "prompt" hyperparameters users try first: ``chat_template`` (true/false), ``system_prompt`` (a
string, or a categorical of strings to tune) and ``few_shot`` (K). Fine-tuning and decoding format prompts the
same way, so a model is trained on the format it is asked in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PromptStyle:
    chat_template: bool = False
    system_prompt: str | None = None
    few_shot: int = 0

    def problems(self, n_train: int) -> list[tuple[str, str]]:
        """(field, message) for values that cannot be used with ``n_train`` training examples."""
        out = []
        if not isinstance(self.few_shot, int) or isinstance(self.few_shot, bool) or self.few_shot < 0:
            out.append(("few_shot", f"must be a whole number >= 0 (got {self.few_shot!r})"))
        elif self.few_shot > n_train:
            out.append(("few_shot", f"asks for {self.few_shot} worked examples but the train split has {n_train}; "
                                    "use fewer, or more data"))
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            out.append(("system_prompt", f"must be a string (got {self.system_prompt!r})"))
        return out


def has_chat_template(tok: Any) -> bool:
    return bool(getattr(tok, "chat_template", None))


def shots(train: Sequence[Any], k: int) -> list[tuple[str, str]]:
    """The first ``k`` training examples as (prompt, completion): the same for every question and trial, so a
    trial's score depends on its parameters, not on a draw."""
    return [(ex.prompt, ex.completion) for ex in list(train)[:k]]


def format_prompt(tok: Any, prompt: str, style: PromptStyle, examples: Sequence[tuple[str, str]] = ()) -> str:
    """The text given to the model before its answer.

    With ``chat_template`` (and a tokenizer that has one): messages [system], then user/assistant turns per worked
    example, then the question as the last user turn, rendered by ``tok.apply_chat_template(...,
    add_generation_prompt=True)``. Otherwise plain text: the system prompt and each worked example on lines of their
    own (``prompt`` directly followed by its ``completion``, as the data file writes them), then the question."""
    if style.chat_template and has_chat_template(tok):
        messages: list[dict[str, str]] = []
        if style.system_prompt:
            messages.append({"role": "system", "content": style.system_prompt})
        for p, c in examples:
            messages += [{"role": "user", "content": p}, {"role": "assistant", "content": c.strip()}]
        messages.append({"role": "user", "content": prompt})
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    parts = [style.system_prompt] if style.system_prompt else []
    parts += [f"{p}{c}" for p, c in examples]
    parts.append(prompt)
    return "\n".join(parts)
