"""Many workers on one study: the names of the first layout, kept importable. The code lives in
:mod:`automl.run` (loop.py: claim and ask/tell; workers.py: processes; locks.py; recovery.py: stale trials and
heartbeats; study.py: worker seeds)."""

from automl.run.locks import FileLock as _FileLock  # noqa: F401
from automl.run.locks import SQLLock as _SQLLock  # noqa: F401
from automl.run.loop import (  # noqa: F401
    POLL_SECONDS,
    STOP,
    WAIT,
    WorkerResult,
    claim,
    claim_lock,
    cores,
    poll_seconds,
    run_trial,
    threads_per_worker,
    work,
)
from automl.run.recovery import heartbeat  # noqa: F401
from automl.run.study import derive_seed, load_for_worker, resume_seed  # noqa: F401
from automl.run.workers import ParallelOutcome, run_workers, shared_between_processes  # noqa: F401
