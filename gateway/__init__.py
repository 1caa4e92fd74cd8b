"""The srlforge gateway: the public HTTP API (``gateway.app.create_app``) and its CLI."""
