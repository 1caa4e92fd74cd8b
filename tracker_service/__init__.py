"""tracker_service: every metric and every model version srlforge produces.

Metrics store with per-minute rollups, trends, regression detection, weaknesses, retrain
triggers and the model registry, on SQLite (embedded default) or PostgreSQL. Other services use
``tracker_service.client`` (``EmbeddedTracker`` in-process, ``GrpcTracker`` against
``srlforge tracker serve``); operators use the ``srlforge tracker`` CLI (``tracker_service.cli``).
"""
