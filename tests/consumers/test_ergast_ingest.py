"""``pitwall ingest ergast`` on the real embedded PostgreSQL and Redis, as users run it.

One scenario on a database of its own, seasons 2022-2023 (with the 2024 calendar):
the history without the 2023 finale's results, the same again (nothing changes), then the
full history (the finale's results arrive: ratings, accuracy and the next race's
predictions follow), then the same season from a local Ergast-compatible API (the Jolpica
client: the rows are recognised, nothing changes) and a new season only online (its
standings come from the points rules and match Ergast's).
"""

from __future__ import annotations

import orjson
import psycopg
import pytest
import redis

from core.settings import Settings
from prerace.ingest.csv_source import read_directory
from prerace.ingest.jolpica import JolpicaClient, JolpicaError
from schemas.winner import RacePrediction, race_cache_key
from tests.ergast_data import (
    FakeJolpica,
    counts,
    ergast_source,
    own_database,
    pitwall,
    write_subset,
)

pytestmark = pytest.mark.integration
TABLES = (
    "races", "results", "qualifying", "sprint_results", "pit_stops", "driver_standings",
    "constructor_standings", "drivers", "constructors", "circuits", "status", "race_weather",
)  # fmt: skip
FINALE = (2023, 22)  # Abu Dhabi: cut from the first directory
NEXT_SEASON_OPENER = (2024, 1)


@pytest.fixture(scope="module")
def db(stack: Settings):
    with own_database(stack, redis_db=3) as settings:
        yield settings


