"""The generated graders are our verifier, self-contained: expert high, hacks low, no srlforge."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import pytest
from srlforge_test_fakes.grading import Grader, run_lambda_package

from paid_ft_service.datasets import examples_from_trajectories, expert_trajectories, render_episode
from paid_ft_service.graders import build_grader_source, lambda_package, openai_rft_grader
from paid_ft_service.scoring import score_answer
from srlforge.arena import get_arena, model_types
from srlforge.arena.hacks import HACK_REWARD_CEILING, PROBES


@pytest.fixture(scope="module", params=["facial", "animals"])
def case(request):
    model_type = request.param
    bundle = build_grader_source(model_type)
    namespace: dict = {"__name__": "clean"}
    exec(compile(bundle.source, "<grader>", "exec"), namespace)
    trajectories = expert_trajectories(model_type, 3, seed=5, difficulties=(2, 4, 5))
    return model_type, bundle, namespace["grade"], trajectories


def _item(t, grading="episode"):
    return {
        "model_type": t.model_type,
        "scenario": t.scenario.model_dump(mode="json"),
        "grading": grading,
    }


def test_expert_scores_high_and_every_hack_scores_low(case):
    model_type, _, grade, trajectories = case
    arena = get_arena(model_type)
    for t in trajectories:
        assert grade({"output_text": render_episode(t.steps)}, _item(t)) > 0.9
        for name, probe in PROBES.items():
            for steps in probe(arena, t.scenario, t.steps):
                reward = grade({"output_text": render_episode(steps)}, _item(t))
                assert reward <= HACK_REWARD_CEILING, (name, reward)
        junk = ["", "I cannot help", "<action>{}</action>" * 40, render_episode(t.steps) + " ok"]
        assert all(grade({"output_text": j}, _item(t)) <= HACK_REWARD_CEILING for j in junk)


def test_step_items_use_the_srl_step_reward(case):
    _, _, grade, trajectories = case
    examples = list(examples_from_trajectories(trajectories[:1], "step"))
    arena = get_arena(trajectories[0].model_type)
    rng = random.Random(3)
    state = arena.reset(trajectories[0].scenario)
    for ex in examples:
        item = ex.grader_fields()
        # 0.9 is the ceiling for text answers: the state-prediction term (0.1) needs a delta.
        expert = grade({"output_text": ex.completion}, item)
        assert expert == pytest.approx(0.9)
        other = render_episode([{"think": "", "action": arena.random_action(rng, state)}])
        assert grade({"output_text": other}, item) < expert
        assert grade({"output_text": '<action>{"type": 1}</action>'}, item) == 0.0
        _, state, _ = arena.evaluate_step(state, ex.expert_action)


def test_the_grader_needs_no_srlforge_and_no_yaml(case, tmp_path):
    _, bundle, _, trajectories = case
    (tmp_path / "grader.py").write_text(bundle.source)
    (tmp_path / "item.json").write_text(json.dumps(_item(trajectories[0])))
    (tmp_path / "answer.txt").write_text(render_episode(trajectories[0].steps))
    script = textwrap.dedent(
        """
        import importlib.abc, json, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"srlforge", "paid_ft_service", "yaml"}:
                    raise ImportError(f"{name} is not available in the grader sandbox")
        sys.meta_path.insert(0, Block())
        ns = {"__name__": "sandbox"}
        exec(open("grader.py").read(), ns)
        item = json.load(open("item.json"))
        print(ns["grade"]({"output_text": open("answer.txt").read()}, item))
        print(sorted(m for m in sys.modules if m.split(".")[0] in {"srlforge", "yaml"}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    reward, leaked = done.stdout.strip().splitlines()
    assert float(reward) > 0.9 and leaked == "[]"


def test_source_is_deterministic_and_names_its_rules(case):
    model_type, bundle, _, _ = case
    again = build_grader_source(model_type)
    assert again.source == bundle.source and again.digest == bundle.digest
    assert model_type in bundle.rule_files
    assert bundle.rules_version == get_arena(model_type).rules_version
    assert f"srlforge.arena.{model_type}" in bundle.modules


def test_openai_multi_grader_and_lambda_package_agree(case):
    _, bundle, grade, trajectories = case
    t = trajectories[0]
    expert, item = render_episode(t.steps), _item(t)
    multi = Grader(openai_rft_grader(bundle, with_format_check=True))
    assert multi.score({"output_text": expert}, item) == pytest.approx(
        0.9 * grade({"output_text": expert}, item) + 0.1
    )
    assert multi.score({"output_text": "no action here"}, item) == 0.0
    event = [
        {
            "id": "a",
            "messages": [
                {"role": "user", "content": "p"},
                {"role": "assistant", "content": expert},
            ],
            "reference_answer": item,
        },
        {
            "id": "b",
            "messages": [{"role": "assistant", "content": "junk"}],
            "metadata": {"reference_answer": item},
        },
    ]
    out = run_lambda_package(lambda_package(bundle), event)
    assert [o["id"] for o in out] == ["a", "b"]
    assert out[0]["aggregate_reward_score"] > 0.9 and out[1]["aggregate_reward_score"] == 0.0
    assert {m["name"] for m in out[0]["metrics_list"]} >= {"reward", "success"}


@pytest.mark.parametrize("model_type", model_types())
def test_every_model_type_grades_exactly_like_the_installed_verifier(model_type):
    """The bundle is srlforge's own code: same numbers as scoring in-process, for every arena."""
    namespace: dict = {"__name__": "clean"}
    exec(compile(build_grader_source(model_type).source, "<grader>", "exec"), namespace)
    (t,) = expert_trajectories(model_type, 1, seed=9, difficulties=(4,))
    item = _item(t)
    hacked = render_episode(PROBES["saturated"](get_arena(model_type), t.scenario, t.steps)[0])
    for answer in (render_episode(t.steps), hacked):
        bundled = namespace["grade"]({"output_text": answer}, item)
        assert bundled == score_answer(answer, item)["reward"]
    assert namespace["grade"]({"output_text": render_episode(t.steps)}, item) > 0.9
    assert namespace["grade"]({"output_text": hacked}, item) <= HACK_REWARD_CEILING
