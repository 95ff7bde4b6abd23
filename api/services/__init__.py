"""The API's services: what the routers call to load, compute and cache, free of HTTP.

Each takes the app's ``Resources`` (``api.resources``), a connection or the settings as
parameters, never reads the environment and never imports FastAPI. A service reports what
went wrong with a domain error (``api.services.errors``, ``analytics.errors``); ``api.errors``
is the one place that maps them to HTTP status codes. Modules: ``cache`` (the Redis cache of
analytics results), ``session_laps`` (a session's lap table, archived or live), ``analytics``
(comparisons and insights), ``telemetry``, ``battles``, ``track_map``, ``history`` (F1 history,
ratings and pre-race predictions in PostgreSQL), ``races``, ``standings``, ``ratings``,
``sessions`` (stored and live sessions), ``exports``, ``predictions``, ``simulation``,
``replays`` and ``health``.
"""
