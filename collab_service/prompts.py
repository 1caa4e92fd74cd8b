"""The text Model B (teacher) and the optional judge read, and how it is read back.

Machine-readable parts sit in fenced ``json`` blocks under fixed headings, so a real LLM gets a
clear prompt and a test's fake server (or a log reader) can recover the scenario and the history
without guessing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from srlforge.schema import LoreBundle, Scenario, Step, canonical_json

SYSTEM_PROMPT = (
    "You are the teacher in srlforge, writing expert trajectories for a horror game's AI. "
    "Plan one step at a time. Answer with exactly one step: a short reasoning inside "
    "<think>...</think>, then the action as a single JSON object inside <action>...</action>. "
    "The action must match the action JSON schema and obey the rules; the game's verifier "
    "checks every step against the simulator."
)

JUDGE_PROMPT = (
    "You review expert trajectories that already passed a rule verifier. Point out anything "
    "implausible for the species' lore. Answer with one JSON object: "
    '{"score": <0..1, 1 = fully plausible>, "critique": "<one or two sentences>"}.'
)

HEADING_SCENARIO = "## Scenario"
HEADING_HISTORY = "## Steps so far"
REVISION_MARKER = "The verifier rejected that step"

# Large states make prompts slow and expensive; beyond this the state is cut and says so.
MAX_STATE_CHARS = 6_000


def _block(obj: Any) -> str:
    return "```json\n" + json.dumps(obj, sort_keys=True, indent=None, default=str) + "\n```"


def _lore_lines(lore: LoreBundle | None) -> str:
    if lore is None:
        return "(no lore configured)"
    lines = [f"rules version: {lore.rules_version}"]
    for title, facts in (
        ("weaknesses", lore.weaknesses),
        ("resistances", lore.resistances),
        ("behaviour", lore.behaviour_patterns),
        ("relevant", lore.facts),
    ):
        lines += [f"- [{title}] {f.text} (source: {f.source})" for f in facts]
    for target, relation in lore.faction_relations.items():
        lines.append(f"- [faction] {target}: {relation}")
    return "\n".join(lines)


class EpisodePrompt:
    """The step requests of one episode. The scenario, lore and schema sections are rendered
    once; each step adds only the history and the current state."""

    def __init__(
        self, scenario: Scenario, action_schema: dict[str, Any], lore: LoreBundle | None
    ) -> None:
        self.scenario = scenario
        self._head = "\n\n".join(
            [
                f"{HEADING_SCENARIO}\n{_block(scenario.model_dump(mode='json'))}",
                f"## Objective\n{scenario.objective}",
                f"## Lore\n{_lore_lines(lore)}",
                f"## Action schema\n{_block(action_schema)}",
            ]
        )

    def messages(self, state: dict[str, Any], history: list[Step]) -> list[dict[str, str]]:
        """The request for step ``len(history)``."""
        state_text = json.dumps(state, sort_keys=True, default=str)
        if len(state_text) > MAX_STATE_CHARS:
            state_text = state_text[:MAX_STATE_CHARS] + " …(truncated)"
        done = [{"think": s.think, "action": s.action} for s in history]
        user = "\n\n".join(
            [
                self._head,
                f"{HEADING_HISTORY}\n{_block(done)}",
                f"## Current state\n```json\n{state_text}\n```",
                f"Write step {len(history) + 1} (at most {self.scenario.max_steps} steps in all).",
            ]
        )
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def step_messages(
    scenario: Scenario,
    state: dict[str, Any],
    history: list[Step],
    action_schema: dict[str, Any],
    lore: LoreBundle | None,
) -> list[dict[str, str]]:
    """The request for step ``len(history)`` (one-off form of ``EpisodePrompt``)."""
    return EpisodePrompt(scenario, action_schema, lore).messages(state, history)


def revision_messages(
    messages: list[dict[str, str]], rejected: str, feedback: str
) -> list[dict[str, str]]:
    """The same request, the rejected answer, and Model C's verdict on it."""
    return [
        *messages,
        {"role": "assistant", "content": rejected},
        {
            "role": "user",
            "content": f"{REVISION_MARKER}: {feedback or 'no reason given'}. "
            "Write the corrected step: <think>…</think><action>{…}</action>.",
        },
    ]


def judge_messages(scenario: Scenario, steps: list[Step], lore: LoreBundle | None):
    body = "\n\n".join(
        [
            f"{HEADING_SCENARIO}\n{_block(scenario.model_dump(mode='json'))}",
            f"## Lore\n{_lore_lines(lore)}",
            f"## Trajectory\n{_block([s.action for s in steps])}",
        ]
    )
    return [{"role": "system", "content": JUDGE_PROMPT}, {"role": "user", "content": body}]


_BLOCK_AFTER = r"{heading}\n```json\n(.*?)\n```"


def read_block(text: str, heading: str) -> Any:
    """The JSON block under ``heading`` in a prompt, or None."""
    match = re.search(_BLOCK_AFTER.format(heading=re.escape(heading)), text, re.S)
    if match is None:
        return None
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return None


def read_request(messages: list[dict[str, str]]) -> dict[str, Any]:
    """Recover ``{"scenario", "history", "revision"}`` from step messages (for fakes and logs)."""
    first_user = next((m["content"] for m in messages if m.get("role") == "user"), "")
    return {
        "scenario": read_block(first_user, HEADING_SCENARIO),
        "history": read_block(first_user, HEADING_HISTORY) or [],
        "revision": any(REVISION_MARKER in m.get("content", "") for m in messages[2:]),
    }


def parse_judgement(text: str) -> tuple[float, str] | None:
    """``(score, critique)`` from the judge's answer, or None when it is unreadable."""
    match = re.search(r"\{.*\}", text or "", re.S)
    if match is None:
        return None
    try:
        obj = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    score = obj.get("score") if isinstance(obj, dict) else None
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    return min(1.0, max(0.0, float(score))), str(obj.get("critique", ""))[:500]


def canonical_actions(steps: list[Step]) -> str:
    return canonical_json([s.action for s in steps])
