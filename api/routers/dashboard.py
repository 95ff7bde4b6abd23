"""What the live dashboard draws beside the live state: the race so far (strategy chart and
race trace) and the race model's input now (the what-if planner posts it to
``/strategies/compare``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PG, Redis_, Res, SessionKey
from api.models import RaceChart, RaceStateIn
from api.services import live_race, race_chart

router = APIRouter(prefix="/sessions", tags=["sessions"])


@router.get(
    "/{session_key}/race-chart", response_model=RaceChart, summary="The race so far, for charts"
)
async def get_race_chart(session_key: SessionKey, conn: PG) -> RaceChart:
    """Every car's laps with its gap at the line (seconds behind the first car to complete the
    lap), tyres and stops; the cars out of the race; the SC, VSC and red-flag periods."""
    return await race_chart.race_chart(conn, session_key)


@router.get(
    "/{session_key}/race-state",
    response_model=RaceStateIn,
    summary="The race now, as the race model takes it",
)
async def get_race_state(session_key: SessionKey, redis: Redis_, res: Res) -> RaceStateIn:
    """The live race as ``POST /strategies/compare`` takes it: running cars in order, gaps,
    tyres, stops, compounds run and pace (from the live degradation fit)."""
    if res.pg is None:
        return await live_race.race_state(redis, None, session_key)
    async with res.pg.connection(timeout=5) as conn:
        return await live_race.race_state(redis, conn, session_key)
