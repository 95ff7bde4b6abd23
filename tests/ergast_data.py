"""Helpers of the history/prediction tests: small Ergast directories cut from the real data,
a database and Redis index of their own, the ingest run as users run it, and a local server
that answers like the Jolpica API (built from the same CSVs; the internet is out of reach)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import psycopg
from typer.testing import CliRunner

from core.settings import Settings, get_settings

RACE_TABLES = (
    "results", "sprint_results", "qualifying", "pit_stops", "driver_standings",
    "constructor_standings", "constructor_results",
)  # fmt: skip
PRE_RACE = ("qualifying",)  # known before the race: kept when a round's results are cut


def ergast_source(settings: Settings) -> Path:
    return settings.data_dir / "ergast" / "data"


def read_raw(src: Path, name: str) -> pd.DataFrame:
    """A CSV exactly as written (every value text), to write a subset back unchanged."""
    return pd.read_csv(src / f"{name}.csv", dtype=str, keep_default_na=False)


def write_subset(
    src: Path,
    dst: Path,
    seasons: range,
    calendar: range = range(0),
    cut_round: tuple[int, int] | None = None,
) -> Path:
    """Copy ``seasons`` (and the calendar only of ``calendar``) into ``dst``; ``cut_round``
    (season, round) keeps that race and its qualifying but not its results."""
    dst.mkdir(parents=True, exist_ok=True)
    races = read_raw(src, "races")
    year = races["year"].astype(int)
    keep = races[year.isin(list(seasons)) | year.isin(list(calendar))]
    keep.to_csv(dst / "races.csv", index=False)
    run = set(races.loc[year.isin(list(seasons)), "raceId"])
    cut = None
    if cut_round is not None:
        s, r = cut_round
        cut = races.loc[(year == s) & (races["round"].astype(int) == r), "raceId"].iloc[0]
    for name in RACE_TABLES:
        table = read_raw(src, name)
        rows = table[table["raceId"].isin(run)]
        if cut is not None and name not in PRE_RACE:
            rows = rows[rows["raceId"] != cut]
        rows.to_csv(dst / f"{name}.csv", index=False)
    for name in ("seasons", "circuits", "drivers", "constructors", "status"):
        read_raw(src, name).to_csv(dst / f"{name}.csv", index=False)
    return dst


@contextlib.contextmanager
def own_database(settings: Settings, redis_db: int) -> Iterator[Settings]:
    """A fresh database on the embedded server and a Redis index of its own, for the
    duration: the environment points every pitwall call (CLI, app) at them."""
    base = settings.require_database
    name = f"winner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    redis_url = settings.require_redis.rsplit("/", 1)[0] + f"/{redis_db}"
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL")}
    os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url)
    get_settings.cache_clear()
    import redis

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    try:
        yield get_settings()
    finally:
        r.flushdb()
        r.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def pitwall(*args: str, env: dict[str, str] | None = None):
    """Run ``pitwall ARGS`` in-process (the CLI users run); fails the test on a non-zero exit."""
    from pitwall.cli import app

    get_settings.cache_clear()  # the settings read the environment ``env`` changes
    try:
        result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result


def counts(url: str, tables: tuple[str, ...]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


# -- a local Ergast-compatible API ------------------------------------------------------------
class ErgastJson:
    """Ergast/Jolpica JSON documents built from a directory of Ergast CSVs."""

    def __init__(self, src: Path) -> None:
        t = {n: read_raw(src, n) for n in ("races", "circuits", "drivers", "constructors")}
        t.update({n: read_raw(src, n) for n in ("results", "sprint_results", "qualifying")})
        t["status"] = read_raw(src, "status")
        self.t = t
        self.circuits = t["circuits"].set_index("circuitId")
        self.drivers = t["drivers"].set_index("driverId")
        self.teams = t["constructors"].set_index("constructorId")
        self.status = t["status"].set_index("statusId")["status"]

    def _race(self, r: pd.Series) -> dict:
        c = self.circuits.loc[r["circuitId"]]
        doc = {
            "season": r["year"],
            "round": r["round"],
            "url": r["url"],
            "raceName": r["name"],
            "Circuit": {
                "circuitId": c["circuitRef"],
                "url": c["url"],
                "circuitName": c["name"],
                "Location": {
                    "lat": c["lat"],
                    "long": c["lng"],
                    "locality": c["location"],
                    "country": c["country"],
                },
            },
            "date": r["date"],
        }
        if r["time"] != "\\N":
            doc["time"] = r["time"]
        for col, key in (
            ("fp1", "FirstPractice"), ("fp2", "SecondPractice"), ("fp3", "ThirdPractice"),
            ("quali", "Qualifying"), ("sprint", "Sprint"),
        ):  # fmt: skip
            if r[f"{col}_date"] != "\\N":
                doc[key] = {"date": r[f"{col}_date"]}
                if r[f"{col}_time"] != "\\N":
                    doc[key]["time"] = r[f"{col}_time"]
        return doc

    def _driver(self, driver_id: str) -> dict:
        d = self.drivers.loc[driver_id]
        doc = {
            "driverId": d["driverRef"],
            "url": d["url"],
            "givenName": d["forename"],
            "familyName": d["surname"],
            "dateOfBirth": d["dob"],
            "nationality": d["nationality"],
        }
        if d["number"] != "\\N":
            doc["permanentNumber"] = d["number"]
        if d["code"] != "\\N":
            doc["code"] = d["code"]
        return doc

    def _team(self, team_id: str) -> dict:
        c = self.teams.loc[team_id]
        return {
            "constructorId": c["constructorRef"],
            "url": c["url"],
            "name": c["name"],
            "nationality": c["nationality"],
        }

    def _result(self, x: pd.Series) -> dict:
        doc = {
            "number": x["number"],
            "position": x["positionOrder"],
            "positionText": x["positionText"],
            "points": x["points"],
            "Driver": self._driver(x["driverId"]),
            "Constructor": self._team(x["constructorId"]),
            "grid": x["grid"],
            "laps": x["laps"],
            "status": self.status.loc[x["statusId"]],
        }
        if x["milliseconds"] != "\\N":
            doc["Time"] = {"millis": x["milliseconds"], "time": x["time"]}
        if x["fastestLap"] != "\\N":
            fl = {"lap": x["fastestLap"], "Time": {"time": x["fastestLapTime"]}}
            if x.get("rank", "\\N") != "\\N":
                fl["rank"] = x["rank"]
            if x.get("fastestLapSpeed", "\\N") != "\\N":
                fl["AverageSpeed"] = {"units": "kph", "speed": x["fastestLapSpeed"]}
            doc["FastestLap"] = fl
        return doc

    def _qualifying(self, q: pd.Series) -> dict:
        doc = {
            "number": q["number"],
            "position": q["position"],
            "Driver": self._driver(q["driverId"]),
            "Constructor": self._team(q["constructorId"]),
        }
        for k in ("q1", "q2", "q3"):
            if q[k] not in ("\\N", ""):
                doc[k.upper()] = q[k]
        return doc

    def document(self, season: str, kind: str, limit: int, offset: int) -> dict:
        races = self.t["races"][self.t["races"]["year"] == season]
        races = races.sort_values("round", key=lambda s: s.astype(int))
        if kind == "races":
            items = [(r, None) for _, r in races.iterrows()]
        else:
            table, key, build = {
                "results": ("results", "Results", self._result),
                "sprint": ("sprint_results", "SprintResults", self._result),
                "qualifying": ("qualifying", "QualifyingResults", self._qualifying),
            }[kind]
            rows = self.t[table]
            items = []
            for _, r in races.iterrows():
                these = rows[rows["raceId"] == r["raceId"]]
                order = "positionOrder" if kind != "qualifying" else "position"
                these = these.sort_values(order, key=lambda s: s.astype(int))
                items += [(r, (key, build(x))) for _, x in these.iterrows()]
        page = items[offset : offset + limit]
        merged: dict[str, dict] = {}
        for r, entry in page:
            doc = merged.setdefault(r["round"], self._race(r))
            if entry:
                doc.setdefault(entry[0], []).append(entry[1])
        return {
            "MRData": {
                "limit": str(limit),
                "offset": str(offset),
                "total": str(len(items)),
                "RaceTable": {"season": season, "Races": list(merged.values())},
            }
        }


class FakeJolpica:
    """A local HTTP server under ``/ergast/f1`` answering from ``ErgastJson``; the first
    ``fail_first`` requests answer 503 (to see the client retry)."""

    def __init__(self, src: Path, fail_first: int = 0) -> None:
        self.data = ErgastJson(src)
        self.fail_first = fail_first
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                if len(outer.requests) <= outer.fail_first:
                    self.send_error(503, "try again")
                    return
                url = urlparse(self.path)
                parts = url.path.strip("/").split("/")  # ergast f1 <season> <kind>.json
                q = parse_qs(url.query)
                if len(parts) != 4 or parts[:2] != ["ergast", "f1"]:
                    self.send_error(404)
                    return
                limit = min(int(q.get("limit", ["30"])[0]), 100)
                offset = int(q.get("offset", ["0"])[0])
                body = outer.data.document(parts[2], parts[3].removesuffix(".json"), limit, offset)
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ergast/f1"

    def __enter__(self) -> FakeJolpica:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
