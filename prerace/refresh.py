"""The automatic update after an ingest: ratings, standings, accuracy, next-race predictions.

``refresh`` runs in the ingesting process right after the tables were written, and is
idempotent (a second run with the same data writes nothing new):

1. rebuild the feature rows from the stored history (``prerace``) and store every
   driver's and constructor's Elo rating after each race;
2. fill the standings of races the source gave none for (the Jolpica API) with the points
   rules;
3. record the accuracy of each finished race that has none yet (or whose results changed):
   from the predictions stored before its results arrived (``live``), else from a
   walk-forward prediction made now by a model trained only on the races before it
   (``backfill``; done for the latest season with results and the races just added);
4. retrain the models on every finished race and store the next race's predictions (before
   qualifying, and after it once its grid is known) with the model version;
5. cache the changed races' predictions in Redis (``schemas.winner``), no expiry: the next
   refresh that changes them replaces them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import psycopg

from prerace import baselines
from prerace.backtest import finished, race_order
from prerace.feature_table import build_features
from prerace.history import History
from prerace.ingest.store import read_frame, read_history, upsert
from prerace.metrics import race_scores
from prerace.model import ModelConfig, WinnerModel
from prerace.payload import PREDICTIONS_SQL, race_prediction
from prerace.points import FIRST_SEASON, standings
from schemas.winner import RacePrediction
from schemas.winner import race_cache_key as cache_key

log = logging.getLogger(__name__)
MOMENTS = ("pre", "post")


@dataclass
class RefreshReport:
    """What one refresh did."""

    ratings_written: int = 0
    standings_filled: int = 0
    accuracy_recorded: list[tuple[int, str, str]] = field(default_factory=list)
    next_race_id: int | None = None
    model_versions: dict[str, str] = field(default_factory=dict)
    predictions_written: int = 0
    cached_races: list[int] = field(default_factory=list)


def default_configs() -> dict[str, ModelConfig]:
    return {m: ModelConfig(moment=m) for m in MOMENTS}


def contained_baseline(rows: pd.DataFrame, moment: str) -> pd.DataFrame:
    """The chances of the baseline the ``moment``'s model starts from (``baselines``)."""
    name = baselines.CONTAINED[moment]
    return baselines.FOR_MOMENT[moment][name](rows)


def refresh(
    conn: psycopg.Connection,
    redis: Any | None = None,
    changed_races: set[int] | None = None,
    backfill_seasons: list[int] | None = None,
    configs: dict[str, ModelConfig] | None = None,
    progress: Callable[[str], None] | None = None,
) -> RefreshReport:
    """Bring ratings, standings, accuracy and next-race predictions up to date (module doc).

    ``backfill_seasons`` (default: the latest season with results) are the seasons whose
    finished races get a walk-forward prediction when none was stored before their results.
    """
    say = progress or (lambda _m: None)
    configs = configs or default_configs()
    report = RefreshReport()
    say("reading the history")
    history = read_history(conn)
    if history.results.empty:
        return report
    say("ratings and features")
    table = build_features(history, config=configs["post"].features)
    rows = table.rows
    with conn.transaction():
        ratings = pd.DataFrame(
            table.builder.rating_rows, columns=["race_id", "kind", "entity_id", "rating"]
        )
        added, changed = upsert(conn, "ratings", ratings)
        report.ratings_written = added + changed
        report.standings_filled = _fill_standings(conn, history)
    touched: set[int] = set()
    order = race_order(rows[rows["win"].notna()])
    seasons = backfill_seasons or ([int(order["season"].max())] if len(order) else [])
    stored = read_frame(conn, "SELECT DISTINCT race_id, moment FROM predictions")
    predicted = set(zip(stored["race_id"], stored["moment"], strict=True)) if len(stored) else set()
    scored = read_frame(conn, "SELECT race_id, moment FROM prediction_accuracy")
    have = set(zip(scored["race_id"], scored["moment"], strict=True)) if len(scored) else set()
    changed = changed_races or set()
    in_seasons = set(order.loc[order["season"].isin(seasons), "race_id"])
    for race_id in order["race_id"]:
        for moment in MOMENTS:
            key = (race_id, moment)
            # the back-fill seasons, races predicted before their results came, and races
            # whose results changed after they were scored
            due = (race_id in in_seasons or key in predicted) and key not in have
            if not (due or (key in have and race_id in changed)):
                continue
            kind = _record_accuracy(conn, rows, order, int(race_id), moment, configs[moment], say)
            if kind:
                report.accuracy_recorded.append((int(race_id), moment, kind))
                touched.add(int(race_id))
    nxt = history.next_race()
    if nxt is not None:
        rid = int(nxt["race_id"])
        report.next_race_id = rid
        these = rows[rows["race_id"] == rid]
        for moment in MOMENTS:
            if these.empty or (moment == "post" and not bool(these["grid_known"].iloc[0])):
                continue
            say(f"training the {moment}-qualifying model")
            model = WinnerModel(configs[moment]).fit(finished(rows, moment))
            preds = model.predict(these)
            n = _store_predictions(conn, these, preds, moment, model, "live")
            report.model_versions[moment] = model.version
            report.predictions_written += n
            if n:
                touched.add(rid)
    if redis is not None:
        for rid in sorted(touched | ({report.next_race_id} if report.next_race_id else set())):
            payload = race_payload(conn, history, rid)
            if payload is not None:
                redis.set(cache_key(rid), payload.model_dump_json())
                report.cached_races.append(rid)
    return report


