"""The battle forecast of a session: the stream worker's latest while the session is live,
else the newest battle model (loaded once per artifact, kept on ``Resources``) run over every
lap of the race's laps (``analytics.battles``), as cached JSON."""

from __future__ import annotations

from typing import Any

import orjson

from analytics.battles import battles_from_laps
from api.analytics_models import Battles
from api.live import session_key_name
from api.resources import Resources
from api.services.cache import cached
from api.services.errors import Unavailable
from api.services.session_laps import live_laps, session_for


def battle_model(res: Resources) -> Any:
    """The newest battle model of the model directory; raises ``Unavailable`` when none was
    trained."""
    from strategy import battles

    model_dir = res.settings.model_dir
    folder = battles.latest(model_dir) if model_dir.exists() else None
    if folder is None:
        raise Unavailable(f"no battle model in {model_dir}: run `pitwall battles train`")
    if folder not in res.battle_models:
        res.battle_models[folder] = battles.load(model_dir)
    return res.battle_models[folder]


async def live_forecast(res: Resources, session: str) -> bytes | None:
    """The stream worker's latest forecast of the session as ``Battles`` JSON (``source:
    live``); None when there is none."""
    if res.redis is None:
        return None
    raw = await res.redis.get(session_key_name(session, "battles"))
    if not raw:
        return None
    event = orjson.loads(raw)
    body = {
        "session": session,
        "source": "live",
        "model_version": event.get("model_version"),
        "laps": [{"lap": event["lap"], "pairs": event["pairs"]}],
    }
    return orjson.dumps(body)


async def from_laps(
    res: Resources, session: str, from_lap: int | None, to_lap: int | None
) -> bytes:
    """The forecast at the end of each lap from ``from_lap`` to ``to_lap`` of the race's laps
    (the laps stored so far of a live session), with whether each pass really happened."""

    def compute(live: object) -> Battles:
        model = battle_model(res)
        s = session_for(res, session, live)  # type: ignore[arg-type]
        return Battles(**battles_from_laps(s.laps, model, from_lap, to_lap))

    return await cached(
        res.redis,
        "battles",
        session,
        f"{from_lap}:{to_lap}",
        compute,
        lambda: live_laps(res, session),
    )
