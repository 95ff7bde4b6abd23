"""Loading a past session through FastF1: from the cache in the data directory offline,
or from F1's servers online for users who have access.

Offline needs two workarounds (see ../shared/data/README.md): the cache is copied to a
writable place and enabled with ``ignore_version=True`` (its pickles are an older cache
format), and the season schedule is served from ``fastf1_schedule/`` instead of the network.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.compat import require_attrs, require_params
from core.settings import Settings
from replay.catalog import (
    SESSION_CODES,
    EventInfo,
    cached_sessions,
    find_event,
    load_schedule,
    session_code,
)
from replay.errors import CorruptCacheError, ReplayError, UnknownSessionError
from replay.parquet_source import (
    dataset_files,
    empty_stream,
    find_dataset,
    load_parquet_session,
)
from schemas.session_keys import session_key

log = logging.getLogger(__name__)


@dataclass
class LoadedSession:
    """A FastF1 session with what the timeline needs beyond ``Session.laps``."""

    session: Any  # fastf1.core.Session
    event: EventInfo
    code: str
    session_key: str
    stream_data: pd.DataFrame  # Time, Driver (number), Position, GapToLeader, Interval...
    lap_count: dict[str, list[Any]] | None
    cache_files: list[Path]
    telemetry: pd.DataFrame | None = None


def _data_cache(settings: Settings) -> Path:
    return settings.data_dir / "fastf1_cache" / "cache"


def _schedule_dir(settings: Settings) -> Path:
    return settings.data_dir / "fastf1_schedule"


def _working_cache(settings: Settings) -> Path:
    """A writable copy of the data directory's FastF1 cache (FastF1 writes into it)."""
    target = settings.fastf1_cache_dir or (settings.state_dir / "fastf1_cache")
    source = _data_cache(settings)
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for src in source.rglob("*"):
            dst = target / src.relative_to(source)
            if src.is_dir():
                dst.mkdir(exist_ok=True)
            elif not dst.exists() or dst.stat().st_size != src.stat().st_size:
                shutil.copy2(src, dst)
                dst.chmod(0o644)
    return target


_configured: tuple[Path, bool] | None = None


def _configure_fastf1(settings: Settings) -> Path:
    """Enable the cache (and offline mode with a local schedule) once per process."""
    global _configured
    import fastf1
    import fastf1.events
    from fastf1.req import Cache

    cache = _working_cache(settings)
    want = (cache, settings.fastf1_online)
    if _configured == want:
        return cache
    fastf1.set_log_level("ERROR")  # FastF1's own handler
    # and what reaches ours: FastF1's logger passes every record, down to DEBUG tracebacks for
    # the Ergast and weather data an offline cache lacks, on to the root logger's handlers
    logging.getLogger("fastf1").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        Cache.enable_cache(str(cache), ignore_version=True)
    Cache.offline_mode(not settings.fastf1_online)
    if not settings.fastf1_online:
        schedule_dir = _schedule_dir(settings)
        # FastF1's private parts this relies on: its schedule URL and its request function.
        require_attrs(fastf1.events, ["_SCHEDULE_BASE_URL"], "fastf1", "fastf1.events")
        original = getattr(Cache, "_pitwall_original_get", None) or require_params(
            Cache, "requests_get", ("url",), "fastf1"
        )
        base_url = fastf1.events._SCHEDULE_BASE_URL

        def requests_get(url: str, **kwargs: Any) -> Any:
            if isinstance(url, str) and url.startswith(base_url):
                local = schedule_dir / url.rsplit("/", 1)[1]
                if local.exists():
                    return types.SimpleNamespace(text=local.read_text(), status_code=200)
            return original(url, **kwargs)

        Cache._pitwall_original_get = original  # type: ignore[attr-defined]
        Cache.requests_get = staticmethod(requests_get)  # type: ignore[method-assign]
    _configured = want
    return cache


def session_cache_dir(cache: Path, event: EventInfo, session_name: str) -> Path | None:
    """The cache folder of one session, e.g. 2023/2023-05-28_Monaco_Grand_Prix/..._Race."""
    year_dir = cache / str(event.year)
    event_dirs = [d for d in year_dir.glob(f"*_{event.event_name.replace(' ', '_')}") if d.is_dir()]
    for event_dir in event_dirs:
        for d in event_dir.iterdir():
            if d.is_dir() and d.name.split("_", 1)[1].replace("_", " ") == session_name:
                return d
    return None


def check_cache_files(folder: Path) -> list[Path]:
    """Unpickle every cache file of a session; raise CorruptCacheError naming a bad one."""
    files = sorted(folder.glob("*.ff1pkl"))
    for f in files:
        try:
            with open(f, "rb") as fh:
                obj = pickle.load(fh)
            if not isinstance(obj, dict) or "data" not in obj:
                raise ValueError("not a FastF1 cache entry (no 'data' key)")
        except Exception as exc:
            raise CorruptCacheError(
                f"cache file {f} is unreadable ({type(exc).__name__}: {exc}). Nothing was "
                "published. Restore it from the data directory or delete it to re-download."
            ) from exc
    return files


