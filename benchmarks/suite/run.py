"""Run the suite: every task x seed x contender under one budget; write markdown, JSON and HTML.

    .venv/bin/python -m benchmarks.suite --quick             # CI smoke test: 3 small tasks, 2 seeds, 20 trials
    .venv/bin/python -m benchmarks.suite --full              # by hand, hours: every task, 5 seeds, 100 trials

Results go to benchmarks/results/suite-<mode>.{md,json,html} (``--out`` elsewhere).

Internal API: trial mode prepares each task's study in-process (runner, studyfile).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):  # python benchmarks/suite/run.py
    sys.path.insert(0, str(REPO))

from benchmarks.suite import analysis, output  # noqa: E402
from benchmarks.suite import contenders as cmod  # noqa: E402
from benchmarks.suite import tasks as tmod  # noqa: E402

MODES = {
    "quick": {"tasks": tmod.QUICK, "seeds": 2, "trials": 20, "timeout": 60.0, "rounds": 200, "early_stopping": 20},
    "full": {"tasks": tmod.FULL, "seeds": 5, "trials": 100, "timeout": 300.0, "rounds": 1000, "early_stopping": 50},
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", const="quick", dest="mode", help="a few minutes (CI)")
    g.add_argument("--full", action="store_const", const="full", dest="mode", help="hours; run by hand")
    p.add_argument("--tasks", help=f"comma-separated, from: {', '.join(tmod.TASKS)}")
    p.add_argument("--contenders", help=f"comma-separated, from: {', '.join(cmod.CONTENDERS)}")
    p.add_argument("--seeds", type=int, help="number of seeds (0..N-1)")
    p.add_argument("--seed-list", metavar="S1,S2,...",
                   help="exactly these seeds (e.g. 1,2,3,4 for a piece to merge with a seed-0 run); overrides --seeds")
    p.add_argument("--trials", type=int, help="trial budget per run")
    p.add_argument("--timeout", type=float, help="wall-clock budget per run, seconds")
    p.add_argument("--wallclock", metavar="B1,B2,...",
                   help="wall-clock mode: for each budget B (seconds), a separate run of each contender limited to B s "
                        "on one thread, no trial cap; the test score of the model each hands over, on held-out rows "
                        f"(contenders: {', '.join(cmod.WALLCLOCK)}; default tasks: all, or the quick ones with --quick)")
    p.add_argument("--rounds", type=int, help="num_boost_round of every fit")
    p.add_argument("--early-stopping", type=int, help="early_stopping_rounds of every fit")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results", help="output folder")
    p.add_argument("--work", type=Path, help="folder for the tasks' Parquet files (default: a temporary one)")
    p.add_argument("--name", help="output stem suite-<name> (default: the mode)")
    p.add_argument("--merge", nargs="+", type=Path, metavar="JSON",
                   help="combine the pieces of a split run (their suite-*.json, same budget) into one analysis and "
                        "write suite-<name>.{md,json,html}; runs nothing")
    p.add_argument("--drop", action="append", default=[], metavar="CONTENDER=PIECE.json",
                   help="with --merge: leave that contender's runs of that piece out (it was rerun in another piece)")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="with --merge: call contender OLD NEW (e.g. an ablation that became automl's default)")
    p.add_argument("--fill-single", type=Path, metavar="PIECE.json",
                   help="afterwards, for a wall-clock piece written before runs recorded it: the test score of each "
                        "automl ensemble's best single trial (export --no-ensemble + predict), from the run's kept "
                        "task-seed folders (--kept, at the path the run used); rewrites the piece; runs no search")
    p.add_argument("--kept", type=Path, metavar="DIR", help="with --fill-single: the run's temporary folder "
                   "(automl-wallclock-*, holding <task>-<seed>/<contender>-<B>/), restored at its original path")
    args = p.parse_args(argv)
    args.argv = argv
    if args.seed_list is not None:
        try:
            args.seed_list = sorted({int(x) for x in args.seed_list.split(",")})
        except ValueError:
            p.error(f"--seed-list takes whole numbers separated by commas, e.g. 1,2,3 (got {args.seed_list!r})")
        if not args.seed_list or min(args.seed_list) < 0:
            p.error("--seed-list: every seed must be >= 0")
    if args.wallclock is not None:
        try:
            args.wallclock = sorted({float(b) for b in args.wallclock.split(",")})
        except ValueError:
            p.error(f"--wallclock takes seconds separated by commas, e.g. 15,60 (got {args.wallclock!r})")
        if not args.wallclock or min(args.wallclock) <= 0:
            p.error("--wallclock: every budget must be > 0 seconds")
        if args.trials is not None or args.timeout is not None:
            p.error("--wallclock has no trial cap and sets each run's time limit itself: drop --trials/--timeout")
        args.mode = args.mode or "full"  # all tasks, 5 seeds, 1000 rounds unless --quick
    args.mode = args.mode or "quick"
    return args


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("automl", "optuna", "optuna-integration", "lightgbm", "scikit-learn", "numpy", "pandas", "hyperopt",
                "flaml", "torch", "plotly"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    try:
        load = f"load avg {os.getloadavg()[0]:.2f}"
    except OSError:
        load = ""
    return f"{platform.system()} {platform.release()}, {cpu}, {cores} cores usable, {load}".strip(", ")


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def merge(paths: list[Path], name: str, out: Path, command: str, rename: dict[str, str] | None = None,
          drop: list[str] | None = None) -> int:
    """One result from the pieces of a split run: their runs analysed together (regret and ranks are per task, over
    every run of the task in any piece; a piece may add contenders to another's tasks, but no (task, contender,
    seed) may appear twice), the pieces' commands, dates and machines kept in the meta."""
    import json

    pieces = []
    for path in paths:
        try:
            pieces.append(json.loads(path.read_text()))
        except (OSError, ValueError) as e:
            print(f"{path}: cannot read a suite result ({e}); pass the suite-*.json files a run wrote", file=sys.stderr)
            return 2
    rename = rename or {}
    drop_from = {}  # piece path -> contenders whose runs are left out (rerun in another piece, e.g. after a change)
    for item in drop or []:
        contender, piece = item.split("=", 1)
        drop_from.setdefault(str(Path(piece)), set()).add(contender)
    for path, p in zip(paths, pieces):
        gone = drop_from.get(str(path), set())
        p["runs"] = [r for r in p["runs"] if r["contender"] not in gone]
    for p in pieces:
        for r in p["runs"]:
            r["contender"] = rename.get(r["contender"], r["contender"])
        p["meta"]["contenders"] = {rename.get(k, k): (f"{v} [was {k}]" if k in rename else v)
                                   for k, v in p["meta"]["contenders"].items()}
    budgets = {json.dumps(p["meta"]["budget"], sort_keys=True) for p in pieces}
    if len(budgets) != 1:
        print(f"the pieces have different budgets: {sorted(budgets)}", file=sys.stderr)
        return 2
    seen: dict[tuple[str, str, int, float | None], str] = {}
    for path, p in zip(paths, pieces):
        for r in p["runs"]:
            key = (r["task"], r["contender"], r["seed"], r.get("budget"))  # wall-clock mode: one run per budget
            if key in seen:
                at = "" if key[3] is None else f" at {key[3]:g} s"
                print(f"{key[1]} on {key[0]} seed {key[2]}{at} is in both {seen[key]} and {path}", file=sys.stderr)
                return 2
            seen[key] = str(path)
    runs = [r for p in pieces for r in p["runs"]]
    first = pieces[0]["meta"]
    meta = {
        "mode": name, "command": command + "  (pieces: " + "; ".join(p["meta"]["command"] for p in pieces) + ")",
        "date": " / ".join(p["meta"]["date"] for p in pieces),
        "wall_seconds": round(sum(p["meta"]["wall_seconds"] for p in pieces), 1),
        "machine": " / ".join(sorted({p["meta"]["machine"] for p in pieces})), "versions": first["versions"],
        "budget": first["budget"], "seeds": sorted({s for p in pieces for s in p["meta"]["seeds"]}),
        "contenders": {k: v for p in pieces for k, v in p["meta"]["contenders"].items()},
        "pieces": [p["meta"] for p in pieces],
    }
    result = {"meta": meta, "tasks": {k: v for p in pieces for k, v in p["tasks"].items()},  # the same split in every piece
              "notes": [n for p in pieces for n in p["notes"]], "runs": runs,
              "analysis": (analysis.analyze_wallclock(runs, first["budget"]["wallclock"]) if "wallclock" in first["budget"]
                           else analysis.analyze(runs, trials=first["budget"]["trials"]))}
    written = output.write(result, out)
    print(f"wrote {', '.join(str(p) for p in written.values())}")
    return 0