@pytest.fixture(scope="module")
def dirs(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict:
    src = ergast_source(stack)
    base = tmp_path_factory.mktemp("ergast")
    return {
        "src": src,
        "partial": write_subset(
            src, base / "partial", range(2022, 2024), range(2024, 2025), cut_round=FINALE
        ),
        "full": write_subset(src, base / "full", range(2022, 2024), range(2024, 2025)),
        "season2024": write_subset(src, base / "s2024", range(2024, 2025)),
    }


def race_id(url: str, season: int, rnd: int) -> int:
    with psycopg.connect(url) as conn:
        q = "SELECT race_id FROM races WHERE season = %s AND round = %s"
        return conn.execute(q, (season, rnd)).fetchone()[0]


def scalar(url: str, sql: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_history_ingest_update_and_online_source(db: Settings, dirs: dict) -> None:
    url = db.require_database
    r = redis.Redis.from_url(db.require_redis)

    # 1. the history without the finale's results; its qualifying is known
    first = pitwall("ingest", "ergast", str(dirs["partial"]))
    before = counts(url, TABLES)
    tables = read_directory(dirs["partial"])
    for name in ("races", "results", "qualifying", "sprint_results", "pit_stops"):
        assert before[name] == len(tables[name]), name
    finale = race_id(url, *FINALE)
    assert scalar(url, "SELECT count(*) FROM results WHERE race_id = %s", finale) == 0
    assert before["race_weather"] > 0  # 2022 Spain and 2023 weekends of the FastF1 cache
    assert "next race" in first.output
    # predictions for the finale, before and after qualifying, made before its results
    live = scalar(
        url,
        "SELECT count(DISTINCT moment) FROM predictions WHERE race_id = %s AND kind = 'live'",
        finale,
    )
    assert live == 2
    sums = psycopg.connect(url).execute(
        "SELECT moment, sum(p_win), sum(p_podium) FROM predictions WHERE race_id = %s "
        "GROUP BY moment",
        (finale,),
    )
    for _moment, p_win, p_podium in sums.fetchall():
        assert p_win == pytest.approx(1.0, abs=1e-4) and p_podium == pytest.approx(3.0, abs=1e-4)
    cached = RacePrediction.model_validate_json(r.get(race_cache_key(finale)))
    assert cached.status == "scheduled" and cached.grid_known
    assert sum(p.win_probability for p in cached.predictions) == pytest.approx(100, abs=0.1)
    # the season so far was back-filled walk-forward and scored
    backfilled = scalar(
        url, "SELECT count(*) FROM prediction_accuracy WHERE kind = 'backfill' AND moment = 'post'"
    )
    assert backfilled == 21
    ratings_before = scalar(url, "SELECT count(*) FROM ratings")
    version_before = scalar(
        url, "SELECT model_version FROM predictions WHERE race_id = %s LIMIT 1", finale
    )

    # 2. the same directory again: the same rows, nothing to update
    again = pitwall("ingest", "ergast", str(dirs["partial"]))
    assert counts(url, TABLES) == before
    assert "nothing changed" in again.output
    assert scalar(url, "SELECT count(*) FROM ratings") == ratings_before

    # 3. the full directory: the finale's results arrive
    pitwall("ingest", "ergast", str(dirs["full"]))
    after = counts(url, TABLES)
    full = read_directory(dirs["full"])
    assert after["results"] == len(full["results"]) > before["results"]
    # ratings after the finale, one per driver of it and one per team
    finale_drivers = scalar(url, "SELECT count(*) FROM results WHERE race_id = %s", finale)
    assert (
        scalar(url, "SELECT count(*) FROM ratings WHERE race_id = %s AND kind = 'driver'", finale)
        == finale_drivers
    )
    # the finale's accuracy, from the predictions stored before its results
    acc = (
        psycopg.connect(url)
        .execute(
            "SELECT moment, kind, model_version, actual_winner, win_brier, baseline_win_brier "
            "FROM prediction_accuracy WHERE race_id = %s ORDER BY moment",
            (finale,),
        )
        .fetchall()
    )
    assert [(m, k) for m, k, *_ in acc] == [("post", "live"), ("pre", "live")]
    assert {a[2] for a in acc} >= {version_before}
    winner = scalar(
        url, "SELECT driver_id FROM results WHERE race_id = %s AND position = 1", finale
    )
    assert all(a[3] == winner for a in acc)
    # the next race is the 2024 opener: predicted before qualifying with a new model version
    opener = race_id(url, *NEXT_SEASON_OPENER)
    rows = (
        psycopg.connect(url)
        .execute(
            "SELECT moment, count(*), sum(p_win), min(model_version) FROM predictions "
            "WHERE race_id = %s GROUP BY moment",
            (opener,),
        )
        .fetchall()
    )
    assert [(m, n) for m, n, *_ in rows] == [("pre", finale_drivers)]
    assert rows[0][2] == pytest.approx(1.0, abs=1e-4) and rows[0][3] != version_before
    cached = orjson.loads(r.get(race_cache_key(opener)))
    assert cached["race_id"] == opener and cached["moments"][0]["moment"] == "pre"
    finale_doc = RacePrediction.model_validate_json(r.get(race_cache_key(finale)))
    assert finale_doc.status == "completed"  # the cache changed with the race

    # 4. the same season from the API: recognised by references, nothing changes
    with FakeJolpica(dirs["src"], fail_first=1) as api:
        env = {"PITWALL_JOLPICA_URL": api.url}
        pitwall("ingest", "ergast", "--online", "--season", "2023", env=env)
        assert api.requests[0] == api.requests[1]  # the 503 was retried
        assert any("offset=100" in p for p in api.requests)  # results came in pages
    same = counts(url, TABLES)
    for name in ("results", "qualifying", "sprint_results", "drivers", "constructors", "races"):
        assert same[name] == after[name], name
    changed = scalar(url, "SELECT count(*) FROM prediction_accuracy WHERE race_id = %s", finale)
    assert changed == 2

    # 5. a season only online: ids assigned by reference, standings from the points rules
    with FakeJolpica(dirs["season2024"]) as api:
        env = {"PITWALL_JOLPICA_URL": api.url}
        pitwall(
            "ingest", "ergast", "--online", "--season", "2024", "--backfill-season", "2023",
            env=env,
        )  # fmt: skip
    s2024 = read_directory(dirs["season2024"])
    assert scalar(
        url, "SELECT count(*) FROM results JOIN races USING (race_id) WHERE season = 2024"
    ) == len(s2024["results"])
    last = race_id(url, 2024, 24)
    ours = dict(
        psycopg.connect(url)
        .execute(
            "SELECT d.driver_ref, s.points FROM driver_standings s JOIN drivers d "
            "USING (driver_id) WHERE race_id = %s AND source = 'rules'",
            (last,),
        )
        .fetchall()
    )
    ergast = s2024["driver_standings"].merge(s2024["drivers"], on="driver_id")
    ergast = ergast[ergast["race_id"] == ergast["race_id"].max()]
    assert ours == dict(zip(ergast["driver_ref"], ergast["points"], strict=True))
    r.close()


def test_client_gives_up_with_a_clear_error(dirs: dict) -> None:
    with FakeJolpica(dirs["src"], fail_first=100) as api:
        client = JolpicaClient(api.url, attempts=2, backoff_s=0.01, pause_s=0)
        with pytest.raises(JolpicaError, match="503"):
            client.get("2023/races.json")
        assert len(api.requests) == 2
