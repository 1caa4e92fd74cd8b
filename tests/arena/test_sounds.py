"""Behaviour of the sounds arena: cue-sheet rules from sounds.yaml, the timeline simulator, and
the expert on a brief small enough to solve by hand."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from srlforge.arena import DIFFICULTIES, get_arena
from srlforge.arena.sounds import SoundsArena
from srlforge.rules import DATA_DIR, RuleFileError, load_rule_dir
from srlforge.schema import Scenario


@pytest.fixture(scope="module")
def arena() -> SoundsArena:
    return get_arena("sounds")


def _brief(arena: SoundsArena, species: str = "zombie", form: str = "zombie") -> Scenario:
    """Five beats; the scare comes 0.2 s into its beat, so its 0.5 s run-up cuts b2's music."""
    state = {
        "platform": "console",
        "location": "exterior",
        "monster": {"species": species, "form": form},
        "scene_length_s": 40.0,
        "beats": [
            {"id": "b1", "kind": "calm_exploration", "start_s": 0.0, "end_s": 10.0},
            {"id": "b2", "kind": "tension_build", "start_s": 10.0, "end_s": 20.0},
            {"id": "b3", "kind": "jump_scare", "start_s": 20.0, "end_s": 22.0},
            {"id": "b4", "kind": "chase", "start_s": 22.0, "end_s": 32.0},
            {"id": "b5", "kind": "aftermath", "start_s": 32.0, "end_s": 40.0},
        ],
        "events": [
            {"id": "e1", "kind": "door_creak", "beat": "b1", "time_s": 2.0, "duration_s": 1.5},
            {"id": "e2", "kind": "line", "beat": "b2", "time_s": 12.0, "duration_s": 2.0},
            {"id": "e3", "kind": "scare", "beat": "b3", "time_s": 20.2, "duration_s": 0.2},
            {"id": "e4", "kind": "scream", "beat": "b4", "time_s": 24.0, "duration_s": 1.0},
            {
                "id": "e5",
                "kind": "engine",
                "beat": "b4",
                "time_s": 25.0,
                "duration_s": 3.0,
                "cylinders": 6,
                "rpm": 3000,
            },
        ],
        "playhead_s": 0.0,
        "bus_free_at": {"ambience": 0.0, "music": 0.0, "sfx": 0.0, "silence": 0.0, "voice": 0.0},
        "covered": [],
    }
    return Scenario(
        id="sounds:test:0:3", model_type="sounds", species=species, seed=0, index=0,
        difficulty=3, split="train", rules_version=arena.rules_version, objective="test",
        state=state, max_steps=12,
    )  # fmt: skip


# The optimal sheet, worked out by hand from the brief and sounds.yaml.
HAND_SHEET = [
    ("b1", "ambience", 0.0, 10.0),
    ("e1", "effect", 2.0, 3.5),
    ("b2", "music", 10.0, 19.7),  # ends where e3's 0.5 s run-up window begins
    ("e2", "voice", 12.0, 14.0),
    ("e3", "silence", 19.7, 20.2),
    ("e3", "sting", 20.2, 20.4),
    ("b4", "music", 22.0, 32.0),
    ("e4", "voice", 24.0, 25.0),
    ("e5", "effect", 25.0, 28.0),
    ("b5", "ambience", 32.0, 40.0),
]


def _actions(arena, scenario):
    return [s.action for s in arena.solve(scenario)]


def _state_before(arena, scenario, index):
    state = arena.reset(scenario)
    for action in _actions(arena, scenario)[:index]:
        _, state, _ = arena.evaluate_step(state, action)
    return state


def _ids(verdict, severity):
    return {v.rule_id for v in verdict.violations if v.severity == severity}


def test_expert_writes_the_hand_computed_sheet(arena):
    scenario = _brief(arena)
    actions = _actions(arena, scenario)
    got = [(a["target"], a["type"], a["timing"]["start_s"], a["timing"]["end_s"]) for a in actions]
    assert got == HAND_SHEET
    by_target = {(a["target"], a["type"]): a["params"] for a in actions}
    assert by_target[("e2", "voice")]["speech"] is False  # a zombie can't speak (SRD 5.1)
    assert 30.0 <= by_target[("e4", "voice")]["am_rate_hz"] <= 150.0
    engine = by_target[("e5", "effect")]
    assert engine["band_low_hz"] <= 6 * 3000 / 120 <= engine["band_high_hz"]
    assert all(p["loudness_lufs"] == -24.0 for k, p in by_target.items() if k[1] != "silence")
    verdict = arena.verify_episode(scenario, arena.solve(scenario))
    assert verdict.success and verdict.outcome_reward == 1.0 and verdict.suboptimal_moves == 0


