"""Generate instruct.jsonl and instruct-heldout.jsonl: instruction prompts with checkable answers that a small
pretrained instruct model (SmolLM2-135M-Instruct, issue 20) can partly do: arithmetic word problems, unit
conversions, reversing and sorting short lists, and country -> capital from the table below. Deterministic:

    python studies/data/make_instruct.py                  # instruct.jsonl (600 examples, seed 0): train/valid/test
    python studies/data/make_instruct.py -n 200 --seed 1 --out studies/data/instruct-heldout.jsonl   # no trial sees it
    python studies/data/make_instruct.py -n 240 --out studies/data/instruct-240.jsonl   # its first 240 rows (LoRA study)

Each row: {"prompt": the question, "completion": the answer (one line), "kind": the task family}. Answers are
compared after trimming spaces and a final period, case-insensitively (the exact-match rule of
``answer_match: normalized``, which the studies on this data set).
Held-out rows (any seed but 0) draw numbers, list lengths and countries from ranges the first file does not use.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

#: (country, capital): common knowledge a small model may have seen in pretraining.
CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Portugal", "Lisbon"),
    ("Japan", "Tokyo"), ("China", "Beijing"), ("India", "New Delhi"), ("Russia", "Moscow"), ("Canada", "Ottawa"),
    ("Egypt", "Cairo"), ("Greece", "Athens"), ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"),
    ("Poland", "Warsaw"), ("Austria", "Vienna"), ("Ireland", "Dublin"), ("Kenya", "Nairobi"), ("Peru", "Lima"),
    ("Chile", "Santiago"), ("Mexico", "Mexico City"), ("Cuba", "Havana"), ("Iran", "Tehran"), ("Iraq", "Baghdad"),
    ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("Denmark", "Copenhagen"), ("Hungary", "Budapest"),
    ("Belgium", "Brussels"), ("Netherlands", "Amsterdam"), ("Argentina", "Buenos Aires"), ("Colombia", "Bogota"),
    ("South Korea", "Seoul"), ("Turkey", "Ankara"), ("Australia", "Canberra"), ("Brazil", "Brasilia"),
    ("Switzerland", "Bern"), ("Nigeria", "Abuja"), ("Pakistan", "Islamabad"),
]
#: The capitals of the held-out file (seed != 0) come from here; the first file never asks for them.
HELDOUT_FROM = 30

NAMES = ["Tom", "Anna", "Ravi", "Mia", "Leo", "Sara", "Omar", "Yuki"]
THINGS = ["apples", "books", "coins", "stamps", "marbles", "pencils"]
UNITS = [("meters", "centimeters", 100), ("kilometers", "meters", 1000), ("hours", "minutes", 60),
         ("minutes", "seconds", 60), ("kilograms", "grams", 1000), ("days", "hours", 24)]
WORDS = ["cat", "dog", "fish", "bird", "lion", "frog", "bear", "wolf", "duck", "goat"]
KINDS = ("arithmetic", "units", "reverse", "sort", "capital")


def example(kind: str, rng: random.Random, capitals: list[tuple[str, str]], held: bool) -> dict[str, str]:
    """One question; ``held`` (the held-out file) draws its numbers, words and countries from other ranges, so
    no held-out question appears in the file trials see."""
    lo = 41 if held else 2
    if kind == "arithmetic":
        who, what = rng.choice(NAMES), rng.choice(THINGS)
        a, b = rng.randint(lo, lo + 38), rng.randint(lo, lo + 38)
        if rng.random() < 0.5:
            return {"prompt": f"{who} has {a} {what} and gets {b} more. How many {what} does {who} have now? "
                              "Answer with a number.", "completion": str(a + b), "kind": kind}
        a, b = max(a, b), min(a, b)
        return {"prompt": f"{who} has {a} {what} and gives away {b}. How many {what} are left? Answer with a number.",
                "completion": str(a - b), "kind": kind}
    if kind == "units":
        big, small, factor = rng.choice(UNITS)
        n = rng.randint(11, 19) if held else rng.randint(2, 9)
        return {"prompt": f"How many {small} are in {n} {big}? Answer with a number.", "completion": str(n * factor),
                "kind": kind}
    if kind in ("reverse", "sort"):
        if kind == "reverse":
            items = rng.sample(WORDS, 5 if held else rng.randint(3, 4))
            return {"prompt": f"Reverse the order of this list: {', '.join(items)}. Answer with the list only.",
                    "completion": ", ".join(reversed(items)), "kind": kind}
        nums = rng.sample(range(50, 100) if held else range(1, 50), rng.randint(3, 5))
        return {"prompt": f"Sort these numbers from smallest to largest: {', '.join(map(str, nums))}. "
                          "Answer with the numbers only.", "completion": ", ".join(map(str, sorted(nums))), "kind": kind}
    country, capital = rng.choice(capitals)
    return {"prompt": f"What is the capital of {country}? Answer with the city name only.", "completion": capital,
            "kind": kind}


def make(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    capitals = CAPITALS[:HELDOUT_FROM] if seed == 0 else CAPITALS[HELDOUT_FROM:]
    return [example(KINDS[i % len(KINDS)], rng, capitals, seed != 0) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("instruct.jsonl"))
    args = ap.parse_args()
    rows = make(args.n, args.seed)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} examples to {args.out}")


if __name__ == "__main__":
    main()
