"""Trajectories and SRL instances → each provider's training format.

One neutral ``Example`` (system text, prompt, expert completion, optional rejected completion,
and the fields a grader reads) is built from the project's datasets, then written in the shape
a provider and method expect: OpenAI chat/DPO/RFT rows, Vertex ``contents`` (+ ``references``
for reinforcement), Bedrock ``system``/``messages`` (Claude 3 Haiku), Bedrock conversation
schema (Nova), Bedrock RFT rows with ``reference_answer``, Together chat/preference rows. The
rows are checked by ``paid_ft_service.validation`` before anything is uploaded.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srlforge.arena import get_arena, render_completion
from srlforge.arena.check import random_episode
from srlforge.schema import Scenario, Trajectory, canonical_json, content_hash

GRADING_UNITS = ("episode", "step")

SYSTEM_TEXT = (
    "You control a {model_type} model in a horror game. Answer with steps; each step is a short "
    "reasoning inside <think>...</think> followed by the action as one JSON object inside "
    "<action>...</action>. Actions must match this JSON schema and obey the game's rules; a "
    "verifier replays them in a simulator.\nAction schema: {schema}"
)


@dataclass
class Example:
    """One training example, provider-neutral."""

    id: str
    model_type: str
    system: str
    prompt: str
    completion: str
    scenario: dict[str, Any]
    grading: str  # "episode" (whole trajectory in one answer) or "step" (SRL: next step)
    history: list[Any] = field(default_factory=list)
    expert_action: Any = None
    rejected: str | None = None  # a verified-worse answer, for preference methods

    def grader_fields(self) -> dict[str, Any]:
        """What a generated grader reads from an item (see ``grader_runtime.grade``)."""
        return {
            "model_type": self.model_type,
            "scenario": self.scenario,
            "grading": self.grading,
            "history": self.history,
            "expert_action": self.expert_action,
        }


def system_text(model_type: str) -> str:
    schema = canonical_json(get_arena(model_type).action_schema())
    return SYSTEM_TEXT.format(model_type=model_type, schema=schema)


def episode_prompt(scenario: Scenario) -> str:
    species = f" · species: {scenario.species}" if scenario.species else ""
    return "\n".join(
        [
            f"Model type: {scenario.model_type}{species} · difficulty {scenario.difficulty}",
            f"Objective: {scenario.objective}",
            f"Initial state: {canonical_json(scenario.state)}",
            f"Write every step in order (at most {scenario.max_steps}), each as "
            "<think>…</think><action>{json}</action>.",
        ]
    )


def step_prompt(scenario: Scenario, history: list[Any]) -> str:
    lines = episode_prompt(scenario).splitlines()[:-1]
    lines.append("Steps so far:" if history else "Steps so far: none")
    lines += [f"{i + 1}. {canonical_json(a)}" for i, a in enumerate(history)]
    lines.append(f"Write step {len(history) + 1} as <think>…</think><action>{{json}}</action>.")
    return "\n".join(lines)


def render_episode(steps: Iterable[Any]) -> str:
    """An episode's answer text: one ``<think>…</think><action>…</action>`` block per line."""
    out = []
    for step in steps:
        if isinstance(step, str):
            out.append(step)
        elif isinstance(step, dict):
            think = step.get("think", "")
            action = json.dumps(step.get("action"), sort_keys=True, separators=(",", ":"))
            out.append(f"<think>{think}</think><action>{action}</action>")
        else:
            out.append(render_completion(step))
    return "\n".join(out)


def _rejected_episode(trajectory: Trajectory) -> str | None:
    """A random-policy episode the verifier scores lower than the expert, or None."""
    arena = get_arena(trajectory.model_type)
    scenario = trajectory.scenario
    rng = random.Random(f"{scenario.id}|rejected")
    expert = arena.verify_episode(scenario, trajectory.steps).outcome_reward
    for _ in range(4):
        steps = random_episode(arena, scenario, rng)
        if arena.verify_episode(scenario, steps).outcome_reward < expert:
            return render_episode(steps)
    return None


