"""Domain errors of the paid fine-tuning service.

Adapters translate SDK exceptions into these; routes and the CLI translate these into status
codes and exit codes. No message ever carries an API key: ``redact`` scrubs what a provider
echoes back before it reaches a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


class PaidFTError(Exception):
    """Base class: everything this service raises on purpose."""


class NotAvailable(PaidFTError):
    """The provider, model or method cannot take a job (retired, unsupported, no API)."""


class DatasetInvalid(PaidFTError):
    """Rows failed the provider's documented rules; ``report`` says which and why."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class BudgetExceeded(PaidFTError):
    """The job's estimated cost does not fit the tenant's remaining budget."""


class JobNotFound(PaidFTError):
    pass


class ProviderError(PaidFTError):
    """A provider answered with an error; ``retryable`` says whether trying again may help."""

    retryable = False

    def __init__(self, provider: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.status = status


class AuthFailed(ProviderError):
    """Bad, expired or missing credentials. Never retried: the same key fails the same way."""


class RateLimited(ProviderError):
    retryable = True

    def __init__(
        self, provider: str, message: str, *, status: int | None = 429, retry_after: float | None
    ) -> None:
        super().__init__(provider, message, status=status)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """5xx or a dropped connection."""

    retryable = True


class ProviderRejected(ProviderError):
    """4xx other than auth and rate limits: the request itself is wrong."""


_KEYISH = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+[A-Za-z0-9._\-]{6,}|AKIA[A-Z0-9]{12,})")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret and anything shaped like a key replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEYISH.sub("***", text)
