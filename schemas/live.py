"""The live-state contract: what the Redis writer keeps per session, and how it is named.

The Redis writer (``consumers/``) keeps one :class:`StandingRow` per car, the session info,
track status, the latest strategy and its history, and the latest degradation per driver; the
API (``/sessions/{key}/live``), the WebSocket gateway's snapshot and the dashboard read them.
Updates go out on :func:`live_channel` as :class:`LiveMessage`.

Keys: ``pitwall:sessions`` (sorted set of session keys by last update), and per session
``pitwall:session:{key}:{part}`` with part ``info``, ``standings`` (hash driver -> row),
``track_status``, ``strategy``, ``strategy_history`` (list), ``degradation`` (hash),
``battles`` (the latest ``f1.battles.v1`` event), ``positions`` (hash driver -> latest X/Y)
and ``line`` (what the timing line has seen: ``strategy.standings.RaceLine`` as JSON).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Sorted set: session key -> epoch seconds of its last update.
SESSIONS = "pitwall:sessions"
#: Points of win/podium history kept per session (one per lap).
HISTORY_CAP = 200

#: Race-control messages kept per session (the newest).
RACE_CONTROL_CAP = 50

LivePart = Literal[
    "info", "standings", "track_status", "strategy", "strategy_history", "degradation",
    "battles", "positions", "race_control", "weather", "line",
]  # fmt: skip
LiveKind = Literal[
    "session", "standings", "track_status", "strategy", "degradation", "battles", "positions",
    "race_control", "weather",
]  # fmt: skip


def session_key_name(session_key: str, part: LivePart) -> str:
    """The Redis key of one part of a session's live state."""
    return f"pitwall:session:{session_key}:{part}"


def live_channel(session_key: str) -> str:
    """The pub/sub channel of a session's live updates."""
    return f"pitwall:live:{session_key}"


class StandingRow(BaseModel):
    """One car in the live timing tower: laps, timing and stints merged.

    ``placed_at`` and ``gaps_at`` are the session times of the events that last set the
    position and the gaps: laps and timing come on different topics, so the newest by session
    time wins, whatever the order they arrive in.
    """

    model_config = ConfigDict(extra="ignore")

    driver: str = Field(description="Three-letter code, e.g. 'VER'.")
    driver_number: str | None = None
    team: str | None = None
    position: int | None = None
    gap_to_leader: float | None = Field(default=None, description="Seconds; None if lapped.")
    interval: float | None = Field(default=None, description="Seconds to the car ahead.")
    lap_number: int | None = Field(default=None, description="Last completed lap.")
    last_lap_time: float | None = None
    compound: str | None = None
    tyre_age: float | None = Field(default=None, description="Laps on the current set.")
    stint: int | None = None
    stops: int | None = None
    pit_in: bool | None = None
    pit_out: bool | None = None
    retired: bool | None = Field(default=None, description="Out of the race (stopped, retired).")
    status: str | None = Field(default=None, description="running, in_pit, stopped or retired.")
    out_lap: int | None = Field(default=None, description="Laps completed when it went out.")
    out_reason: str | None = Field(default=None, description="Why it went out, where known.")
    gap_text: str | None = Field(default=None, description="The gap as shown: '+1 LAP', ...")
    interval_text: str | None = None
    laps_down: int | None = Field(default=None, description="Laps behind the leader.")
    placed_at: float | None = Field(default=None, description="Session time of the position.")
    gaps_at: float | None = Field(default=None, description="Session time of the gaps.")
    gap_old: bool | None = Field(
        default=None,
        description="The gap is old: unconfirmed for a while, or older than the gap of the car "
        "ahead that it contradicts (shown as old, never replaced by another car's).",
    )
    lap_at: float | None = Field(
        default=None, description="Session time at which the last lap was completed."
    )
    line_gap: float | None = Field(
        default=None,
        description="Seconds behind the first car to complete the same lap, at the line "
        "(a lapped car's too): the race trace's point for ``lap_number``.",
    )
    sectors: list[float | None] | None = Field(
        default=None, description="Sector times of the last lap, s."
    )
    sector_marks: list[Literal["overall", "personal"] | None] | None = Field(
        default=None,
        description="Per sector of the last lap: the session's best so far ('overall'), the "
        "car's ('personal'), or neither.",
    )
    best_sectors: list[float | None] | None = Field(
        default=None, description="The car's best sector times, s."
    )
    best_lap_time: float | None = Field(default=None, description="The car's best lap, s.")
    lap_mark: Literal["overall", "personal"] | None = Field(
        default=None, description="The last lap against the session's and the car's bests."
    )


class HistoryPoint(BaseModel):
    """One lap of the win/podium chart: the lap's latest strategy estimate."""

    lap: int
    win: dict[str, float]
    podium: dict[str, float]


class LiveSnapshot(BaseModel):
    """Everything a client needs to draw a session now (the WebSocket's first message)."""

    session_key: str
    known: bool = Field(description="Whether anything of this session is in the live state.")
    updated_at: float | None = Field(default=None, description="Epoch s of the last update.")
    info: dict[str, Any] | None = None
    standings: list[StandingRow] = Field(default_factory=list)
    track_status: dict[str, Any] | None = None
    strategy: dict[str, Any] | None = None
    strategy_history: list[HistoryPoint] = Field(default_factory=list)
    degradation: dict[str, dict[str, Any]] = Field(default_factory=dict)
    race_control: list[dict[str, Any]] = Field(
        default_factory=list, description="The latest race-control messages, oldest first."
    )
    weather: dict[str, Any] | None = Field(default=None, description="The latest sample.")


class LiveMessage(BaseModel):
    """One update on a session's live channel (the gateway adds ``type`` and ``seq``)."""

    kind: LiveKind
    topic: str
    published_at: float = Field(description="When the Redis writer published it, epoch s.")
    data: dict[str, Any]
