"""The pure race model on real laps: simulator, degradation, pit loss, hazard, decisions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import get_settings
from schemas.derived import DriverStrategy
from strategy.artifacts import ModelsMissingError, RaceModels, load_models, models_from_tables
from strategy.decisions import recommend
from strategy.degradation import OnlineDegradation
from strategy.fuel import fuel_corrected
from strategy.montecarlo import Field, SimParams, simulate
from strategy.plan_table import plans_for
from training.artifacts import circuit_tables
from training.hazards.pit_loss import ergast_pit_durations, pit_loss_from_laps
from training.hazards.sc_rates import compare_sc_counts, hazards, sc_history
from training.laptime import anchor_table
from training.race_states import state_of

SETTINGS = get_settings()

OFF = np.array([-0.45, 0.0, 0.35, 4.0, 7.0], np.float32)
SLOPE = np.array([0.08, 0.05, 0.03, 0.06, 0.05], np.float32)


def _params(**kw) -> SimParams:
    base = dict(laps_total=50, start_lap=0, pit_loss=20.0, p_sc=0.0, p_vsc=0.0)
    return SimParams(**{**base, **kw}, offsets=OFF, slopes=SLOPE)


def test_zero_noise_simulation_is_a_deterministic_race() -> None:
    """Without noise or safety cars, every run is the same race and matches hand arithmetic."""
    n = 5
    gaps = np.arange(n) * 300.0  # far apart: nobody meets anybody
    plans = [((25, "HARD"),)] * n
    field = Field.build(np.full(n, 90.0), gaps, ["MEDIUM"] * n, np.zeros(n), plans)
    a = simulate(field, _params(noise_sd=0.0), 50, seed=1)
    b = simulate(field, _params(noise_sd=0.0), 50, seed=99)
    assert np.array_equal(a.positions, b.positions) and np.allclose(a.times, b.times)
    fuel = sum(0.055 * (50 - lap) for lap in range(1, 51))
    stint1 = sum(90.0 + 0.0 + 0.05 * age for age in range(25))
    stint2 = sum(90.0 + 0.35 + 0.03 * age for age in range(25))
    expected = stint1 + stint2 + 20.0 + fuel
    assert np.allclose(a.times[0], gaps + expected, rtol=1e-5)
    assert (a.positions[0] == np.arange(1, n + 1)).all()


def test_car_on_much_older_tyres_loses_time() -> None:
    field = Field.build(
        np.full(2, 90.0), np.array([0.0, 400.0]), ["MEDIUM"] * 2, np.array([30.0, 2.0]), [(), ()]
    )
    res = simulate(field, _params(laps_total=20, noise_sd=0.3), 2000, seed=3)
    old, fresh = res.times[:, 0].mean(), res.times[:, 1].mean() - 400.0
    assert old - fresh > 20 * 28 * 0.05 * 0.9  # ~28 laps older at 0.05 s/lap for 20 laps


def test_pit_loss_per_circuit_is_plausible_against_ergast(
    laps_2023: pd.DataFrame, data_dir: Path
) -> None:
    losses = pit_loss_from_laps(laps_2023)
    lane = ergast_pit_durations(data_dir, since=2023)
    common = sorted(set(losses) & set(lane))
    assert len(common) >= 15
    for circuit in common:
        assert 12 < losses[circuit] < 40, circuit
        # Time lost racing is the pit-lane time give or take the bit of lap it replaces.
        assert 0.6 < losses[circuit] / lane[circuit] < 1.4, (
            circuit,
            losses[circuit],
            lane[circuit],
        )


def test_sc_hazard_matches_history(data_dir: Path) -> None:
    history = sc_history(data_dir)
    table, overall = hazards(history)
    assert 0.003 < overall.p_sc < 0.05
    assert table["singapore"].p_sc > overall.p_sc  # the street circuit that always has one
    cmp = compare_sc_counts(history, table)
    assert abs(cmp["history"].sum() - 1) < 1e-9 and abs(cmp["model"].sum() - 1) < 1e-9
    # The simulator reproduces the share of races without a safety car (and without a VSC)
    # within 10 points of the history the hazard came from.
    assert abs(cmp["history"][0] - cmp["model"][0]) < 0.10
    assert abs(cmp["history_vsc"][0] - cmp["model_vsc"][0]) < 0.10


def test_online_degradation_follows_a_real_stint(laps_2023: pd.DataFrame) -> None:
    a = anchor_table(laps_2023, {})
    clean = a[a["clean"]]
    sizes = clean.groupby(["race_id", "driver", "stint"]).size()
    race, driver, stint = sizes[sizes >= 25].index[0]
    stint_laps = clean[(clean.race_id == race) & (clean.driver == driver) & (clean.stint == stint)]
    deg = OnlineDegradation(stint_laps["compound"].iloc[0])
    stds = []
    for row in stint_laps.itertuples():
        deg.update(row.tyre_life, fuel_corrected(row.lap_time, row.lap, row.laps_total))
        stds.append(deg.slope_std)
    ols = np.polyfit(stint_laps["tyre_life"], stint_laps["fc"], 1)[0]
    assert abs(deg.slope - ols) < 0.03
    assert stds[-1] < stds[0]
    pred = deg.predict([stint_laps["tyre_life"].iloc[-1] + 1])
    assert abs(pred[0] - stint_laps["fc"].iloc[-5:].mean()) < 1.5


@pytest.mark.parametrize("source", ["priors", "trained"])
def test_recommend_on_a_real_mid_race_state(
    laps_2023: pd.DataFrame, source: str, trained_dir: Path
) -> None:
    state = state_of(laps_2023[laps_2023["circuit"] == "bahrain"], 20)
    if source == "trained":
        models = load_models(trained_dir)
    else:  # the compound priors alone, as training writes them beside the lap-time model
        models = models_from_tables(circuit_tables(SETTINGS.data_dir))
    assert (models.version == "priors") == (source == "priors")
    recs = recommend(state, models, n_sims=2000, seed=1)
    assert [r.driver for r in recs] == [d.driver for d in state.running()]
    assert abs(sum(r.win_prob for r in recs) - 1) < 1e-6
    assert abs(sum(r.podium_prob for r in recs) - 3) < 1e-6
    for r in recs:
        # Plain values on the per-lap path: each must still pass the topic's schema, as sent.
        DriverStrategy.model_validate(r.as_dict())
        if r.pit_window:
            w = r.pit_window
            assert state.lap < w.open_lap <= w.best_lap <= w.close_lap < state.laps_total
    # On lap 20 of 57 at Bahrain nobody should stay out to the end on the tyres they have.
    assert sum(r.stay_out for r in recs) <= 3
    leader = recs[0]
    assert leader.win_prob > 0.3 and leader.expected_position < 4


def test_sc_makes_pitting_cheaper(laps_2023: pd.DataFrame) -> None:
    bahrain = laps_2023[laps_2023["circuit"] == "bahrain"]
    green = state_of(bahrain, 14)
    models = RaceModels()
    sc = state_of(bahrain, 14)
    sc.track_status = "sc"
    now_green = sum(p.best[1][0][0] == 15 for p in plans_for(green, models) if p.best[1])
    now_sc = sum(p.best[1][0][0] == 15 for p in plans_for(sc, models) if p.best[1])
    assert now_sc > now_green
    assert all(r.pit_under_sc is not None for r in recommend(sc, models, n_sims=200, seed=0))


def test_backtest_cli_prints_the_metrics(trained_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    """The CLI on a held-out slice in the raw FastF1 export format (timedeltas as text)."""
    raw = pd.read_csv(data_dir / "laps/Data/grand_prix/all_grand_prix_laps_2024.csv")
    part = raw[raw["EventName"].isin(["Bahrain Grand Prix", "Japanese Grand Prix"])]
    path = tmp_path / "laps_2024_slice.csv"
    part.to_csv(path, index=False)
    run = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "backtest", "--laps", str(path), "--races",
         "Bahrain", "--race", "Japan", "--n-sims", "200", "--model-dir", str(trained_dir)],
        capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", **_env()},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Back-test on 2 races" in run.stderr
    for text in ("next-lap", "persistence", "EWMA", "stops = real", "habit", "one stop",
                 "sequence in top 3", "rule F1", "rejoin within 1", "place held",
                 "order now", "leader wins", "Targets"):  # fmt: skip
        assert text in run.stdout, text
    bad = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "backtest", "--laps", str(path),
         "--race", "Atlantis"],
        capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", **_env()},
    )  # fmt: skip
    assert bad.returncode == 2 and "No race matches" in bad.stderr
    assert "Bahrain Grand Prix" in bad.stderr  # lists the races the file has


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_loading_never_trains(tmp_path: Path) -> None:
    """No artifact: a clear error naming the command that writes one (nothing is fitted)."""
    with pytest.raises(ModelsMissingError, match="pitwall train"):
        load_models(tmp_path)
    models = RaceModels()  # the race model on constants (unit tests, warm-up)
    assert models.version == "priors" and models.fitted is None
    assert 15 < models.pit_loss("monaco") < 35
    assert models.pit_loss("nowhere") > 0 and models.sc_hazard("nowhere")[0] > 0


def test_two_compound_rule_and_wet_races(laps_2023: pd.DataFrame) -> None:
    """In a dry race a car that has run one dry compound must fit another; not in the wet."""
    state = state_of(laps_2023[laps_2023["circuit"] == "spanish"], 30)
    models = RaceModels()
    for d, plan in zip(state.running(), plans_for(state, models), strict=True):
        used = {c for c in (*d.compounds_used, d.compound) if c in ("SOFT", "MEDIUM", "HARD")}
        for seq in plan.ranked_sequences():
            assert len(used | set(seq)) >= 2, (d.driver, seq)
        if len(used) < 2:
            assert plan.best[1], d.driver  # never "stay out" on the only compound used
    # late in a wet race, on young intermediates, no rule makes a car stop
    state = state_of(laps_2023[laps_2023["circuit"] == "spanish"], 55)
    for d in state.drivers:
        d.compound, d.compounds_used, d.tyre_age = "INTERMEDIATE", (), 3
    recs = recommend(state, models, n_sims=200, seed=2)
    assert all(r.recommended_compound in (None, "INTERMEDIATE") for r in recs)
    assert any(r.stay_out for r in recs)  # no mandatory stop in a wet race


def test_simulator_runs_any_plan_and_retirements() -> None:
    """Three stops are raced lap by lap; retirements leave NaN times and a full classification."""
    plans = [((10, "SOFT"), (20, "SOFT"), (30, "SOFT")), ()]
    field = Field.build(np.full(2, 90.0), np.array([0.0, 600.0]), ["SOFT"] * 2, np.zeros(2), plans)
    res = simulate(field, _params(laps_total=40, noise_sd=0.0), 10, seed=0)
    fresh = sum(90.0 - 0.45 + 0.08 * (age % 10) for age in range(40)) + 3 * 20.0
    fresh += sum(0.055 * (40 - lap) for lap in range(1, 41))
    assert np.allclose(res.times[:, 0], fresh, rtol=1e-5)
    field = Field.build(np.full(20, 90.0), np.arange(20.0), ["MEDIUM"] * 20, np.zeros(20),
                        [()] * 20)  # fmt: skip
    res = simulate(field, _params(laps_total=60, p_dnf=0.002, pace_sd=0.2), 2000, seed=4)
    assert np.array_equal(np.sort(res.positions, axis=1)[0], np.arange(1, 21))
    dnf = res.dnf_prob().mean()
    assert 0.07 < dnf < 0.17  # 1 - 0.998**60 = 0.113
    for pos, gone in zip(res.positions, np.isnan(res.times), strict=True):
        assert sorted(pos[gone]) == list(range(21 - gone.sum(), 21))  # classified last


def test_circuit_names_are_merged(trained_dir: Path) -> None:
    models = load_models(trained_dir)
    assert models.pit_loss("saudi-arabia") == models.pit_loss("saudi-arabian")
    assert models.sc_hazard("Mexican Grand Prix") == models.sc_hazard("mexico-city")
    assert models.key("São Paulo Grand Prix") == "sao-paulo"


def test_car_laps_survive_the_changelog_json_round_trip() -> None:
    """The worker's tables are JSON: NaN (a lap that is not clean) comes back as null, and a
    restarted worker recovering them must read it as NaN again (found by benchmarks/faults.py:
    every strategy update after a worker restart failed on ``math.isnan(None)``)."""
    import math

    import orjson

    from strategy.lapfeatures import CarLaps

    car = CarLaps(lap=[1, 2], lap_time=[80.1, 79.5], fc=[math.nan, 79.0], tyre_life=[1.0, 2.0])
    back = CarLaps.from_dict(orjson.loads(orjson.dumps(car.to_dict())))
    assert math.isnan(back.fc[0]) and back.fc[1] == 79.0 and back.lap == [1, 2]


def test_a_slow_lap_taken_for_the_pace_does_not_keep_later_laps_out():
    """A car's first clean lap after a restart was 36 s slow (2023 Australia): the laps that
    follow agree with each other, so they become its pace rather than outliers forever."""
    import math

    from strategy.lapfeatures import CarLaps

    car = CarLaps()
    times = [118.0] + [82.0 + 0.1 * k for k in range(6)]
    for k, t in enumerate(times, start=20):
        car.append(k, t, True, 2, "HARD", k - 10, None, 5, False, 58)
    assert math.isnan(car.fc[1])  # one lap far from the pace: an outlier
    assert not math.isnan(car.fc[2]) and car.ewm[-1] < 90  # two: the pace now
    # a single slow lap amid a steady pace stays an outlier
    car.append(27, 95.0, True, 2, "HARD", 17, None, 5, False, 58)
    car.append(28, 82.4, True, 2, "HARD", 18, None, 5, False, 58)
    assert math.isnan(car.fc[-2]) and not math.isnan(car.fc[-1])
