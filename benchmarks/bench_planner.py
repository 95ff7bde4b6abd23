"""Benchmark: the dashboard's what-if planner, one question as the page asks it: the race now
(``GET /sessions/{key}/race-state``) then two plans raced against each other
(``POST /strategies/compare``, 2,000 races each). Target: an answer within a second.

    python benchmarks/bench_planner.py [--race "2023 Bahrain"] [--lap 40] [--runs 20]

The live state is the Redis writer's (``consumers.redis_state``), fed the race's real events
up to the end of ``--lap``; the API app runs in this process (httpx's ASGI transport). Uses
REDIS_URL (or a running ``pitwall up``) when set, otherwise starts the embedded Redis for the
run. Prints, each in a new process, the first answer of a fresh API process and the first
after the dashboard's visit readied the models (``api.services.warmup``), then warm answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import Harness, percentile_cells


def land(redis_url: str, timeline, key: str, lap: int) -> None:
    """The race's events up to the end of ``lap`` through the Redis writer."""
    import redis

    from consumers.redis_state import StateWriter
    from schemas import encode, topic_for

    end = timeline.lap_start_time(lap + 1)
    client = redis.Redis.from_url(redis_url)
    writer = StateWriter(client)
    pipe = client.pipeline(transaction=False)
    for e in timeline.with_session_key(key).events:
        if end is not None and e.event_time.session_time >= end:
            break
        if e.type != "telemetry":
            writer.apply(topic_for(e).name, e, encode(e), pipe)
    writer.finish(pipe)
    pipe.execute()
    client.close()


async def ask(client, key: str) -> tuple[float, float]:
    """One planner question; (seconds for the whole answer, simulation ms)."""
    started = time.perf_counter()
    rs = (await client.get(f"/sessions/{key}/race-state")).raise_for_status().json()
    car = rs["drivers"][4]
    plans = [
        [{"lap": rs["lap"] + 5, "compound": "HARD"}],
        [{"lap": rs["lap"] + 3, "compound": "MEDIUM"}],
    ]
    body = {"state": rs, "driver": car["driver"], "plans": plans, "n_sims": 2000, "seed": 7}
    res = (await client.post("/strategies/compare", json=body)).raise_for_status().json()
    return time.perf_counter() - started, res["compute_ms"]


async def run(case: str, redis_url: str, key: str, runs: int, state_dir: str) -> None:
    """One API process's answers: its first (``fresh``: nothing loaded; ``readied``: after
    the dashboard's visit readied the models), then ``runs`` warm ones."""
    import httpx

    from api.main import create_app
    from api.services.warmup import TASK, warm_models
    from core.settings import Settings

    settings = Settings(
        state_dir=Path(state_dir), redis_url=redis_url, database_url=None, log_level="WARNING"
    )
    app = create_app(settings.model_copy(update={"rate_limit_ip": 0, "rate_limit_user": 0}))
    async with app.router.lifespan_context(app):
        res = app.state.resources
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            if case == "readied":
                started = time.perf_counter()
                warm_models(res)
                await next(t for t in res.background if t.get_name() == TASK)
                took = time.perf_counter() - started
                print(f"{'readying the models (background)':<34} {took * 1000:8.1f} ms")
            first, sim = await ask(client, key)
            label = f"first answer, {case} process"
            print(f"{label:<34} {first * 1000:8.1f} ms (simulation {sim:.0f} ms)")
            if case == "readied":
                await warm_answers(client, key, runs)


async def warm_answers(client, key: str, runs: int) -> None:
    warm = [(await ask(client, key))[0] * 1000 for _ in range(runs)]
    p95, top = percentile_cells(warm, (95, 100), "{:.1f}")
    median = statistics.median(warm)
    print(f"{f'warm ({runs} runs)':<34} median {median:.1f} ms  p95 {p95} ms  max {top} ms")
    print("target: an answer within 1,000 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--race", default="2023 Bahrain")
    parser.add_argument("--lap", type=int, default=40)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--case", help=argparse.SUPPRESS)  # a child: one API process
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args.case, os.environ["REDIS_URL"], args.key, args.runs, tmp))
        return
    year, event = args.race.split(" ", 1)
    with Harness("redis") as h:
        from replay.timeline import build_timeline

        timeline = build_timeline(int(year), event, settings=h.settings)
        key = f"{timeline.session_key}-bench{uuid.uuid4().hex[:6]}"
        land(h.settings.require_redis, timeline, key, args.lap)
        print(f"{args.race}, the race after lap {args.lap} ({key}); each case a new process")
        env = {**os.environ, "REDIS_URL": h.settings.require_redis, "PITWALL_LOG_LEVEL": "WARNING"}
        for case in ("fresh", "readied"):
            cmd = [sys.executable, __file__, "--case", case, "--key", key, "--runs", str(args.runs)]
            subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
