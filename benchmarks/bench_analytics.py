"""Benchmark: a comparison of two drivers over a full race (``/api/v1/compare/drivers``),
cold and from Redis.

    python benchmarks/bench_analytics.py [--session 2023-monaco-R] [--drivers VER,ALO] [--runs 20]

The API app runs in this process (httpx's ASGI transport: routing, validation, the analytics
and Redis, without a network hop). Uses REDIS_URL (or a running ``pitwall up``) when set,
otherwise starts the embedded Redis for the run. Prints, for the whole request:

- first load: a fresh state directory, so the session comes through FastF1 from its cache
  files and is written to the analytics lap cache (what the first user of a session pays);
- cold: the Redis entry deleted and the process's lap tables forgotten before each request,
  the laps read from the analytics lap cache (target < 300 ms);
- from Redis: the cached result (target < 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path


def stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   max {ms[-1]:7.1f} ms"


async def run(args: argparse.Namespace) -> None:
    import httpx
    import redis.asyncio as aioredis

    from api import analytics
    from api.main import create_app
    from pitwall.core.settings import Settings

    settings = Settings(state_dir=Path(args.state_dir), redis_url=os.environ["REDIS_URL"])
    app = create_app(settings, rate_limit=0)
    url = f"/api/v1/compare/drivers?session={args.session}&drivers={args.drivers}"
    key = f"pitwall:analytics:v{analytics.CACHE_VERSION}:drivers:{args.session}:{args.drivers}"
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
                analytics.clear_memo()
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
    server = None
    with tempfile.TemporaryDirectory(prefix="pitwall-bench-analytics-") as tmp:
        args.state_dir = tmp
        if not os.environ.get("REDIS_URL"):
            from pitwall.core.settings import get_settings

            url = get_settings().redis_url  # a running `pitwall up`
            if url:
                os.environ["REDIS_URL"] = url
            else:
                from pitwall.embedded.redis import EmbeddedRedis

                server = EmbeddedRedis(Path(tmp) / "redis")
                os.environ["REDIS_URL"] = server.start()
        try:
            asyncio.run(run(args))
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
