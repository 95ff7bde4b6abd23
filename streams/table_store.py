"""The worker's table store: Faust's in-memory store that knows how far its data is complete,
so a rebalance that leaves a worker its partitions re-reads nothing.

Faust's in-memory store reports no persisted offset. After every rebalance a worker therefore
re-reads each changelog partition it keeps from where its previous recovery ended: every
update it wrote itself since then, hours of a live race. It processes no event until that
read is done, and on the embedded broker the read took from seconds to minutes
(``benchmarks/RESULTS.md``, 2026-12-03). A worker joining the group stalled the one that
kept the work.

This store reports, for a partition it holds as active, the changelog offset up to which its
data is complete: the end of its last completed recovery, then each of its own writes as the
broker acknowledges it. It forgets a partition whenever Faust may drop or miss that
partition's data (revoked, not active after a recovery, cleared), so a partition that comes
back is read again in full, as Faust would. Standby reads never count: Faust's in-memory
store drops standby data when a recovery completes.

Use :data:`URL` as the app's ``store``; importing this module registers its scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from faust.stores import STORES, memory
from faust.types import TP, EventT

from core.compat import require_params

SCHEME = "pitwall-memory"
#: The ``store`` setting of an app whose tables use this store.
URL = f"{SCHEME}://"


class Store(memory.Store):
    """In-memory table storage that remembers up to which changelog offset it is complete."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._complete: dict[TP, int] = {}  # data complete up to this changelog offset
        self._read: dict[TP, int] = {}  # newest changelog offset a recovery applied
        self._active: set[TP] = set()  # partitions written by this worker now

    def persisted_offset(self, tp: TP) -> int | None:
        """The changelog offset up to which this store's data of ``tp`` is complete, or
        None when ``tp`` must be read from its start."""
        return self._complete.get(tp)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        """Faust's call when the broker acknowledged this worker's write to ``tp`` at
        ``offset``; counted only while ``tp`` is one this worker holds as active."""
        if tp in self._active and offset > self._complete.get(tp, -1):
            self._complete[tp] = offset

    def apply_changelog_batch(
        self,
        batch: Iterable[EventT],
        to_key: Callable[[Any], Any],
        to_value: Callable[[Any], Any],
    ) -> None:
        events = list(batch)
        super().apply_changelog_batch(events, to_key, to_value)
        for event in events:
            tp = event.message.tp
            if event.message.offset > self._read.get(tp, -1):
                self._read[tp] = event.message.offset

    async def on_rebalance(
        self,
        assigned: set[TP],
        revoked: set[TP],
        newly_assigned: set[TP],
        generation_id: int = 0,
    ) -> None:
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        self._active.clear()  # until this rebalance's recovery has completed
        for tp in revoked:
            self._forget(tp)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)  # drops non-active data
        for tp in set(self._complete) | set(self._read):
            if tp not in active_tps:
                self._forget(tp)
        for tp in active_tps:
            done = max(self._complete.get(tp, -1), self._read.get(tp, -1))
            if done >= 0:
                self._complete[tp] = done
        self._active = set(active_tps)

    def _clear(self) -> None:
        super()._clear()
        self._complete.clear()
        self._read.clear()
        self._active.clear()

    def _forget(self, tp: TP) -> None:
        self._complete.pop(tp, None)
        self._read.pop(tp, None)
        self._active.discard(tp)


#: The methods of Faust's in-memory store this one overrides, with their parameters.
OVERRIDES = {
    "persisted_offset": ("self", "tp"),
    "set_persisted_offset": ("self", "tp", "offset"),
    "apply_changelog_batch": ("self", "batch", "to_key", "to_value"),
    "on_rebalance": ("self", "assigned", "revoked", "newly_assigned", "generation_id"),
    "on_recovery_completed": ("self", "active_tps", "standby_tps"),
    "_clear": ("self",),
}


def check_store() -> None:
    """IncompatibleLibraryError unless Faust's store still has what :class:`Store` overrides."""
    for name, params in OVERRIDES.items():
        require_params(memory.Store, name, params, "faust-streaming")


check_store()
STORES.aliases.setdefault(SCHEME, f"{__name__}:Store")
