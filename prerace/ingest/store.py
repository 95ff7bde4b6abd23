"""The F1 history in PostgreSQL: idempotent upserts of Ergast-shaped tables, and reads back.

``load_tables`` writes what a source gave (``csv_source`` or ``jolpica``) into the tables of
``consumers.db_schema.HISTORY_DDL``:

* ids are resolved by natural key first (a driver's ref, a race's season and round, a
  result's race/driver/constructor/number): a row the database knows keeps its id whatever
  id the source gave it; a new row keeps the source's id when that id is free, else gets
  the next free one. Children follow their parents' resolved ids.
* each table is staged with COPY and merged with ``INSERT ... ON CONFLICT DO UPDATE ...
  WHERE <row differs>``, so running it twice changes nothing and a newer source updates only
  what changed. The report counts rows added and changed per table, and lists the races
  whose results were added or changed (what the automatic update reacts to).

Columns come from the database itself, so the DDL stays the one schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from consumers.db_schema import migrate
from prerace.history import History

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spec:
    """How one table is keyed: its primary key, and for tables with an id its natural key."""

    key: tuple[str, ...]
    natural: tuple[str, ...] = ()
    parents: dict[str, str] = field(default_factory=dict)  # column -> parent table
    keep_known: bool = False  # a value the source lacks (null) does not erase a stored one

    @property
    def id_column(self) -> str | None:
        return self.key[0] if self.natural else None


RACE_PARENTS = {"race_id": "races", "driver_id": "drivers", "constructor_id": "constructors"}
#: Tables in load order (parents first).
SPECS: dict[str, Spec] = {
    "seasons": Spec(("season",), keep_known=True),
    "circuits": Spec(("circuit_id",), ("circuit_ref",), keep_known=True),
    "status": Spec(("status_id",), ("status",)),
    "drivers": Spec(("driver_id",), ("driver_ref",), keep_known=True),
    "constructors": Spec(("constructor_id",), ("constructor_ref",), keep_known=True),
    "races": Spec(("race_id",), ("season", "round"), {"circuit_id": "circuits"}, True),
    "results": Spec(
        ("result_id",),
        ("race_id", "driver_id", "constructor_id", "number"),
        {**RACE_PARENTS, "status_id": "status"},
    ),
    "sprint_results": Spec(
        ("result_id",), ("race_id", "driver_id"), {**RACE_PARENTS, "status_id": "status"}
    ),
    "qualifying": Spec(("qualify_id",), ("race_id", "driver_id"), RACE_PARENTS),
    "pit_stops": Spec(("race_id", "driver_id", "stop"), (), RACE_PARENTS),
    "driver_standings": Spec(("race_id", "driver_id"), (), RACE_PARENTS),
    "constructor_standings": Spec(("race_id", "constructor_id"), (), RACE_PARENTS),
    "constructor_results": Spec(("race_id", "constructor_id"), (), RACE_PARENTS),
    "race_weather": Spec(("race_id", "session"), (), {"race_id": "races"}),
    "ratings": Spec(("race_id", "kind", "entity_id"), (), {}),
    "predictions": Spec(("race_id", "moment", "driver_id"), (), {}),
    "prediction_accuracy": Spec(("race_id", "moment"), (), {}),
    "winner_models": Spec(("model_version",), (), {}),
}


@dataclass
class LoadReport:
    """Rows added and changed per table, and the races whose results changed."""

    added: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    races_with_new_results: set[int] = field(default_factory=set)

    @property
    def total_added(self) -> int:
        return sum(self.added.values())

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


def table_columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Column name -> data type of ``table`` in the database, in order."""
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _coerce(frame: pd.DataFrame, types: dict[str, str]) -> list[tuple[Any, ...]]:
    """Rows of ``frame`` as Python values matching the column types (NaN -> None)."""
    out: dict[str, list[Any]] = {}
    for col, kind in types.items():
        values = frame[col]
        if kind in ("integer", "bigint"):
            num = pd.to_numeric(values, errors="coerce").round()
            out[col] = [None if pd.isna(v) else int(v) for v in num]
        elif kind == "double precision":
            num = pd.to_numeric(values, errors="coerce")
            out[col] = [None if pd.isna(v) else float(v) for v in num]
        elif kind == "date":
            d = pd.to_datetime(values, errors="coerce")
            out[col] = [None if pd.isna(v) else v.date() for v in d]
        else:
            out[col] = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                        for v in values]  # fmt: skip
    return list(zip(*out.values(), strict=True)) if out else []


