"""Response models of the F1 history endpoints under ``/api/v1`` (calendar, results,
standings, rankings, accuracy). Predictions use ``schemas.winner.RacePrediction``."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class RaceSummary(BaseModel):
    race_id: int
    season: int
    round: int
    race_name: str
    date: dt.date | None = None
    time: str | None = None
    circuit: str | None = None
    location: str | None = None
    country: str | None = None
    sprint_weekend: bool
    status: Literal["scheduled", "completed"]


class PredictionSummary(BaseModel):
    moment: Literal["pre", "post"]
    favourite: str = Field(description="The driver with the highest win chance.")
    favourite_driver_id: int
    win_probability: float = Field(description="The favourite's chance to win, percent.")
    model_version: str


class CalendarRace(RaceSummary):
    winner: str | None = Field(None, description="Winner's name once the race is run.")
    prediction: PredictionSummary | None = Field(
        None, description="Latest stored prediction (after qualifying when there is one)."
    )


class Calendar(BaseModel):
    season: int
    races: list[CalendarRace]


class ResultRow(BaseModel):
    position: int | None = Field(description="Null when not classified.")
    position_text: str | None = None
    driver_id: int
    driver_name: str
    code: str | None = None
    team: str | None = None
    grid: int | None = None
    laps: int | None = None
    time: str | None = None
    points: float | None = None
    status: str | None = None
    fastest_lap_rank: int | None = None


class SessionWeather(BaseModel):
    session: str = Field(description="R, Q, SQ, S, FP1-FP3.")
    air_temp: float | None = None
    track_temp: float | None = None
    humidity: float | None = None
    pressure: float | None = None
    wind_speed: float | None = None
    rainfall: float | None = Field(None, description="Share of the samples with rain, 0-1.")
    samples: int | None = None


class Weather(BaseModel):
    temperature: float | None = Field(None, description="Mean air temperature, °C.")
    track_temperature: float | None = None
    conditions: Literal["dry", "wet", "mixed"] | None = None
    source_session: str = Field(description="The session the summary comes from.")
    sessions: list[SessionWeather]


class RaceResults(RaceSummary):
    results: list[ResultRow]
    sprint_results: list[ResultRow] = Field(default_factory=list)
    weather: Weather | None = Field(
        None, description="From the FastF1 sessions of the weekend where present, else null."
    )


class StandingRow(BaseModel):
    position: int
    points: float
    wins: int
    driver_id: int | None = None
    driver_name: str | None = None
    code: str | None = None
    constructor_id: int | None = None
    team: str | None = None


class Standings(BaseModel):
    season: int
    round: int
    race_id: int
    race_name: str
    kind: Literal["drivers", "constructors"]
    total: int
    standings: list[StandingRow]


class Ranking(BaseModel):
    rank: int
    driver_id: int
    driver_name: str
    code: str | None = None
    team: str | None = None
    elo_rating: float
    championship_points: float
    championship_position: int | None = None
    wins: int
    podiums: int
    starts: int


class Rankings(BaseModel):
    season: int
    after_round: int = Field(description="Ratings and points after this round.")
    total: int
    limit: int
    offset: int
    rankings: list[Ranking]


class RatingSeries(BaseModel):
    id: int
    name: str
    code: str | None = None
    ratings: list[float | None] = Field(description="Rating after each race of ``races``.")


class RatingHistory(BaseModel):
    season: int
    kind: Literal["driver", "constructor"]
    races: list[RaceSummary]
    series: list[RatingSeries]


class Scores(BaseModel):
    win_brier: float
    win_log_loss: float
    top1: float = Field(description="1 when the favourite won (a share under ties).")
    podium_brier: float
    top3: float = Field(description="Share of the podium among the three likeliest.")


class RaceAccuracy(BaseModel):
    race_id: int
    round: int
    race_name: str
    moment: Literal["pre", "post"]
    kind: Literal["live", "backfill"]
    model_version: str
    predicted_winner: str | None = None
    actual_winner: str | None = None
    correct_winner: bool
    brier_score: float
    log_loss: float
    baseline_brier_score: float
    baseline_log_loss: float
    winner_probability: float | None = Field(
        None, description="The chance (percent) the prediction gave the actual winner."
    )
    baseline_winner_probability: float | None = Field(
        None, description="The chance (percent) the baseline gave the actual winner."
    )
    model: Scores
    baseline: Scores
    recorded_at: dt.datetime


class Interval(BaseModel):
    mean: float
    lo: float
    hi: float


class Accuracy(BaseModel):
    season: int
    moment: Literal["pre", "post"]
    baseline: str = Field(
        description="The baseline the model starts from: grid_slot after qualifying, "
        "championship (the championship order's rates) before it; climatology in records "
        "made before the model contained its baseline."
    )
    races_completed: int
    correct_winner_percentage: float | None = None
    top_3_accuracy: float | None = Field(None, description="Mean top-3 hit rate, percent.")
    average_brier_score: float | None = None
    baseline_average_brier_score: float | None = None
    average_log_loss: float | None = None
    baseline_average_log_loss: float | None = None
    baseline_correct_winner_percentage: float | None = None
    baseline_top_3_accuracy: float | None = None
    intervals: dict[str, Interval] = Field(
        default_factory=dict, description="95% bootstrap intervals over races of the model."
    )
    baseline_intervals: dict[str, Interval] = Field(
        default_factory=dict, description="The same of the baseline."
    )
    by_race: list[RaceAccuracy]
