"""The text a policy reads and writes: one transcript format shared by every stage.

An episode is a single token stream::

    <header> <|sep|> step_0 <|eos|> <|obs|> obs_0 <|sep|> step_1 <|eos|> <|obs|> obs_1 <|sep|> …

``header`` is the scenario (type, species, difficulty, objective, initial state), ``step_k`` is
``<think>…</think><action>{json}</action>`` and ``obs_k`` is what the simulator reports back
(the observable part of the state that changed, the ids of broken rules and, where the arena has
an action mask, the legal options in the new state). The SRL prompt for
step *k* is exactly the transcript up to the ``<|sep|>`` before step *k* with the expert's steps,
so SRL training, RLVR rollouts and evaluation all show the model the same kind of text.

``<|sep|>`` ends every prompt: the tokenizer treats it as an atomic special token, so no BPE merge
can cross the prompt/completion boundary (the pitfall in the reference notes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from srlforge.arena.base import Arena
from srlforge.schema import Scenario, Step, StepVerdict, canonical_json

SEP = "<|sep|>"
EOS = "<|eos|>"
OBS = "<|obs|>"
PAD = "<|pad|>"
SPECIAL_TOKENS = (PAD, EOS, SEP, OBS)
# Atomic but not "special": decoding with skip_special_tokens keeps them, so TRL's decoded
# completions still parse.
TAG_TOKENS = ("<think>", "</think>", "<action>", "</action>")

ThinkMode = Literal["expert", "none"]


@dataclass(frozen=True)
class TranscriptFormat:
    """How much text goes into the transcript. Stored with every model and dataset."""

    # "none" writes an empty <think></think>: only the action is rewarded, and a tiny model gains
    # nothing from imitating a templated monologue while paying for every generated token.
    think: ThinkMode = "none"
    max_observation_chars: int = 400
    max_header_chars: int = 4000
    # List the legal (type, target) pairs after the state where the arena defines an action
    # mask: the valid-action hint of text-game RL. The choice among them stays the policy's.
    options: bool = True

    def __post_init__(self) -> None:
        if self.think not in ("expert", "none"):
            raise ValueError(f"think must be 'expert' or 'none', got {self.think!r}")
        if self.max_observation_chars < 16:
            raise ValueError(
                f"max_observation_chars={self.max_observation_chars} cannot hold an observation; "
                "use 16 or more"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "think": self.think,
            "max_observation_chars": self.max_observation_chars,
            "max_header_chars": self.max_header_chars,
            "options": self.options,
        }


DEFAULT_FORMAT = TranscriptFormat()


_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def compact(value: Any) -> str:
    """JSON-like text without the quotes, commas and empty fields a small model pays tokens for.

    ``{"map": {"den": {"tags": ["cover", "lit"], "exits": []}}, "phylactery": null}`` becomes
    ``{map:{den:{tags:[cover lit]}}}``: keys and plain words lose their quotes, items are
    separated by spaces (a leading space merges into the next word's token), and None, empty
    containers and False are dropped (absent reads as false/none). Keys keep their order.
    Observation text only: actions stay canonical JSON because the verifier parses them.
    """
    if isinstance(value, dict):
        items = [
            f"{key if _BARE.match(str(key)) else json.dumps(str(key))}:{compact(v)}"
            for key, v in value.items()
            if v is not None and v is not False and v != [] and v != {}
        ]
        return "{" + " ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(compact(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true"
    if isinstance(value, str):
        bare = _BARE.match(value) and " " not in value and value not in ("true", "null")
        return value if bare else json.dumps(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value)


def render_options(arena: Arena, state: dict[str, Any], fmt: TranscriptFormat) -> str:
    """`` options:{move:[mill church] wait:[tavern]}``: legal types and their targets, or ""."""
    if not fmt.options:
        return ""
    legal = arena.action_mask(state)
    if not legal:
        return ""
    by_type: dict[str, list[str]] = {}
    for action in legal:
        kind, target = str(action.get("type")), str(action.get("target"))
        targets = by_type.setdefault(kind, [])
        if target not in targets:
            targets.append(target)
    return " options:" + compact(by_type)


def render_header(arena: Arena, scenario: Scenario, fmt: TranscriptFormat = DEFAULT_FORMAT) -> str:
    species = f" species={scenario.species}" if scenario.species else ""
    text = (
        f"type={scenario.model_type}{species} difficulty={scenario.difficulty} "
        f"max_steps={scenario.max_steps}\nobjective: {scenario.objective}\n"
        f"state: {compact(scenario.state)}"
    )[: fmt.max_header_chars]
    return text + render_options(arena, arena.reset(scenario), fmt)


# Keys in the order a policy decides them: what to do, to whom, then how. Canonical JSON sorts
# keys alphabetically, which would make the model name a target before it picked the action type.
ACTION_KEY_ORDER = ("type", "target", "params", "timing", "metadata")


def action_json(action: Any) -> str:
    """Compact JSON of an action with ``ACTION_KEY_ORDER`` first (nested dicts sorted)."""
    if not isinstance(action, dict):
        return canonical_json(action)
    first = [k for k in ACTION_KEY_ORDER if k in action]
    rest = sorted(k for k in action if k not in ACTION_KEY_ORDER)
    ordered = {k: json.loads(canonical_json(action[k])) for k in (*first, *rest)}
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)


def render_step(step: Step | dict[str, Any], fmt: TranscriptFormat = DEFAULT_FORMAT) -> str:
    """The completion a policy is trained to write for one expert step."""
    if isinstance(step, dict):
        step = Step(think=step.get("think", ""), action=step.get("action"))
    think = step.think if fmt.think == "expert" else ""
    return f"<think>{think}</think><action>{action_json(step.action)}</action>"


def _changed(old: Any, new: Any) -> Any:
    """The parts of ``new`` that differ from ``old`` (dicts recurse, other values compare whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = {}
        for key, value in new.items():
            if key not in old:
                out[key] = value
            else:
                sub = _changed(old[key], value)
                if sub is not _SAME:
                    out[key] = sub
        return out if out else _SAME
    return _SAME if old == new else new


_SAME = object()


def render_observation(
    arena: Arena,
    scenario: Scenario,
    before: dict[str, Any],
    after: dict[str, Any],
    verdict: StepVerdict,
    fmt: TranscriptFormat = DEFAULT_FORMAT,
) -> str:
    """What the environment tells the policy after one step.

    Only keys the scenario exposes in its initial state are shown: arenas may keep hidden
    bookkeeping in the simulator state, and showing it would leak the expert's plan.
    """
    if not verdict.format_valid:
        return "{error:format}" + render_options(arena, after, fmt)
    visible = scenario.state.keys()
    delta = _changed(
        {k: v for k, v in before.items() if k in visible},
        {k: v for k, v in after.items() if k in visible},
    )
    obs: dict[str, Any] = {"changed": {} if delta is _SAME else delta}
    broken = sorted({v.rule_id for v in verdict.violations})
    if broken:
        obs["broken"] = broken
    text = compact(obs) if obs["changed"] or broken else "{changed:{}}"
    if len(text) > fmt.max_observation_chars:
        # Truncated JSON is still informative to a model; the cap keeps transcripts bounded.
        text = text[: fmt.max_observation_chars]
    return text + render_options(arena, after, fmt)


def render_prompt(
    arena: Arena,
    scenario: Scenario,
    turns: Sequence[tuple[str, str]] = (),
    fmt: TranscriptFormat = DEFAULT_FORMAT,
) -> str:
    """Header plus ``(completion, observation)`` turns so far, ending where the next step starts."""
    parts = [render_header(arena, scenario, fmt), SEP]
    for completion, observation in turns:
        parts += [completion, EOS, OBS, observation, SEP]
    return "".join(parts)


def expert_turns(
    arena: Arena, scenario: Scenario, steps: Sequence[Step], fmt: TranscriptFormat = DEFAULT_FORMAT
) -> list[tuple[str, str, dict[str, Any]]]:
    """Replay the expert's steps: ``(completion, observation, action)`` per step."""
    state = arena.reset(scenario)
    out = []
    for i, step in enumerate(steps):
        verdict, next_state, _ = arena.evaluate_step(state, step.action, None, i)
        out.append(
            (
                render_step(step, fmt),
                render_observation(arena, scenario, state, next_state, verdict, fmt),
                step.action,
            )
        )
        state = next_state
    return out


def srl_rows(
    arena: Arena, scenario: Scenario, steps: Sequence[Step], fmt: TranscriptFormat = DEFAULT_FORMAT
) -> list[dict[str, Any]]:
    """The SRL view of one expert trajectory: N steps become N prompt → next-step rows.

    Columns ``model_type``, ``scenario``, ``history`` and ``expert_action`` are the ones
    ``srlforge.rewards.make_srl_reward`` reads; ``prompt``/``completion`` feed the trainers.
    """
    turns = expert_turns(arena, scenario, steps, fmt)
    scenario_json = scenario.model_dump_json()
    rows = []
    for i, (completion, _, action) in enumerate(turns):
        rows.append(
            {
                "prompt": render_prompt(arena, scenario, [(c, o) for c, o, _ in turns[:i]], fmt),
                "completion": completion,
                "model_type": scenario.model_type,
                "scenario": scenario_json,
                "scenario_id": scenario.id,
                "step_index": i,
                "difficulty": scenario.difficulty,
                "history": json.dumps([a for _, _, a in turns[:i]], sort_keys=True),
                "expert_action": canonical_json(action),
            }
        )
    return rows
