"""srlforge: train small game-AI models with SRL -> RLVR on verifiable rewards.

The shared domain library. Importing it pulls no torch, celery or grpc; those live behind the
service packages and are imported where they are used.
"""

__version__ = "0.1.0"
