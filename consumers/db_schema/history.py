"""The F1 history, ratings and pre-race prediction tables (``pitwall ingest ergast``).

Ergast-format tables under the database's names, the weather of each weekend's sessions, Elo
ratings after each race, the winner model's predictions and their accuracy. Keys are Ergast's
ids; the natural keys (refs, season+round, ...) are unique as well so that a row from another
source (the Jolpica API) finds its id. Every statement is idempotent.
"""

from __future__ import annotations

import psycopg

HISTORY_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS seasons (season integer PRIMARY KEY, url text)""",
    """CREATE TABLE IF NOT EXISTS circuits (
        circuit_id integer PRIMARY KEY, circuit_ref text NOT NULL UNIQUE, name text,
        location text, country text, lat double precision, lng double precision,
        alt double precision, url text)""",
    """CREATE TABLE IF NOT EXISTS status (
        status_id integer PRIMARY KEY, status text NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS drivers (
        driver_id integer PRIMARY KEY, driver_ref text NOT NULL UNIQUE, number integer,
        code text, forename text, surname text, dob date, nationality text, url text)""",
    """CREATE TABLE IF NOT EXISTS constructors (
        constructor_id integer PRIMARY KEY, constructor_ref text NOT NULL UNIQUE, name text,
        nationality text, url text)""",
    """CREATE TABLE IF NOT EXISTS races (
        race_id integer PRIMARY KEY, season integer NOT NULL, round integer NOT NULL,
        circuit_id integer REFERENCES circuits, name text NOT NULL, date date, time text,
        url text, fp1_date date, fp1_time text, fp2_date date, fp2_time text, fp3_date date,
        fp3_time text, quali_date date, quali_time text, sprint_date date, sprint_time text,
        UNIQUE (season, round))""",
    """CREATE TABLE IF NOT EXISTS results (
        result_id integer PRIMARY KEY, race_id integer NOT NULL REFERENCES races,
        driver_id integer NOT NULL REFERENCES drivers,
        constructor_id integer NOT NULL REFERENCES constructors, number integer,
        grid integer, position integer, position_text text, position_order integer,
        points double precision, laps integer, time text, milliseconds bigint,
        fastest_lap integer, rank integer, fastest_lap_time text,
        fastest_lap_speed double precision, status_id integer REFERENCES status,
        UNIQUE NULLS NOT DISTINCT (race_id, driver_id, constructor_id, number))""",
    """CREATE TABLE IF NOT EXISTS sprint_results (
        result_id integer PRIMARY KEY, race_id integer NOT NULL REFERENCES races,
        driver_id integer NOT NULL REFERENCES drivers,
        constructor_id integer NOT NULL REFERENCES constructors, number integer,
        grid integer, position integer, position_text text, position_order integer,
        points double precision, laps integer, time text, milliseconds bigint,
        fastest_lap integer, rank integer, fastest_lap_time text,
        status_id integer REFERENCES status, UNIQUE (race_id, driver_id))""",
    """CREATE TABLE IF NOT EXISTS qualifying (
        qualify_id integer PRIMARY KEY, race_id integer NOT NULL REFERENCES races,
        driver_id integer NOT NULL REFERENCES drivers,
        constructor_id integer NOT NULL REFERENCES constructors, number integer,
        position integer, q1 text, q2 text, q3 text, UNIQUE (race_id, driver_id))""",
    """CREATE TABLE IF NOT EXISTS pit_stops (
        race_id integer NOT NULL REFERENCES races, driver_id integer NOT NULL REFERENCES drivers,
        stop integer NOT NULL, lap integer, time text, duration text, milliseconds bigint,
        PRIMARY KEY (race_id, driver_id, stop))""",
    """CREATE TABLE IF NOT EXISTS driver_standings (
        race_id integer NOT NULL REFERENCES races, driver_id integer NOT NULL REFERENCES drivers,
        points double precision, position integer, position_text text, wins integer,
        source text NOT NULL DEFAULT 'ergast', PRIMARY KEY (race_id, driver_id))""",
    """CREATE TABLE IF NOT EXISTS constructor_standings (
        race_id integer NOT NULL REFERENCES races,
        constructor_id integer NOT NULL REFERENCES constructors, points double precision,
        position integer, position_text text, wins integer,
        source text NOT NULL DEFAULT 'ergast', PRIMARY KEY (race_id, constructor_id))""",
    """CREATE TABLE IF NOT EXISTS constructor_results (
        race_id integer NOT NULL REFERENCES races,
        constructor_id integer NOT NULL REFERENCES constructors, points double precision,
        status text, PRIMARY KEY (race_id, constructor_id))""",
    """CREATE TABLE IF NOT EXISTS race_weather (
        race_id integer NOT NULL REFERENCES races, session text NOT NULL,
        air_temp double precision, track_temp double precision, humidity double precision,
        pressure double precision, wind_speed double precision, rainfall double precision,
        samples integer, PRIMARY KEY (race_id, session))""",
    """CREATE TABLE IF NOT EXISTS ratings (
        race_id integer NOT NULL REFERENCES races, kind text NOT NULL,
        entity_id integer NOT NULL, rating double precision NOT NULL,
        PRIMARY KEY (race_id, kind, entity_id))""",
    """CREATE TABLE IF NOT EXISTS winner_models (
        model_version text PRIMARY KEY, moment text NOT NULL, trained_races integer,
        last_race_id integer, config jsonb, created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS predictions (
        race_id integer NOT NULL REFERENCES races, moment text NOT NULL,
        driver_id integer NOT NULL REFERENCES drivers, constructor_id integer,
        grid integer, p_win double precision NOT NULL, p_podium double precision NOT NULL,
        model_version text NOT NULL, kind text NOT NULL DEFAULT 'live',
        generated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (race_id, moment, driver_id))""",
    """CREATE TABLE IF NOT EXISTS prediction_accuracy (
        race_id integer NOT NULL REFERENCES races, moment text NOT NULL,
        model_version text NOT NULL, kind text NOT NULL, predicted_winner integer,
        actual_winner integer, win_brier double precision, win_log_loss double precision,
        top1 double precision, podium_brier double precision, top3 double precision,
        baseline text NOT NULL, baseline_win_brier double precision,
        baseline_win_log_loss double precision, baseline_top1 double precision,
        baseline_podium_brier double precision, baseline_top3 double precision,
        recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (race_id, moment))""",
    "CREATE INDEX IF NOT EXISTS results_driver ON results (driver_id)",
    "CREATE INDEX IF NOT EXISTS ratings_entity ON ratings (kind, entity_id)",
)


def migrate_history(conn: psycopg.Connection) -> None:
    """Create the history, ratings and prediction tables (idempotent)."""
    for stmt in HISTORY_DDL:
        conn.execute(stmt)
