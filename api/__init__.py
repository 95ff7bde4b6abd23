"""pitwall's serving layer: the FastAPI REST API, the WebSocket gateway and the dashboard.

``api.main.create_app()`` builds the app; ``pitwall serve`` runs it under uvicorn. History
comes from PostgreSQL (written by ``consumers/``), live state and updates from Redis, and
predictions from the pure race model (``strategy/``).
"""
