"""How the tracker's answers and refusals become HTTP answers for the registry and metric routes.

The tracker (embedded or gRPC) raises the same ``tracker_service.errors`` classes either way;
this is the edge where they change type. A refusal is the caller's to act on (404, 409, 422,
with the tracker's message, which says what to change); an unreachable tracker is a 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from sqlalchemy.exc import InterfaceError, OperationalError

from gateway.tracker_link import TrackerUnavailable
from tracker_service import errors

_STATUS: tuple[tuple[type[errors.TrackerError], int], ...] = (
    (errors.FailedPrecondition, 409),  # PromotionRefused, NothingToRollBack, archived models
    (errors.Conflict, 409),
    (errors.NotFound, 404),
    (errors.InvalidArgument, 422),
)


@contextmanager
def tracker_answers() -> Iterator[None]:
    """Run tracker calls; turn each domain error into its HTTP answer."""
    try:
        yield
    except (errors.TrackerUnavailable, errors.DatabaseNotMigrated) as exc:
        # An operator's problem, not the caller's (DatabaseNotMigrated is a FailedPrecondition).
        raise TrackerUnavailable(f"tracker: {exc}") from None
    except (OperationalError, InterfaceError):
        # The embedded tracker's database went away; the message may carry its URL.
        raise TrackerUnavailable("tracker: its database does not answer; retry later") from None
    except errors.TrackerError as exc:
        for cls, status in _STATUS:
            if isinstance(exc, cls):
                raise HTTPException(status, detail=str(exc)) from None
        raise TrackerUnavailable(f"tracker: {exc}") from None
