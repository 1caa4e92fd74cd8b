"""Teacher backend for any OpenAI-compatible chat endpoint (OpenAI, OpenRouter, vLLM, Ollama).

The official ``openai`` SDK does the HTTP; its own retries are switched off (``max_retries=0``) so
that one policy — ours, with jitter, ``Retry-After`` and a circuit breaker shared by every
concurrent episode — decides what is retried. The key is read from the config (a ``SecretStr``)
or the SDK's ``OPENAI_API_KEY``; the base URL from the config or ``OPENAI_BASE_URL``. Neither the
key nor the request headers ever reach an error message or a log line.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from srlforge.llm.base import (
    CircuitBreaker,
    Message,
    ProviderError,
    RetryPolicy,
    TeacherConfigError,
    TeacherRequest,
    TransientError,
    TransportStats,
    call_with_retries,
)

log = logging.getLogger(__name__)

# Provider error bodies can be long HTML pages from a proxy; the first few hundred characters
# carry the reason.
_MAX_PROVIDER_MESSAGE = 500


@dataclass(frozen=True)
class OpenAICompatConfig:
    model: str = "gpt-4.1-mini"
    base_url: str | None = None  # None: OPENAI_BASE_URL, else the SDK's default (api.openai.com)
    api_key: SecretStr | None = None  # None: OPENAI_API_KEY
    temperature: float = 0.2
    max_tokens: int = 512
    timeout_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failure_threshold: int = 8
    breaker_reset_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise TeacherConfigError("teacher 'openai' needs a model name (--model or settings)")
        if not 0.0 <= self.temperature <= 2.0:
            raise TeacherConfigError(f"temperature must be in [0, 2], got {self.temperature}")
        if self.max_tokens < 1:
            raise TeacherConfigError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.timeout_s <= 0:
            raise TeacherConfigError(f"timeout_s must be > 0, got {self.timeout_s}")

    def resolved_key(self) -> str:
        key = self.api_key.get_secret_value() if self.api_key is not None else ""
        key = key or os.environ.get("OPENAI_API_KEY", "")
        if not key.strip():
            raise TeacherConfigError(
                "teacher 'openai' needs an API key: set SRLFORGE_COLLAB_OPENAI_API_KEY or "
                "OPENAI_API_KEY (local servers such as vLLM or Ollama accept any non-empty value)"
            )
        return key


def _retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form; HTTP dates are rare here)."""
    if headers is None:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        return seconds / 1000.0 if name == "retry-after-ms" else seconds
    return None


def _provider_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
        if message:
            return str(message)[:_MAX_PROVIDER_MESSAGE]
    return str(getattr(exc, "message", exc))[:_MAX_PROVIDER_MESSAGE]


class OpenAICompatTeacher:
    name = "openai"
    config_class = OpenAICompatConfig

    def __init__(self, config: OpenAICompatConfig | None = None) -> None:
        import openai

        self.config = config or OpenAICompatConfig()
        self._openai = openai
        kwargs: dict[str, Any] = {
            "api_key": self.config.resolved_key(),
            "timeout": self.config.timeout_s,
            "max_retries": 0,
        }
        if self.config.base_url:
            kwargs["base_url"] = self.config.base_url
        self._client = openai.AsyncOpenAI(**kwargs)
        self.policy = self.config.retry
        self.breaker = CircuitBreaker(
            self.config.breaker_failure_threshold, self.config.breaker_reset_s
        )
        self.stats = TransportStats()
        self._rng = random.Random()

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def _once(self, messages: list[Message]) -> str:
        openai = self._openai
        try:
            response = await self._client.chat.completions.create(
                model=self.config.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,
            )
        except openai.APITimeoutError as exc:
            raise TransientError(
                f"timed out after {self.config.timeout_s}s", kind="timeout"
            ) from exc
        except openai.APIConnectionError as exc:
            raise TransientError(f"connection failed: {exc.message}", kind="connection") from exc
        except openai.RateLimitError as exc:
            raise TransientError(
                f"429 rate limited: {_provider_message(exc)}",
                kind="rate_limited",
                retry_after=_retry_after(exc.response.headers),
            ) from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status >= 500 or status in (408, 409):
                # 408/409 are the provider's own "try again" (OpenAI retries them in its SDK too).
                raise TransientError(
                    f"{status} from provider: {_provider_message(exc)}",
                    kind="server_error",
                    retry_after=_retry_after(exc.response.headers),
                ) from exc
            raise ProviderError(
                f"{status} from provider: {_provider_message(exc)}", status=status
            ) from exc
        except openai.APIResponseValidationError as exc:
            raise ProviderError(f"unreadable response: {exc.message}") from exc
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""

    async def chat(self, messages: list[Message]) -> str:
        return await call_with_retries(
            lambda: self._once(messages), self.policy, self.breaker, self.stats, self._rng
        )

    async def propose(self, request: TeacherRequest) -> str:
        return await self.chat(request.messages)

    async def aclose(self) -> None:
        await self._client.close()
