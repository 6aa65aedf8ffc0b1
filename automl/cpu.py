"""How many CPU cores a process may use, and how many threads each of N workers gets (so LightGBM's and torch's
threads never oversubscribe the cores: a spinning OpenMP wait made an oversubscribed fit 150x slower)."""

from __future__ import annotations

import os


def cores() -> int:
    """CPU cores this process may use (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_worker(jobs: int) -> int:
    """Threads per worker when ``jobs`` workers share this process's cores (at least 1)."""
    return max(1, cores() // max(1, jobs))
