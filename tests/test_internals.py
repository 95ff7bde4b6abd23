"""The guards on the library internals pitwall relies on (``core.compat``): every one holds on
the installed releases, and each catches the change it is there for."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.compat import IncompatibleLibraryError, require_attrs, require_params


def test_every_guard_holds_on_the_installed_releases() -> None:
    from api.gateway import direct
    from producers.live import client
    from schemas import fastbuild
    from streams import faust_patch, table_store

    faust_patch.check_faust()
    table_store.check_store()
    assert client.FeedClient.__mro__[1].__name__ == "SignalRClient"
    assert fastbuild.FAST  # telemetry events built without pydantic's validation
    assert direct.direct_writes_allowed(), f"untested: {direct.untested_releases()}"

    from pitwall.embedded.postgres import _bin
    from pitwall.embedded.redis import EmbeddedRedis

    assert _bin("postgres").endswith("/postgres")
    binary = EmbeddedRedis(Path("/tmp")).command()[0]  # its path only: nothing is started
    assert Path(binary).exists()


class Old:
    def method(self, a, b=1): ...

    def other(self, a, *, extra): ...


def test_a_changed_signature_is_named_with_the_library() -> None:
    assert require_params(Old, "method", ("self", "a"), "lib") is Old.method
    with pytest.raises(IncompatibleLibraryError, match=r"lib .*Old.method.* is not \(self, b\)"):
        require_params(Old, "method", ("self", "b"), "lib")
    with pytest.raises(IncompatibleLibraryError, match="is not"):  # a new required parameter
        require_params(Old, "other", ("self", "a"), "lib")
    with pytest.raises(IncompatibleLibraryError, match=r"Old\.gone is gone"):
        require_params(Old, "gone", ("self",), "lib")
    with pytest.raises(IncompatibleLibraryError, match="has no missing"):
        require_attrs(Old, ["method", "missing"], "lib", "Old")


def test_the_faust_guard_refuses_a_changed_recovery(monkeypatch: pytest.MonkeyPatch) -> None:
    from faust.tables.recovery import Recovery

    from streams import faust_patch

    async def changed(self, consumer, tps, destination, title, extra): ...

    monkeypatch.setattr(Recovery, "_build_highwaters", changed)
    with pytest.raises(faust_patch.UntestedFaustError, match="_build_highwaters"):
        faust_patch.check_faust()


def test_telemetry_events_are_built_alike_without_the_fast_path(monkeypatch) -> None:
    from schemas import EventTime, fastbuild, utcnow

    at = EventTime(session_time=1.0, utc=utcnow())
    fast = fastbuild.telemetry_event("2025-x-R", at, "NOR", speed=300.0, produced_at=at.utc)
    monkeypatch.setattr(fastbuild, "FAST", False)
    slow = fastbuild.telemetry_event("2025-x-R", at, "NOR", speed=300.0, produced_at=at.utc)
    assert slow == fast and slow.model_dump() == fast.model_dump()