def available_listing(settings: Settings, year: int) -> str:
    """Human list of the sessions the offline cache holds for ``year``."""
    cached = cached_sessions(_data_cache(settings), year)
    if not cached:
        years = sorted(p.name for p in _data_cache(settings).glob("[0-9]*"))
        return f"none for {year} (cached seasons: {', '.join(years) or 'none'})"
    return "; ".join(
        f"{ev.split('_', 1)[1].replace('_', ' ')}: {', '.join(s)}" for ev, s in cached.items()
    )


@dataclass
class ResolvedSession:
    """Where a requested session lives, checked before anything is loaded or published."""

    event: EventInfo
    code: str
    session_name: str
    session_key: str
    folder: Path | None
    files: list[Path]
    source: str = "fastf1"  # or "parquet": an export with car telemetry (replay.parquet_source)

    def fingerprint(self) -> str:
        """Changes whenever a cache file of the session changes (for derived caches)."""
        h = hashlib.sha1(self.session_key.encode())
        for f in self.files:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        return h.hexdigest()[:16]


def resolve_session(year: int, event: str, session: str, settings: Settings) -> ResolvedSession:
    """Find a session in the schedule and the cache; raise a clear error if it is not there."""
    code = session_code(session)
    session_name = SESSION_CODES[code]
    try:
        info = find_event(load_schedule(_schedule_dir(settings), year), event)
    except UnknownSessionError as exc:
        raise UnknownSessionError(
            f"{exc}.\nSessions in the offline cache: {available_listing(settings, year)}"
        ) from None
    if session_name not in info.sessions:
        raise UnknownSessionError(
            f"{info.event_name} {year} has no {session_name}; it had: {', '.join(info.sessions)}"
        )
    cache = _configure_fastf1(settings)
    folder = session_cache_dir(cache, info, session_name)
    files: list[Path] = []
    export = find_dataset(settings, info, session_name) if folder is None else None
    if export is not None:
        key = session_key(year, info.event_name, code)
        files = dataset_files(export, session_name)
        return ResolvedSession(info, code, session_name, key, export, files, source="parquet")
    if folder is None:
        if not settings.fastf1_online:
            raise UnknownSessionError(
                f"{year} {info.event_name} {session_name} is not in the offline FastF1 cache.\n"
                f"Sessions in the cache: {available_listing(settings, year)}.\n"
                "With internet access (and an F1 TV login where FastF1 needs one), set "
                "PITWALL_FASTF1_ONLINE=1 to download it."
            )
    else:
        files = check_cache_files(folder)
    return ResolvedSession(
        info, code, session_name, session_key(year, info.event_name, code), folder, files
    )


def load_session(
    year: int, event: str, session: str, settings: Settings, timing_stream: bool = True
) -> LoadedSession:
    """Load one session with laps, timing stream, track status, messages and weather
    (``timing_stream=False``: without the position/gap stream, which analytics do not use)."""
    resolved = resolve_session(year, event, session, settings)
    info, code, session_name, folder, files = (
        resolved.event,
        resolved.code,
        resolved.session_name,
        resolved.folder,
        resolved.files,
    )
    if resolved.source == "parquet" and folder is not None:
        shim = load_parquet_session(info, session_name, folder)
        return LoadedSession(
            session=shim,
            event=info,
            code=code,
            session_key=resolved.session_key,
            stream_data=empty_stream(),
            lap_count=None,
            cache_files=files,
            telemetry=shim.telemetry,
        )
    import fastf1
    from fastf1 import _api

    try:
        ses = fastf1.get_session(year, info.round, session_name)
        ses.load(laps=True, telemetry=False, weather=True, messages=True)
    except Exception as exc:
        raise ReplayError(
            f"FastF1 could not load {year} {info.event_name} {session_name}: {exc}"
        ) from exc
    if ses.laps is None or len(ses.laps) == 0:
        raise CorruptCacheError(
            f"{year} {info.event_name} {session_name}: FastF1 returned no laps "
            f"(cache folder: {folder}). Nothing was published."
        )
    try:
        stream_data = (
            _api._extended_timing_data(ses.api_path)[1] if timing_stream else empty_stream()
        )
    except Exception as exc:
        raise CorruptCacheError(f"timing stream unreadable for {info.event_name}: {exc}") from exc
    try:
        lap_count = _api.lap_count(ses.api_path) if code in ("R", "S") else None
    except Exception:
        lap_count = None
    return LoadedSession(
        session=ses,
        event=info,
        code=code,
        session_key=session_key(year, info.event_name, code),
        stream_data=stream_data,
        lap_count=lap_count,
        cache_files=files,
    )
