from srlforge.arena.base import (
    MAX_COMPLETION_CHARS,
    delta_agreement,
    parse_completion,
    scenario_rng,
    split_of,
)


def test_parse_completion_reads_think_and_action():
    parsed = parse_completion('<think>go</think><action>{"type": "wait"}</action>')
    assert parsed.error is None
    assert parsed.action == {"type": "wait"} and parsed.think == "go"


def test_parse_completion_rejects_malformed_output_without_raising():
    bad = [
        "",
        "no tags",
        "<action>not json</action>",
        "<action>[1, 2]</action>",
        '<action>{"a":1}</action><action>{"a":1}</action>',
        '<action>{"a":1}</action><think>late</think>',
        "<think>" + "x" * MAX_COMPLETION_CHARS + '</think><action>{"a":1}</action>',
        None,
        12,
    ]
    for text in bad:
        parsed = parse_completion(text)  # type: ignore[arg-type]
        assert parsed.action is None and parsed.error, text


def test_delta_agreement():
    assert delta_agreement(None, {"a": 1}) == 0.0
    assert delta_agreement({}, {}) == 1.0
    assert delta_agreement({"a": 1}, {"a": 1}) == 1.0
    assert delta_agreement({"a": 1, "b": 2}, {"a": 1}) == 0.5
    assert delta_agreement({"x": {"y": 1.0}}, {"x": {"y": 1}}) == 1.0
    assert delta_agreement({"a": True}, {"a": 1}) == 0.0


def test_rng_depends_only_on_inputs_and_splits_by_seed():
    assert scenario_rng("t", 1, 2, 3).random() == scenario_rng("t", 1, 2, 3).random()
    assert scenario_rng("t", 1, 2, 3).random() != scenario_rng("t", 2, 1, 3).random()
    assert scenario_rng("a", 1, 2, 3).random() != scenario_rng("b", 1, 2, 3).random()
    assert split_of(0) == "train" and split_of(999_999) == "train"
    assert split_of(1_000_000) == "heldout"