def _existing_ids(conn: psycopg.Connection, table: str, spec: Spec) -> dict[tuple, int]:
    cols = ", ".join(f'"{c}"' for c in (spec.id_column, *spec.natural))
    rows = conn.execute(f'SELECT {cols} FROM "{table}"').fetchall()
    return {tuple(_norm(v) for v in r[1:]): int(r[0]) for r in rows}


def _norm(value: Any) -> Any:
    """A natural-key value comparable across sources (numbers as int, blanks as None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def resolve_ids(
    conn: psycopg.Connection, table: str, frame: pd.DataFrame
) -> tuple[pd.DataFrame, dict[Any, int]]:
    """``frame`` with database ids, and the map source id -> database id (module doc)."""
    spec = SPECS[table]
    id_col = spec.id_column
    if id_col is None or frame.empty:
        return frame, {}
    known = _existing_ids(conn, table, spec)
    used = set(known.values())
    next_id = max(used, default=0) + 1
    keys = [tuple(_norm(v) for v in row) for row in frame[list(spec.natural)].itertuples(False)]
    source_ids = frame[id_col].tolist() if id_col in frame else [None] * len(frame)
    # the source's ids of rows the database already knows are taken by them
    claimed = {known[k] for k in keys if k in known}
    mapping: dict[Any, int] = {}
    resolved: list[int] = []
    batch: dict[tuple, int] = {}
    for key, sid in zip(keys, source_ids, strict=True):
        if key in known:
            rid = known[key]
        elif key in batch:
            rid = batch[key]
        else:
            wanted = _norm(sid)
            if isinstance(wanted, int) and wanted > 0 and wanted not in used | claimed:
                rid = wanted
            else:
                while next_id in used or next_id in claimed:
                    next_id += 1
                rid = next_id
            used.add(rid)
            batch[key] = rid
        resolved.append(rid)
        if sid is not None and not (isinstance(sid, float) and np.isnan(sid)):
            mapping[_norm(sid)] = rid
    return frame.assign(**{id_col: resolved}), mapping


def upsert(
    conn: psycopg.Connection, table: str, frame: pd.DataFrame, touch: tuple[str, ...] = ()
) -> tuple[int, int]:
    """Merge ``frame`` into ``table`` on its key; (rows added, rows changed).

    ``touch`` columns (timestamps) are set to now() when a row changes and are not compared.
    """
    types = table_columns(conn, table)
    cols = [c for c in types if c in frame.columns and c not in touch]
    if frame.empty or not cols:
        return 0, 0
    key = SPECS[table].key
    frame = frame.drop_duplicates(list(key), keep="last")
    rows = _coerce(frame[cols], {c: types[c] for c in cols})
    stage = f"stage_{table}"
    keep = SPECS[table].keep_known
    with conn.transaction():  # the staging table empties itself at commit
        return _merge(conn, table, stage, cols, rows, key, touch, keep)


def _merge(
    conn: psycopg.Connection,
    table: str,
    stage: str,
    cols: list[str],
    rows: list[tuple[Any, ...]],
    key: tuple[str, ...],
    touch: tuple[str, ...],
    keep_known: bool,
) -> tuple[int, int]:
    quoted = ", ".join(f'"{c}"' for c in cols)
    conn.execute(
        f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" (LIKE "{table}" INCLUDING DEFAULTS) '
        "ON COMMIT DELETE ROWS"
    )
    with conn.cursor().copy(f'COPY "{stage}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
    updates = [c for c in cols if c not in key]
    conflict = ", ".join(f'"{c}"' for c in key)
    if updates:
        value = {
            c: f'COALESCE(EXCLUDED."{c}", t."{c}")' if keep_known else f'EXCLUDED."{c}"'
            for c in updates
        }
        sets = ", ".join(
            [*(f'"{c}" = {value[c]}' for c in updates), *(f'"{c}" = now()' for c in touch)]
        )
        old = ", ".join(f't."{c}"' for c in updates)
        new = ", ".join(value[c] for c in updates)
        action = f"DO UPDATE SET {sets} WHERE ROW({old}) IS DISTINCT FROM ROW({new})"
    else:
        action = "DO NOTHING"
    result = conn.execute(
        f'INSERT INTO "{table}" AS t ({quoted}) SELECT {quoted} FROM "{stage}" '
        f"ON CONFLICT ({conflict}) {action} RETURNING (xmax = 0)"
    ).fetchall()
    added = sum(1 for r in result if r[0])
    return added, len(result) - added


def _changed_races(conn: psycopg.Connection, frame: pd.DataFrame) -> set[int]:
    """Races of ``frame`` (results) whose stored results differ from it or are missing."""
    if frame.empty:
        return set()
    stored = pd.DataFrame(
        conn.execute(
            "SELECT race_id, driver_id, position_order, position FROM results "
            "WHERE race_id = ANY(%s)",
            ([int(r) for r in frame["race_id"].unique()],),
        ).fetchall(),
        columns=["race_id", "driver_id", "position_order", "position"],
    )

    def signature(f: pd.DataFrame) -> dict[int, tuple]:
        f = f[["race_id", "driver_id", "position_order", "position"]].copy()
        for c in f.columns:
            f[c] = pd.to_numeric(f[c], errors="coerce").fillna(-1).astype(int)
        return {
            int(r): tuple(
                map(tuple, g.sort_values(["driver_id", "position_order"]).to_numpy()[:, 1:])
            )
            for r, g in f.groupby("race_id")
        }

    old, new = signature(stored), signature(frame)
    return {r for r, sig in new.items() if old.get(r) != sig}


def load_tables(conn: psycopg.Connection, tables: dict[str, pd.DataFrame]) -> LoadReport:
    """Write every known table of ``tables`` in one transaction (module doc)."""
    report = LoadReport()
    maps: dict[str, dict[Any, int]] = {}
    with conn.transaction():
        for name, spec in SPECS.items():
            frame = tables.get(name)
            if frame is None:
                continue
            frame = frame.copy()
            for col, parent in spec.parents.items():
                if col in frame and parent in maps and maps[parent]:
                    frame[col] = frame[col].map(lambda v, m=maps[parent]: m.get(_norm(v), v))
            frame, maps[name] = resolve_ids(conn, name, frame)
            if name == "results":
                report.races_with_new_results = _changed_races(conn, frame)
            added, changed = upsert(conn, name, frame)
            report.added[name], report.changed[name] = added, changed
            if added or changed:
                log.info("%s: %d added, %d changed", name, added, changed)
    return report


def race_ids_by_date(conn: psycopg.Connection) -> dict[tuple[int, str], int]:
    """(season, race date 'YYYY-MM-DD') -> race_id, to attach weekend data to races."""
    rows = conn.execute("SELECT season, date, race_id FROM races WHERE date IS NOT NULL")
    return {(int(s), d.isoformat()): int(r) for s, d, r in rows.fetchall()}


# -- reads ---------------------------------------------------------------------------------
def read_frame(conn: psycopg.Connection, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
    cur = conn.execute(sql, tuple(params))
    cols = [d.name for d in cur.description or []]
    return pd.DataFrame(cur.fetchall(), columns=cols)


def read_history(conn: psycopg.Connection) -> History:
    """The whole history as the race model reads it (nullable numbers as floats)."""
    tables = {}
    for name in (
        "races", "results", "qualifying", "sprint_results", "circuits", "drivers",
        "constructors",
    ):  # fmt: skip
        frame = read_frame(conn, f'SELECT * FROM "{name}"')
        tables[name] = frame
    tables["weather"] = read_frame(conn, "SELECT * FROM race_weather")
    return History.from_tables(tables)


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create every pitwall table that is missing (the history ones included)."""
    migrate(conn)
