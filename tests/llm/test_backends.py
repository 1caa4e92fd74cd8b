"""The registry, the scripted expert teacher and the local transformers teacher."""

from __future__ import annotations

import asyncio

import pytest

from collab_service.prompts import step_messages
from srlforge.arena import get_arena, render_completion
from srlforge.llm import TEACHERS, TeacherConfigError, TeacherRequest, make_teacher

MODEL_TYPE = "personality"


def request_at(history_len: int, index: int = 2):
    arena = get_arena(MODEL_TYPE)
    scenario = arena.sample(0, index, 3)
    plan = arena.solve(scenario)
    state = arena.reset(scenario)
    for step in plan[:history_len]:
        _, state, _ = arena.evaluate_step(state, step.action)
    messages = step_messages(scenario, state, plan[:history_len], arena.action_schema(), None)
    return TeacherRequest(messages, scenario, arena, state, plan[:history_len]), plan


def test_registry_names_match_the_cli_contract():
    assert set(TEACHERS) == {"scripted", "openai", "hf"}
    with pytest.raises(TeacherConfigError, match="unknown teacher 'gpt'"):
        make_teacher("gpt")
    with pytest.raises(TeacherConfigError, match="no option"):
        make_teacher("scripted", temperature=0.1)


def test_scripted_teacher_speaks_the_expert_plan_step_by_step():
    teacher = make_teacher("scripted")
    request, plan = request_at(0)
    answers = []
    for k in range(len(plan)):
        request.history = plan[:k]
        answers.append(asyncio.run(teacher.propose(request)))
    assert answers == [render_completion(step) for step in plan]
    arena = get_arena(MODEL_TYPE)
    verdict = arena.verify_episode(request.scenario, answers)
    assert verdict.success  # the spoken text verifies exactly like the expert's steps


def test_hf_teacher_needs_a_model_folder(tmp_path):
    with pytest.raises(TeacherConfigError, match="SRLFORGE_COLLAB_HF_MODEL_PATH"):
        make_teacher("hf")
    with pytest.raises(TeacherConfigError, match=r"no config\.json"):
        make_teacher("hf", model_path=str(tmp_path))


@pytest.mark.slow
def test_hf_teacher_generates_from_a_local_random_model(tiny_lm):
    teacher = make_teacher("hf", model_path=str(tiny_lm), max_new_tokens=16)
    request, _ = request_at(1)
    first = asyncio.run(teacher.propose(request))
    again = asyncio.run(teacher.propose(request))
    assert isinstance(first, str) and first == again  # greedy decoding is deterministic
    assert teacher.model.endswith(tiny_lm.name)


@pytest.mark.slow
def test_hf_teacher_in_the_collaboration_keeps_nothing_unverified(tiny_lm, tmp_path):
    from collab_service.orchestrator import GenerationConfig, Orchestrator
    from collab_service.settings import CollabSettings

    settings = CollabSettings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        hf_model_path=str(tiny_lm),
        hf_max_new_tokens=8,
    )
    config = GenerationConfig(model_type=MODEL_TYPE, n=2, teacher="hf", rounds=1)
    result = Orchestrator(config, settings).run()
    assert result.kept == []  # a random model writes no valid action
    assert result.failed == result.attempted == 2
    assert set(result.reasons) == {"format_invalid"}
    assert result.teacher_requests == 4  # one try and one revision per episode
    assert result.teacher_model.endswith(tiny_lm.name)
