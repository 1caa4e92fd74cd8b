"""Vertex AI's reward-endpoint shape ``{example, response, metadata}`` → ``{reward}``.

A paid provider's reinforcement tuning calls this with one dataset example and one sampled
model response; the reward is our verifier's RLVR episode reward (0.8 × verified outcome +
0.2 × mean step reward, ``srlforge.rewards.episode_reward``) clipped to [−1, 1].

How ``example`` carries the scenario (first match wins; ``metadata`` is searched the same way
after ``example``):

- ``scenario``: a full Scenario object (or its JSON text), as ``GET /v1/arena/{type}/sample``
  returns it; its ``rules_version`` picks the rule set;
- ``scenario_id``: ``"<model_type>:<seed>:<index>:<difficulty>"``, regenerated
  deterministically, under ``rules_version`` (a rule set identity or semver) if given, else the
  tenant's default rule set.

How ``response`` carries the model's steps:

- text (or Vertex ``Content``: ``{"role": "model", "parts": [{"text": ...}, ...]}``, or a list of
  parts): every ``[<think>…</think>]<action>{json}</action>`` block in order is one step;
  text with no ``<action>`` block that parses as JSON is read as below, anything else is one
  malformed step;
- a list of steps ``[{"think": ..., "action": {...}}, ...]`` or ``{"steps": [...]}``.

A malformed or empty response is a valid request with a low reward (−0.2: no outcome, every step
a format violation); only a malformed *example* — a dataset problem, not the model's — is a 422.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from srlforge.schema import Scenario

_STEP_BLOCK = re.compile(r"(?:<think>.*?</think>\s*)?<action>.*?</action>", re.S)
_SCENARIO_ID = re.compile(r"^([a-z][a-z0-9_]*):(\d+):(\d+):([1-5])$")
# A response longer than this many steps is cut here; verify_episode already caps at
# max_steps and counts the excess as a violation.
MAX_RESPONSE_STEPS = 256


class ExampleError(ValueError):
    """The example does not say which scenario it is (422)."""


def _validation_text(prefix: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{prefix}.{where}: {first['msg']}"


def scenario_reference(
    example: dict[str, Any], metadata: dict[str, Any]
) -> tuple[Scenario | None, tuple[str, int, int, int] | None, str | None]:
    """``(scenario, (model_type, seed, index, difficulty), rules_version)``; one of the first
    two is set. Raises ExampleError naming the field when neither can be read."""
    for name, source in (("example", example), ("metadata", metadata)):
        raw = source.get("scenario")
        if raw is not None:
            if isinstance(raw, str):
                try:
                    raw = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ExampleError(f"{name}.scenario: not valid JSON ({exc.msg})") from None
            try:
                return Scenario.model_validate(raw), None, None
            except ValidationError as exc:
                raise ExampleError(_validation_text(f"{name}.scenario", exc)) from None
        ref = source.get("scenario_id")
        if ref is not None:
            match = _SCENARIO_ID.match(str(ref))
            if match is None:
                raise ExampleError(
                    f"{name}.scenario_id: expected '<model_type>:<seed>:<index>:<difficulty>' "
                    "with difficulty 1-5, e.g. 'facial:0:3:2'"
                )
            version = source.get("rules_version")
            return (
                None,
                (match[1], int(match[2]), int(match[3]), int(match[4])),
                str(version) if version is not None else None,
            )
    raise ExampleError(
        "example: no scenario; put the Scenario under example.scenario or its id under "
        "example.scenario_id (metadata works too)"
    )


def _content_text(value: Any) -> str | None:
    """The text of Vertex Content / parts, or None when ``value`` is not that shape."""
    if isinstance(value, dict) and isinstance(value.get("parts"), list):
        value = value["parts"]
    if (
        isinstance(value, list)
        and value
        and all(isinstance(p, dict) and "text" in p for p in value)
    ):
        return "".join(str(p["text"]) for p in value)
    return None


def response_steps(response: Any) -> list[Any]:
    """The model's steps, in order, from any of the documented response shapes. Never raises."""
    text = response if isinstance(response, str) else _content_text(response)
    if text is not None:
        blocks = _STEP_BLOCK.findall(text)
        if blocks:
            return blocks[:MAX_RESPONSE_STEPS]
        try:
            response = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            return [text]
    if isinstance(response, dict) and isinstance(response.get("steps"), list):
        response = response["steps"]
    if isinstance(response, dict) and "action" in response:
        return [response]
    if isinstance(response, list):
        return response[:MAX_RESPONSE_STEPS]
    if response is None:
        return []
    return [response]


def clip_reward(value: float) -> float:
    return max(-1.0, min(1.0, value))
