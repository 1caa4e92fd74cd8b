"""Held-out evaluation: play whole episodes greedily and let the arena's verifier judge them.

Per split (``in_distribution``: held-out seeds at the training difficulties; ``harder``: one
difficulty above):

- ``success_rate``: share of episodes the verifier marks successful;
- ``mean_outcome_reward``: mean verified outcome reward (DESIGN.md §4);
- ``violation_rate``: rule violations per episode (format errors excluded: they are
  ``format_valid_rate``'s), the tracker's definition;
- ``format_valid_rate``: share of steps whose action parsed and matched the schema;
- ``quality``: mean step rule compliance (a malformed step scores 0);
- ``latency_ms``: generation wall time per action;
- ``pass_at_k`` (when ``pass_k`` > 0): share of scenarios solved by at least one of k sampled
  episodes.

Across splits: ``step_similarity`` (greedy next step on held-out expert prefixes vs the expert's
action, ``srlforge.rewards.action_similarity``) and ``kl_to_reference`` (mean per-token
log-ratio of the policy to the reference model on the policy's own greedy actions).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from srlforge.arena import Arena
from srlforge.arena.base import parse_completion
from srlforge.rewards import action_similarity
from srlforge.schema import Scenario
from trainer_service.rollout import Episode, generate_steps, play_episodes
from trainer_service.transcript import DEFAULT_FORMAT, TranscriptFormat

REQUIRED_METRICS = (
    "success_rate",
    "mean_outcome_reward",
    "violation_rate",
    "format_valid_rate",
    "step_similarity",
)


def load_policy(model_dir: str | Path, device: str = "cpu"):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).to(device)
    model.config.use_cache = True
    model.eval()
    return model, tokenizer


def episode_metrics(episodes: Sequence[Episode]) -> dict[str, float]:
    n = max(len(episodes), 1)
    steps = [v for e in episodes for v in e.verdicts]
    rule_violations = sum(
        1 for e in episodes for v in e.verdict.violations if not v.rule_id.startswith("format.")
    )
    return {
        "success_rate": sum(e.verdict.success for e in episodes) / n,
        "mean_outcome_reward": sum(e.verdict.outcome_reward for e in episodes) / n,
        "violation_rate": rule_violations / n,
        "format_valid_rate": sum(v.format_valid for v in steps) / max(len(steps), 1),
        "quality": sum(v.rule_compliance for v in steps) / max(len(steps), 1),
        "mean_steps": len(steps) / n,
        "episodes": float(len(episodes)),
    }


def step_similarity(model, tokenizer, rows: Sequence[dict[str, Any]], batch_size: int = 32):
    """Mean similarity of the greedy next action to the expert's on SRL rows (0 if unparseable)."""
    import json

    if not rows:
        return 0.0
    contexts = [tokenizer(r["prompt"], add_special_tokens=False)["input_ids"] for r in rows]
    outputs = generate_steps(model, tokenizer, contexts, greedy=True, batch_size=batch_size)
    total = 0.0
    for row, (ids, _) in zip(rows, outputs, strict=True):
        parsed = parse_completion(tokenizer.decode(ids, skip_special_tokens=True))
        total += action_similarity(parsed.action, json.loads(row["expert_action"]))
    return total / len(rows)


@torch.no_grad()
def kl_to_reference(model, reference, episodes: Sequence[Episode]) -> float:
    """Mean per-position KL(π ‖ π_ref) over the positions where the policy wrote a token.

    Exact over the vocabulary (Σ_v π(v)·(log π(v) − log π_ref(v))), so it is never negative, on
    the policy's own greedy episodes.
    """
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for episode in episodes:
        ids, mask, _ = episode.completion_ids()
        if not ids:
            continue
        full = torch.tensor([episode.prompt_ids + ids], device=device)  # (1, T)
        start = len(episode.prompt_ids)
        keep = torch.tensor(mask, device=device).bool()  # (C,)
        logps = [
            net(input_ids=full).logits[0, start - 1 : -1].float().log_softmax(-1)[keep]
            for net in (model, reference)
        ]  # each (C_model, V)
        kl = (logps[0].exp() * (logps[0] - logps[1])).sum(-1)  # (C_model,)
        total += float(kl.sum())
        count += int(keep.sum())
    return total / max(count, 1)