def test_a_speaking_form_delivers_its_line_with_words(arena):
    scenario = _brief(arena, "vampire", "true_form")
    line = next(a for a in _actions(arena, scenario) if a["target"] == "e2")
    assert line["params"]["speech"] is True
    state = _state_before(arena, scenario, 3)
    mute = copy.deepcopy(line)
    mute["params"]["speech"] = False
    assert "voice.speech" in _ids(arena.verify_step(state, mute), "hard")


def test_order_and_every_step_matter(arena):
    scenario = _brief(arena)
    actions = _actions(arena, scenario)
    episodes = [list(reversed(actions)), [actions[1], actions[0], *actions[2:]]]
    episodes += [actions[:i] + actions[i + 1 :] for i in range(len(actions))]
    episodes += [actions[: i + 1] + actions[i:] for i in range(len(actions))]
    for steps in episodes:
        assert not arena.verify_episode(scenario, steps).success


def _set(path, value):
    def mutate(action):
        node = action
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _retime(start, end):
    def mutate(action):
        action["timing"] = {"start_s": start, "end_s": end}
        action["params"]["duration_s"] = round(end - start, 3)

    return mutate


def _band(low, high):
    def mutate(action):
        action["params"]["band_low_hz"], action["params"]["band_high_hz"] = low, high

    return mutate


# (rule id, expert step the mutation is applied to, mutation)
HARD_CASES = [
    ("cue.target", 0, _set(["target"], "e9")),
    ("cue.unrequested", 0, _set(["type"], "voice")),
    ("cue.timing", 0, _retime(0.0, 9.0)),
    ("cue.timing", 2, _retime(10.0, 20.0)),  # music that ignores the run-up cut
    ("timing.window", 1, _set(["params", "duration_s"], 3.0)),
    ("timing.order", 2, _retime(1.0, 19.7)),
    ("bus.overlap", 1, lambda a: a.update(_actions_cache["b1"])),
    ("silence.exclusive", 4, _retime(19.5, 20.2)),
    ("silence.level", 4, _set(["params", "loudness_lufs"], -60.0)),
    ("loudness.target", 0, _set(["params", "loudness_lufs"], -18.0)),
    ("loudness.true_peak", 5, _set(["params", "true_peak_dbtp"], -0.5)),
    ("loudness.range", 6, _set(["params", "loudness_range_lu"], 25.0)),
    ("cue.looping", 1, lambda a: a["params"].update(looping=True, loop_length_s=5.0)),
    ("cue.looping", 0, _set(["params", "loop_length_s"], 0.0)),
    ("band.order", 6, _band(5000.0, 100.0)),
    ("sting.attack", 5, _set(["params", "attack_ms"], 25.0)),
    ("sting.broadband", 5, _band(1000.0, 2000.0)),
    ("voice.roughness", 7, _set(["params", "am_rate_hz"], 10.0)),
    ("voice.speech", 3, _set(["params", "speech"], True)),
    ("voice.speech", 7, _set(["params", "speech"], True)),  # screams have no words
    ("effect.door_band", 1, _band(200.0, 800.0)),
    ("effect.engine_band", 8, _band(300.0, 2000.0)),
]
_actions_cache: dict[str, dict] = {}


@pytest.mark.parametrize(("rule_id", "index", "mutate"), HARD_CASES)
def test_each_hard_rule_fires_on_a_crafted_action(arena, rule_id, index, mutate):
    scenario = _brief(arena)
    actions = _actions(arena, scenario)
    _actions_cache["b1"] = copy.deepcopy(actions[0])  # a second bed on the busy ambience bus
    state = _state_before(arena, scenario, index)
    assert not arena.verify_step(state, actions[index]).violations
    bad = copy.deepcopy(actions[index])
    mutate(bad)
    verdict = arena.verify_step(state, bad)
    assert rule_id in _ids(verdict, "hard"), verdict.feedback
    assert verdict.rule_compliance == 0.0
    assert arena.evaluate_step(state, bad)[1] is state  # a rejected cue changes nothing


SOFT_CASES = [
    ("loudness.alt_target", 0, _set(["params", "loudness_lufs"], -21.5)),  # -23 +-2 only
    ("ambience.loop", 0, _set(["params", "loop_length_s"], 90.0)),  # exterior beds: 20-60 s
    ("sting.quiet_runup", 4, _retime(20.0, 20.2)),
    ("music.wallpaper", 1, lambda a: a.update(type="music", target="b1")),
]


