"""A race weekend of load: races back to back at 20x while WebSocket clients come and go and
REST clients read, with each process's memory and CPU sampled every minute.

Runs ``pitwall up --with worker --with sink --with api`` on its own embedded servers
(``fault_stack.StackProcess``: durable PostgreSQL; the per-address rate limit lifted, as the
clients all come from 127.0.0.1), and ``soak_load.py`` in a process of its own: ``--ws``
WebSocket clients that connect to the race being replayed, stay 5-60 s, leave and come back,
and ``--rps`` REST requests per second. ``--races`` 2023 races (``sessions/races.py``) are
replayed one after the other from lights out at ``--speed``, each under a fresh session key.

Every ``--sample`` seconds it records, per process group of the stack (the broker, PostgreSQL
with its backends, Redis, the worker, the sink with its children, the API), the clients'
process and this one (the replays): memory (PSS, so PostgreSQL's shared buffers count once)
and CPU (% of one core over the interval). At the end: the table per minute, each process's
memory growth after the warm-up (the first race; least-squares slope in MB per hour and the
range), the clients' counts (errors: WebSocket connections that failed or were closed by
the server, REST 5xx and transport errors, reconnections without a snapshot), the restarts
``pitwall up`` made, and PostgreSQL against the replays: every lap and stint of every race
stored once, every leader lap with a strategy update.

    python benchmarks/soak.py [--races 8] [--speed 20] [--ws 200] [--rps 50] [--sample 60]
        [--laps N]   # each race cut after leader lap N (a short check; default: whole races)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_stack import REPO, StackProcess, free_port
from faults import wait_for
from sessions.races import RACES, cut

#: Registry names of the stack's process groups, as the table shows them.
GROUPS = {
    "tansubroker": "broker",
    "embeddedpostgres": "postgres",
    "embeddedredis": "redis",
    "worker": "worker",
    "sink": "sink",
    "api": "api",
}


@dataclass
class Sampler:
    """Memory and CPU of each process group, every ``every`` seconds, in a thread."""

    stack: StackProcess
    extra: dict[str, int]  # name -> pid of processes outside the stack (clients, replays)
    every: float
    rows: list[dict] = field(default_factory=list)
    race: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def groups(self) -> dict[str, list[psutil.Process]]:
        from pitwall.processes import group_members

        out: dict[str, list[psutil.Process]] = {}
        for entry in json.loads((self.stack.state / "processes.json").read_text()):
            name = GROUPS.get(entry["name"], entry["name"])
            out[name] = _with_children(group_members(entry["pid"], entry["started"]))
        # An extra process counts with its children, less those counted elsewhere: the
        # replays' process is the parent of ``pitwall up`` (the stack) and of the clients.
        counted = {p.pid for procs in out.values() for p in procs}
        if self.stack.up is not None:
            counted.add(self.stack.up.pid)
        trees: dict[str, list[psutil.Process]] = {}
        for name, pid in self.extra.items():
            try:
                proc = psutil.Process(pid)
                trees[name] = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                trees[name] = []
        for name, procs in trees.items():
            mine = {p.pid for p in procs}
            nested = {p.pid for other, ps in trees.items() if other != name and ps
                      and ps[0].pid in mine for p in ps}  # fmt: skip
            out[name] = [p for p in procs if p.pid not in counted | nested]
        return out

    def run(self) -> None:
        last = self.cpu_times()  # so the first minute's CPU counts too
        at = time.monotonic()
        while not self.stop.wait(self.every):
            now = time.monotonic()
            row: dict = {"minute": round((now - self.t0) / 60, 1), "race": self.race}
            cpu_now: dict[int, float] = {}
            for name, procs in self.groups().items():
                mb = cpu = 0.0
                for p in procs:
                    try:
                        mb += p.memory_full_info().pss / 2**20
                        t = p.cpu_times()
                        cpu_now[p.pid] = t.user + t.system
                        cpu += cpu_now[p.pid] - last.get(p.pid, cpu_now[p.pid])
                    except psutil.Error:
                        continue
                row[name] = (round(mb), round(100 * cpu / (now - at)))
            self.rows.append(row)
            last, at = cpu_now, now
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)

    def cpu_times(self) -> dict[int, float]:
        """CPU seconds so far of every process of the groups, by pid."""
        out = {}
        for procs in self.groups().values():
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    out[p.pid] = t.user + t.system
        return out

    def start(self) -> None:
        self.t0 = time.monotonic()
        threading.Thread(target=self.run, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=8)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--ws", type=int, default=200)
    parser.add_argument("--rps", type=float, default=50.0)
    parser.add_argument("--sample", type=float, default=60.0)
    parser.add_argument("--laps", type=int, default=0)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="pitwall-soak-"))
    stack = StackProcess(state, free_port(), extra_env={"PITWALL_RATE_LIMIT_IP": "0"})
    print(f"state {state}, log {state / 'up.log'}", flush=True)
    stack.start()
    load = None
    try:
        urls = stack.urls()
        api = f"http://127.0.0.1:{stack.api_port}"
        if wait_for(lambda: _ok(f"{api}/health/live"), 180) is None:
            raise SystemExit("the API did not answer")
        races = _timelines(args, state, urls)
        time.sleep(5)  # the worker and sinks join their groups
        files = {n: state / f"soak-{n}" for n in ("session", "stop", "report")}
        load = subprocess.Popen(
            [sys.executable, str(REPO / "benchmarks" / "soak_load.py"), "--api", api,
             "--session-file", str(files["session"]), "--stop-file", str(files["stop"]),
             "--report", str(files["report"]), "--ws", str(args.ws), "--rps", str(args.rps)],
            cwd=REPO,
        )  # fmt: skip
        sampler = Sampler(stack, {"clients": load.pid, "replays": _self()}, args.sample)
        sampler.start()
        failures = _replay_all(races, urls, args.speed, files["session"], sampler)
        print("replays done; draining", flush=True)
        _drain(urls["DATABASE_URL"], races)
        files["stop"].touch()
        load.wait(120)
        sampler.stop.set()
        clients = json.loads(files["report"].read_text())
        from soak_report import report

        report(sampler.rows, clients, failures, races, urls["DATABASE_URL"], state)
    finally:
        if load is not None and load.poll() is None:
            load.kill()
        print(stack.stop(), flush=True)


def _with_children(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes and their descendants (PostgreSQL's backends each lead a group)."""
    out = {p.pid: p for p in procs}
    for p in procs:
        with contextlib.suppress(psutil.Error):
            out.update((c.pid, c) for c in p.children(recursive=True))
    return list(out.values())


