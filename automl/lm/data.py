"""JSONL data for language-model trainers: one ``{"prompt": ..., "completion": ...}`` object per line
(the format of hosted fine-tuning services), split into train/valid/test like tabular data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.errors import DataError, Problem

TASK = "lm"


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str


@dataclass
class LMSplit:
    examples: list[Example]

    @property
    def prompts(self) -> list[str]:
        return [e.prompt for e in self.examples]

    @property
    def completions(self) -> list[str]:
        return [e.completion for e in self.examples]

    def __len__(self) -> int:
        return len(self.examples)


@dataclass
class LMData:
    """What ``load`` returns; ``task`` is always ``"lm"`` and there is no target column."""

    train: LMSplit
    valid: LMSplit
    test: LMSplit | None
    path: Path
    fingerprint: str
    task: str = TASK
    target: None = None  # prompt and completion, no target column
    base_dir: Path | None = None  # the study file's folder: relative base_model paths start there


def jsonl_lines(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, the parsed value or None, the JSON error or None) for each non-blank line of a JSONL file."""
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line), None
            except json.JSONDecodeError as e:
                yield i, None, e.msg


def read_jsonl(path: Path, label: str) -> list[Example]:
    """Every line a JSON object with string fields prompt and completion; all problems reported at once."""
    if path.suffix.lower() not in (".jsonl", ".json"):
        raise DataError([Problem(label, "data.path", f"language-model trainers read .jsonl files of {{prompt, completion}}; got {path.suffix!r}")])
    if not path.exists():
        raise DataError([Problem(label, "data.path", f"file not found: {path}; check the path (relative to the study file)")])
    examples, problems = [], []
    for i, row, error in jsonl_lines(path):
        if error is not None:
            problems.append(Problem(label, "data.path", f"{path.name} line {i}: not JSON ({error})"))
        elif not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not isinstance(row.get("completion"), str):
            problems.append(Problem(label, "data.path", f"{path.name} line {i}: need an object with string fields 'prompt' and 'completion'"))
        else:
            examples.append(Example(row["prompt"], row["completion"]))
            if len(problems) >= 5:
                break
    if problems:
        raise DataError(problems)
    if len(examples) < 3:
        raise DataError([Problem(label, "data.path", f"{path.name} has {len(examples)} examples; need at least 3 to split")])
    return examples


def split(examples: list[Example], valid_size: float, test_size: float, seed: int) -> tuple[LMSplit, LMSplit, LMSplit | None]:
    """Shuffle with ``seed`` and cut off test then valid fractions (each at least one example)."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(examples))
    rows = [examples[i] for i in order]
    n = len(rows)
    n_test = max(1, round(n * test_size)) if test_size > 0 else 0
    n_valid = max(1, round(n * valid_size))
    test = LMSplit(rows[:n_test]) if n_test else None
    valid = LMSplit(rows[n_test : n_test + n_valid])
    train = LMSplit(rows[n_test + n_valid :])
    return train, valid, test


def load(spec: Any) -> LMData:
    """Read and split the JSONL file a study spec points to; every problem is a :class:`DataError`."""
    from automl.data import fingerprint

    label, d, path = spec.label, spec.data, spec.data_path
    examples = read_jsonl(path, label)
    problems = []
    if d.task is not None:
        problems.append(Problem(label, "data.task", f"language-model trainers have task 'lm'; remove task (got {d.task!r})"))
    if d.target is not None:
        problems.append(Problem(label, "data.target", "language-model trainers take no target: remove it (the JSONL has prompt and completion)"))
    if not 0 < d.valid_size < 1 or not 0 <= d.test_size < 1 or d.valid_size + d.test_size >= 1:
        problems.append(Problem(label, "data.valid_size", f"valid_size + test_size must leave training rows (got {d.valid_size} + {d.test_size})"))
    problems += base_model_problems(spec)
    if problems:
        raise DataError(problems)
    train, valid, test = split(examples, d.valid_size, d.test_size, d.seed)
    if not len(train):
        raise DataError([Problem(label, "data.valid_size", f"no training examples left from {len(examples)}")])
    from automl.lm.checks import split_problems

    found = [Problem(label, f, m) for f, m in split_problems(spec.fixed, spec.params, len(train))]
    if found:
        raise DataError(found)
    return LMData(train, valid, test, path, fingerprint(path), base_dir=spec.base_dir)


def base_model_problems(spec: Any) -> list[Problem]:
    """``fixed.base_model`` must be ``builtin:NAME``, a ``.gguf`` file, a directory with a model or an ``automl export``
    folder of a language model (checked before any trial)."""
    from automl.lm import builtin

    value = spec.fixed.get("base_model")
    if value is None or not isinstance(value, str):
        return [] if value is None else [Problem(spec.label, "fixed.base_model", f"must be a string (got {value!r})")]
    if value.startswith(builtin.PREFIX):
        name = value[len(builtin.PREFIX):]
        if name in builtin.CONFIGS:
            return []
        if name in builtin.PACKAGED:
            from automl.errors import AutomlError

            try:
                builtin.packaged_file(name)
            except AutomlError as e:
                return [Problem(spec.label, "fixed.base_model", str(e))]
            import importlib.util

            if importlib.util.find_spec("gguf") is None:
                return [Problem(spec.label, "fixed.base_model", f"{value} is a GGUF file, which transformers reads with the "
                                                                "gguf package: pip install gguf (or 'automl[llm-real]')")]
            return []
        return [Problem(spec.label, "fixed.base_model", f"unknown builtin model {value!r}; use one of "
                        + ", ".join(builtin.names()))]
    path = Path(value).expanduser()
    path = path if path.is_absolute() else spec.base_dir / path
    if path.suffix.lower() == ".gguf" or path.is_file():
        if not path.exists():
            return [Problem(spec.label, "fixed.base_model", f"{path} does not exist; give a .gguf model file or a model directory")]
        if not builtin.is_gguf(path):
            return [Problem(spec.label, "fixed.base_model", f"{path} is not a GGUF model file (it does not start with "
                            "GGUF); give a .gguf file or a model directory")]
        return []
    if builtin.export_model_dir(path) is not None:
        return []
    if not (path / "config.json").exists():
        return [Problem(spec.label, "fixed.base_model", f"{path} holds no causal language model (no config.json); "
                        "give a local model directory, an `automl export` folder, a .gguf file or builtin:tiny")]
    return []