@pytest.mark.parametrize(("rule_id", "index", "mutate"), SOFT_CASES)
def test_uncertain_facts_are_soft(arena, rule_id, index, mutate):
    scenario = _brief(arena)
    actions = _actions(arena, scenario)
    state = _state_before(arena, scenario, index)
    bad = copy.deepcopy(actions[index])
    mutate(bad)
    verdict = arena.verify_step(state, bad)
    assert _ids(verdict, "soft") == {rule_id} and not _ids(verdict, "hard"), verdict.feedback
    assert 0.0 < verdict.rule_compliance < 1.0


def test_wallpaper_music_is_a_wasted_step(arena):
    scenario = _brief(arena)
    actions = _actions(arena, scenario)
    wallpaper = copy.deepcopy(actions[0])
    wallpaper["type"] = "music"
    wallpaper["params"].update(looping=False, loop_length_s=0.0)
    verdict = arena.verify_episode(scenario, [actions[0], wallpaper, *actions[1:]])
    assert verdict.success and verdict.suboptimal_moves == 1
    assert verdict.outcome_reward == pytest.approx(1.0 - 0.1 - 0.05)


def test_apply_moves_the_playhead_and_fills_the_bus_without_mutating(arena):
    scenario = _brief(arena)
    state = arena.reset(scenario)
    snapshot = copy.deepcopy(state)
    action = arena.validate_action(_actions(arena, scenario)[0])[0]
    nxt, delta = arena.apply(state, action)
    assert state == snapshot
    assert delta == {
        "playhead_s": 0.0,
        "bus_free_at": {"ambience": 10.0},
        "covered_add": "b1:ambience",
    }
    assert nxt["covered"] == ["b1:ambience"] and nxt["bus_free_at"]["music"] == 0.0
    # The same bed again meets nothing new: the bus is busy and the slot is filled.
    assert "bus.overlap" in _ids(arena.verify_step(nxt, _actions(arena, scenario)[0]), "hard")


def _edited_arena(tmp_path: Path, edit) -> SoundsArena:
    root = tmp_path / "1.0.0"
    shutil.copytree(DATA_DIR / "1.0.0", root)
    path = root / "sounds.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data["tables"])
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return SoundsArena(load_rule_dir(root))


def test_checks_read_their_thresholds_from_the_rule_data(arena, tmp_path):
    def edit(tables):
        tables["platforms"]["rows"][0].update(target_lufs=-16.0, alt_targets_lufs=[])  # console
        tables["startle"]["max_attack_ms"] = 2.0
        tables["startle"]["fast_attack_ms"] = 1.0

    edited = _edited_arena(tmp_path, edit)
    scenario = _brief(arena)
    actions = _actions(arena, scenario)
    sting_state = _state_before(arena, scenario, 5)
    assert not arena.verify_step(sting_state, actions[5]).violations
    verdict = edited.verify_step(sting_state, actions[5])
    assert {"loudness.target", "sting.attack"} <= _ids(verdict, "hard")
    # The expert follows the edited data, and the original sheet no longer passes.
    moved = _brief(edited)
    assert edited.verify_episode(moved, edited.solve(moved)).success
    assert not edited.verify_episode(moved, actions).success


def test_a_malformed_table_names_the_file_and_path(tmp_path):
    with pytest.raises(RuleFileError, match=r"sounds\.yaml.*\n.*tables\.startle\.runup_window_s"):
        _edited_arena(tmp_path, lambda t: t["startle"].update(runup_window_s="half a second"))


def test_difficulty_grows_the_scene_and_keeps_its_structure(arena):
    means = []
    for d in DIFFICULTIES:
        scenarios = [arena.sample(21, i, d) for i in range(40)]
        means.append(sum(s.metadata["n_cues"] for s in scenarios) / len(scenarios))
        for s in scenarios:
            kinds = s.metadata["beat_kinds"]
            assert any(k in ("calm_exploration", "aftermath") for k in kinds)
            assert {"line", "scream"} & set(s.metadata["event_kinds"])
            assert s.metadata["n_scares"] >= (2 if d == 5 else 1)
            starts = [a["timing"]["start_s"] for a in _actions(arena, s)]
            assert starts == sorted(set(starts))
        if d == 5:
            assert sum(s.metadata["runup_cuts"] > 0 for s in scenarios) >= 30
    assert means == sorted(means) and means[-1] >= 2 * means[0]


def test_forbidden_actions_break_a_hard_rule_everywhere(arena):
    scenario = arena.sample(3, 2, 4)
    state = arena.reset(scenario)
    for action in _actions(arena, scenario):
        for bad in arena.forbidden_actions(scenario, state):
            assert _ids(arena.verify_step(state, bad), "hard")
        _, state, _ = arena.evaluate_step(state, action)
    sat = arena.verify_step(arena.reset(scenario), arena.saturated_action(scenario))
    assert {"loudness.target", "loudness.true_peak", "loudness.range"} <= _ids(sat, "hard")
