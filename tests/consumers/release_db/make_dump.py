"""Make ``release-0.1.0.sql`` (committed gzipped): the database a previous pitwall release
leaves, with data, for ``tests/consumers/test_migrations.py``. Run it with that release's
code first on the path, then gzip its output:

    git archive <commit> | tar -x -C /tmp/release
    PYTHONPATH=/tmp/release python tests/consumers/release_db/make_dump.py OUT.sql

It starts an embedded PostgreSQL in a temporary directory, lets the release create its schema
(``consumers.db_schema.migrate``), fills every topic table through the release's sink write
path (the first laps of 2023 Monaco as the replay publishes them, and the features,
degradation, strategy and battle events its stream worker makes of them), a user, an API key,
a refresh token and audit entries through its auth store, and rows of the history, ratings and
prediction tables; then dumps it with pg_dump (schema and data, plain SQL).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg


def main(out: Path) -> None:
    from pitwall.embedded.postgres import EmbeddedPostgres, _bin

    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp), durable=False)
        url = pg.start()
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                fill_topics(conn)
                fill_history(conn)
            asyncio.run(fill_auth(url))
            dump = subprocess.run(
                [_bin("pg_dump"), "--no-owner", "--no-privileges", url],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            out.write_text(dump.stdout)
        finally:
            pg.stop()
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


def fill_topics(conn: psycopg.Connection) -> None:
    from collections import Counter, defaultdict

    from consumers.pg_sink import PgWriter
    from core.settings import get_settings
    from replay.timeline import build_timeline
    from schemas import decode, encode, topic_for
    from strategy.artifacts import load_models
    from strategy.battles import load as load_battles
    from streams.session_worker import SessionWorker

    settings = get_settings()
    timeline = build_timeline(2023, "Monaco", settings=settings)
    start = timeline.lap_start_time(1) or 0.0
    end = timeline.lap_start_time(4) or 0.0
    events = [e for e in timeline.events if e.event_time.session_time < end]
    early = [e for e in events if e.event_time.session_time < start][-200:]
    events = early + [e for e in events if e.event_time.session_time >= start]
    timing = [e for e in events if e.type == "timing"]
    events = [e for e in events if e.type != "timing"] + timing[::20]
    events.sort(key=lambda e: e.event_time.session_time)
    out: list = [telemetry_sample(events[-1]), dead_letter()]

    async def send(spec, session_key, key, value) -> None:
        out.append(decode(spec.name, value))

    async def work() -> None:
        models, battles = load_models(settings.model_dir), load_battles(settings.model_dir)
        worker = SessionWorker(models, send, {}, {}, n_sims=50, battles=battles)
        for e in events:
            req = await worker.handle(topic_for(e).name, encode(e))
            if req is not None:
                await worker.publish_strategy(req)

    asyncio.run(work())
    kept = Counter()  # a few strategy and battle rows: each holds the whole field
    batches = defaultdict(list)
    for e in [*events, *out]:
        kept[e.type] += 1
        if e.type in ("strategy", "battles") and kept[e.type] > 4:
            continue
        batches[topic_for(e).name].append(e)
    print(PgWriter(conn).write(batches))


def telemetry_sample(near):
    from schemas import TelemetryEvent

    return TelemetryEvent(
        session_key=near.session_key, event_time=near.event_time, driver="VER", speed=281.0,
        rpm=11200.0, gear=7, throttle=100.0, brake=False, drs=8, x=1.5, y=-2.0, z=0.1,
    )  # fmt: skip


def dead_letter():
    import base64

    from schemas import DlqEvent, EventTime, utcnow

    return DlqEvent(
        session_key="unknown", event_time=EventTime(session_time=0.0, utc=utcnow()),
        source="f1.laps.v1", reason="not JSON", error_type="DecodeError",
        raw_b64=base64.b64encode(b"{not json").decode(), message_key="x:VER", partition=0,
        offset=7,
    )  # fmt: skip


def fill_history(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO seasons VALUES (2023, 'https://example.org/2023')")
    conn.execute(
        "INSERT INTO circuits VALUES (6, 'monaco', 'Circuit de Monaco', 'Monte-Carlo', "
        "'Monaco', 43.7347, 7.42056, 7, 'https://example.org/monaco')"
    )
    conn.execute("INSERT INTO status VALUES (1, 'Finished'), (4, 'Collision')")
    conn.execute(
        "INSERT INTO drivers VALUES (830, 'max_verstappen', 33, 'VER', 'Max', 'Verstappen', "
        "'1997-09-30', 'Dutch', NULL), (4, 'alonso', 14, 'ALO', 'Fernando', 'Alonso', "
        "'1981-07-29', 'Spanish', NULL)"
    )
    conn.execute(
        "INSERT INTO constructors VALUES (9, 'red_bull', 'Red Bull', 'Austrian', NULL), "
        "(117, 'aston_martin', 'Aston Martin', 'British', NULL)"
    )
    conn.execute(
        "INSERT INTO races (race_id, season, round, circuit_id, name, date) "
        "VALUES (1104, 2023, 6, 6, 'Monaco Grand Prix', '2023-05-28')"
    )
    conn.execute(
        "INSERT INTO results (result_id, race_id, driver_id, constructor_id, number, grid, "
        "position, position_text, position_order, points, laps, status_id) VALUES "
        "(26000, 1104, 830, 9, 1, 1, 1, '1', 1, 25, 78, 1), "
        "(26001, 1104, 4, 117, 14, 2, 2, '2', 2, 18, 78, 1)"
    )
    conn.execute(
        "INSERT INTO ratings VALUES (1104, 'driver', 830, 1712.5), (1104, 'driver', 4, 1650)"
    )
    conn.execute(
        "INSERT INTO winner_models (model_version, moment, trained_races) "
        "VALUES ('winner-test', 'pre_quali', 400)"
    )
    conn.execute(
        "INSERT INTO predictions (race_id, moment, driver_id, constructor_id, grid, p_win, "
        "p_podium, model_version) VALUES (1104, 'pre_quali', 830, 9, 1, 0.61, 0.9, "
        "'winner-test'), (1104, 'pre_quali', 4, 117, 2, 0.12, 0.55, 'winner-test')"
    )


async def fill_auth(url: str) -> None:
    from psycopg.rows import dict_row

    from api.auth import store
    from api.auth.security import hash_password

    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, row_factory=dict_row
    ) as conn:
        user = await store.create_user(conn, "alice", hash_password("correct horse 1"), "admin")
        await store.create_user(conn, "bob", hash_password("battery staple 2"))
        await store.store_refresh(conn, "jti-release", user["user_id"], 4102444800.0)
        await store.create_key(conn, "ci", "user", "user:alice")
        await store.audit(conn, "login", "ok", actor="user:alice", ip="127.0.0.1")
        await store.audit(conn, "login", "denied", subject="mallory", ip="10.0.0.9")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
