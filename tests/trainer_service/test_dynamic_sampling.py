"""Dynamic sampling: zero-variance groups are dropped, the rest re-padded into one batch."""

from __future__ import annotations

import torch

from trainer_service.stages.srl import merge_scored, zero_std_groups


def test_zero_std_groups_on_a_constructed_batch():
    rewards = torch.tensor(
        [
            [0.5, 0.5, 0.5, 0.5],  # flat: no GRPO signal
            [-1.0, 0.2, 0.4, 0.9],
            [-1.0, -1.0, -1.0, -1.0],  # flat at the format penalty
            [0.3, 0.3, 0.3, 0.30001],  # std below epsilon
            [float("nan"), 0.1, 0.1, 0.1],  # unscorable completion, the rest flat
        ]
    ).flatten()
    dropped = zero_std_groups(rewards, group_size=4, epsilon=1e-4)
    assert dropped.tolist() == [True, False, True, True, True]
    assert zero_std_groups(rewards, group_size=4, epsilon=0.0).tolist() == [
        True,
        False,
        True,
        False,
        True,
    ]


def _scored(prompt_len: int, completion_len: int, rows: int, first: int) -> dict:
    ids = torch.arange(first, first + rows).unsqueeze(1)
    return {
        "prompt_ids": ids.repeat(1, prompt_len),
        "prompt_mask": torch.ones(rows, prompt_len, dtype=torch.long),
        "completion_ids": ids.repeat(1, completion_len),
        "completion_mask": torch.ones(rows, completion_len, dtype=torch.long),
        "advantages": torch.arange(first, first + rows, dtype=torch.float),
        "ref_per_token_logps": torch.full((rows, completion_len), -1.0),
        "num_items_in_batch": torch.tensor(rows * completion_len),
    }


def test_merge_keeps_only_chosen_rows_and_repads_each_side():
    first = _scored(prompt_len=3, completion_len=5, rows=4, first=0)
    refill = _scored(prompt_len=6, completion_len=2, rows=4, first=10)
    merged = merge_scored([(first, [2, 3]), (refill, [0, 1])], pad_id=99)
    assert merged["advantages"].tolist() == [2.0, 3.0, 10.0, 11.0]
    # prompts are left-padded to the longest prompt, completions right-padded
    assert merged["prompt_ids"].shape == (4, 6)
    assert merged["prompt_ids"][0].tolist() == [99, 99, 99, 2, 2, 2]
    assert merged["prompt_mask"][0].tolist() == [0, 0, 0, 1, 1, 1]
    assert merged["completion_ids"][2].tolist() == [10, 10, 99, 99, 99]
    assert merged["completion_mask"][2].tolist() == [1, 1, 0, 0, 0]
    assert merged["ref_per_token_logps"][2].tolist() == [-1.0, -1.0, 0.0, 0.0, 0.0]
    # the loss normaliser counts the kept tokens only
    assert int(merged["num_items_in_batch"]) == 2 * 5 + 2 * 2
