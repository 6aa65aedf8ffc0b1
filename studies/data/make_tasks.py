"""Generate tasks.jsonl: a small instruction data set of prompt/completion pairs for the language-model
studies (reverse a word, upper-case it, sort its letters, add two small numbers). Deterministic:

    python studies/data/make_tasks.py            # writes studies/data/tasks.jsonl (3,000 examples)
    python studies/data/make_tasks.py -n 800 --seed 1 --out studies/data/tasks-heldout.jsonl   # decoding study
"""

from __future__ import annotations

import argparse
import json
import random
import string
from pathlib import Path

OPS = ("reverse", "upper", "sort", "add")


def word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 6)))


def example(op: str, rng: random.Random) -> dict[str, str]:
    if op == "add":
        a, b = rng.randint(0, 49), rng.randint(0, 49)
        return {"prompt": f"add {a} {b} =", "completion": f" {a + b}"}
    w = word(rng)
    out = {"reverse": w[::-1], "upper": w.upper(), "sort": "".join(sorted(w))}[op]
    return {"prompt": f"{op} {w} =", "completion": f" {out}"}


def make(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [example(OPS[i % len(OPS)], rng) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("tasks.jsonl"))
    a = ap.parse_args()
    a.out.write_text("".join(json.dumps(r) + "\n" for r in make(a.n, a.seed)), encoding="utf-8")
    print(f"wrote {a.n} examples to {a.out}")


if __name__ == "__main__":
    main()
