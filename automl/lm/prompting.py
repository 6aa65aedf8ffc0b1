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


def joiner(prompt: str, completion: str) -> str:
    """What goes between a prompt and its completion in plain text: nothing when either side already has the space
    (" =" / " AB" as the demo tasks write them), else one space ("...a number." + "14" -> "...a number. 14")."""
    if not prompt or not completion or prompt[-1].isspace() or completion[0].isspace():
        return ""
    return " "


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
    parts += [f"{p}{joiner(p, c)}{c}" for p, c in examples]
    parts.append(prompt)
    return "\n".join(parts)


@dataclass
class Prompter:
    """How a trainer turns a data row into model text, the same at training, decoding and predict time.

    ``pool`` holds the first ``few_shot + 1`` training examples: a question gets the first ``few_shot`` of them that
    are not itself (a training example never sees its own answer in its prompt). An export stores the style and the
    pool (:meth:`to_json`), so ``automl predict`` formats new prompts exactly as the trials did."""

    tok: Any
    style: PromptStyle
    pool: list[tuple[str, str]]

    @classmethod
    def from_params(cls, tok: Any, params: dict[str, Any], train: Sequence[Any]) -> Prompter:
        """``chat_template`` None (the default) means: the tokenizer's template when it has one."""
        wanted = params.get("chat_template")
        use = has_chat_template(tok) if wanted is None else bool(wanted) and has_chat_template(tok)
        k = int(params.get("few_shot") or 0)
        style = PromptStyle(chat_template=use, system_prompt=params.get("system_prompt") or None, few_shot=k)
        return cls(tok, style, shots(train, k + 1) if k else [])

    def examples_for(self, prompt: str) -> list[tuple[str, str]]:
        return [(p, c) for p, c in self.pool if p != prompt][: self.style.few_shot]

    def prompt(self, prompt: str) -> str:
        """The text before the answer: template, system prompt, worked examples, the question."""
        return format_prompt(self.tok, prompt, self.style, self.examples_for(prompt))

    def completion(self, prompt: str, completion: str) -> str:
        """The answer as the model is trained to write it after :meth:`prompt` (then eos / end of turn)."""
        if self.style.chat_template:
            return completion.strip()
        return joiner(prompt, completion) + completion

    def to_json(self) -> dict[str, Any]:
        return {"chat_template": self.style.chat_template, "system_prompt": self.style.system_prompt,
                "few_shot": self.style.few_shot, "pool": [list(x) for x in self.pool]}

    @classmethod
    def from_json(cls, tok: Any, d: dict[str, Any]) -> Prompter:
        style = PromptStyle(chat_template=bool(d.get("chat_template")) and has_chat_template(tok),
                            system_prompt=d.get("system_prompt"), few_shot=int(d.get("few_shot") or 0))
        return cls(tok, style, [(str(p), str(c)) for p, c in d.get("pool") or []])
