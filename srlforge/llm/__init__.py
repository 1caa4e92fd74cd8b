"""Teacher/judge backends, one file each, wired by one line each in ``TEACHERS``.

A backend is a class with ``name``, ``model``, ``config_class`` (a dataclass of its options),
``async propose(request) -> str`` and ``async aclose()``; network and model backends also have
``async chat(messages) -> str``. Modules load on first use so that the optional dependencies
(openai, torch) are only needed by whoever picks that backend.
"""

from __future__ import annotations

import importlib
from typing import Any

from srlforge.llm.base import (
    ChatBackend,
    CircuitBreaker,
    CircuitOpenError,
    LLMError,
    ProviderError,
    RetriesExhausted,
    RetryPolicy,
    Teacher,
    TeacherConfigError,
    TeacherRequest,
    TransientError,
    TransportStats,
    call_with_retries,
)

# teacher name (as on the command line) -> "module:Class"
TEACHERS: dict[str, str] = {
    "scripted": "srlforge.llm.scripted:ScriptedTeacher",
    "openai": "srlforge.llm.openai_compat:OpenAICompatTeacher",
    "hf": "srlforge.llm.hf_local:HFLocalTeacher",
}


def teacher_class(name: str) -> type:
    try:
        target = TEACHERS[name]
    except KeyError:
        raise TeacherConfigError(
            f"unknown teacher '{name}'; choose one of: {', '.join(TEACHERS)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_teacher(name: str, **options: Any) -> Teacher:
    """Build backend ``name`` from keyword options (the fields of its ``config_class``)."""
    cls = teacher_class(name)
    known = set(cls.config_class.__dataclass_fields__)
    unknown = set(options) - known
    if unknown:
        raise TeacherConfigError(
            f"teacher '{name}' has no option(s) {sorted(unknown)}; it takes {sorted(known)}"
        )
    return cls(cls.config_class(**options))


__all__ = [
    "TEACHERS",
    "ChatBackend",
    "CircuitBreaker",
    "CircuitOpenError",
    "LLMError",
    "ProviderError",
    "RetriesExhausted",
    "RetryPolicy",
    "Teacher",
    "TeacherConfigError",
    "TeacherRequest",
    "TransientError",
    "TransportStats",
    "call_with_retries",
    "make_teacher",
    "teacher_class",
]
