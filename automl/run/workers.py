"""``automl run --jobs N``: N worker processes on one study, each running :func:`automl.run.loop.work`, and the
parent that watches them (a worker killed mid-trial is reported and its trial retried by the others)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import optuna

from automl import storage as storage_mod
from automl.errors import AutomlError, StorageError
from automl.run import recovery
from automl.run.loop import claim_lock, poll_seconds, threads_per_worker, work
from automl.run.study import load_for_worker, resume_seed


def shared_between_processes(url: str) -> bool:
    return not (url in ("memory", "inmemory", ":memory:") or url.rstrip("/").endswith(":memory:"))



# -- N worker processes --------------------------------------------------------------------------------
def _child(spec: Any, url: str, budget: int, deadline: float | None, index: int, threads: int, queue: Any, stop: Any,
           parent: int, seed: int | None = None) -> None:
    """Entry point of a worker process (multiprocessing 'spawn')."""
    import sys

    os.environ["OMP_NUM_THREADS"] = str(threads)  # before LightGBM/torch load their OpenMP runtime
    from automl.spec import prepare

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        prepared = prepare(spec)
        study = load_for_worker(prepared, url, index, seed)
        res = work(prepared, study, url, budget=budget, deadline=deadline, threads=threads,
                   stop=lambda: stop.is_set() or os.getppid() != parent)
        queue.put(("done", index, res.added, res.recovered, res.stopped_by))
    except AutomlError as e:
        stop.set()
        queue.put(("error", index, type(e).__name__, str(e), e.exit_code))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - reported to the parent as one line, then re-raised here
        stop.set()
        queue.put(("error", index, type(e).__name__, f"worker {index}: {e.__class__.__name__}: {e}", 1))
        raise



@dataclass
class ParallelOutcome:
    added: int = 0
    recovered: list[int] = field(default_factory=list)
    stopped_by: str = "budget"
    died: list[str] = field(default_factory=list)



def run_workers(
    prepared: Any,
    study: optuna.Study,
    url: str,
    *,
    jobs: int,
    budget: int,
    timeout: float | None = None,
    progress: Any = None,
) -> ParallelOutcome:
    """Start ``jobs`` worker processes on the (already created) study and wait for them.

    ``progress(finished)`` is called about twice a second with the study's finished-trial count. A worker
    killed mid-trial is reported in ``died``; its trial is failed and retried by the workers still alive.
    """
    import multiprocessing as mp
    import queue as queue_mod

    if not shared_between_processes(url):
        raise StorageError(f"--jobs {jobs} needs a storage that processes share (sqlite, postgresql, journal), not {storage_mod.mask(url)}")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    stop = ctx.Event()
    deadline = time.time() + timeout if timeout is not None else None
    threads = threads_per_worker(jobs)
    poll = poll_seconds()
    seed = resume_seed(prepared.spec.seed, study)
    procs = [
        ctx.Process(target=_child, name=f"automl-worker-{i}",
                    args=(prepared.spec, url, budget, deadline, i, threads, q, stop, os.getpid(), seed))
        for i in range(jobs)
    ]
    out = ParallelOutcome()
    errors: list[tuple[str, str, int]] = []
    lock = claim_lock(study, url)
    seen_dead: set[int] = set()

    def drain() -> None:
        while True:
            try:
                msg = q.get_nowait()
            except queue_mod.Empty:
                return
            if msg[0] == "done":
                out.added += msg[2]
                out.recovered += msg[3]
                if msg[4] == "timeout":
                    out.stopped_by = "timeout"
            else:
                errors.append((msg[2], msg[3], msg[4]))

    try:
        for p in procs:
            p.start()
        while True:
            alive = [p.is_alive() for p in procs]  # is_alive() also reaps a dead child
            drain()
            for i, p in enumerate(procs):
                if not alive[i] and i not in seen_dead and p.exitcode is not None and p.exitcode < 0:
                    seen_dead.add(i)
                    out.died.append(f"worker {i} (pid {p.pid}) ended by signal {-p.exitcode}")
                    with lock:
                        out.recovered += recovery.recover_stale_trials(study)
            if progress is not None:
                progress(storage_mod.count_finished(study))
            if not any(alive):
                break
            time.sleep(poll)
        drain()
    except KeyboardInterrupt:
        stop.set()
        for p in procs:
            p.join(timeout=30)
        raise
    finally:
        for p in procs:
            if p.is_alive():
                p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        q.close()
    if errors:
        name, message, code = errors[0]
        from automl import errors as errors_mod

        cls = getattr(errors_mod, name, None)
        if isinstance(cls, type) and issubclass(cls, AutomlError) and not issubclass(cls, errors_mod.StudyFileError):
            raise cls(message)
        err = AutomlError(message)
        err.exit_code = code
        raise err
    finished = storage_mod.count_finished(study)
    if out.died and out.stopped_by != "timeout" and finished < budget:
        raise AutomlError(
            f"{'; '.join(out.died)}: the study holds {finished} of {budget} finished trials; "
            "run the same command again to resume (trials the dead workers left running are retried)"
        )
    return out