def evaluate(
    model_dir: str | Path,
    arena: Arena,
    splits: dict[str, Sequence[Scenario]],
    *,
    similarity_rows: Sequence[dict[str, Any]] = (),
    reference_dir: str | Path | None = None,
    pass_k: int = 0,
    fmt: TranscriptFormat = DEFAULT_FORMAT,
    device: str = "cpu",
    max_new_tokens: int = 32,
    legal_actions: bool = False,
) -> dict[str, Any]:
    """Evaluate one checkpoint. Returns the in-distribution metrics at the top level (the
    report's contract), every split under ``splits``, and the cross-split numbers.

    With ``legal_actions`` the episodes are decoded among the arena's legal actions (see
    ``trainer_service.constrained``) and the first split is also played with free decoding,
    reported under ``unconstrained``, so both numbers are always side by side."""
    model, tokenizer = load_policy(model_dir, device)
    result: dict[str, Any] = {"splits": {}}
    greedy_episodes: list[Episode] = []
    for name, scenarios in splits.items():
        start = time.perf_counter()
        episodes = play_episodes(
            model,
            tokenizer,
            arena,
            scenarios,
            greedy=True,
            fmt=fmt,
            max_new_tokens=max_new_tokens,
            legal_actions=legal_actions,
        )
        seconds = time.perf_counter() - start
        metrics = episode_metrics(episodes)
        metrics["latency_ms"] = 1000 * seconds / max(sum(len(e.completions) for e in episodes), 1)
        if pass_k > 0:
            solved = [e.verdict.success for e in episodes]
            for _ in range(pass_k - 1):
                sampled = play_episodes(
                    model,
                    tokenizer,
                    arena,
                    scenarios,
                    greedy=False,
                    fmt=fmt,
                    max_new_tokens=max_new_tokens,
                    legal_actions=legal_actions,
                )
                solved = [a or e.verdict.success for a, e in zip(solved, sampled, strict=True)]
            metrics[f"pass_at_{pass_k}"] = sum(solved) / max(len(solved), 1)
        result["splits"][name] = metrics
        greedy_episodes += episodes
    result["decoding"] = "legal_actions" if legal_actions else "free"
    if legal_actions and splits:
        name, scenarios = next(iter(splits.items()))
        free = play_episodes(
            model, tokenizer, arena, scenarios, greedy=True, fmt=fmt, max_new_tokens=max_new_tokens
        )
        result["unconstrained"] = {"split": name, **episode_metrics(free)}
    result["step_similarity"] = step_similarity(model, tokenizer, similarity_rows)
    if reference_dir is not None and Path(reference_dir) != Path(model_dir):
        reference, _ = load_policy(reference_dir, device)
        result["kl_to_reference"] = kl_to_reference(model, reference, greedy_episodes)
    else:
        result["kl_to_reference"] = 0.0
    first = next(iter(result["splits"].values()), {})
    for key in (
        "success_rate",
        "mean_outcome_reward",
        "violation_rate",
        "format_valid_rate",
        "quality",
        "latency_ms",
    ):
        if key in first:
            result[key] = first[key]
    return result


def mean_srl_reward(
    model_dir: str | Path,
    rows: Sequence[dict[str, Any]],
    *,
    samples: int = 4,
    seed: int = 0,
    arena_for=None,
    device: str = "cpu",
    legal_actions: bool = False,
) -> float:
    """Mean SRL step reward of ``samples`` sampled completions per SRL row (seeded).

    The number a short SRL run should raise on its own training prompts. With
    ``legal_actions`` the samples are drawn among the legal actions of each row's state (how the
    pipeline's SRL stage samples), so the number measures the decisions, not the format.
    """
    from srlforge.arena import get_arena
    from srlforge.rewards import make_srl_reward

    if not rows:
        raise ValueError("mean_srl_reward needs at least one SRL row")
    model, tokenizer = load_policy(model_dir, device)
    torch.manual_seed(seed)
    contexts = [tokenizer(r["prompt"], add_special_tokens=False)["input_ids"] for r in rows]
    repeated = [c for c in contexts for _ in range(samples)]
    tries = None
    if legal_actions:
        from trainer_service.stages.srl import LegalStepRollout

        rollout = LegalStepRollout(list(rows), arena_for=arena_for or get_arena)
        tries = [rollout.trie(r["prompt"], tokenizer) for r in rows for _ in range(samples)]
    outputs = generate_steps(model, tokenizer, repeated, greedy=False, batch_size=64, tries=tries)
    texts = [tokenizer.decode(ids, skip_special_tokens=True) for ids, _ in outputs]
    columns = {
        key: [r[key] for r in rows for _ in range(samples)]
        for key in ("model_type", "scenario", "history", "expert_action")
    }
    reward = make_srl_reward(arena_for or get_arena)
    values = reward(prompts=[None] * len(texts), completions=texts, **columns)
    return sum(values) / len(values)
