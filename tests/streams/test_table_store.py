"""The worker's table store: what it reports as complete, and when it forgets.

The offset it reports is where Faust starts re-reading a changelog partition after a
rebalance, so a value too high would lose table updates; these pin each rule.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import faust
import pytest
from faust.stores import by_url
from faust.types import TP

from streams import table_store

ACTIVE = TP("pitwall-worker-sessions-changelog", 0)
OTHER = TP("pitwall-worker-sessions-changelog", 1)


@pytest.fixture
def store() -> table_store.Store:
    app = faust.App("table-store-test", broker="kafka://127.0.0.1:1", store=table_store.URL)
    return app.Table("sessions", partitions=2).data


def _read(store: table_store.Store, tp: TP, offsets: range) -> None:
    """A recovery applying the changelog records of ``tp`` at ``offsets``."""
    events = [
        SimpleNamespace(
            key=f"k{o}",
            value=o,
            message=SimpleNamespace(tp=tp, offset=o, partition=tp.partition, value=b"x"),
        )
        for o in offsets
    ]
    store.apply_changelog_batch(events, lambda k: k, lambda v: v)


def _recovered(store: table_store.Store, active: set[TP], standby: set[TP] = frozenset()) -> None:
    asyncio.run(store.on_recovery_completed(set(active), set(standby)))


def _rebalance(store: table_store.Store, revoked: set[TP] = frozenset()) -> None:
    asyncio.run(store.on_rebalance({ACTIVE, OTHER} - revoked, set(revoked), set()))


def test_the_store_is_the_apps_store(store: table_store.Store) -> None:
    assert by_url(table_store.URL) is table_store.Store
    assert isinstance(store, table_store.Store)


def test_complete_up_to_the_recovery_then_up_to_its_own_acknowledged_writes(
    store: table_store.Store,
) -> None:
    assert store.persisted_offset(ACTIVE) is None  # never recovered: read from the start
    store.set_persisted_offset(ACTIVE, 3)  # not yet known to be active: not counted
    assert store.persisted_offset(ACTIVE) is None
    _read(store, ACTIVE, range(0, 5))
    _recovered(store, {ACTIVE})
    assert store.persisted_offset(ACTIVE) == 4
    store.set_persisted_offset(ACTIVE, 7)
    store.set_persisted_offset(ACTIVE, 6)  # an older acknowledgement arriving late
    assert store.persisted_offset(ACTIVE) == 7


def test_a_rebalance_keeping_the_partition_keeps_the_offset(store: table_store.Store) -> None:
    _read(store, ACTIVE, range(0, 5))
    _recovered(store, {ACTIVE})
    store.set_persisted_offset(ACTIVE, 9)
    _rebalance(store)
    assert store.persisted_offset(ACTIVE) == 9  # Faust reads only what comes after
    store.set_persisted_offset(ACTIVE, 12)  # acknowledged mid-rebalance: not counted
    assert store.persisted_offset(ACTIVE) == 9
    _read(store, ACTIVE, range(10, 13))  # the recovery reads that write back
    _recovered(store, {ACTIVE})
    assert store.persisted_offset(ACTIVE) == 12


def test_a_revoked_partition_is_forgotten(store: table_store.Store) -> None:
    _read(store, ACTIVE, range(0, 5))
    _recovered(store, {ACTIVE})
    _rebalance(store, revoked={ACTIVE})
    assert store.persisted_offset(ACTIVE) is None
    store.set_persisted_offset(ACTIVE, 8)  # a late acknowledgement of a write made before
    assert store.persisted_offset(ACTIVE) is None


def test_a_partition_kept_only_as_standby_is_forgotten(store: table_store.Store) -> None:
    _read(store, ACTIVE, range(0, 5))
    _recovered(store, {ACTIVE})
    _rebalance(store)
    _recovered(store, {OTHER}, standby={ACTIVE})  # Faust drops the data of ACTIVE here
    assert store.persisted_offset(ACTIVE) is None
    assert not [k for k, p in store._key_partition.items() if p == ACTIVE.partition]


def test_standby_reads_never_count(store: table_store.Store) -> None:
    _recovered(store, {ACTIVE}, standby={OTHER})
    _read(store, OTHER, range(0, 50))  # standby records keep arriving after the recovery
    assert store.persisted_offset(OTHER) is None
    _rebalance(store)
    _recovered(store, {ACTIVE}, standby={OTHER})
    assert store.persisted_offset(OTHER) is None