def fill_single(piece: Path, kept: Path, work: Path | None) -> int:
    """``--fill-single``: add ``single_test`` (see contenders.single_test) to the piece's automl runs that handed
    over an ensemble and lack it, from the studies in ``kept``; the piece is rewritten in place (atomically)."""
    import json

    result = json.loads(piece.read_text())
    filled = 0
    with tempfile.TemporaryDirectory(prefix="automl-fill-") as tmp:
        for r in result["runs"]:
            extra = r.get("extra") or {}
            if not isinstance(extra.get("handed_over"), list) or "single_test" in extra or r.get("budget") is None:
                continue
            folder = kept / f"{r['task']}-{r['seed']}"
            study = folder / f"{r['contender']}-{float(r['budget']):g}"
            if not (study / "study.yaml").exists():
                print(f"{r['task']} seed {r['seed']} {r['contender']}: no {study / 'study.yaml'}; left as it is", flush=True)
                continue
            task = tmod.TASKS[r["task"]]
            split = tmod.dev_test_split(task, tmod.materialize(task, work or Path(tmp)), r["seed"], folder)
            try:
                extra.update(cmod.single_test(split, study))
            except cmod.ContenderFailed as e:
                print(f"{r['task']} seed {r['seed']} {r['contender']}: {e}", flush=True)
                continue
            r["extra"] = extra
            filled += 1
            print(f"{r['task']:>14} seed {r['seed']} {r['contender']}: ensemble {_g(r['test'])}, "
                  f"best single trial {_g(extra['single_test'])}", flush=True)
    result["meta"]["single_filled"] = f"python -m benchmarks.suite --fill-single {piece} --kept {kept}: {filled} runs"
    tmp_path = piece.with_name(piece.name + ".tmp")
    tmp_path.write_text(json.dumps(result, indent=1, default=float) + "\n")
    tmp_path.replace(piece)
    print(f"filled {filled} runs of {piece}")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # GPSampler's torch and any BLAS: one thread, as every fit
    args = parse(argv)
    if args.merge:
        command = "python -m benchmarks.suite " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
        bad = [r for r in args.rename if r.count("=") != 1]
        if bad:
            print(f"--rename takes OLD=NEW (got {', '.join(bad)})", file=sys.stderr)
            return 2
        bad = [d for d in args.drop if d.count("=") != 1]
        if bad:
            print(f"--drop takes CONTENDER=PIECE.json (got {', '.join(bad)})", file=sys.stderr)
            return 2
        return merge(args.merge, args.name or "merged", args.out, command, dict(r.split("=") for r in args.rename),
                     drop=args.drop)
    if args.fill_single:
        if not args.kept:
            print("--fill-single needs --kept DIR (the run's automl-wallclock-* folder)", file=sys.stderr)
            return 2
        return fill_single(args.fill_single, args.kept, args.work)
    cfg = dict(MODES[args.mode])
    if args.wallclock:
        return wallclock(args, cfg)
    for key in ("seeds", "trials", "timeout", "rounds", "early_stopping"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    task_names = args.tasks.split(",") if args.tasks else cfg["tasks"]
    names = args.contenders.split(",") if args.contenders else list(cmod.DEFAULT_CONTENDERS)
    unknown = [t for t in task_names if t not in tmod.TASKS] + [c for c in names if c not in cmod.CONTENDERS]
    if unknown:
        print(f"unknown task or contender: {', '.join(unknown)}", file=sys.stderr)
        return 2
    budget = cmod.Budget(trials=cfg["trials"], timeout=cfg["timeout"], rounds=cfg["rounds"], early_stopping=cfg["early_stopping"])
    seeds = args.seed_list or list(range(cfg["seeds"]))
    command = "python -m benchmarks.suite " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    started = time.time()
    notes: list[str] = []
    runs: list[dict[str, Any]] = []
    task_info: dict[str, Any] = {}
    fixed = {"num_threads": 1, "num_boost_round": budget.rounds, "early_stopping_rounds": budget.early_stopping}

    runnable = []
    for c in names:
        why = cmod.available(cmod.CONTENDERS[c])
        if why:
            notes.append(f"contender {c}: skipped, {why}")
            print(f"skip contender {c}: {why}", flush=True)
        else:
            runnable.append(c)

    from automl import runner, studyfile

    with tempfile.TemporaryDirectory(prefix="automl-bench-") as tmp:
        work = args.work or Path(tmp)
        for tname in task_names:
            task = tmod.TASKS[tname]
            try:
                path = tmod.materialize(task, work)
            except tmod.TaskUnavailable as e:
                notes.append(f"task {tname}: skipped, {e}")
                print(f"skip task {tname}: {e}", flush=True)
                continue
            base = tmod.spec_dict(task, path, trials=budget.trials, timeout=budget.timeout, seed=0, fixed=fixed)
            prepared = runner.prepare(studyfile.parse(base, "<bench>"))
            d = prepared.data
            task_info[tname] = {"task": task.task, "metric": prepared.metrics[0].name, "source": task.source,
                                "rows": [len(d.train), len(d.valid), len(d.test)], "features": len(d.features)}
            for seed in seeds:
                for c in runnable:
                    contender = cmod.CONTENDERS[c]
                    kwargs = {}
                    if c == "automl" or c in cmod.ABLATIONS:
                        kwargs["spec"] = tmod.spec_dict(task, path, trials=budget.trials, timeout=budget.timeout,
                                                        seed=seed, fixed=fixed)
                    t0 = time.perf_counter()
                    res = contender.run(c, prepared, budget, seed, **kwargs)
                    res.task = tname
                    runs.append(asdict(res))
                    print(f"{tname:>14} seed {seed} {c:>13}: best valid {_g(res.best_valid)} test {_g(res.test)} "
                          f"({len(res.evals)} evals, {time.perf_counter() - t0:.1f} s)", flush=True)

    result = {
        "meta": {"mode": args.name or args.mode, "command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                 "wall_seconds": round(time.time() - started, 1), "machine": machine(), "versions": versions(),
                 "budget": asdict(budget), "seeds": seeds, "contenders": {c: cmod.CONTENDERS[c].description for c in names}},
        "tasks": task_info,
        "notes": notes,
        "runs": runs,
        "analysis": analysis.analyze(runs, trials=budget.trials) if runs else {},
    }
    if not runs:
        print("nothing ran: " + "; ".join(notes), file=sys.stderr)
        return 1
    paths = output.write(result, args.out)
    print(f"wrote {', '.join(str(p) for p in paths.values())} in {result['meta']['wall_seconds']:.0f} s")
    return 0


def wallclock(args: argparse.Namespace, cfg: dict[str, Any]) -> int:
    """Issue 14's wall-clock mode: per task and seed one 80/20 dev/test split; per contender and budget B one run
    limited to B seconds on one thread; the test score of what each hands over (see README.md here)."""
    for key in ("seeds", "rounds", "early_stopping"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    task_names = args.tasks.split(",") if args.tasks else cfg["tasks"]
    names = args.contenders.split(",") if args.contenders else [c for c, w in cmod.WALLCLOCK.items() if not w.optional]
    unknown = [t for t in task_names if t not in tmod.TASKS] + [c for c in names if c not in cmod.WALLCLOCK]
    if unknown:
        print(f"unknown task or wall-clock contender: {', '.join(unknown)} (contenders: {', '.join(cmod.WALLCLOCK)})",
              file=sys.stderr)
        return 2
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"  # read when LightGBM/BLAS first load (every fit also gets num_threads=1 / n_jobs=1)
    budgets, seeds = args.wallclock, args.seed_list or list(range(cfg["seeds"]))
    command = "python -m benchmarks.suite " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if args.argv is None else args.argv))
    started = time.time()
    notes: list[str] = []
    runs: list[dict[str, Any]] = []
    task_info: dict[str, Any] = {}
    runnable = []
    for c in names:
        why = cmod.wall_available(cmod.WALLCLOCK[c])
        if why:
            notes.append(f"contender {c}: skipped, {why}")
            print(f"skip contender {c}: {why}", flush=True)
        else:
            runnable.append(c)

    def one(c: str, split: Any, tname: str, seed: int, b: float | None) -> None:
        wb = cmod.WallBudget(seconds=b if b is not None else 0.0, rounds=cfg["rounds"], early_stopping=cfg["early_stopping"])
        t0 = time.perf_counter()
        try:
            res = cmod.WALLCLOCK[c].run(c, split, wb, seed)
        except cmod.ContenderFailed as e:
            res = cmod.RunResult(c, "", seed, skipped=str(e))
        res.task, res.budget = tname, b
        runs.append(asdict(res))
        print(f"{tname:>14} seed {seed} {c:>14} @ {'-' if b is None else f'{b:g} s':>6}: test {_g(res.test)} "
              f"({len(res.evals)} evals, {res.seconds:.1f} s{', ' + res.skipped[:200] if res.skipped else ''}; "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)

    with tempfile.TemporaryDirectory(prefix="automl-wallclock-") as tmp:
        work = args.work or Path(tmp)
        for tname in task_names:
            task = tmod.TASKS[tname]
            try:
                path = tmod.materialize(task, work)
            except tmod.TaskUnavailable as e:
                notes.append(f"task {tname}: skipped, {e}")
                print(f"skip task {tname}: {e}", flush=True)
                continue
            for seed in seeds:
                split = tmod.dev_test_split(task, path, seed, Path(tmp) / f"{tname}-{seed}")
                task_info.setdefault(tname, {"task": task.task, "metric": split.metric, "source": task.source,
                                             "rows": [len(split.y_dev), len(split.y_test)], "features": split.X_dev.shape[1]})
                for c in runnable:
                    if cmod.WALLCLOCK[c].one_fit:
                        one(c, split, tname, seed, None)
                for b in budgets:
                    for c in runnable:
                        if not cmod.WALLCLOCK[c].one_fit:
                            one(c, split, tname, seed, b)

    budget = {"wallclock": budgets, "rounds": cfg["rounds"], "early_stopping": cfg["early_stopping"]}
    stem = args.name or ("wallclock-quick" if args.mode == "quick" else "wallclock")
    result = {
        "meta": {"mode": stem, "command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                 "wall_seconds": round(time.time() - started, 1), "machine": machine(), "versions": versions(),
                 "budget": budget, "seeds": seeds, "contenders": {c: cmod.WALLCLOCK[c].description for c in names}},
        "tasks": task_info,
        "notes": notes,
        "runs": runs,
    }
    if not any(r["test"] is not None for r in runs):
        print("nothing ran: " + "; ".join(notes + [r["skipped"] for r in runs if r["skipped"]]), file=sys.stderr)
        return 1
    result["analysis"] = analysis.analyze_wallclock(runs, budgets)
    paths = output.write(result, args.out)
    print(f"wrote {', '.join(str(p) for p in paths.values())} in {result['meta']['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
