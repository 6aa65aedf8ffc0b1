"""``automl predict`` on a language-model export: a JSONL file of prompts in, the same rows with their completions out.

Each input line is an object with a string ``prompt`` (the field of the study's data); its other fields are passed
through. A line that also has a string ``completion`` is a reference: it is kept as ``reference``, the model's answer
becomes ``completion``, and when every line has one, exact match is computed (the export's ``answer_match``).
Prompts are formatted and decoded as the trials did (chat template, system prompt, worked examples, decoding knobs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from automl.errors import DataError, Problem

PROMPT_FIELD = "prompt"
COMPLETION_FIELD = "completion"
REFERENCE_FIELD = "reference"


def read_prompts(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file of prompts; every bad line (up to 5) reported at once."""
    label = str(path)
    if path.suffix.lower() not in (".jsonl", ".json"):
        raise DataError([Problem(label, "", f"a language-model export predicts a .jsonl file of {{\"{PROMPT_FIELD}\": ...}} "
                                            f"objects; got {path.suffix or 'no suffix'!r}")])
    if not path.exists():
        raise DataError([Problem(label, "", "file not found")])
    from automl.lm.data import jsonl_lines

    rows, problems = [], []
    for i, row, error in jsonl_lines(path):
        if error is not None:
            problems.append(Problem(label, f"line {i}", f"not JSON ({error})"))
        elif isinstance(row, dict) and isinstance(row.get(PROMPT_FIELD), str):
            rows.append(row)
        else:
            problems.append(Problem(label, f"line {i}", f"need an object with a string field {PROMPT_FIELD!r}"))
        if len(problems) >= 5:
            break
    if problems:
        raise DataError(problems)
    if not rows:
        raise DataError([Problem(label, "", "no prompts in the file")])
    return rows


def predict(loaded: Any, data_path: str | Path, out_path: str | Path | None = None) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """(output rows, scores) for the prompts of ``data_path``; the rows are written to ``out_path`` (JSONL, atomic)."""
    from automl.lm import generate as gen

    rows = read_prompts(Path(data_path))
    answers = loaded.trainer.complete(loaded.result, [r[PROMPT_FIELD] for r in rows])
    out = []
    for row, answer in zip(rows, answers, strict=True):
        done = {k: v for k, v in row.items() if k != COMPLETION_FIELD}
        if isinstance(row.get(COMPLETION_FIELD), str):
            done[REFERENCE_FIELD] = row[COMPLETION_FIELD]
        done[COMPLETION_FIELD] = answer
        out.append(done)
    scores: dict[str, float] = {}
    if all(REFERENCE_FIELD in r for r in out):
        match = str(loaded.result.model.params.get("answer_match") or "exact")
        hits = [gen.normalize(r[COMPLETION_FIELD], match) == gen.normalize(r[REFERENCE_FIELD], match) for r in out]
        scores["exact_match"] = sum(hits) / len(hits)
    if out_path is not None:
        from automl.fsutil import atomic_write_text

        atomic_write_text(out_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out))
    return out, scores
