"""Where many workers on one study stop scaling: N `automl run` processes on one PostgreSQL server on 127.0.0.1
(started as tests/pg.py starts it), directly or through `automl storage-proxy` (grpc://), with trials that sleep
a fixed time and use no CPU (benchmarks/sleep_trainer.py, registered as `model: sleep` through a dist-info
folder on PYTHONPATH, nothing installed).

Per run (N workers, trials of L seconds, a budget of N x rounds trials): claims per second, time inside the
claim lock (p50/p99, from each worker's own timings: $AUTOML_CLAIM_LOG), trials per second while all N work
against the ideal N / L, the most database connections seen (pg_stat_activity), each worker's peak RSS and CPU
per trial, PostgreSQL's CPU per trial, and whether the study holds exactly the budget.

    nice -n 19 .venv/bin/python -m benchmarks.scale --workers 4,16 --seconds 0.1,1,10 --label before
    nice -n 19 .venv/bin/python -m benchmarks.scale --workers 4 --seconds 0.1 --quick     # smoke (tests)

Rows are merged into --json (by label, storage, N, L) and the whole table is written to --md.

Internal API: it times one claim of the worker loop and its stale-trial scan (run.loop, storage, proxy).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ROUNDS = {0.1: 30, 1.0: 8, 10.0: 3}  # trials per worker: long enough to see a steady state, short enough to run
CLK = os.sysconf("SC_CLK_TCK")


def _site(root: Path) -> Path:
    """A folder that, on PYTHONPATH, registers benchmarks/sleep_trainer.py as trainer `sleep` (an entry point in a
    hand-written dist-info, which importlib.metadata reads like an installed package's)."""
    site = root / "site"
    info = site / "automl_sleep-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: automl-sleep\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[automl.trainers]\nsleep = sleep_trainer:SleepTrainer\n")
    shutil.copy(REPO / "benchmarks" / "sleep_trainer.py", site / "sleep_trainer.py")
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return site


# Loaded by every worker (it is on PYTHONPATH): times each claim from outside automl's code. The lock is
# wrapped to time the wait, claim() to time the hold (wall and this thread's CPU) and count the SQL statements
# sent meanwhile; one JSON file per worker at exit.
SITECUSTOMIZE = """
import atexit, json, os, socket, time
folder = os.environ.get("AUTOML_CLAIM_LOG")
if folder:
    import sqlalchemy
    from automl.run import loop as parallel  # the worker loop looks these names up in automl.run.loop
    rows, sql = [], [0]
    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", lambda *a, **k: sql.__setitem__(0, sql[0] + 1))
    inner_lock, inner_claim = parallel.claim_lock, parallel.claim
    class Timed:
        def __init__(self, lock): self.lock = lock
        def __enter__(self):
            t = time.perf_counter(); self.lock.__enter__(); rows.append([time.perf_counter() - t])
        def __exit__(self, *exc): return self.lock.__exit__(*exc)
    def claim_lock(study, url): return Timed(inner_lock(study, url))
    def claim(study, budget, recovered=None):
        t, c, q = time.perf_counter(), time.thread_time(), sql[0]
        got = inner_claim(study, budget, recovered)
        if rows and len(rows[-1]) == 1:
            rows[-1] += [time.perf_counter() - t, time.thread_time() - c, sql[0] - q, got if isinstance(got, str) else "trial"]
        return got
    parallel.claim_lock, parallel.claim = claim_lock, claim
    def dump():
        with open(os.path.join(folder, f"{socket.gethostname()}-{os.getpid()}.json"), "w") as f:
            json.dump([r for r in rows if len(r) == 5], f)
    atexit.register(dump)
"""