def _fill_standings(conn: psycopg.Connection, history: History) -> int:
    """Standings from the points rules for races with results but no standings stored."""
    have = read_frame(conn, "SELECT DISTINCT race_id FROM driver_standings")
    have_ids = set(have["race_id"]) if len(have) else set()
    races = history.ordered_races()
    missing = races[races["has_results"] & ~races["race_id"].isin(have_ids)]
    missing = missing[missing["season"] >= FIRST_SEASON]
    if missing.empty:
        return 0
    seasons = set(missing["season"])
    in_seasons = history.races[history.races["season"].isin(seasons)]
    d, c = standings(
        in_seasons,
        history.results,
        history.sprint_results,
        history.constructors,
        history.drivers,
    )
    d = d[d["race_id"].isin(missing["race_id"])].assign(source="rules")
    c = c[c["race_id"].isin(missing["race_id"])].assign(source="rules")
    for frame in (d, c):
        frame["position_text"] = frame["position"].astype(str)
    added = upsert(conn, "driver_standings", d)[0]
    upsert(conn, "constructor_standings", c)
    return added


def _stored_predictions(conn: psycopg.Connection, race_id: int, moment: str) -> pd.DataFrame:
    return read_frame(
        conn,
        "SELECT driver_id, p_win, p_podium, model_version, kind FROM predictions "
        "WHERE race_id = %s AND moment = %s",
        (race_id, moment),
    )


def _record_accuracy(
    conn: psycopg.Connection,
    rows: pd.DataFrame,
    order: pd.DataFrame,
    race_id: int,
    moment: str,
    config: ModelConfig,
    say: Callable[[str], None],
) -> str | None:
    """Score a finished race's stored (or now back-filled) predictions; the kind used."""
    these = rows[rows["race_id"] == race_id]
    if moment == "post" and not bool(these["grid_known"].iloc[0]):
        return None
    stored = _stored_predictions(conn, race_id, moment)
    if stored.empty:
        at = order.index[order["race_id"] == race_id][0]
        earlier = set(order.loc[: at - 1, "race_id"])
        train = rows[rows["race_id"].isin(earlier) & rows["win"].notna()]
        if train.empty:
            return None
        say(f"back-filling race {race_id} ({moment})")
        model = WinnerModel(config).fit(train)
        _store_predictions(conn, these, model.predict(these), moment, model, "backfill")
        stored = _stored_predictions(conn, race_id, moment)
    merged = these.merge(stored, on="driver_id", how="left")
    merged[["p_win", "p_podium"]] = merged[["p_win", "p_podium"]].fillna(0.0)
    scores = race_scores(merged["p_win"], merged["p_podium"], merged["position"])
    base = contained_baseline(these, moment)
    base_scores = race_scores(base["p_win"], base["p_podium"], these["position"])
    actual = these.loc[these["position"] == 1, "driver_id"]
    record = {
        "race_id": race_id,
        "moment": moment,
        "model_version": stored["model_version"].iloc[0],
        "kind": stored["kind"].iloc[0],
        "predicted_winner": int(merged.loc[merged["p_win"].idxmax(), "driver_id"]),
        "actual_winner": int(actual.iloc[0]) if len(actual) else None,
        **scores,
        "baseline": baselines.CONTAINED[moment],
        **{f"baseline_{k}": v for k, v in base_scores.items()},
    }
    upsert(conn, "prediction_accuracy", pd.DataFrame([record]), touch=("recorded_at",))
    return str(record["kind"])


def _store_predictions(
    conn: psycopg.Connection,
    rows: pd.DataFrame,
    preds: pd.DataFrame,
    moment: str,
    model: WinnerModel,
    kind: str,
) -> int:
    """Write one race's predictions and the model's record; rows added or changed."""
    frame = preds.merge(rows[["driver_id", "constructor_id", "grid"]], on="driver_id")
    base = contained_baseline(rows, moment).set_index("driver_id")
    frame = frame.assign(
        moment=moment,
        model_version=model.version,
        kind=kind,
        base_win=frame["driver_id"].map(base["p_win"]).round(6).to_numpy(),
        base_podium=frame["driver_id"].map(base["p_podium"]).round(6).to_numpy(),
    )
    if moment == "pre":
        frame["grid"] = None  # not known before qualifying, even for a race since run
    frame["p_win"] = frame["p_win"].round(6)
    frame["p_podium"] = frame["p_podium"].round(6)
    with conn.transaction():
        upsert(
            conn,
            "winner_models",
            pd.DataFrame(
                [
                    {
                        "model_version": model.version,
                        "moment": moment,
                        "trained_races": model.trained_races,
                        "last_race_id": model.last_race_id,
                        "config": json.dumps(asdict(model.config)),
                    }
                ]
            ),
        )
        race_id = int(frame["race_id"].iloc[0])
        # drivers no longer in the entry list lose their stale rows
        conn.execute(
            "DELETE FROM predictions WHERE race_id = %s AND moment = %s "
            "AND NOT (driver_id = ANY(%s))",
            (race_id, moment, [int(d) for d in frame["driver_id"]]),
        )
        added, changed = upsert(conn, "predictions", frame, touch=("generated_at",))
    return added + changed


def race_payload(conn: psycopg.Connection, history: History, race_id: int) -> RacePrediction | None:
    """The served document of one race's stored predictions (None when it has none)."""
    preds = read_frame(conn, PREDICTIONS_SQL, (race_id,))
    if preds.empty:
        return None
    race = history.races[history.races["race_id"] == race_id].iloc[0]
    circuit = None
    if history.circuits is not None:
        c = history.circuits[history.circuits["circuit_id"] == race["circuit_id"]]
        circuit = str(c["name"].iloc[0]) if len(c) else None
    return race_prediction(
        race.to_dict(),
        circuit,
        preds,
        history.drivers,
        history.constructors,
        completed=bool((history.results["race_id"] == race_id).any()),
        results=history.results[history.results["race_id"] == race_id],
    )
