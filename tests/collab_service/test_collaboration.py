"""Model B (openai_compat teacher) under Model C against a real fake OpenAI server.

The server mixes good plans, malformed JSON, rule-breaking actions, slow answers, 429 and 500;
the tests check that retries, revisions and regeneration rounds all run, that no bad plan
reaches the dataset, and that a garbage-only server yields nothing — with the reasons.
"""

from __future__ import annotations

import json

import pytest

from collab_service.export import MANIFEST, read_trajectories, write_dataset
from collab_service.orchestrator import GenerationConfig, Orchestrator
from collab_service.prompts import JUDGE_PROMPT
from srlforge.arena import get_arena

MODEL_TYPE = "personality"


def collaborate(settings, **overrides):
    config = GenerationConfig(
        **{"model_type": MODEL_TYPE, "n": 8, "teacher": "openai", "difficulties": (2,), **overrides}
    )
    return Orchestrator(config, settings).run()


def test_mixed_server_exercises_retries_revisions_and_regeneration(fake, settings, with_openai):
    def by_index(scenario):
        kind = scenario.index % 4
        if kind == 0:
            return fake.rule_breaking  # every try breaks a hard rule: the episode must fail
        if kind == 1:
            return fake.bad_then_good(fake.malformed)  # fixed by the one revision
        return fake.good

    transient = {3: fake.rate_limited(0.02), 5: fake.server_error, 9: fake.server_error}

    def behaviour(call):
        faulty = transient.get(call.number)
        return faulty(call) if faulty else fake.by_scenario(by_index)(call)

    with fake.FakeOpenAI(behaviour) as server:
        result = collaborate(with_openai(settings, server, concurrency=4), n=8)

    assert len(result.kept) == 8
    assert result.rounds_run >= 2  # the rule-breakers' shortfall was regenerated
    assert result.reasons["hard_violation"] >= 2
    assert result.revisions >= result.reasons["hard_violation"]
    assert server.statuses[429] == 1 and server.statuses[500] == 2
    assert result.transport["retries"] == 3
    arena = get_arena(MODEL_TYPE)
    for t in result.kept:
        assert t.scenario.index % 4 != 0  # nothing from a rule-breaking episode was kept
        assert arena.verify_episode(t.scenario, t.steps).success
        assert [s.action for s in t.steps] == [s.action for s in arena.solve(t.scenario)]
        assert t.provenance.teacher == "openai" and t.provenance.model == "fake-teacher-1"
    revised = [t for t in result.kept if t.scenario.index % 4 == 1]
    assert revised and all(t.outcome.details["collab"]["revisions"] >= 1 for t in revised)


def test_garbage_only_server_keeps_nothing_and_says_why(fake, settings, with_openai, tmp_path):
    def garbage(call):
        return fake.prose(call) if call.number % 2 else fake.malformed(call)

    with fake.FakeOpenAI(garbage) as server:
        result = collaborate(with_openai(settings, server), n=4)
    assert result.kept == []
    assert result.rounds_run == 3 and result.failed == result.attempted > 4
    assert set(result.reasons) == {"format_invalid"}
    assert "action" in result.failure_examples["format_invalid"]
    manifest_path = write_dataset(result, tmp_path / "out")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["kept"] == 0 and manifest["shortfall"] == 4
    assert manifest["failure_reasons"] == {"format_invalid": result.failed}
    assert read_trajectories(tmp_path / "out" / "trajectories.jsonl") == []
    assert manifest_path.name == MANIFEST


def test_slow_server_fails_by_timeout_not_by_hanging(fake, settings, with_openai):
    with fake.FakeOpenAI(fake.slow(1.0)) as server:
        slow_settings = with_openai(
            settings, server, request_timeout_s=0.1, max_attempts=2, rounds=1
        )
        result = collaborate(slow_settings, n=2)
    assert result.kept == []
    assert set(result.reasons) <= {"transport:retries_exhausted", "transport:circuit_open"}
    assert result.transport["failures"]["timeout"] >= 2


@pytest.mark.parametrize(
    ("judge_answer", "kept", "reason"),
    [
        ('{"score": 0.2, "critique": "a ghoul would not parley"}', 0, "judge_rejected"),
        ('{"score": 0.9, "critique": "plausible"}', 3, None),
        ("I cannot grade this.", 3, None),
    ],
)
def test_judge_can_only_lower_scores(fake, settings, with_openai, judge_answer, kept, reason):
    def behaviour(call):
        if call.body["messages"][0]["content"] == JUDGE_PROMPT:
            return fake.Reply(content=judge_answer)
        return fake.good(call)

    with fake.FakeOpenAI(behaviour) as server:
        result = collaborate(with_openai(settings, server, rounds=1), n=3, judge="openai")
    assert len(result.kept) == kept
    if reason:
        assert result.reasons[reason] == result.failed > 0
    for t in result.kept:
        expert = get_arena(MODEL_TYPE).verify_episode(t.scenario, t.steps)
        assert t.outcome.outcome_reward <= expert.outcome_reward  # never raised
        assert "judge" in t.outcome.details


def test_bare_json_without_tags_is_a_format_failure(fake, settings, with_openai):
    def bare(call):
        step = fake.expert_plan(call.scenario)[len(call.history)]
        return fake.Reply(content=json.dumps(step.action))  # right action, wrong format

    with fake.FakeOpenAI(bare) as server:
        result = collaborate(with_openai(settings, server, rounds=1), n=2)
    assert result.kept == [] and set(result.reasons) == {"format_invalid"}
    assert "<action>" in result.failure_examples["format_invalid"]
