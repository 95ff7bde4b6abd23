"""The analytics of the race model on real laps and telemetry: 2023 Monaco and Bahrain laps,
2024 Hungary qualifying best laps (NOR vs VER), 2025 Australia car telemetry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import consistency, evolution, head_to_head, pace, sectors, stints
from analytics import telemetry as tel
from analytics.laps import clean_laps
from strategy.laptable import finish_laps, lap_table
from training.history import read_laps

HUN = "telemetry/hun2024q_bestlaps"


@pytest.fixture(scope="module")
def monaco(laps_2023: pd.DataFrame) -> pd.DataFrame:
    return laps_2023[laps_2023["race_id"] == "2023-monaco"]


def test_alonso_race_pace_on_hards_against_verstappen_on_mediums(monaco) -> None:
    dry = monaco[monaco["lap"] <= 50]  # before the rain; ALO on hards, VER on mediums
    assert set(dry[dry["driver"] == "ALO"]["compound"]) == {"HARD"}
    assert set(dry[dry["driver"] == "VER"]["compound"]) == {"MEDIUM"}
    c = clean_laps(dry)
    paired = (
        c[c["driver"] == "ALO"].set_index("lap")["fc"]
        - c[c["driver"] == "VER"].set_index("lap")["fc"]
    ).dropna()
    # Lap for lap Verstappen was a little quicker (the gap grew from 1.3 s to 9 s by lap 40)...
    assert 0.0 < paired.median() < 0.3
    table = pace.race_pace(dry).set_index("driver")
    # ...on the softer tyre: once tyres are accounted for, the two are the class of the field
    # and Alonso's pace gains on Verstappen's.
    assert set(table.index[:2]) == {"ALO", "VER"}
    corrected = table.loc["ALO", "pace"] - table.loc["VER", "pace"]
    assert abs(corrected) < 0.3 and corrected < paired.median()
    assert table.loc["GAS", "gap"] > 0.3
    offset, slope = pace.tyre_model(c)
    assert set(offset) == {"HARD", "MEDIUM", "SOFT"} and 0 < slope["HARD"] < 0.1
    teams = pace.race_pace(dry, by="team")
    assert len(teams) == 10 and teams["gap"].iloc[0] == 0


def test_race_pace_bahrain_2023_red_bull_first(laps_2023) -> None:
    table = pace.race_pace(laps_2023[laps_2023["race_id"] == "2023-bahrain"])
    assert list(table["driver"][:2]) == ["VER", "PER"]
    assert 0.05 < table["gap"].iloc[1] < 0.5


def test_consistency_and_degradation_per_stint(monaco) -> None:
    dry = monaco[monaco["lap"] <= 50]
    table = consistency.consistency(dry).set_index("driver")
    for d in ("ALO", "VER", "OCO"):
        row = table.loc[d]
        assert row["laps"] >= 40 and 0 < row["detrended_std"] <= row["std"] < 1.5
        assert 0.4 < row["within_0_5"] <= 1
    assert table.loc["OCO", "detrended_std"] < table.loc["VER", "detrended_std"]
    assert table.loc["OCO", "within_0_5"] > 0.8
    per_stint = stints.stint_degradation(monaco)
    alo = [s for s in per_stint if s["driver"] == "ALO"]
    assert [s["compound"] for s in alo] == ["HARD", "MEDIUM", "INTERMEDIATE"]
    assert alo[0]["first_lap"] == 1 and alo[0]["last_lap"] == 54
    assert 0 < alo[0]["slope"] < 0.1 and len(alo[0]["fitted"]) == alo[0]["clean_laps"] >= 40
    assert alo[1]["slope"] is None  # one lap on mediums: no slope
    comps = {c["compound"]: c for c in stints.compound_degradation(per_stint)}
    assert comps["HARD"]["stints"] >= 10


def test_track_evolution_and_team_mates(laps_2023) -> None:
    bahrain = laps_2023[laps_2023["race_id"] == "2023-bahrain"]
    evo = evolution.track_evolution(bahrain)
    assert evo["unit"] == "lap" and len(evo["x"]) > 40
    # Relative to each driver's median, tyre wear and rubber pull opposite ways; the curve is
    # centred on zero and bounded.
    assert abs(np.median(evo["delta"])) < 0.5 and evo["slope"] is not None
    h2h = {r["team"]: r for r in head_to_head.head_to_head(bahrain)}
    assert len(h2h) == 10
    rb = h2h["Red Bull Racing"]
    assert rb["finished_ahead"] == "VER" and rb["laps_ahead"]["VER"] > 40
    assert rb["pace_delta"] is not None
    aston = h2h["Aston Martin"]
    assert aston["finished_ahead"] == "ALO"


def test_sectors_and_speed_traps_2024(data_dir: Path) -> None:
    laps = read_laps([data_dir / "laps/Data/grand_prix/all_grand_prix_laps_2024.csv"])
    bahrain = laps[laps["race_id"] == "2024-bahrain"]
    assert sectors.has_sectors(bahrain)
    table = sectors.sector_table(bahrain)
    ver = table.set_index("driver").loc["VER"]
    assert ver["ideal_lap"] <= ver["best_lap"] + 1e-9
    assert 280 < ver["top_speed_st"] < 340
    deltas = sectors.sector_deltas(table, "VER").set_index("driver")
    assert deltas.loc["VER"].abs().max() == 0
    assert deltas.loc["SAR", "median_sector1"] > 0  # a Williams slower than the Red Bull


def _hungary_lap(data_dir: Path, driver: str) -> tuple[pd.DataFrame, float]:
    raw = json.loads((data_dir / HUN / "drivers" / f"{driver}_telemetry.json").read_text())
    car = pd.DataFrame(raw["telemetry"])
    pos = pd.DataFrame(raw["position_data"])
    car["Time"] = pd.to_timedelta(car["Time"])
    tc = car["Time"].dt.total_seconds()
    tp = pd.to_timedelta(pos["Time"]).dt.total_seconds()
    car["X"], car["Y"] = np.interp(tc, tp, pos["X"]), np.interp(tc, tp, pos["Y"])
    return car, float(raw["lap_time_seconds"])


def test_nor_vs_ver_delta_ends_at_their_real_lap_time_difference(data_dir: Path) -> None:
    nor_s, nor_t = _hungary_lap(data_dir, "NOR")
    ver_s, ver_t = _hungary_lap(data_dir, "VER")
    nor, ver = tel.lap_trace(nor_s, nor_t), tel.lap_trace(ver_s, ver_t)
    assert 4300 < ver.length < 4400 and abs(nor.length - ver.length) < 30  # Hungaroring 4.38 km
    d = tel.delta(ver, nor)
    assert d[0] == 0 and d[-1] == pytest.approx(75.227 - 75.273, abs=1e-6)
    # Along the lap the delta follows their official sector times (summary CSV).
    summary = pd.read_csv(data_dir / HUN / "2024_Hungarian_GP_Qualifying_summary.csv")
    sec = summary.set_index("driver")[["sector_1", "sector_2"]].apply(pd.to_timedelta)
    sec = sec.apply(lambda c: c.dt.total_seconds())
    for upto in (["sector_1"], ["sector_1", "sector_2"]):
        t_ver = sec.loc["VER", upto].sum()
        at = np.interp(t_ver, ver.time, ver.distance)
        real = sec.loc["NOR", upto].sum() - t_ver
        assert np.interp(at, ver.distance, d) == pytest.approx(real, abs=0.05)
    corners = tel.corner_speeds(ver)
    assert 8 <= len(corners) <= 14 and min(c["speed"] for c in corners) < 110
    comp = tel.corner_comparison(ver, nor)
    assert all(c["other_speed"] is not None for c in comp)
    mini = tel.mini_sectors({"VER": ver, "NOR": nor}, n=25)
    assert len(mini["fastest"]) == 25 and sum(mini["share"].values()) == pytest.approx(1)
    total = {k: sum(v) for k, v in mini["times"].items()}
    assert total["NOR"] == pytest.approx(nor_t, abs=1e-3) and total["VER"] == pytest.approx(
        ver_t, abs=1e-3
    )
    assert ver.x is not None and np.ptp(ver.x) > 1000


def test_australia_2025_telemetry_with_distance(data_dir: Path) -> None:
    folder = data_dir / "telemetry/aus2025"
    laps = pd.read_parquet(folder / "session/laps_Qualifying.parquet")
    table = finish_laps(lap_table(laps, 2025, event="Australian Grand Prix"))
    best = table.loc[table[table["driver"] == "NOR"]["lap_time"].idxmin()]
    samples = pd.read_parquet(folder / "telemetry/Qualifying/4.parquet")
    lap = samples[samples["lap_number"] == best["lap"]]
    trace = tel.lap_trace(lap, float(best["lap_time"]))
    assert 5200 < trace.length < 5350  # Albert Park, 5.278 km
    assert trace.channels["speed"].max() > 300 and tel.drs_open(trace).any()
    assert 0.5 < tel.full_throttle_share(trace) < 0.9
    assert trace.time[-1] == pytest.approx(best["lap_time"])
    q = pace.quali_pace(table)
    assert q["driver"].iloc[0] == "NOR" and q["gap"].iloc[0] == 0  # pole 1:15.096
    assert q["lap_time"].iloc[0] == pytest.approx(75.096, abs=1e-3)


def test_track_outline_aligned_onto_a_lap_of_car_positions(data_dir: Path) -> None:
    from analytics import trackmap

    geo = json.loads(
        (data_dir / "telemetry/track_outlines/bacinger-geojson/f1-circuits.geojson").read_text()
    )
    feature = next(f for f in geo["features"] if f["properties"]["Location"] == "Melbourne")
    outline = trackmap.project(np.array(feature["geometry"]["coordinates"]))
    seg = np.linalg.norm(np.diff(outline, axis=0), axis=1).sum()
    assert 5000 < seg < 5600  # the outline's own length, in metres: 5.278 km
    samples = pd.read_parquet(data_dir / "telemetry/aus2025/telemetry/Race/1.parquet")
    lap = samples[samples["lap_number"] == 43][["X", "Y"]].to_numpy()
    sim = trackmap.align(outline, lap)
    # FastF1 X/Y are tenths of a metre: the fitted scale says so, within 3 %.
    assert sim.scale == pytest.approx(10.0, rel=0.03)
    assert sim.residual < 100  # mean distance under 10 m from the car's line
    # Every sample of another lap of another car lies near the aligned outline.
    from scipy.spatial import cKDTree

    other = pd.read_parquet(data_dir / "telemetry/aus2025/telemetry/Race/4.parquet")
    pts = other[other["lap_number"] == 50][["X", "Y"]].to_numpy()
    dist, _ = cKDTree(trackmap.resample(sim.apply(outline), 2000)).query(pts)
    assert np.percentile(dist, 95) < 250  # 25 m
