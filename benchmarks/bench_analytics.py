"""Benchmark: a comparison of two drivers over a full race (``/api/v1/compare/drivers``),
cold and from Redis.

    python benchmarks/bench_analytics.py [--session 2023-monaco-R] [--drivers VER,ALO] [--runs 20]

The API app runs in this process (httpx's ASGI transport: routing, validation, the analytics
and Redis, without a network hop). Uses REDIS_URL (or a running ``pitwall up``) when set,
otherwise starts the embedded Redis for the run (``benchmarks/harness.py``). Prints, for the
whole request:

- first load: a fresh state directory, so the session comes through FastF1 from its cache
  files and is written to the analytics lap cache (what the first user of a session pays);
- cold: the Redis entry deleted and the process's lap tables forgotten before each request,
  the laps read from the analytics lap cache (target < 300 ms);
- from Redis: the cached result (target < 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from harness import Harness, percentile_cells


def stats(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    p95, top = percentile_cells(ms, (95, 100), "{:7.1f}")
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95} ms   max {top} ms"


async def run(args: argparse.Namespace, redis_url: str) -> None:
    import httpx
    import redis.asyncio as aioredis

    from api.main import create_app
    from api.services.cache import CACHE_VERSION
    from core.settings import Settings

    settings = Settings(state_dir=Path(args.state_dir), redis_url=redis_url)
    app = create_app(settings.model_copy(update={"rate_limit_ip": 0, "rate_limit_user": 0}))
    url = f"/api/v1/compare/drivers?session={args.session}&drivers={args.drivers}"
    key = f"pitwall:analytics:v{CACHE_VERSION}:drivers:{args.session}:{args.drivers}"
    r = aioredis.Redis.from_url(settings.redis_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await r.delete(key)
            started = time.perf_counter()
            resp = await client.get(url)
            first = time.perf_counter() - started
            resp.raise_for_status()
            body = resp.json()
            cold, hot = [], []
            for _ in range(args.runs):
                await r.delete(key)
                app.state.resources.forget_sessions()
                started = time.perf_counter()
                (await client.get(url)).raise_for_status()
                cold.append(time.perf_counter() - started)
            for _ in range(args.runs):
                started = time.perf_counter()
                (await client.get(url)).raise_for_status()
                hot.append(time.perf_counter() - started)
    await r.aclose()
    laps = sum(len(v["lap"]) for v in body["laps"].values())
    print(
        f"compare/drivers {args.session} {args.drivers}: {laps} laps, {len(resp.content):,} bytes"
    )
    print(f"first load (FastF1 parse) {first * 1000:7.1f} ms")
    print(f"cold  ({args.runs} runs)  {stats(cold)}   target < 300 ms")
    print(f"Redis ({args.runs} runs)  {stats(hot)}   target < 20 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session", default="2023-monaco-R")
    parser.add_argument("--drivers", default="VER,ALO")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    # A fresh state directory: the first request parses the session from FastF1's cache.
    with (
        Harness("redis") as h,
        tempfile.TemporaryDirectory(prefix="pitwall-bench-analytics-") as tmp,
    ):
        args.state_dir = tmp
        asyncio.run(run(args, h.settings.require_redis))


if __name__ == "__main__":
    main()
