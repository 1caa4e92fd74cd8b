"""Build a provider adapter from settings (the one place that reads secret values)."""

from __future__ import annotations

import time
from collections.abc import Callable

from paid_ft_service.errors import AuthFailed
from paid_ft_service.providers import Provider, provider_class
from paid_ft_service.retry import RetryPolicy
from paid_ft_service.settings import PaidFTSettings
from srlforge.settings import get_settings as get_shared_settings


def _secret(settings: PaidFTSettings, field: str, provider: str) -> str:
    value = getattr(settings, field)
    if value is None:
        raise AuthFailed(provider, f"SRLFORGE_PAID_FT_{field.upper()} is not set")
    return value.get_secret_value()


def build_provider(
    name: str,
    settings: PaidFTSettings,
    base_url: str | None = None,
    *,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Provider:
    """The adapter for ``name``; ``base_url`` points every endpoint it uses elsewhere (a fake)."""
    cls = provider_class(name)
    common = {"retry": retry, "sleep": sleep, "secrets": settings.secret_values()}
    if name == "openai":
        key = _secret(settings, "openai_api_key", name)
        return cls(api_key=key, base_url=base_url or settings.openai_base_url, **common)
    if name == "together":
        key = _secret(settings, "together_api_key", name)
        return cls(api_key=key, base_url=base_url or settings.together_base_url, **common)
    if name == "anthropic":
        key = _secret(settings, "anthropic_api_key", name)
        return cls(
            api_key=key,
            base_url=base_url or settings.anthropic_base_url,
            artifact_dir=get_shared_settings().home / "paid_ft",
            **common,
        )
    if name == "vertex":
        return cls(
            project=settings.vertex_project or "",
            location=settings.vertex_location,
            access_token=_secret(settings, "vertex_access_token", name),
            bucket=settings.vertex_bucket or "",
            base_url=base_url or settings.vertex_base_url,
            storage_url=base_url or settings.vertex_storage_url,
            **common,
        )
    if name == "bedrock":
        return cls(
            region=settings.aws_region,
            access_key_id=_secret(settings, "aws_access_key_id", name),
            secret_access_key=_secret(settings, "aws_secret_access_key", name),
            bucket=settings.bedrock_bucket or "",
            role_arn=settings.bedrock_role_arn or "",
            endpoint_url=base_url or settings.bedrock_endpoint_url,
            s3_endpoint_url=base_url or settings.s3_endpoint_url,
            **common,
        )
    raise ValueError(f"no settings mapping for provider '{name}'")
