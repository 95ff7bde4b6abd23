"""Garbage-collector settings for pitwall's long-running, latency-minded processes.

CPython's cyclic collector runs every 700 net allocations and, every so often, scans every
tracked object. A process that has loaded FastF1, pandas or a batch of tens of thousands of
events then stalls for milliseconds at a time, which shows in the tail of its latency. These
helpers collect less often and keep what start-up loaded out of every later scan.
"""

from __future__ import annotations

import gc

#: Young-generation threshold (CPython's default is 700) and the two older ones.
GC_THRESHOLD = (10_000, 10, 10)


def raise_gc_thresholds() -> None:
    """Collect less often; thresholds are only ever raised, never lowered."""
    current = gc.get_threshold()
    gc.set_threshold(*(max(c, t) for c, t in zip(current, GC_THRESHOLD, strict=True)))


def freeze_startup_objects() -> None:
    """Collect once, then move every object alive now out of the collector's sight (they are
    still freed by reference counting), and raise the thresholds: call it once set-up is done."""
    gc.collect()
    gc.freeze()
    raise_gc_thresholds()
