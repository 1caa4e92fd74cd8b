"""``POST /v1/rewards/{model_type}`` in Vertex AI's shape: the verifier's RLVR reward in
[-1, 1]; the expert scores high, every reward-hacking probe and any garbage scores low, and
nothing the model sends can cause a 500."""

from __future__ import annotations

import json

import pytest

from srlforge.arena import get_arena
from srlforge.arena.base import render_completion
from srlforge.arena.hacks import PROBES
from srlforge.rewards import episode_reward

MODEL_TYPE = "facial"
URL = f"/v1/rewards/{MODEL_TYPE}"


@pytest.fixture
def setup(api):
    headers = api.key("acme")
    arena = get_arena(MODEL_TYPE)
    scenario = arena.sample(5, 1, 3)
    expert = arena.expert_trajectory(scenario)
    return api, headers, arena, scenario, expert


def _reward(api, headers, body, url=URL) -> float:
    response = api.post(url, headers=headers, json=body)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"reward"}
    assert -1.0 <= body["reward"] <= 1.0
    return body["reward"]


def test_the_expert_scores_the_verifiers_episode_reward(setup):
    api, headers, arena, scenario, expert = setup
    texts = [render_completion(s) for s in expert.steps]
    text = "".join(texts)
    # Completion text carries think + action only, so no state-prediction term here.
    expected = episode_reward(arena, scenario, texts)
    by_id = {"example": {"scenario_id": scenario.id}, "response": text, "metadata": {}}
    assert _reward(api, headers, by_id) == pytest.approx(expected)
    assert expected > 0.9
    whole = {"example": {"scenario": scenario.model_dump(mode="json")}, "response": text}
    assert _reward(api, headers, whole) == pytest.approx(expected)
    as_json_text = {"example": {"scenario": scenario.model_dump_json()}, "response": text}
    assert _reward(api, headers, as_json_text) == pytest.approx(expected)
    in_metadata = {"example": {}, "metadata": {"scenario_id": scenario.id}, "response": text}
    assert _reward(api, headers, in_metadata) == pytest.approx(expected)


def test_every_documented_response_shape_reads_the_same_steps(setup):
    api, headers, arena, scenario, expert = setup
    example = {"scenario_id": scenario.id}
    texts = [render_completion(s) for s in expert.steps]
    steps = [s.model_dump(mode="json") for s in expert.steps]
    from_text = episode_reward(arena, scenario, texts)
    from_steps = episode_reward(arena, scenario, expert.steps)
    assert from_steps > from_text  # the steps also carry the predicted state deltas
    shapes = [
        ({"role": "model", "parts": [{"text": t} for t in texts]}, from_text),
        ([{"text": "".join(texts)}], from_text),
        (steps, from_steps),
        ({"steps": steps}, from_steps),
        (json.dumps(steps), from_steps),
    ]
    for response, expected in shapes:
        got = _reward(api, headers, {"example": example, "response": response})
        assert got == pytest.approx(expected), response


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_reward_hacking_probes_score_low(setup, probe):
    api, headers, arena, scenario, expert = setup
    ceiling = episode_reward(arena, scenario, expert.steps)
    for steps in PROBES[probe](arena, scenario, expert.steps):
        got = _reward(api, headers, {"example": {"scenario_id": scenario.id}, "response": steps})
        # outcome <= 0.2 (the arena contract) caps the reward at 0.8*0.2 + 0.2*1.
        assert got <= 0.36 + 1e-9, (probe, got)
        assert got < ceiling - 0.5


@pytest.mark.parametrize(
    "response",
    [
        None,
        "",
        "just words, no action",
        "<action>{not json}</action>" * 3,
        "<think>" * 1000,
        12,
        [],
        [[[]]],
        {"role": "model", "parts": []},
        {"parts": [{"inline_data": "AAAA"}]},
        {"unexpected": True},
        "x" * 200_000,
    ],
)
def test_garbage_responses_get_a_low_reward(setup, response):
    api, headers, *_ = setup
    got = _reward(api, headers, {"example": {"scenario_id": "facial:5:1:3"}, "response": response})
    assert got <= -0.19


def test_a_malformed_example_is_a_422_that_names_the_field(setup):
    api, headers, _, scenario, _ = setup
    cases = [
        ({}, "example: no scenario"),
        ({"scenario_id": "facial:5:1"}, "example.scenario_id"),
        ({"scenario_id": "facial:5:1:9"}, "example.scenario_id"),
        ({"scenario": "{"}, "example.scenario: not valid JSON"),
        ({"scenario": {"id": "x"}}, "example.scenario."),
        ({"scenario_id": "animals:5:1:3"}, "animals scenario, not facial"),
    ]
    for example, message in cases:
        response = api.post(URL, headers=headers, json={"example": example, "response": ""})
        assert response.status_code == 422, example
        assert message in response.json()["detail"], (example, response.json())
    wrong_type = api.post(
        "/v1/rewards/animals",
        headers=headers,
        json={"example": {"scenario": scenario.model_dump(mode="json")}, "response": ""},
    )
    assert wrong_type.status_code == 422
    assert "facial scenario, not animals" in wrong_type.json()["detail"]
    missing = api.post(URL, headers=headers, json={"example": {"scenario_id": scenario.id}})
    assert missing.status_code == 422
    assert "body.response: field required" in missing.json()["detail"]


def test_rules_version_in_the_example_selects_the_rule_set(setup):
    api, headers, _, scenario, expert = setup
    text = "".join(render_completion(s) for s in expert.steps)
    for version in (scenario.rules_version, scenario.rules_version.split("+")[0]):
        example = {"scenario_id": scenario.id, "rules_version": version}
        assert _reward(api, headers, {"example": example, "response": text}) > 0.9
    example = {"scenario_id": scenario.id, "rules_version": "1.0.0+ffffffffffff"}
    response = api.post(URL, headers=headers, json={"example": example, "response": text})
    assert response.status_code == 404
