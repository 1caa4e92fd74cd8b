"""Provider adapters, one file each, wired by one line in ``PROVIDERS``."""

from __future__ import annotations

import importlib

from paid_ft_service.providers.base import (
    TERMINAL,
    JobSpec,
    Provider,
    ProviderEvent,
    ProviderJob,
)

# provider name -> "module:Class". Adding a provider = one file here + one line + catalogue rows.
PROVIDERS: dict[str, str] = {
    "openai": "paid_ft_service.providers.openai:OpenAIProvider",
    "vertex": "paid_ft_service.providers.vertex:VertexProvider",
    "bedrock": "paid_ft_service.providers.bedrock:BedrockProvider",
    "together": "paid_ft_service.providers.together:TogetherProvider",
    "anthropic": "paid_ft_service.providers.anthropic:AnthropicProvider",
}


def provider_class(name: str) -> type[Provider]:
    try:
        target = PROVIDERS[name]
    except KeyError:
        raise ValueError(
            f"unknown provider '{name}'; choose one of: {', '.join(PROVIDERS)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = [
    "PROVIDERS",
    "TERMINAL",
    "JobSpec",
    "Provider",
    "ProviderEvent",
    "ProviderJob",
    "provider_class",
]