def _rejected_step(trajectory: Trajectory, index: int) -> str | None:
    arena = get_arena(trajectory.model_type)
    state = arena.reset(trajectory.scenario)
    for step in trajectory.steps[:index]:
        _, state, _ = arena.evaluate_step(state, step.action)
    expert = trajectory.steps[index].action
    rng = random.Random(f"{trajectory.scenario.id}|{index}|rejected")
    for _ in range(8):
        action = arena.random_action(rng, state)
        if action != expert:
            return render_episode([{"think": "", "action": action}])
    return None


def examples_from_trajectories(
    trajectories: Iterable[Trajectory], unit: str = "episode", with_rejected: bool = False
) -> Iterator[Example]:
    """``episode``: one example per trajectory; ``step``: the SRL view, one per expert step."""
    if unit not in GRADING_UNITS:
        raise ValueError(f"unit must be one of {GRADING_UNITS}, got '{unit}'")
    systems: dict[str, str] = {}
    for t in trajectories:
        system = systems.setdefault(t.model_type, system_text(t.model_type))
        scenario = t.scenario.model_dump(mode="json")
        actions = [s.action for s in t.steps]
        if unit == "episode":
            yield Example(
                id=t.id,
                model_type=t.model_type,
                system=system,
                prompt=episode_prompt(t.scenario),
                completion=render_episode(t.steps),
                scenario=scenario,
                grading="episode",
                rejected=_rejected_episode(t) if with_rejected else None,
            )
            continue
        for i, step in enumerate(t.steps):
            yield Example(
                id=f"{t.id}#{i}",
                model_type=t.model_type,
                system=system,
                prompt=step_prompt(t.scenario, actions[:i]),
                completion=render_completion(step),
                scenario=scenario,
                grading="step",
                history=actions[:i],
                expert_action=step.action,
                rejected=_rejected_step(t, i) if with_rejected else None,
            )


def examples_from_srl_rows(rows: Iterable[dict[str, Any]]) -> Iterator[Example]:
    """Rows of a collab ``srl.jsonl`` (columns model_type, scenario, history, expert_action…)."""
    systems: dict[str, str] = {}
    for row in rows:
        scenario = _json(row["scenario"])
        history = _json(row["history"])
        model_type = row["model_type"]
        yield Example(
            id=str(row.get("id") or f"{scenario['id']}#{len(history)}"),
            model_type=model_type,
            system=systems.setdefault(model_type, system_text(model_type)),
            prompt=row.get("prompt") or step_prompt(Scenario.model_validate(scenario), history),
            completion=row["completion"],
            scenario=scenario,
            grading="step",
            history=history,
            expert_action=_json(row["expert_action"]),
        )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def expert_trajectories(
    model_type: str, n: int, seed: int = 0, difficulties: Iterable[int] = (1, 2, 3, 4, 5)
) -> list[Trajectory]:
    """``n`` expert trajectories from the arena's solver (the offline teacher)."""
    arena = get_arena(model_type)
    levels = list(difficulties)
    return [
        arena.expert_trajectory(arena.sample(seed, i, levels[i % len(levels)])) for i in range(n)
    ]


def read_source(path: Path, unit: str = "episode", with_rejected: bool = False) -> list[Example]:
    """Examples from a collab dataset folder, a ``trajectories.jsonl`` or an ``srl.jsonl``."""
    path = Path(path)
    if path.is_dir():
        path = path / "trajectories.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if rows and "expert_action" in rows[0] and "trajectory" not in rows[0]:
        return list(examples_from_srl_rows(rows))
    trajectories = [
        Trajectory.model_validate_json(r["trajectory"])
        if "trajectory" in r
        else Trajectory.model_validate(r)
        for r in rows
    ]
    return list(examples_from_trajectories(trajectories, unit, with_rejected))


# ----- provider formats ----------------------------------------------------------------------


def _chat(ex: Example, with_answer: bool = True) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": ex.system}, {"role": "user", "content": ex.prompt}]
    if with_answer:
        messages.append({"role": "assistant", "content": ex.completion})
    return messages


