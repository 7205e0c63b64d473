"""The cyclic garbage collector's settings while a dataflow runs: collect as state grows.

CPython runs a young-generation collection every 700 net container allocations.
Each batch of 1,000 raw messages makes about 2,000 containers (an event and its
keyed tuple per message) that stay alive until the batch has gone through the
pipeline, so with the default the collector runs a few times per batch: it
traverses every event in flight (cache misses on each field), promotes them to
the older generations, and every so often walks the whole heap, player state
included. Measured over the pipeline's stages (`bench/stages.py`), that was about
2 us per event, charged mostly to routing, the step that makes those objects.

The pipeline frees its per-message objects by reference counting (its hot path
makes no reference cycles), so the collector has little to find in them. With a
young threshold above what a batch allocates, a collection runs when long-lived
objects (player and model state) have grown by that much, not on every batch.
Collecting only changes when cyclic garbage is freed, never what the pipeline
outputs.

Example:
    >>> before = gc.get_threshold()
    >>> with pipeline_gc():
    ...     gc.get_threshold()[0]
    20000
    >>> gc.get_threshold() == before
    True

"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000
"""Net container allocations between young collections (CPython's default is 700).

Above a batch's ~2,000 and small enough that one young collection stays short
(it traverses at most this many objects).
"""


@contextmanager
def pipeline_gc(young_threshold: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Run the body with the young-generation threshold raised; restore it after.

    Args:
        young_threshold: net container allocations between young collections.

    Returns:
        A context manager; the older generations' thresholds are left as they are.

    """
    previous = gc.get_threshold()
    gc.set_threshold(young_threshold, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
