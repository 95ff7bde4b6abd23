"""The one-line summaries ``pitwall tail`` prints, one per event type."""

from __future__ import annotations

from pitwall.event_lines import SUMMARIES, lap_time, line, summary
from schemas import (
    ALL_TOPICS,
    DegradationEvent,
    DlqEvent,
    DriverStrategy,
    EventTime,
    FeaturesEvent,
    LapEvent,
    PitWindow,
    StrategyEvent,
    TelemetryEvent,
    TimingEvent,
    TrackState,
    WeatherEvent,
)

AT = EventTime(session_time=3600 + 12 * 60 + 5.5)
S = "2023-monaco-R"


def test_lap_times_read_as_on_a_timing_screen() -> None:
    assert lap_time(96.296) == "1:36.296"
    assert lap_time(58.1) == "58.100"
    assert lap_time(59.9996) == "1:00.000"
    assert lap_time(None) == "no time"


def test_every_topic_has_a_summary() -> None:
    assert set(SUMMARIES) == {t.model for t in ALL_TOPICS}


def test_lap() -> None:
    lap = LapEvent(
        session_key=S,
        event_time=AT,
        driver="VER",
        lap_number=12,
        lap_time=96.296,
        compound="SOFT",
        tyre_life=5.0,
        position=1,
    )
    assert line(lap) == "1:12:05  2023-monaco-R  VER L12 1:36.296 SOFT(5) P1"
    assert line(lap, with_session=False) == "1:12:05  VER L12 1:36.296 SOFT(5) P1"
    pit = lap.model_copy(update={"pit_in": True, "lap_time": None, "position": None})
    assert summary(pit) == "VER L12 no time SOFT(5) P? PIT-IN"


def test_timing_weather_and_telemetry() -> None:
    timing = TimingEvent(
        session_key=S,
        event_time=AT,
        driver="HAM",
        position=3,
        gap_to_leader=5.1234,
        interval_text="1L",
    )
    assert summary(timing) == "HAM P3 gap +5.123 int 1L"
    weather = WeatherEvent(
        session_key=S,
        event_time=AT,
        air_temp=24.14,
        track_temp=42.0,
        humidity=55.0,
        rainfall=True,
        wind_speed=1.25,
    )
    assert summary(weather) == "weather air 24.1°C track 42.0°C humidity 55% wind 1.2 m/s rain"
    car = TelemetryEvent(
        session_key=S,
        event_time=AT,
        driver="LEC",
        speed=301.4,
        gear=8,
        throttle=100.0,
        brake=False,
        drs=12,
    )
    assert summary(car) == "LEC 301 km/h gear 8 throttle 100% DRS 12"
    braking = car.model_copy(update={"brake": True, "throttle": 0.0, "x": 1234.4, "y": -56.6})
    assert summary(braking) == "LEC 301 km/h gear 8 throttle 0% DRS 12 brake at (1234, -57)"


def test_derived_events() -> None:
    ver_lap_12 = {
        "session_key": S,
        "event_time": AT,
        "driver": "VER",
        "lap_number": 12,
        "compound": "SOFT",
        "tyre_life": 5,
    }
    features = FeaturesEvent(
        **ver_lap_12,
        fuel_corrected_lap_time=95.1,
        stint_pace=95.25,
        position=1,
    )
    assert summary(features) == ("VER L12 SOFT(5) P1 fuel-corrected 1:35.100 stint pace 1:35.250")
    deg = DegradationEvent(
        **ver_lap_12,
        slope=0.0851,
        slope_std=0.0102,
        laps_in_fit=9,
        predicted_laps=[95.3, 95.4, 95.5, 95.6],
    )
    assert summary(deg) == (
        "VER L12 SOFT(5) +0.085 s/lap (±0.010, 9 laps) next 1:35.300 1:35.400 1:35.500"
    )


def test_strategy_names_the_top_three_and_every_pit_now_call() -> None:
    def driver(code: str, pos: int, win: float, **kw: object) -> DriverStrategy:
        return DriverStrategy(driver=code, position=pos, win_prob=win, podium_prob=win, **kw)

    strategy = StrategyEvent(
        session_key=S,
        event_time=AT,
        lap=20,
        laps_total=78,
        track_status=TrackState.SC,
        trigger="track_status",
        recommendations=[
            driver("SAI", 4, 0.01),
            driver("LEC", 5, 0.0, pit_now=True, recommended_compound="HARD"),
            driver("OCO", 3, 0.02),
            driver(
                "VER",
                1,
                0.8,
                pit_window=PitWindow(open_lap=30, close_lap=40, best_lap=34),
                recommended_compound="HARD",
            ),
            driver("ALO", 2, 0.15),
        ],
    )
    assert summary(strategy) == (
        "strategy L20/78 SC (track_status): VER P1 win 80% pit L30-40 for HARD; "
        "ALO P2 win 15% stay out; OCO P3 win 2% stay out; LEC P5 win 0% PIT NOW for HARD"
    )


def test_dead_letter() -> None:
    dlq = DlqEvent(
        session_key=S,
        event_time=AT,
        source="f1.laps.v1",
        reason="invalid JSON: eof",
        raw_b64="",
        message_key="2023-monaco-R:VER",
    )
    assert summary(dlq) == "dead letter from f1.laps.v1 2023-monaco-R:VER: invalid JSON: eof"


def test_battles_name_the_likeliest_passes() -> None:
    from schemas import BattlePair, BattlesEvent

    def pair(ahead: str, behind: str, pos: int, gap: float, p3: float) -> BattlePair:
        return BattlePair(position=pos, ahead=ahead, behind=behind, gap=gap,
                          p_pass_1=p3 / 3, p_pass_3=p3, p_pass_5=p3)  # fmt: skip

    event = BattlesEvent(
        session_key="2023-bahrain-R",
        event_time=EventTime(session_time=4000.0),
        lap=37,
        pairs=[
            pair("VER", "PER", 2, 11.6, 0.001),
            pair("HAM", "ALO", 6, 0.621, 0.37),
            pair("GAS", "TSU", 12, 0.84, 0.11),
        ],
    )
    assert summary(event).startswith("battles L37: ALO on HAM P6 +0.621 37% in 3; TSU on GAS")
