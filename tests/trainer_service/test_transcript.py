"""The transcript format: what SRL, RLVR and evaluation all show the model."""

from __future__ import annotations

import json

from srlforge.arena import get_arena
from srlforge.arena.base import parse_completion
from trainer_service.transcript import (
    EOS,
    OBS,
    SEP,
    TranscriptFormat,
    compact,
    render_observation,
    render_prompt,
    render_step,
    srl_rows,
)


def test_compact_drops_quotes_and_empty_fields():
    text = compact({"map": {"den": {"tags": ["cover", "lit"], "exits": []}}, "x": None, "n": 3})
    assert text == "{map:{den:{tags:[cover lit]}} n:3}"
    assert compact({"s": "two words"}) == '{s:"two words"}'
    assert compact({"flag": True, "off": False}) == "{flag:true}"


def test_srl_rows_are_the_episode_transcript_cut_before_each_step():
    arena = get_arena("personality")
    scenario = arena.sample(0, 3, 2)
    steps = arena.solve(scenario)
    rows = srl_rows(arena, scenario, steps)
    assert len(rows) == len(steps)
    for i, row in enumerate(rows):
        assert row["prompt"].endswith(SEP)
        assert json.loads(row["expert_action"]) == steps[i].action
        assert json.loads(row["history"]) == [s.action for s in steps[:i]]
        assert parse_completion(row["completion"]).action == steps[i].action
        if i:
            # step i's prompt = step i-1's prompt + its completion + the simulator's reply
            previous = rows[i - 1]
            assert row["prompt"].startswith(previous["prompt"] + previous["completion"] + EOS + OBS)
    assert rows[0]["prompt"] == render_prompt(arena, scenario, ())


def test_think_text_only_in_expert_mode():
    step = {"think": "go north", "action": {"type": "wait"}}
    assert render_step(step).startswith("<think></think>")
    assert "<think>go north</think>" in render_step(step, TranscriptFormat(think="expert"))


def test_observation_shows_changes_and_broken_rules_only():
    arena = get_arena("personality")
    scenario = arena.sample(0, 1, 1)
    state = arena.reset(scenario)
    expert = arena.solve(scenario)[0].action
    verdict, after, _ = arena.evaluate_step(state, expert)
    text = render_observation(arena, scenario, state, after, verdict)
    assert text.startswith("{changed:{turn:")
    assert "broken" not in text
    nowhere = {"type": "move", "target": "nowhere", "params": {}}
    bad, after_bad, _ = arena.evaluate_step(state, nowhere)
    assert "broken:" in render_observation(arena, scenario, state, after_bad, bad)
    garbage, _, _ = arena.evaluate_step(state, "not an action")
    assert render_observation(arena, scenario, state, state, garbage).startswith("{error:format}")


def test_options_list_the_legal_moves_and_can_be_switched_off():
    arena = get_arena("personality")
    scenario = arena.sample(0, 0, 2)
    with_options = render_prompt(arena, scenario, ())
    legal = arena.action_mask(arena.reset(scenario))
    assert " options:{" in with_options
    for action in legal:
        assert action["type"] in with_options.split(" options:")[1]
    assert " options:" not in render_prompt(arena, scenario, (), TranscriptFormat(options=False))
