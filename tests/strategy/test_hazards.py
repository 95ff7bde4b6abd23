"""Fitted hazards on real data: what each history table says, the models fitted from it, the
prediction functions the engine calls, and the held-out evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from strategy.artifacts import RaceModels
from strategy.circuits import canonical_circuit
from strategy.hazards import (
    HazardModels,
    compound_delta,
    dnf_probability,
    overcut_probability,
    pit_loss,
    sc_vsc_probability,
    undercut_probability,
    yellow_window,
)
from training.hazards import fit_hazards
from training.hazards.evaluate import evaluate
from training.hazards.neutralisations import FEATURES as SC_FEATURES
from training.hazards.neutralisations import fit_lap_hazard, race_laps
from training.hazards.pit_loss import fit_pit_loss, pit_loss_from_laps, stop_losses
from training.hazards.retirements import binomial_rows, car_races, team_history
from training.hazards.undercut import attempts
from training.history import ergast_table, ergast_tables, lap_files, read_laps

#: One setting per model: the tests check the plumbing, not the choice (that runs in
#: ``pitwall hazards evaluate``).
SMALL = {
    "sc": {"prior": (800.0,), "window": (2,), "C": (0.3,)},
    "retirement": {"circuit_prior": (3000.0,), "team_prior": (1500.0,), "C": (1.0,)},
    "pit_loss": {"seasons": (2,), "prior": (10.0,), "df": (4.0,)},
    "undercut": {"C": (0.3,), "calibration": ("platt",)},
}


@pytest.fixture(scope="module")
def laps(data_dir: Path) -> pd.DataFrame:
    return read_laps(lap_files(data_dir, [2022, 2023, 2024]))


@pytest.fixture(scope="module")
def ergast(data_dir: Path) -> dict[str, pd.DataFrame]:
    return ergast_tables(data_dir)


@pytest.fixture(scope="module")
def models(laps: pd.DataFrame, ergast: dict[str, pd.DataFrame]) -> HazardModels:
    return fit_hazards(laps, ergast, [2022, 2023], as_of=(2024, 1), grids=SMALL)


def test_sc_and_vsc_starts_from_the_leaders_laps_2023_australia(laps: pd.DataFrame) -> None:
    f = race_laps(laps[laps["race_id"] == "2023-australian"]).set_index("lap")
    assert list(f.index[f["sc_start"]]) == [1, 7, 54]
    assert list(f.index[f["vsc_start"]]) == [18]
    # Laps 2-3 ran on under the first SC; lap 9, after the red flag, is a racing lap again.
    assert not f.loc[2, "sc_at_risk"] and not f.loc[3, "sc_at_risk"]
    assert f.loc[4, "sc_at_risk"] and f.loc[9, "sc_at_risk"]
    assert f.loc[9, "restart"] == 1.0 and f.loc[30, "restart"] == 0.0
    assert f["wet"].max() == 0.0  # a dry race


def test_sc_starts_agree_with_ergasts_deployments_2023(laps: pd.DataFrame, data_dir: Path) -> None:
    f = race_laps(laps[(laps["season"] == 2023) & ~laps["sprint"]])
    starts = f[f["sc_start"]]
    ours = set(zip(starts["race_id"], starts["lap"], strict=True))
    sc = ergast_table(data_dir, "safety_cars")
    sc = sc[sc["Race"].str.startswith("2023 ")]
    names = {r.split("-", 1)[1]: r for r in f["race_id"].unique()}
    matched = 0
    for race, deployed in zip(sc["Race"], sc["Deployed"], strict=True):
        race_id = names.get(canonical_circuit(race[5:]))
        if race_id and any((race_id, deployed + d) in ours for d in (-1, 0, 1)):
            matched += 1
    assert len(sc) == 17 and matched >= 15, (matched, sorted(ours))
    # And none of ours is missing from Ergast's list by more than a lap.
    assert len(ours) <= len(sc)


def test_wet_share_is_known_before_the_lap(laps: pd.DataFrame) -> None:
    f = race_laps(laps[laps["race_id"] == "2023-dutch"]).set_index("lap")
    # Rain from lap 1: most of the field pitted for intermediates at the end of lap 1-3.
    assert f.loc[1, "wet"] == 0.0 and f.loc[5, "wet"] > 0.5
    assert f.loc[30, "wet"] == 0.0


def test_lap_one_and_yellow_flags_raise_the_sc_hazard(laps: pd.DataFrame) -> None:
    f = race_laps(laps[(laps["season"] <= 2023) & ~laps["sprint"]])
    h = fit_lap_hazard(f, "sc", SC_FEATURES, prior=800.0, window=2, C=1.0)
    coef = dict(zip(h.model.features, h.model.coef, strict=True))
    assert coef["lap1"] > 0 and coef["yellows"] > 0
    quiet = h.prob("bahrain", 20, 0.0, 0.0, False)
    assert h.prob("bahrain", 1, 0.0, 0.0, False) > 2 * quiet
    assert h.prob("bahrain", 20, 0.0, 2.0, False) > 2 * quiet


def test_retirements_from_ergast_statuses(ergast: dict[str, pd.DataFrame]) -> None:
    cars = car_races(ergast)
    aus = cars[(cars["season"] == 2023) & (cars["circuit"] == "australian")].set_index("driver")
    assert aus.loc["ALB", "retired"] and aus.loc["ALB", "laps"] == 6
    assert not aus.loc["ALB", "mechanical"]  # an accident
    assert aus.loc["RUS", "mechanical"]  # engine
    assert aus.loc["LEC", "retired"] and aus.loc["LEC", "laps"] == 0  # lap-1 collision
    assert not aus.loc["VER", "retired"]
    lapped = cars[cars["status"].str.match(r"\+\d+ Lap")]
    assert len(lapped) > 100 and not lapped["retired"].any()
    rows = binomial_rows(aus.reset_index())
    assert rows["events"].sum() == aus["retired"].sum()
    assert rows["trials"].sum() == (aus["laps"] + aus["retired"]).sum()


def test_team_reliability_uses_only_earlier_rounds(ergast: dict[str, pd.DataFrame]) -> None:
    hist = team_history(car_races(ergast).query("season >= 2022"))
    rb = hist[(hist["season"] == 2023) & (hist["team"] == "red_bull")].drop_duplicates("round")
    assert rb.iloc[0]["team_e"] == 0 and rb.iloc[0]["team_n"] == 0
    cars = car_races(ergast)
    k = rb.iloc[5]
    earlier = cars[
        (cars["season"] == 2023) & (cars["team"] == "red_bull") & (cars["round"] < k["round"])
    ]
    assert k["team_e"] == earlier["mechanical"].sum()
    assert k["team_n"] == (earlier["laps"] + earlier["retired"]).sum()


def test_pit_loss_under_sc_and_vsc_costs_less_than_green(laps: pd.DataFrame) -> None:
    train = laps[(laps["season"] <= 2023) & ~laps["sprint"]]
    stops = stop_losses(train)
    assert set(stops["status"]) == {"green", "sc", "vsc"}
    green = stops[stops["status"] == "green"]
    medians = pit_loss_from_laps(train)
    assert medians["monaco"] < medians["emilia-romagna"]  # a short pit lane, a long one
    assert green.groupby("circuit")["loss"].median()["bahrain"] == pytest.approx(medians["bahrain"])
    m = fit_pit_loss(stops, seasons=2, prior=10.0, df=4.0)
    for status in ("sc", "vsc"):
        assert 0.3 < m.factor[status] < 0.9, m.factor
    med, sd = m.distribution("bahrain")
    assert 18 < med < 30 and 0.3 < sd < 6
    assert m.distribution("bahrain", "sc")[0] < med
    assert m.distribution("nowhere") == pytest.approx(tuple(m.overall))


def test_undercut_attempts_in_the_lap_data(laps: pd.DataFrame) -> None:
    a = attempts(laps[(laps["season"] == 2023) & ~laps["sprint"]])
    assert {"undercut", "overcut"} == set(a["kind"])
    assert (a["gap"] > 0).all() and (a["gap"] <= 5).all()
    assert a["response"].between(1, 6).all()
    # 2023 Spain: Albon pits on lap 37, Bottas 1.4 s ahead stays out until lap 39; once both
    # have stopped Albon is ahead.
    one = a[(a["race_id"] == "2023-spanish") & (a["kind"] == "undercut") & (a["lap"] == 37)]
    assert list(one[["pitter", "stayer", "response", "success"]].iloc[0]) == ["ALB", "BOT", 2, 1]
    assert one["gap"].iloc[0] == pytest.approx(1.368)
    # No attempt spans a neutralised lap of either car.
    idx = laps.set_index(["race_id", "driver", "lap"])["neutralised"]
    for r in a.itertuples():
        for car in (r.pitter, r.stayer):
            for lap in range(int(r.lap) - 1, int(r.lap + r.response) + 2):
                assert not idx[(r.race_id, car, lap)]


def test_fitted_models_survive_json_and_answer_the_engine(models: HazardModels) -> None:
    back = HazardModels.from_dict(json.loads(json.dumps(models.to_dict())))
    args = ("monaco", 12, 0.0, 1.0)
    assert sc_vsc_probability(back, *args) == sc_vsc_probability(models, *args)
    p_sc, p_vsc = sc_vsc_probability(models, "Monaco Grand Prix", 12, 0.0, 1.0)
    assert (p_sc, p_vsc) == sc_vsc_probability(models, "monaco", 12, 0.0, 1.0)
    assert 0.0 < p_sc < 0.2 and 0.0 < p_vsc < 0.2
    assert yellow_window(models) == 2
    p = dnf_probability(models, "Red Bull Racing", "bahrain", 10)
    assert 0.0 < p < 0.02
    assert p == dnf_probability(back, "red_bull", "bahrain", 10)
    assert dnf_probability(models, "A New Team", "somewhere-new", 10) > 0.0
    med, sd = pit_loss(models, "bahrain", "green")
    assert pit_loss(models, "bahrain", "sc")[0] < med and sd > 0
    assert pit_loss(models, "bahrain", "vsc_ending") == pit_loss(models, "bahrain", "vsc")
    assert pit_loss(models, "bahrain", "red") == (0.0, 0.0)
    assert pit_loss(back, "Bahrain Grand Prix") == (med, sd)
    assert compound_delta("HARD", "SOFT") == 2.0 and compound_delta("INTERMEDIATE", "SOFT") == 0.0
    near = undercut_probability(models, 0.5, 15, 1.0, -0.2, "bahrain")
    far = undercut_probability(models, 4.5, 15, 1.0, -0.2, "bahrain")
    assert 0.0 < far < near < 1.0
    assert near == undercut_probability(back, 0.5, 15, 1.0, -0.2, "bahrain")
    o_near = overcut_probability(models, 0.5, 10, 0.0, -0.2, "bahrain")
    assert 0.0 < overcut_probability(models, 4.5, 10, 0.0, -0.2, "bahrain") < o_near < 1.0


def test_team_names_of_the_live_feed_map_to_ergast(models: HazardModels) -> None:
    aliases = models.retirement.aliases
    assert aliases["Red Bull Racing"] == "red_bull"
    assert aliases["Haas F1 Team"] == "haas"
    assert models.retirement.team_key("Mercedes") == "mercedes"


@pytest.fixture(scope="module")
def report(
    laps: pd.DataFrame, ergast: dict[str, pd.DataFrame], models: HazardModels, data_dir: Path
) -> dict:
    return evaluate(laps, ergast, [2022, 2023], [2024], data_dir, RaceModels(), models=models)


def test_evaluation_on_the_held_out_season(report: dict) -> None:
    assert report["train"] == [2022, 2023] and report["test"] == [2024]
    assert report["sc"]["starts"] == 7 and report["sc"]["races"] == 18
    for event in ("sc", "vsc"):
        r = report[event]
        assert set(r["baselines"]) == {"engine per-circuit constant", "all-circuit constant"}
        # below the constant rate by 5% of its log-loss, the whole interval over races above 0
        constant = r["baselines"]["all-circuit constant"]
        assert r["model"]["log_loss"] < 0.95 * constant["log_loss"]
        assert constant["vs_model"]["lo"] > 0
    r = report["retirement"]
    assert r["races"] == 24 and r["retirements"] == 50
    assert "engine DNF_PER_LAP" in r["baselines"]
    assert r["model"]["log_loss"] < 0.97 * r["baselines"]["training rate"]["log_loss"]
    p = report["pit_loss"]
    assert p["stops"]["green"] > 400 and p["model"]["green"]["mae"] < 5
    assert p["model"]["all"]["log_lik"] > p["baseline"]["all"]["log_lik"]
    u = report["undercut"]
    assert u["attempts"] > 50 and "engine formula" in u["baselines"]
    assert u["model"]["log_loss"] < 0.9 * u["baselines"]["training rate"]["log_loss"]
    bins = u["model"]["reliability"]
    assert sum(b["n"] for b in bins) == u["attempts"]
    observed = sum(b["n"] * b["observed"] for b in bins) / u["attempts"]
    assert observed == pytest.approx(u["successes"] / u["attempts"])
    json.dumps(report, default=float)


def test_report_prints_every_model(report: dict) -> None:
    from pitwall.commands.hazards import print_report

    out = Console(record=True, width=200)
    print_report(report, out)
    text = out.export_text()
    for title in ("SC starts", "VSC starts", "Retirements", "Pit loss", "Undercut reliability"):
        assert title in text
    assert "engine formula" in text and "Chosen on the training seasons only" in text


def test_recent_yellows_count_laps_not_rows(laps: pd.DataFrame) -> None:
    from strategy.hazards.neutralisations import recent_yellows

    f = race_laps(laps[laps["race_id"] == "2023-australian"])
    at_risk = f[f["sc_at_risk"]].set_index("lap")
    # Lap 54 (SC) followed a yellow on lap 53; lap 4 follows SC laps 2-3 without a yellow.
    counts = pd.Series(recent_yellows(at_risk, 1), index=at_risk.index)
    assert counts[54] == 1.0 and counts[4] == 0.0
    # Lap 9 (after the red flag): none on lap 8, one on lap 7.
    assert counts[9] == 0.0
    assert pd.Series(recent_yellows(at_risk, 3), index=at_risk.index)[9] == 1.0