def _preference(ex: Example) -> dict[str, Any]:
    return {
        "input": {"messages": _chat(ex, with_answer=False)},
        "preferred_output": [{"role": "assistant", "content": ex.completion}],
        "non_preferred_output": [{"role": "assistant", "content": ex.rejected}],
    }


def _parts(text: str) -> list[dict[str, str]]:
    return [{"text": text}]


def _openai(ex: Example, method: str) -> dict[str, Any]:
    if method == "dpo":
        return _preference(ex)
    if method == "reinforcement":
        return {"messages": _chat(ex, with_answer=False), **ex.grader_fields()}
    return {"messages": _chat(ex)}


def _vertex(ex: Example, method: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "systemInstruction": {"role": "system", "parts": _parts(ex.system)},
        "contents": [{"role": "user", "parts": _parts(ex.prompt)}],
    }
    if method == "supervised":
        row["contents"].append({"role": "model", "parts": _parts(ex.completion)})
    elif method == "dpo":
        row["completions"] = [
            {"score": 1.0, "completion": {"role": "model", "parts": _parts(ex.completion)}},
            {"score": 0.0, "completion": {"role": "model", "parts": _parts(ex.rejected or "")}},
        ]
    else:
        # The Cloud Run reward endpoint gets the row back; references travel as JSON text.
        row["references"] = {k: canonical_json(v) for k, v in ex.grader_fields().items()}
    return row


def _bedrock(ex: Example, method: str, model: str) -> dict[str, Any]:
    if method == "reinforcement":
        return {"messages": _chat(ex, with_answer=False), "reference_answer": ex.grader_fields()}
    if model.startswith("anthropic."):
        return {
            "system": ex.system,
            "messages": [
                {"role": "user", "content": ex.prompt},
                {"role": "assistant", "content": ex.completion},
            ],
        }
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": ex.system}],
        "messages": [
            {"role": "user", "content": [{"text": ex.prompt}]},
            {"role": "assistant", "content": [{"text": ex.completion}]},
        ],
    }


def _together(ex: Example, method: str) -> dict[str, Any]:
    return _preference(ex) if method == "dpo" else {"messages": _chat(ex)}


def _anthropic(ex: Example, method: str) -> dict[str, Any]:
    return {
        "id": ex.id,
        "system": ex.system,
        "prompt": ex.prompt,
        "completion": ex.completion,
        **ex.grader_fields(),
    }


def to_provider_rows(
    examples: Iterable[Example], provider: str, method: str, model: str = ""
) -> list[dict[str, Any]]:
    """Rows in ``provider``'s documented JSONL shape for ``method``."""
    rows = []
    for ex in examples:
        if provider == "openai":
            rows.append(_openai(ex, method))
        elif provider == "vertex":
            rows.append(_vertex(ex, method))
        elif provider == "bedrock":
            rows.append(_bedrock(ex, method, model))
        elif provider == "together":
            rows.append(_together(ex, method))
        elif provider == "anthropic":
            rows.append(_anthropic(ex, method))
        else:
            raise ValueError(f"no dataset format for provider '{provider}'")
    return rows


def to_jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def estimate_tokens(text: str) -> int:
    """~4 characters per token (OpenAI's rule of thumb for English; JSON is denser, so high)."""
    return max(1, (len(text) + 3) // 4)


def example_tokens(ex: Example) -> int:
    return estimate_tokens(ex.system) + estimate_tokens(ex.prompt) + estimate_tokens(ex.completion)


def split_examples(
    examples: list[Example], validation_fraction: float = 0.2
) -> tuple[list[Example], list[Example]]:
    """Train/validation split by scenario id (a scenario's steps never straddle the split)."""
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    train, val = [], []
    for ex in examples:
        bucket = int(content_hash(ex.scenario.get("id", ex.id))[:8], 16) / 0xFFFFFFFF
        (val if bucket < validation_fraction else train).append(ex)
    if validation_fraction and not val and len(train) > 1:
        val.append(train.pop())
    return train, val