def _self() -> int:
    import os

    return os.getpid()


def _timelines(args: argparse.Namespace, state: Path, urls: dict[str, str]) -> list:
    from core.settings import Settings
    from replay.timeline import build_timeline

    settings = Settings(state_dir=state, **{k.lower(): v for k, v in urls.items()})
    out = []
    for name in RACES[: args.races]:
        timeline, _ = cut(build_timeline(2023, name, settings=settings), args.laps)
        key = f"{timeline.session_key}-soak{uuid.uuid4().hex[:6]}"
        out.append(timeline.with_session_key(key))
    print(f"{len(out)} races loaded: {', '.join(t.session_key for t in out)}", flush=True)
    return out


def _replay_all(races: list, urls: dict, speed: float, session_file: Path, sampler) -> list:
    """Each race in turn from lights out at ``speed``; the failures."""
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline

    failures = []
    for timeline in races:
        session_file.write_text(timeline.session_key)
        sampler.race = timeline.session_key.split("-soak")[0]
        producer = EventProducer(urls["KAFKA_BOOTSTRAP"], log_level=0)
        try:
            summary = publish_timeline(timeline, producer, speed=speed, from_lap=1)
            print(f"{timeline.session_key}: {summary.total} events in {summary.seconds:.0f} s, "
                  f"max lag {summary.max_lag:.2f} s", flush=True)  # fmt: skip
        except Exception as exc:
            failures.append(f"{timeline.session_key}: {type(exc).__name__}: {exc}")
        finally:
            producer.close()
    return failures


def _drain(database_url: str, races: list) -> None:
    from fault_observers import laps_stored

    last = races[-1]
    want = sum(1 for e in last.events if e.type == "lap")
    wait_for(lambda: (laps_stored(database_url, last.session_key) or 0) >= want, 300)
    time.sleep(15)  # the last strategy updates


def _ok(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
