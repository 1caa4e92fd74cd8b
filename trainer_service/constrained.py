"""Legal-action decoding: generation restricted to the actions the arena's hard constraints allow.

Where an arena defines an action mask (``Arena.action_mask(state)``: the finite set of actions no
hard rule forbids), the policy can be made to choose *among* them, the valid-action constraint of
text-game RL: each legal action is rendered as the exact completion the policy is trained to
write (``<think></think><action>{json}</action><|eos|>``), tokenised, and put in a per-row token
trie; at every generation step a logits processor keeps only the tokens that continue a path of
the trie. The choice stays the policy's (greedy or sampled over the renormalised distribution),
and the verifier still checks everything: soft rules, the simulator's outcome, the objective.

This changes what evaluation measures, so it is a switch (``PipelineConfig.legal_actions``) and
the report says which mode produced a number.

In training, every generated token carries the loss, forced ones included. Measured: keeping the
forced tokens out of the loss (TRL's ``env_mask``) left legal-decoding success where it was
(0.25 → 0.29 vs 0.25 → 0.25 after SRL → RLVR) but the structure of the free text was no longer
reinforced and free decoding collapsed (format validity 1.00 → 0.00), so it is not done.

Arenas without an action mask (the free-form ones), the ``think="expert"`` format, or a row whose
mask is empty decode unconstrained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import LogitsProcessor

from trainer_service.transcript import action_json

Trie = dict[int, "Trie"]


def build_trie(sequences: Sequence[Sequence[int]]) -> Trie:
    root: Trie = {}
    for seq in sequences:
        node = root
        for token in seq:
            node = node.setdefault(int(token), {})
    return root


def legal_completions(arena, state: dict[str, Any]) -> list[str] | None:
    """The completions a policy may write in ``state``, or None where the arena has no mask."""
    legal = arena.action_mask(state)
    if not legal:
        return None
    seen: dict[str, None] = {}
    for action in legal:
        seen.setdefault(f"<think></think><action>{action_json(action)}</action>", None)
    return list(seen)


def completion_trie(tokenizer, completions: Sequence[str]) -> Trie:
    eos = tokenizer.eos_token_id
    ids = tokenizer(list(completions), add_special_tokens=False)["input_ids"]
    return build_trie([[*seq, eos] for seq in ids])


class TrieLogitsProcessor(LogitsProcessor):
    """Per row, keep only the logits of tokens that continue the row's trie (None: no limit).

    ``prompt_width`` is the (padded) prompt length, so the generated part of row ``i`` is
    ``input_ids[i, prompt_width:]``. A row that has left its trie (finished, or an earlier token
    was outside it, which cannot happen under this processor) is not restricted further.
    """

    def __init__(self, tries: Sequence[Trie | None], prompt_width: int) -> None:
        self.tries = list(tries)
        self.prompt_width = prompt_width

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self.prompt_width :].tolist()
        mask = None
        for row, trie in enumerate(self.tries):
            if trie is None:
                continue
            node: Trie | None = trie
            for token in generated[row]:
                node = node.get(token) if node is not None else None
                if node is None:
                    break
            if not node:  # off the trie, or at a leaf (EOS written: generation stops anyway)
                continue
            if mask is None:
                mask = torch.zeros_like(scores, dtype=torch.bool)
            mask[row, list(node)] = True
            mask[row] = ~mask[row]  # True where the token is NOT allowed
        if mask is None:
            return scores
        return scores.masked_fill(mask, float("-inf"))
