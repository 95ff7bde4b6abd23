"""The track map of a session: the circuit's outline from the data directory's GeoJSON, laid
onto the cars' X/Y where the session has telemetry (``analytics.trackmap``); fitted once per
session and data directory (kept on ``Resources``) and cached as JSON; and where the cars are
now (the Redis writer's latest X/Y of a live session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from analytics.errors import NotInSession
from analytics.trackmap import find_outline
from analytics.trackmap import track_map as track_map_payload
from api.analytics_models import TrackMap
from api.live import session_key_name
from api.resources import Resources
from api.services.cache import cached
from api.services.errors import NotFound
from api.services.session_laps import LoadedSession, load
from api.services.telemetry import trace_of

OUTLINES = Path("telemetry/track_outlines")
#: The GeoJSON of every circuit (github.com/bacinger/f1-circuits), under the data directory.
OUTLINES_FILE = OUTLINES / "bacinger-geojson/f1-circuits.geojson"


def outline_feature(data_dir: Path, location: str) -> dict[str, Any] | None:
    """The GeoJSON feature of the circuit at ``location`` (e.g. 'Melbourne')."""
    path = data_dir / OUTLINES_FILE
    if not path.exists():
        return None
    return find_outline(json.loads(path.read_text())["features"], location)


def car_xy(res: Resources, s: LoadedSession) -> np.ndarray | None:
    """One fastest lap of X/Y (the first driver's whose telemetry has it), or None."""
    if not s.data.has_telemetry:
        return None
    for driver in s.data.drivers["driver"]:
        try:
            _, trace = trace_of(s, driver, None, res.settings, 10.0)
        except (NotFound, NotInSession):
            continue
        if trace.x is not None:
            return np.column_stack([trace.x, trace.y])
    return None


def fitted(res: Resources, s: LoadedSession) -> dict[str, Any]:
    """The ``TrackMap`` payload of the session (fitted once per process)."""
    data_dir = res.settings.data_dir
    key = (s.data.session_key, data_dir)
    if key in res.track_maps:
        return res.track_maps[key]
    location = s.data.event.location
    feature = outline_feature(data_dir, location)
    if feature is None:
        raise NotFound(f"no circuit outline for {location} in {data_dir / OUTLINES}")
    result = track_map_payload(s.laps, feature, car_xy(res, s))
    res.track_maps[key] = result
    return result


async def track_map(res: Resources, session: str) -> bytes:
    """The ``TrackMap`` JSON of the session."""

    def compute() -> TrackMap:
        return TrackMap(**fitted(res, load(res, session)))

    return await cached(res.redis, "track", session, "", compute)


async def positions(res: Resources, session: str) -> dict[str, Any]:
    """Each car's latest X/Y as the Redis writer keeps it (``Positions``)."""
    cars = {}
    if res.redis is not None:
        raw = await res.redis.hgetall(session_key_name(session, "positions"))
        for k, v in raw.items():
            c = orjson.loads(v)
            cars[k.decode() if isinstance(k, bytes) else k] = {
                "x": c["x"],
                "y": c["y"],
                "t": c.get("t"),
            }
    return {"session": session, "cars": cars}
