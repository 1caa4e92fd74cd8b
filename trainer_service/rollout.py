"""Playing whole arena episodes with a causal LM, batched, step by step.

Used by evaluation (greedy) and by the RLVR stage's ``rollout_func`` (sampling). Each episode is
kept as token ids exactly as the model saw them — header, then per step the generated ids and
the environment's reply ids — so the RLVR loss runs on the very sequence that was sampled, and
``env_mask`` marks which tokens the model wrote (1) and which the simulator wrote (0).

An episode ends when the verifier says the objective is met, when the simulator state reports a
final ``status`` (won/lost), or at the scenario's ``max_steps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import LogitsProcessorList

from srlforge.arena.base import Arena
from srlforge.schema import EpisodeVerdict, Scenario, StepVerdict
from trainer_service.constrained import (
    Trie,
    TrieLogitsProcessor,
    completion_trie,
    legal_completions,
)
from trainer_service.transcript import (
    DEFAULT_FORMAT,
    OBS,
    SEP,
    TranscriptFormat,
    render_header,
    render_observation,
)


@dataclass
class Episode:
    scenario: Scenario
    prompt_ids: list[int]
    completions: list[str] = field(default_factory=list)
    step_ids: list[list[int]] = field(default_factory=list)
    step_logprobs: list[list[float]] = field(default_factory=list)
    env_ids: list[list[int]] = field(default_factory=list)
    verdicts: list[StepVerdict] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    verdict: EpisodeVerdict | None = None

    def context_ids(self) -> list[int]:
        ids = list(self.prompt_ids)
        for step, env in zip(self.step_ids, self.env_ids, strict=True):
            ids += step + env
        return ids

    def completion_ids(self) -> tuple[list[int], list[int], list[float]]:
        """Everything after the header: ``(ids, env_mask, logprobs)``; the trailing reply of the
        last step is left out (nothing was generated after it)."""
        ids: list[int] = []
        mask: list[int] = []
        logps: list[float] = []
        last = len(self.step_ids) - 1
        for i, (step, lp) in enumerate(zip(self.step_ids, self.step_logprobs, strict=True)):
            ids += step
            mask += [1] * len(step)
            logps += lp
            if i < last:
                env = self.env_ids[i]
                ids += env
                mask += [0] * len(env)
                logps += [0.0] * len(env)
        return ids, mask, logps


def _finished(state: dict[str, Any]) -> bool:
    status = state.get("status")
    return isinstance(status, str) and status not in ("ongoing", "")


@torch.no_grad()
def generate_steps(
    model,
    tokenizer,
    contexts: Sequence[list[int]],
    *,
    greedy: bool,
    temperature: float = 1.0,
    max_new_tokens: int = 48,
    batch_size: int = 32,
    tries: Sequence[Trie | None] | None = None,
) -> list[tuple[list[int], list[float]]]:
    """One completion per context: ``(generated ids incl. EOS if emitted, their logprobs)``.

    ``tries`` (one per context, None for no limit) restricts decoding to legal actions
    (``trainer_service.constrained``); the logprobs are then those of the restricted
    distribution the tokens were drawn from."""
    device = next(model.parameters()).device
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    out: list[tuple[list[int], list[float]]] = []
    was_training = model.training
    model.eval()
    for start in range(0, len(contexts), batch_size):
        chunk = contexts[start : start + batch_size]
        width = max(len(c) for c in chunk)
        input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        attention = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, ids in enumerate(chunk):  # left padding: generation continues at the right edge
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
        kwargs: dict[str, Any] = {"do_sample": False}
        if tries is not None:
            chunk_tries = tries[start : start + batch_size]
            if any(t is not None for t in chunk_tries):
                kwargs["logits_processor"] = LogitsProcessorList(
                    [TrieLogitsProcessor(chunk_tries, width)]
                )
        if not greedy:
            kwargs = {
                **kwargs,
                "do_sample": True,
                "temperature": temperature,
                "top_k": 0,
                "top_p": 1.0,
            }
        result = model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            max_new_tokens=max_new_tokens,
            eos_token_id=eos,
            pad_token_id=pad,
            output_scores=True,
            return_dict_in_generate=True,
            use_cache=True,
            **kwargs,
        )
        new = result.sequences[:, width:]  # (B, T_new)
        scores = torch.stack(result.scores, dim=1).float().log_softmax(-1)  # (B, T_new, V)
        picked = scores.gather(-1, new.unsqueeze(-1)).squeeze(-1)  # (B, T_new)
        for row in range(len(chunk)):
            ids = new[row].tolist()
            # Cut at EOS; a row that ran out of tokens only loses the padding of early stoppers.
            ids = ids[: ids.index(eos) + 1] if eos in ids else [t for t in ids if t != pad]
            out.append((ids, picked[row, : len(ids)].tolist()))
    if was_training:
        model.train()
    return out


def play_episodes(
    model,
    tokenizer,
    arena: Arena,
    scenarios: Sequence[Scenario],
    *,
    greedy: bool = True,
    temperature: float = 1.0,
    max_new_tokens: int = 48,
    batch_size: int = 32,
    fmt: TranscriptFormat = DEFAULT_FORMAT,
    legal_actions: bool = False,
) -> list[Episode]:
    """Play every scenario to the end; return episodes with their verdicts. With
    ``legal_actions`` each step is decoded among the arena's legal actions (where it has an
    action mask; see ``trainer_service.constrained``)."""
    sep_id = tokenizer.convert_tokens_to_ids(SEP)
    obs_id = tokenizer.convert_tokens_to_ids(OBS)
    eos = tokenizer.eos_token_id
    episodes = []
    for scenario in scenarios:
        header = tokenizer(render_header(arena, scenario, fmt), add_special_tokens=False)[
            "input_ids"
        ]
        episodes.append(Episode(scenario, [*header, sep_id], state=arena.reset(scenario)))
    while True:
        active = [e for e in episodes if not e.done]
        if not active:
            break
        tries = None
        if legal_actions and fmt.think == "none":
            tries = []
            for e in active:
                options = legal_completions(arena, e.state)
                tries.append(completion_trie(tokenizer, options) if options else None)
        generated = generate_steps(
            model,
            tokenizer,
            [e.context_ids() for e in active],
            greedy=greedy,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            tries=tries,
        )
        for episode, (ids, logps) in zip(active, generated, strict=True):
            text = tokenizer.decode(ids, skip_special_tokens=True)
            index = len(episode.completions)
            verdict, next_state, _ = arena.evaluate_step(episode.state, text, None, index)
            observation = render_observation(
                arena, episode.scenario, episode.state, next_state, verdict, fmt
            )
            env = ([] if ids and ids[-1] == eos else [eos]) + [obs_id]
            env += tokenizer(observation, add_special_tokens=False)["input_ids"] + [sep_id]
            episode.completions.append(text)
            episode.step_ids.append(ids)
            episode.step_logprobs.append(logps)
            episode.env_ids.append(env)
            episode.verdicts.append(verdict)
            episode.state = next_state
            steps = len(episode.completions)
            if (
                steps >= episode.scenario.max_steps
                or _finished(next_state)
                or arena.verify_episode(episode.scenario, episode.completions).objective_met
            ):
                episode.done = True
    for episode in episodes:
        episode.verdict = arena.verify_episode(episode.scenario, episode.completions)
    return episodes
