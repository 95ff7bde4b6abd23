"""The API's services: what the routers call to load, compute and cache, free of HTTP.

Each takes the app's ``Resources`` (``api.resources``), a connection or the settings as
parameters, never reads the environment and never imports FastAPI. A service reports what
went wrong with a domain error (``api.services.errors``, ``analytics.errors``); ``api.errors``
is the one place that maps them to HTTP status codes.

Session analytics: ``cache`` (the Redis cache of their results), ``session_laps`` (a session's
lap table, archived or live), ``analytics`` (comparisons and insights), ``telemetry``,
``battles`` and ``track_map``. Stored and live sessions: ``sessions``, ``exports``. The F1
history in PostgreSQL: ``history`` (races, seasons, pre-race predictions), ``races``,
``standings``, ``accuracy``, ``ratings``. The race model: ``predictions``, ``simulation``.
Operations: ``replays``, ``health``.
"""
