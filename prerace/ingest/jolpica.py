"""The online source: the Ergast-compatible Jolpica API (``https://api.jolpi.ca/ergast/f1``).

``fetch_season`` reads one season's calendar, race and sprint results, qualifying and,
optionally, pit stops, page by page (the API serves at most 100 rows a request), and turns
them into the same tables as a directory of Ergast CSVs. The API names drivers,
constructors, circuits and statuses by reference rather than by number, so those tables
get provisional negative ids here that the loader replaces by the database's ids (found by
the references). Finishing order is the order the API lists a race's results in.

Requests are retried with exponential back-off (tenacity) on network errors, 429 and 5xx;
the API's fair-use limit (4 requests a second) is kept by a small pause between requests.
Standings are not fetched: the points rules compute them from the results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.jolpi.ca/ergast/f1"
PAGE = 100


class JolpicaError(RuntimeError):
    """The API could not be read (after the retries) or answered something unexpected."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


class JolpicaClient:
    """A small synchronous client of the Ergast-compatible API."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        attempts: int = 5,
        backoff_s: float = 1.0,
        pause_s: float = 0.25,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.pause_s = pause_s
        self.http = httpx.Client(timeout=timeout_s, transport=transport)
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> JolpicaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """One JSON document (``MRData``), retried on transient failures."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=30),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if self.requests and self.pause_s:
                        time.sleep(self.pause_s)
                    self.requests += 1
                    resp = self.http.get(url, params=params)
                    resp.raise_for_status()
                    body = resp.json()
        except httpx.HTTPError as exc:
            raise JolpicaError(f"GET {url} failed: {exc}") from exc
        except ValueError as exc:
            raise JolpicaError(f"GET {url} did not answer JSON: {exc}") from exc
        if "MRData" not in body:
            raise JolpicaError(f"GET {url}: no MRData in the answer")
        return body["MRData"]

    def races(self, path: str, table: str = "RaceTable") -> list[dict[str, Any]]:
        """Every race of a paged list (``2024/results.json``), pages merged by round."""
        merged: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            data = self.get(path, limit=PAGE, offset=offset)
            for race in data.get(table, {}).get("Races", []):
                key = f"{race.get('season')}-{race.get('round')}"
                if key in merged:
                    for field, value in race.items():
                        if isinstance(value, list):
                            merged[key].setdefault(field, []).extend(value)
                else:
                    merged[key] = race
            total, limit = int(data.get("total", 0)), int(data.get("limit", PAGE))
            offset += limit
            if offset >= total:
                break
        return list(merged.values())


