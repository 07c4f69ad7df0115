"""Running independent numpy and Arrow steps on two threads.

bincount, element-wise ufuncs, gathers and Arrow's kernels release the GIL,
so on a machine with two free cores two threads finish a list of such steps
in little more than half the time. Each step computes what it computed
alone, in the same order, so the results do not depend on the threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

__all__ = ["PARALLEL_ROWS", "run", "threads_for"]

#: Rows from which the steps are worth a second thread.
PARALLEL_ROWS = 100_000


def threads_for(n_rows: int, minimum: int | None = None) -> int:
    """2 from ``minimum`` rows (:data:`PARALLEL_ROWS`) with two or more CPUs for this process."""
    limit = PARALLEL_ROWS if minimum is None else minimum
    return 2 if n_rows >= limit and _cpus() > 1 else 1


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run(jobs: Sequence[Callable], threads: int, per_thread: Callable | None = None) -> list:
    """Results of ``job(state)`` for every job, in order; thread i runs ``jobs[i::threads]``.

    ``state`` is ``per_thread()``, made once per thread (a scratch buffer,
    say), or None. The first exception a job raises is raised here, after
    every thread has stopped.
    """
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []

    def work(first: int) -> None:
        try:
            state = per_thread() if per_thread is not None else None
            for i in range(first, len(jobs), threads):
                results[i] = jobs[i](state)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    helpers = [threading.Thread(target=work, args=(i,)) for i in range(1, threads)]
    for t in helpers:
        t.start()
    work(0)
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]
    return results
