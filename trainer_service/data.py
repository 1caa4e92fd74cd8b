"""Datasets the stages train and evaluate on, all deterministic from (model type, seed).

- expert data: verified expert trajectories from collab_service's orchestrator (scripted teacher)
  when it is importable, else straight from the arena's expert solver; both are verified by the
  arena before they are kept;
- random-policy episodes: schema-valid random actions replayed through the simulator, for the
  format pre-training of the ``tiny`` base (it learns the transcript and the action schema, not the
  expert's choices);
- held-out scenarios: seeds at or above ``HELDOUT_SEED_START``, in-distribution and one difficulty
  above training.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from srlforge.arena import DIFFICULTIES, HELDOUT_SEED_START, Arena, get_arena
from srlforge.schema import Scenario, Trajectory
from trainer_service.transcript import (
    DEFAULT_FORMAT,
    TranscriptFormat,
    expert_turns,
    render_observation,
    render_step,
    srl_rows,
)

# A species filter accepts roughly one scenario in five; give up after this many draws per kept
# scenario so a species the arena never generates fails loudly instead of looping.
SPECIES_DRAWS = 200


@dataclass
class ExpertData:
    model_type: str
    species: str | None
    rules_version: str
    trajectories: list[Trajectory]
    source: str  # "collab_service" | "arena"
    rows: list[dict[str, Any]] = field(default_factory=list)
    dataset_hash: str = ""
    failed: int = 0

    @property
    def kept(self) -> int:
        return len(self.trajectories)

    def summary(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "failed": self.failed,
            "hash": self.dataset_hash,
            "source": self.source,
            "srl_rows": len(self.rows),
            "rules_version": self.rules_version,
        }


def scenarios(
    arena: Arena,
    *,
    seed: int,
    count: int,
    difficulties: Sequence[int],
    species: str | None = None,
    start_index: int = 0,
) -> list[Scenario]:
    """``count`` scenarios of ``seed``, cycling through ``difficulties``, filtered by species."""
    bad = [d for d in difficulties if d not in DIFFICULTIES]
    if bad or not difficulties:
        raise ValueError(f"difficulties must be a non-empty subset of {DIFFICULTIES}, got {bad}")
    want_species = species if arena.uses_species else None
    out: list[Scenario] = []
    index = start_index
    limit = start_index + SPECIES_DRAWS * max(count, 1)
    while len(out) < count:
        if index >= limit:
            raise ValueError(
                f"species {species!r} appeared {len(out)} times in {index - start_index} "
                f"{arena.model_type} scenarios; pick a species the arena generates"
            )
        scenario = arena.sample(seed, index, difficulties[len(out) % len(difficulties)])
        index += 1
        if want_species is None or scenario.species == want_species:
            out.append(scenario)
    return out


def heldout_scenarios(
    arena: Arena, *, count: int, difficulty: int, species: str | None = None, seed: int = 0
) -> list[Scenario]:
    """Held-out split: seeds >= HELDOUT_SEED_START never appear in training."""
    return scenarios(
        arena,
        seed=HELDOUT_SEED_START + seed,
        count=count,
        difficulties=[difficulty],
        species=species,
    )


def dataset_hash(trajectories: Sequence[Trajectory], rules_version: str, fmt: TranscriptFormat):
    digests = sorted(t.provenance.content_hash or t.compute_hash() for t in trajectories)
    text = "\n".join([rules_version, repr(sorted(fmt.to_dict().items())), *digests])
    return hashlib.sha256(text.encode()).hexdigest()


def _from_collab(
    model_type: str, species: str | None, n: int, difficulties: Sequence[int], seed: int
) -> tuple[list[Trajectory], int] | None:
    try:
        from collab_service.orchestrator import GenerationConfig, generate
    except ImportError:
        return None
    config = GenerationConfig(
        model_type=model_type,
        n=n,
        species=species,
        seed=seed,
        difficulties=tuple(difficulties),
        teacher="scripted",
    )
    result = generate(config)
    return list(result.kept), result.failed


def _from_arena(
    arena: Arena, species: str | None, n: int, difficulties: Sequence[int], seed: int
) -> tuple[list[Trajectory], int]:
    kept: list[Trajectory] = []
    failed = 0
    start = 0
    while len(kept) < n:
        batch = scenarios(
            arena,
            seed=seed,
            count=n - len(kept),
            difficulties=difficulties,
            species=species,
            start_index=start,
        )
        start = max(s.index for s in batch) + 1
        for scenario in batch:
            trajectory = arena.expert_trajectory(scenario)
            if trajectory.outcome is not None and trajectory.outcome.success:
                kept.append(trajectory)
            else:
                failed += 1
        if failed > 4 * n:
            raise RuntimeError(
                f"the {arena.model_type} expert failed {failed} of {failed + len(kept)} scenarios"
            )
    return kept, failed


def expert_data(
    model_type: str,
    *,
    n: int,
    difficulties: Sequence[int],
    species: str | None = None,
    seed: int = 0,
    fmt: TranscriptFormat = DEFAULT_FORMAT,
    source: str = "auto",
) -> ExpertData:
    """Verified expert trajectories and their SRL rows.

    ``source``: "collab" (collab_service's orchestrator), "arena" (the arena's expert) or "auto"
    (collab when importable). Either way each trajectory is re-verified here before it is kept.
    """
    if source not in ("auto", "collab", "arena"):
        raise ValueError(f"source must be auto, collab or arena, got {source!r}")
    if seed >= HELDOUT_SEED_START:
        raise ValueError(f"seed {seed} is in the held-out range; training seeds are < 1,000,000")
    arena = get_arena(model_type)
    got = None if source == "arena" else _from_collab(model_type, species, n, difficulties, seed)
    if got is None:
        if source == "collab":
            raise ValueError("source='collab' but collab_service is not importable")
        trajectories, failed = _from_arena(arena, species, n, difficulties, seed)
        used = "arena"
    else:
        trajectories, failed = got
        used = "collab_service"
    verified = []
    for t in trajectories:
        if arena.verify_episode(t.scenario, t.steps).success:
            verified.append(t)
        else:
            failed += 1
    rows = [row for t in verified for row in srl_rows(arena, t.scenario, t.steps, fmt)]
    return ExpertData(
        model_type=model_type,
        species=species,
        rules_version=arena.rules_version,
        trajectories=verified,
        source=used,
        rows=rows,
        dataset_hash=dataset_hash(verified, arena.rules_version, fmt),
        failed=failed,
    )


def random_episode_turns(
    arena: Arena,
    scenario: Scenario,
    rng: random.Random,
    fmt: TranscriptFormat,
    legal_share: float = 0.8,
) -> list[tuple[str, str]]:
    """A random-policy episode of random length as ``(completion, observation)`` turns.

    With probability ``legal_share`` a step is drawn uniformly from the arena's legal actions
    (``action_mask``, where the arena has one), else from the whole schema (``random_action``):
    the base learns which moves the rules allow, never which one the expert would pick.
    """
    state = arena.reset(scenario)
    turns: list[tuple[str, str]] = []
    for i in range(rng.randint(1, scenario.max_steps)):
        legal = arena.action_mask(state) if rng.random() < legal_share else None
        if legal:
            # Type first, then an action of that type: a mask with eight "wait N turns" variants
            # and one move must not make the base a waiter.
            kind = rng.choice(sorted({str(a.get("type")) for a in legal}))
            action = rng.choice([a for a in legal if str(a.get("type")) == kind])
        else:
            action = arena.random_action(rng, state)
        completion = render_step({"think": "", "action": action}, fmt)
        verdict, next_state, _ = arena.evaluate_step(state, action, None, i)
        turns.append(
            (completion, render_observation(arena, scenario, state, next_state, verdict, fmt))
        )
        state = next_state
    return turns


def pack_episode(
    tokenizer,
    arena: Arena,
    scenario: Scenario,
    turns: Sequence[tuple[str, str]],
    fmt: TranscriptFormat,
) -> dict[str, list[int]]:
    """One training sequence per episode, with the loss on every step the policy writes.

    Token layout is the one ``rollout.play_episodes`` produces, so SFT, SRL and RLVR see the same
    sequences; each step's prediction conditions on exactly the prefix its SRL prompt holds, which
    makes this equivalent to one row per step at a fraction of the compute.
    """
    from trainer_service.transcript import OBS, SEP, render_header

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    sep, obs, eos = (tokenizer.convert_tokens_to_ids(t) for t in (SEP, OBS, tokenizer.eos_token))
    ids = [*encode(render_header(arena, scenario, fmt)), sep]
    mask = [0] * len(ids)
    for i, (completion, observation) in enumerate(turns):
        step = [*encode(completion), eos]
        ids += step
        mask += [1] * len(step)
        if i < len(turns) - 1:
            env = [obs, *encode(observation), sep]
            ids += env
            mask += [0] * len(env)
    return {"input_ids": ids, "completion_mask": mask}


def sft_rows(
    tokenizer,
    arena: Arena,
    trajectories: Sequence[Trajectory],
    fmt: TranscriptFormat = DEFAULT_FORMAT,
) -> list[dict[str, list[int]]]:
    """Packed expert episodes for the SFT stage (one sequence per trajectory)."""
    return [
        pack_episode(
            tokenizer,
            arena,
            t.scenario,
            [(c, o) for c, o, _ in expert_turns(arena, t.scenario, t.steps, fmt)],
            fmt,
        )
        for t in trajectories
    ]
