"""Score an answer with the installed verifier, by the same code the generated graders run."""

from __future__ import annotations

from typing import Any

from paid_ft_service import grader_runtime


def score_answer(text: str, fields: dict[str, Any]) -> dict[str, float]:
    """``fields``: what ``Example.grader_fields`` returns (model_type, scenario, grading, …)."""
    from srlforge import rewards, schema
    from srlforge.arena import base, get_arena

    env = {
        "arena": get_arena(fields["model_type"]),
        "base": base,
        "rewards": rewards,
        "schema": schema,
    }
    return grader_runtime.score(text, fields, env)