def _study(root: Path, budget: int, seconds: float) -> Path:
    import numpy as np
    import pandas as pd
    import yaml

    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=40), "y": rng.normal(size=40)}).to_csv(root / "d.csv", index=False)
    doc = {"name": "scale", "data": {"path": "d.csv", "target": "y", "test_size": 0}, "model": "sleep",
           "metric": "rmse", "trials": budget, "seed": 0, "sampler": "random", "pruner": "none",
           "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "fixed": {"seconds": seconds}}
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _cpu_of(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (with its reaped children's, for the postmaster) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / CLK


def _pressure() -> str:
    """The kernel's CPU pressure (share of time some runnable task waited for a CPU, last 60 s)."""
    try:
        return Path("/proc/pressure/cpu").read_text().split()[2].split("=")[1] + "%"
    except (OSError, IndexError):
        return "?"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def run_one(server: Any, n: int, seconds: float, mode: str, rounds: int | None = None, start_timeout: float = 900) -> dict[str, Any]:
    import psycopg
    from pg import free_port  # tests/pg.py (main() puts tests/ on sys.path)

    rounds = rounds or ROUNDS.get(seconds, max(3, int(10 / seconds)))
    budget = n * rounds
    root = Path(tempfile.mkdtemp(prefix="automl-scale-"))
    db = server.create_database()
    pg_url = server.url(db)
    site = _site(root)
    study = _study(root, budget, seconds)
    (root / "barrier").mkdir()
    (root / "claims").mkdir()
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "AUTOML_SCALE_BARRIER": str(root / "barrier"), "AUTOML_CLAIM_LOG": str(root / "claims")}
    proxy = None
    url = pg_url
    if mode == "grpc":
        port = free_port()
        proxy = subprocess.Popen([sys.executable, "-m", "automl", "storage-proxy", "--storage", pg_url, "--port", str(port)],
                                 cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(root / "proxy.log", "w"))
        url = f"grpc://127.0.0.1:{port}"
    postmaster = int((server.root / "data" / "postmaster.pid").read_text().split()[0])
    logs = [open(root / f"w{i}.log", "w") for i in range(n)]
    t_spawn = time.time()
    procs: list[subprocess.Popen] = []
    try:
        # Two at a time (this machine's rule: never more than 2 busy processes); each waits at the barrier.
        while len(list((root / "barrier").glob("ready-*"))) < n:
            if len(procs) < n and len(procs) - len(list((root / "barrier").glob("ready-*"))) < 2:
                procs.append(subprocess.Popen([sys.executable, "-m", "automl", "run", str(study), "--storage", url, "--no-progress"],
                                              cwd=root, env=env, stdout=logs[len(procs)], stderr=subprocess.STDOUT))
                continue
            if any(p.poll() is not None for p in procs):
                bad = next(i for i, p in enumerate(procs) if p.poll() is not None)
                raise RuntimeError(f"worker {bad} ended before the start: {(root / f'w{bad}.log').read_text()[-2000:]}")
            if time.time() - t_spawn > start_timeout:
                raise RuntimeError(f"only {len(list((root / 'barrier').glob('ready-*')))} of {n} workers started in {start_timeout} s")
            time.sleep(0.5)
        t_ready = time.time()
        cpu_start = {p.pid: _cpu_of(p.pid) for p in procs}
        rss_ready = [int(next(line.split()[1] for line in Path(f"/proc/{p.pid}/status").read_text().splitlines()
                              if line.startswith("VmRSS"))) for p in procs]
        pg_cpu0 = _cpu_of(postmaster, children=True)
        proxy_cpu0 = _cpu_of(proxy.pid) if proxy else 0.0
        (root / "barrier" / "go").touch()
        t_go = time.time()
        conns_max, usage = 0, {}
        watch = psycopg.connect(host="127.0.0.1", port=server.port, user="automl", password=server.password,
                                dbname="postgres", autocommit=True)
        rusage = {}
        while len(rusage) < n:
            for p in procs:
                if p.pid in rusage:
                    continue
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    p.returncode = os.waitstatus_to_exitcode(status)
                    rusage[p.pid] = ru
            rows = watch.execute("SELECT state, count(*) FROM pg_stat_activity WHERE datname = %s GROUP BY state", (db,)).fetchall()
            total = sum(c for _, c in rows)
            if total > conns_max:
                conns_max, usage = total, {str(s): c for s, c in rows}
            time.sleep(0.25)
        t_end = time.time()
        pg_cpu = _cpu_of(postmaster, children=True) - pg_cpu0
        proxy_cpu = (_cpu_of(proxy.pid) - proxy_cpu0) if proxy else 0.0
        watch.close()
    finally:
        for p in procs:
            if p.returncode is None and p.poll() is None:
                p.kill()
        if proxy is not None:
            proxy.kill()
            proxy.wait()
        for f in logs:
            f.close()
    failed = [i for i, p in enumerate(procs) if p.returncode != 0]
    import optuna

    from automl import storage as storage_mod

    st = optuna.load_study(study_name="scale", storage=storage_mod.open_storage(pg_url))
    trials = st.get_trials(deepcopy=False)
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    done = [t for t in trials if t.datetime_complete is not None and t.datetime_start is not None]
    by_worker: dict[str, list[Any]] = {}
    for t in done:
        by_worker.setdefault(str(t.user_attrs.get("worker")), []).append(t)
    first = max(min(t.datetime_start.timestamp() for t in ts) for ts in by_worker.values())
    last = min(max(t.datetime_complete.timestamp() for t in ts) for ts in by_worker.values())
    window = [t for t in done if first <= t.datetime_complete.timestamp() <= last]
    steady = len(window) / (last - first) if last - first >= seconds and window else float("nan")
    makespan = max(t.datetime_complete.timestamp() for t in done) - t_go
    holds, waits, cpus, stmts, n_claims = [], [], [], [], 0
    for f in (root / "claims").glob("*.json"):
        for wait, hold, cpu, sql, kind in json.loads(f.read_text()):
            n_claims += 1
            if kind == "trial":
                holds.append(hold)
                waits.append(wait)
                cpus.append(cpu)
                stmts.append(sql)
    cpu_trials = sum(ru.ru_utime + ru.ru_stime for ru in rusage.values()) - sum(cpu_start.values())
    row = {
        "storage": "postgresql" if mode == "pg" else "grpc proxy -> postgresql",
        "workers": n, "seconds": seconds, "budget": budget, "states": states,
        "exact": states.get("COMPLETE", 0) + states.get("PRUNED", 0) == budget and set(states) <= {"COMPLETE", "PRUNED"},
        "failed_workers": failed, "workers_seen": len(by_worker),
        "start_s": round(t_ready - t_spawn, 1), "makespan_s": round(makespan, 2), "ideal_makespan_s": rounds * seconds,
        "trials_per_s": round(steady, 2), "ideal_trials_per_s": round(n / seconds, 2),
        "efficiency": round(steady / (n / seconds), 3) if steady == steady else None,
        "claims_per_s": round(len(holds) / makespan, 2), "claims_total": n_claims,
        "hold_ms_p50": round(1000 * _pct(holds, 0.5), 2), "hold_ms_p99": round(1000 * _pct(holds, 0.99), 2),
        "hold_ms_mean": round(1000 * sum(holds) / max(1, len(holds)), 2),
        "wait_ms_p50": round(1000 * _pct(waits, 0.5), 2), "wait_ms_p99": round(1000 * _pct(waits, 0.99), 2),
        "hold_cpu_ms_mean": round(1000 * sum(cpus) / max(1, len(cpus)), 2),
        "sql_per_claim": round(sum(stmts) / max(1, len(stmts)), 1),
        "cpu_pressure": _pressure(),
        "db_connections_max": conns_max, "db_connections_by_state": usage,
        "rss_mb_per_worker": round(sum(rss_ready) / len(rss_ready) / 1024, 1),
        "peak_rss_mb_per_worker": round(max(ru.ru_maxrss for ru in rusage.values()) / 1024, 1),
        "worker_cpu_ms_per_trial": round(1000 * cpu_trials / max(1, len(done)), 1),
        "pg_cpu_ms_per_trial": round(1000 * pg_cpu / max(1, len(done)), 1),
        "proxy_cpu_ms_per_trial": round(1000 * proxy_cpu / max(1, len(done)), 1),
        "wall_s": round(t_end - t_spawn, 1),
    }
    if failed:
        row["failed_log_tail"] = (root / f"w{failed[0]}.log").read_text()[-1500:]
    shutil.rmtree(root, ignore_errors=True)
    return row


def claim_cost(server: Any, running: int, finished: int = 50, claims: int = 20, mode: str = "pg",
               scan_every_claim: bool = False) -> dict[str, Any]:
    """One process, no sleeping workers: the cost of one claim (lock + claim(), as automl.run.loop.work does it)
    in a study that holds ``finished`` finished trials and ``running`` RUNNING trials of live workers on other
    machines (fresh heartbeats), the state a claim sees with N = ``running`` workers. Wall time, this process's
    CPU and SQL statements (or gRPC calls) per claim: CPU and round trips do not depend on how busy the machine is.
    ``scan_every_claim``: the claim before commit "claim: look for stale trials once per heartbeat interval"
    (its only change: the look ran in every claim)."""
    import optuna
    import sqlalchemy
    from optuna.trial import TrialState

    from automl import storage as storage_mod
    from automl.proxy import BUDGET_ATTR
    from automl.run import loop as parallel  # internals on purpose: this times one claim, and its stale scan

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # The running trials stand for live workers: on a starved machine setting up and claiming can take longer than
    # the 60 s grace period, and they must not turn stale meanwhile.
    os.environ["AUTOML_GRACE_PERIOD"] = "86400"
    pg_url = server.url(server.create_database())
    setup = storage_mod.open_storage(pg_url)
    study = optuna.create_study(storage=setup, study_name="cost")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.add_trials([optuna.create_trial(params={"x": i / finished}, distributions=dist, value=float(i)) for i in range(finished)])
    for i in range(running):
        t = study.ask(dist)
        t.set_user_attr(storage_mod.WORKER_ATTR, f"node{i}:{1000 + i}")
        setup.record_heartbeat(t._trial_id)
    setup.set_study_system_attr(study._study_id, BUDGET_ATTR, 10**9)
    calls = [0]
    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", lambda *a, **k: calls.__setitem__(0, calls[0] + 1))
    proxy = None
    url = pg_url
    if mode == "grpc":
        from pg import free_port

        port = free_port()
        proxy = subprocess.Popen([sys.executable, "-m", "automl", "storage-proxy", "--storage", pg_url, "--port", str(port)],
                                 cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"grpc://127.0.0.1:{port}"
    try:
        worker = optuna.load_study(study_name="cost", storage=storage_mod.open_storage(url),
                                   sampler=optuna.samplers.RandomSampler(seed=0))
        if mode == "grpc":  # count the worker's RPCs: every stub method of its client
            stub = worker._storage._stub
            for name in [n for n in dir(stub) if n[0].isupper()]:
                fn = getattr(stub, name)
                setattr(stub, name, lambda *a, _fn=fn, **k: (calls.__setitem__(0, calls[0] + 1), _fn(*a, **k))[1])
        lock = parallel.claim_lock(worker, url)
        scan_due = parallel._scan_due
        if scan_every_claim:
            parallel._scan_due = lambda study: True
        wall, cpu, n_calls = [], [], []
        for _ in range(claims):
            t, c, q = time.perf_counter(), time.process_time(), calls[0]
            with lock:
                trial = parallel.claim(worker, 10**9)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            n_calls.append(calls[0] - q)
            assert not isinstance(trial, str), trial
            worker.tell(trial, 0.0)
        left = storage_mod.count_states(worker).get(TrialState.RUNNING, 0)
    finally:
        parallel._scan_due = scan_due
        if proxy is not None:
            proxy.kill()
            proxy.wait()
    return {"mode": "postgresql" if mode == "pg" else "grpc proxy -> postgresql",
            "claim": "scan in every claim (before)" if scan_every_claim else "scan once per heartbeat interval (after)",
            "running": running, "finished": finished,
            "claims": claims, "wall_ms_p50": round(1000 * _pct(wall, 0.5), 2), "wall_ms_p99": round(1000 * _pct(wall, 0.99), 2),
            "cpu_ms_mean": round(1000 * sum(cpu) / len(cpu), 2), "calls_per_claim": round(sum(n_calls) / len(n_calls), 1),
            "still_running": left, "cpu_pressure": _pressure()}


def count_cost(server: Any, totals: list[int], repeats: int = 20) -> list[dict[str, Any]]:
    """The budget count (automl.storage.count_states: one GROUP BY over the study's trials) against a study of
    ``total`` trials, inserted with one SQL statement each: how the claim's one scan grows with the study."""
    import optuna
    import sqlalchemy

    from automl import storage as storage_mod

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = storage_mod.open_storage(server.url(server.create_database()))
    study = optuna.create_study(storage=storage, study_name="count")
    rows, have = [], 0
    for total in sorted(totals):
        with storage.engine.begin() as conn:
            conn.execute(sqlalchemy.text(
                "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
                "SELECT g, :sid, 'COMPLETE', now(), now() FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) g"), {"sid": study._study_id, "a": have, "b": total - 1})
            conn.execute(sqlalchemy.text("ANALYZE trials"))
        have = total
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            counts = storage_mod.count_states(study)
            times.append(time.perf_counter() - t)
        assert sum(counts.values()) == total
        rows.append({"trials": total, "count_ms_p50": round(1000 * _pct(times, 0.5), 2), "cpu_pressure": _pressure()})
    return rows


COLUMNS = [("label", "label"), ("storage", "storage"), ("workers", "N"), ("seconds", "trial s"), ("budget", "budget"),
           ("exact", "exact"), ("trials_per_s", "trials/s (all N busy)"), ("ideal_trials_per_s", "ideal N/L"),
           ("efficiency", "% of ideal"), ("makespan_s", "makespan s (ideal)"), ("claims_per_s", "claims/s"),
           ("hold_ms_p50", "lock held p50 ms"), ("hold_ms_p99", "p99 ms"), ("wait_ms_p99", "lock wait p99 ms"),
           ("db_connections_max", "DB conns max"), ("rss_mb_per_worker", "RSS MB/worker"),
           ("worker_cpu_ms_per_trial", "worker CPU ms/trial"), ("pg_cpu_ms_per_trial", "PG CPU ms/trial"),
           ("proxy_cpu_ms_per_trial", "proxy CPU ms/trial")]


def _cell(row: dict[str, Any], key: str) -> str:
    v = row.get(key)
    if key == "efficiency":
        return "" if v is None else f"{100 * v:.0f}%"
    if key == "makespan_s":
        return f"{v} ({row['ideal_makespan_s']:g})"
    if key == "exact":
        return "yes" if v else f"**no** {row['states']}"
    return str(v)


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        out.append("| " + " | ".join(_cell(r, k) for k, _ in COLUMNS) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="4,16", help="comma-separated N")
    ap.add_argument("--seconds", default="0.1,1,10", help="comma-separated trial lengths")
    ap.add_argument("--storage", default="pg", help="comma-separated: pg (direct) and/or grpc (through automl storage-proxy)")
    ap.add_argument("--rounds", type=int, default=None, help="trials per worker (default: by trial length)")
    ap.add_argument("--label", default="", help="e.g. before / after: rows with the same label, storage, N, L are replaced")
    ap.add_argument("--json", type=Path, default=RESULTS / "scale.json")
    ap.add_argument("--md", type=Path, default=None, help="write the table of every row in --json here")
    ap.add_argument("--quick", action="store_true", help="smoke run: N=2, 0.1 s, 3 rounds, nothing written")
    ap.add_argument("--claim-cost", default=None, help="comma-separated running-trial counts: measure one claim's cost "
                    "in one process (no workers) instead; rows go to --cost-json")
    ap.add_argument("--cost-json", type=Path, default=RESULTS / "scale-claim-cost.json")
    ap.add_argument("--count-cost", default=None, help="comma-separated study sizes: time the budget count query")
    args = ap.parse_args(argv)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so a killed benchmark still stops its PostgreSQL
    sys.path.insert(0, str(REPO / "tests"))
    from pg import start

    workers = [2] if args.quick else [int(x) for x in args.workers.split(",")]
    lengths = [0.1] if args.quick else [float(x) for x in args.seconds.split(",")]
    modes = args.storage.split(",")
    server, why = start(max_connections=max(100, 8 * max(workers) + 20), timeout=900)  # nice 19 on a busy machine: slow
    if server is None:
        print(f"cannot start PostgreSQL: {why}", file=sys.stderr)
        return 2
    rows = []
    if args.count_cost:
        try:
            for row in count_cost(server, [int(x) for x in args.count_cost.split(",")]):
                print(json.dumps(row), flush=True)
        finally:
            server.stop()
        return 0
    if args.claim_cost:
        try:
            for mode in modes:
                for r in [int(x) for x in args.claim_cost.split(",")]:
                    for every in (True, False):
                        row = {"label": args.label, **claim_cost(server, r, mode=mode, scan_every_claim=every)}
                        print(json.dumps(row), flush=True)
                        rows.append(row)
        finally:
            server.stop()
        old = json.loads(args.cost_json.read_text()) if args.cost_json.exists() else []
        merged = {(r["label"], r["mode"], r["claim"], r["running"]): r for r in old + rows}
        args.cost_json.write_text(json.dumps(sorted(merged.values(), key=lambda r: (r["label"], r["mode"], r["claim"], r["running"])), indent=1) + "\n")
        return 0
    try:
        for mode in modes:
            for n in workers:
                for length in lengths:
                    row = run_one(server, n, length, mode, rounds=3 if args.quick else args.rounds)
                    row["label"] = args.label
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    finally:
        server.stop()
    if args.quick:
        return 0 if all(r["exact"] and not r["failed_workers"] for r in rows) else 1
    old = json.loads(args.json.read_text()) if args.json.exists() else []
    key = lambda r: (r.get("label", ""), r["storage"], r["workers"], r["seconds"])  # noqa: E731
    merged = {key(r): r for r in old}
    merged.update({key(r): r for r in rows})
    allrows = sorted(merged.values(), key=lambda r: (r.get("label", ""), r["storage"], r["workers"], r["seconds"]))
    args.json.write_text(json.dumps(allrows, indent=1) + "\n")
    if args.md:
        args.md.write_text(table(allrows) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
