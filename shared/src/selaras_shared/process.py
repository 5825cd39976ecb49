"""Settings of a long-running service process (a server, an import and its workers)."""

from __future__ import annotations

import gc


def tune_collector(threshold: int) -> None:
    """Set the garbage collector for a process that has loaded what it runs.

    Everything loaded so far (modules, routes, models, schemas) lives as long as the
    process: frozen, the collector no longer walks it in every full collection. Each
    request, or each batch of an import, allocates thousands of short-lived objects, and
    the default first threshold (700) ran a collection every few requests and a full one
    every few hundred, which made the slowest reads several times slower than the
    median; `threshold` sets how many allocations a first-generation collection waits for.
    """
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(threshold, second, third)
