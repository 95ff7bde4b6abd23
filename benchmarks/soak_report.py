"""What the soak (``soak.py``) prints at the end: memory and CPU per process per minute, each
process's memory growth after the warm-up, the clients' errors, the restarts, and PostgreSQL
against the replays (nothing lost, nothing twice)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def report(rows: list[dict], clients: dict, failures: list[str], races: list, db: str,
           state: Path) -> None:  # fmt: skip
    names = [k for k in rows[0] if k not in ("minute", "race")] if rows else []
    print("\n| minute | race | " + " | ".join(f"{n} MB / CPU%" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for r in rows:
        cells = " | ".join(f"{r[n][0]} / {r[n][1]}" if n in r else "-" for n in names)
        print(f"| {r['minute']} | {r['race']} | {cells} |")
    first = rows[0]["race"] if rows else ""
    warm = [r for r in rows if r["race"] != first]
    print(f"\nMemory after the warm-up (the first race, {first}): {len(warm)} samples")
    print("| process | min MB | max MB | slope MB/h | CPU % mean |")
    print("|---|---|---|---|---|")
    for n in names:
        points = [(r["minute"], r[n][0]) for r in warm if n in r]
        cpu = [r[n][1] for r in warm if n in r]
        if not points:
            continue
        mbs = [m for _, m in points]
        print(f"| {n} | {min(mbs)} | {max(mbs)} | {slope(points) * 60:+.1f} | "
              f"{sum(cpu) / len(cpu):.0f} |")  # fmt: skip
    restarts = restarts_in(state / "up.log")
    print(f"\nClients: {clients}")
    print(f"Restarts by pitwall up: {dict(restarts) or 'none'}")
    lost, dup, lines = check(db, races)
    for line in lines:
        print(line)
    errors = (
        sum(clients.get("ws_errors", {}).values())
        + sum(clients.get("rest_errors", {}).values())
        + clients.get("ws_not_snapshot_first", 0)
        + len(failures)
        + sum(restarts.values())
    )
    for f in failures:
        print(f"replay failed: {f}")
    print(f"\nSOAK: errors {errors}, lost {lost}, duplicated {dup}")


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y), per unit of x (0 with fewer than two points)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def restarts_in(log: Path) -> Counter[str]:
    """What ``pitwall up`` restarted (its "exited; restarting" lines)."""
    out: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if "restarting" in line and "exited" in line:
            out[line.split(" exited")[0].replace("service ", "").strip()[-40:]] += 1
    return out


def check(db: str, races: list) -> tuple[int, int, list[str]]:
    """Lost and duplicated rows of every race, and a line per race."""
    import psycopg

    lost = dup = 0
    lines = []
    with psycopg.connect(db) as conn:
        for t in races:
            key = t.session_key
            counts = Counter(e.type for e in t.events)
            got = []
            for table, kind, cols in (("laps", "lap", "driver, lap_number"),
                                      ("stints", "stint", "driver, stint")):  # fmt: skip
                stored = conn.execute(f"SELECT count(*) FROM {table} WHERE session_key = %s",
                                      (key,)).fetchone()[0]  # fmt: skip
                twice = conn.execute(
                    f"SELECT count(*) FROM (SELECT {cols} FROM {table} WHERE session_key = %s "
                    f"GROUP BY {cols} HAVING count(*) > 1) x",
                    (key,),
                ).fetchone()[0]
                lost += max(counts[kind] - stored, 0)
                dup += twice
                got.append(f"{table} {stored}/{counts[kind]} (twice {twice})")
            without = conn.execute(
                "SELECT count(*) FROM (SELECT DISTINCT lap_number FROM laps WHERE "
                "session_key = %s AND position = 1 EXCEPT SELECT lap FROM strategy "
                "WHERE session_key = %s) x",
                (key, key),
            ).fetchone()[0]
            lost += without
            lines.append(f"{key}: {', '.join(got)}, leader laps without strategy {without}")
    return lost, dup, lines