class _Ids:
    """Provisional negative ids per kind, stable within one fetch."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}

    def __call__(self, kind: str, ref: str) -> int:
        return self.ids.setdefault((kind, ref), -(len(self.ids) + 1))


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fetch_season(
    client: JolpicaClient,
    season: int,
    pit_stops: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """One season as Ergast-shaped tables (see the module docstring)."""
    say = progress or (lambda _msg: None)
    say(f"{season} calendar")
    calendar = client.races(f"{season}/races.json")
    if not calendar:
        raise JolpicaError(f"the API knows no race of {season}")
    tables = _SeasonTables(season)
    for race in calendar:
        tables.add_race(race)
    results = tables.result_rows(client, say, "results", f"{season}/results.json", "Results")
    sprints = tables.result_rows(client, say, "sprints", f"{season}/sprint.json", "SprintResults")
    say(f"{season} qualifying")
    quali = tables.qualifying_rows(client.races(f"{season}/qualifying.json"))
    stops = []
    if pit_stops:
        done = sorted({r["race_id"] for r in results})
        for race in calendar:
            if tables.race_id(race["round"]) not in done:
                continue
            say(f"{season} round {race['round']} pit stops")
            stops += tables.pit_stop_rows(race, client)
    out = {
        "seasons": pd.DataFrame([{"season": season, "url": None}]),
        "circuits": pd.DataFrame(list(tables.circuits.values())),
        "status": pd.DataFrame(list(tables.statuses.values()), columns=["status_id", "status"]),
        "drivers": pd.DataFrame(list(tables.drivers.values())),
        "constructors": pd.DataFrame(list(tables.constructors.values())),
        "races": pd.DataFrame(tables.races),
        "results": pd.DataFrame(results),
        "sprint_results": pd.DataFrame(sprints),
        "qualifying": pd.DataFrame(quali),
    }
    if stops:
        out["pit_stops"] = pd.DataFrame(stops)
    return out


class _SeasonTables:
    """The rows of one season as they are read: circuits, races, drivers, constructors and
    statuses by reference (each with its provisional id), and the rows that name them."""

    def __init__(self, season: int) -> None:
        self.season = season
        self.ids = _Ids()
        self.circuits: dict[str, dict[str, Any]] = {}
        self.races: list[dict[str, Any]] = []
        self.drivers: dict[str, dict[str, Any]] = {}
        self.constructors: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}

    def race_id(self, rnd: Any) -> int:
        return self.ids("race", f"{self.season}-{int(rnd)}")

    def add_race(self, race: dict[str, Any]) -> None:
        """A race of the calendar, with its circuit and its sessions' dates."""
        ids = self.ids
        c = race["Circuit"]
        loc = c.get("Location", {})
        self.circuits[c["circuitId"]] = {
            "circuit_id": ids("circuit", c["circuitId"]),
            "circuit_ref": c["circuitId"],
            "name": c.get("circuitName"),
            "location": loc.get("locality"),
            "country": loc.get("country"),
            "lat": _num(loc.get("lat")),
            "lng": _num(loc.get("long")),
            "url": c.get("url"),
        }
        row = {
            "race_id": self.race_id(race["round"]),
            "season": int(race["season"]),
            "round": int(race["round"]),
            "circuit_id": ids("circuit", c["circuitId"]),
            "name": race.get("raceName"),
            "date": race.get("date"),
            "time": race.get("time"),
            "url": race.get("url"),
        }
        for key, prefix in (
            ("FirstPractice", "fp1"), ("SecondPractice", "fp2"), ("ThirdPractice", "fp3"),
            ("Qualifying", "quali"), ("Sprint", "sprint"),
        ):  # fmt: skip
            session = race.get(key) or {}
            row[f"{prefix}_date"], row[f"{prefix}_time"] = session.get("date"), session.get("time")
        self.races.append(row)

    def person(self, d: dict[str, Any]) -> int:
        """The id of a driver (noting the driver's row)."""
        self.drivers[d["driverId"]] = {
            "driver_id": self.ids("driver", d["driverId"]),
            "driver_ref": d["driverId"],
            "number": _num(d.get("permanentNumber")),
            "code": d.get("code"),
            "forename": d.get("givenName"),
            "surname": d.get("familyName"),
            "dob": d.get("dateOfBirth"),
            "nationality": d.get("nationality"),
            "url": d.get("url"),
        }
        return self.drivers[d["driverId"]]["driver_id"]

    def team(self, c: dict[str, Any]) -> int:
        """The id of a constructor (noting the constructor's row)."""
        self.constructors[c["constructorId"]] = {
            "constructor_id": self.ids("constructor", c["constructorId"]),
            "constructor_ref": c["constructorId"],
            "name": c.get("name"),
            "nationality": c.get("nationality"),
            "url": c.get("url"),
        }
        return self.constructors[c["constructorId"]]["constructor_id"]

    def status(self, text: str | None) -> int | None:
        """The id of a finishing status (None for none)."""
        if not text:
            return None
        self.statuses[text] = {"status_id": self.ids("status", text), "status": text}
        return self.statuses[text]["status_id"]

    def result_rows(
        self,
        client: JolpicaClient,
        say: Callable[[str], None],
        kind: str,
        path: str,
        key: str,
    ) -> list[dict[str, Any]]:
        """Race (or sprint) results in the order the API lists them (the finishing order)."""
        say(f"{self.season} {kind}")
        rows = []
        for race in client.races(path):
            for order, r in enumerate(race.get(key, []), start=1):
                rows.append(self._result_row(race, order, r))
        return rows

    def _result_row(self, race: dict[str, Any], order: int, r: dict[str, Any]) -> dict[str, Any]:
        fl = r.get("FastestLap") or {}
        return {
            "result_id": None,
            "race_id": self.race_id(race["round"]),
            "driver_id": self.person(r["Driver"]),
            "constructor_id": self.team(r["Constructor"]),
            "number": _num(r.get("number")),
            "grid": _num(r.get("grid")),
            "position": _num(r.get("position"))
            if str(r.get("positionText", "")).isdigit()
            else None,
            "position_text": r.get("positionText"),
            "position_order": order,
            "points": _num(r.get("points")),
            "laps": _num(r.get("laps")),
            "time": (r.get("Time") or {}).get("time"),
            "milliseconds": _num((r.get("Time") or {}).get("millis")),
            "fastest_lap": _num(fl.get("lap")),
            "rank": _num(fl.get("rank")),
            "fastest_lap_time": (fl.get("Time") or {}).get("time"),
            "fastest_lap_speed": _num((fl.get("AverageSpeed") or {}).get("speed")),
            "status_id": self.status(r.get("status")),
        }

    def qualifying_rows(self, races: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Qualifying results of the season's races."""
        quali = []
        for race in races:
            for q in race.get("QualifyingResults", []):
                quali.append(
                    {
                        "qualify_id": None,
                        "race_id": self.race_id(race["round"]),
                        "driver_id": self.person(q["Driver"]),
                        "constructor_id": self.team(q["Constructor"]),
                        "number": _num(q.get("number")),
                        "position": _num(q.get("position")),
                        "q1": q.get("Q1"),
                        "q2": q.get("Q2"),
                        "q3": q.get("Q3"),
                    }
                )
        return quali

    def pit_stop_rows(self, race: dict[str, Any], client: JolpicaClient) -> list[dict[str, Any]]:
        """The pit stops of one race of the calendar."""
        stops = []
        for r in client.races(f"{self.season}/{race['round']}/pitstops.json"):
            for s in r.get("PitStops", []):
                stops.append(
                    {
                        "race_id": self.race_id(race["round"]),
                        "driver_id": self.ids("driver", s["driverId"]),
                        "stop": _num(s.get("stop")),
                        "lap": _num(s.get("lap")),
                        "time": s.get("time"),
                        "duration": s.get("duration"),
                    }
                )
        return stops
