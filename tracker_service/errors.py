"""Domain errors of the tracker.

Domain code raises these and nothing transport-shaped; ``grpc_server`` maps each family to a
status code and ``client.GrpcTracker`` maps it back, so callers catch the same classes whether
they talk to the embedded store or to the service.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base class; the message says what was wrong and how to fix it."""


class InvalidArgument(TrackerError):
    """The request itself is malformed (gRPC INVALID_ARGUMENT)."""


class UnknownMetricError(InvalidArgument):
    """A metric name that is not declared in the metric registry."""


class InvalidMetricValue(InvalidArgument):
    """A metric value that is not a finite number, or lies outside the metric's bounds."""


class NotFound(TrackerError):
    """A referenced entity does not exist (gRPC NOT_FOUND)."""


class UnknownModelError(NotFound):
    """A model id that was never registered."""


class Conflict(TrackerError):
    """The request contradicts stored state, e.g. re-registering an id differently."""


class FailedPrecondition(TrackerError):
    """The request is well-formed but the system is not in a state that allows it."""


class PromotionRefused(FailedPrecondition):
    """The candidate does not beat the current production model on the gate metrics."""


class NothingToRollBack(FailedPrecondition):
    """There is no earlier production version to restore."""


class DatabaseNotMigrated(FailedPrecondition):
    """The database schema is missing or behind the code's migrations."""


class TrackerUnavailable(TrackerError):
    """The tracker service could not be reached in time (raised by the gRPC client only)."""


# Looked up by name when a gRPC client turns a status back into a domain error.
ERRORS_BY_NAME: dict[str, type[TrackerError]] = {
    cls.__name__: cls
    for cls in (
        TrackerError,
        InvalidArgument,
        UnknownMetricError,
        InvalidMetricValue,
        NotFound,
        UnknownModelError,
        Conflict,
        FailedPrecondition,
        PromotionRefused,
        NothingToRollBack,
        DatabaseNotMigrated,
        TrackerUnavailable,
    )
}
