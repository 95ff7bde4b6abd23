"""Benchmark: 1,000 concurrent WebSocket clients on one session during a real race replay.

    python benchmarks/bench_ws.py [--clients 1000] [--race 2023 Monaco] [--speed 2]

Uses KAFKA_BOOTSTRAP / DATABASE_URL / REDIS_URL (or a running ``pitwall up``) when set,
otherwise starts the embedded stack for the run. It starts what is missing the way users do:
the sink (``python -m pitwall.cli sink``: PostgreSQL + the Redis writer), the stream worker
(``python -m pitwall.cli worker``) when ``streams/`` is installed, and the gateway
(``python -m pitwall.cli serve``). It warms the pipeline up with a few laps under a throw-away
session key, connects the clients (a minimal WebSocket client on plain sockets by default, or
``--client websockets``; ``ulimit -n`` raised to the hard limit; spread over ``--procs``
processes), replays the race (laps ``--from-lap`` to ``--to-lap`` at ``--speed``; default laps
20-22 at twice live pace, about 2 minutes) under a fresh key and prints, per message kind and
overall, the latency from the event's ``produced_at`` (``source_produced_at`` for derived
events such as strategy) to its receipt by the client: p50/p95/p99/max, where that time goes
(to the worker's output, to the Redis writer's publish, from there to the client), p99 per
10 s of the run, the messages delivered, clients dropped, and the gateway's RSS memory.

Receipt is when the frame's bytes reached the client's socket (the kernel's receive time):
what a client on its own machine would see. The light client also prints the figures to when
its process read the frame, which adds the wait for a process sharing the two cores with the
server and 999 other clients (the ``websockets`` client has only this time). A frame that
arrives while an earlier one is still unread merges with it in the socket and both take the
later time, so ``--probes`` (50) of the clients run in a process of their own at real-time
priority: they read each frame as it arrives, and their figures, printed apart, are exact.
The gateway writes to its clients in no set order, so the probes are a random sample of them.
A last table shows where the slowest 1% of messages spent their time.

The clients stand for users on machines of their own, whose reading takes no CPU from the
server. So by default (``--client-priority background``) the other clients' processes run at
the lowest priority, each in a session of its own (Linux schedules a session's processes as
one group, whose weight is what counts between groups): they read when the server's
processes leave a core free. Their reads lag more, so more of their frames merge and their
figures are a looser upper bound; the verdict is then on the probes' exact figures.
``--client-priority normal`` runs them at the server's priority.

``--gateway ws://host:port --session-key K --listen 60`` measures a running deployment
instead (no stack, no replay: it listens while you replay with ``simulate_live``).
"""

from ws.main import main

if __name__ == "__main__":
    main(__doc__.splitlines()[0])
