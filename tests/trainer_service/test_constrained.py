"""Legal-action decoding: the policy chooses among the arena's legal actions, nothing else."""

from __future__ import annotations

import torch

from srlforge.arena import get_arena
from trainer_service.constrained import TrieLogitsProcessor, build_trie, legal_completions


def test_trie_processor_keeps_only_continuations_of_each_row():
    trie = build_trie([[5, 6, 9], [5, 7, 9]])
    processor = TrieLogitsProcessor([trie, None], prompt_width=2)
    scores = torch.zeros(2, 10)
    # row 0 has generated nothing yet: only 5 may follow; row 1 is unconstrained
    out = processor(torch.tensor([[1, 2], [1, 2]]), scores.clone())
    assert torch.isfinite(out[0]).nonzero().flatten().tolist() == [5]
    assert torch.isfinite(out[1]).all()
    # after 5: 6 or 7
    out = processor(torch.tensor([[1, 2, 5], [1, 2, 3]]), scores.clone())
    assert torch.isfinite(out[0]).nonzero().flatten().tolist() == [6, 7]
    # after 5 7: only 9 (the EOS of that path)
    out = processor(torch.tensor([[1, 2, 5, 7], [1, 2, 3, 3]]), scores.clone())
    assert torch.isfinite(out[0]).nonzero().flatten().tolist() == [9]


def test_legal_decoding_never_breaks_a_hard_rule(micro_base):
    """The micro model writes illegal actions when free; under legal decoding no step of any
    episode has a hard violation or a format error, and the verifier still decides success."""
    from trainer_service.evaluation import load_policy
    from trainer_service.rollout import play_episodes

    arena = get_arena("personality")
    scenarios = [arena.sample(1_000_000 + i, 0, 1) for i in range(6)]
    model, tokenizer = load_policy(micro_base)
    free = play_episodes(model, tokenizer, arena, scenarios, greedy=False)
    legal = play_episodes(model, tokenizer, arena, scenarios, greedy=False, legal_actions=True)
    free_bad = sum(v.hard_violation or not v.format_valid for e in free for v in e.verdicts)
    assert free_bad > 0, "the micro model should break rules when decoding freely"
    for episode in legal:
        assert episode.verdicts, episode.scenario.id
        for verdict in episode.verdicts:
            assert verdict.format_valid and not verdict.hard_violation, verdict.violations
        options = legal_completions(arena, arena.reset(episode.scenario))
        assert episode.completions[0] in options
        assert episode.verdict == arena.verify_episode(episode.scenario, episode.completions)
