"""Conversions to each provider's format and the row-level validation report."""

from __future__ import annotations

import copy
import json

import pytest

from paid_ft_service.datasets import (
    examples_from_srl_rows,
    examples_from_trajectories,
    read_source,
    split_examples,
    to_provider_rows,
)
from paid_ft_service.validation import parse_jsonl, validate_rows
from srlforge.arena import render_completion
from srlforge.schema import canonical_json


@pytest.mark.parametrize(
    ("provider", "method", "model", "keys"),
    [
        ("openai", "supervised", "", {"messages"}),
        ("openai", "dpo", "", {"input", "preferred_output", "non_preferred_output"}),
        ("openai", "reinforcement", "", {"messages", "model_type", "scenario", "grading"}),
        ("vertex", "supervised", "", {"systemInstruction", "contents"}),
        ("vertex", "reinforcement", "", {"systemInstruction", "contents", "references"}),
        ("bedrock", "supervised", "anthropic.claude-3-haiku-20240307-v1:0", {"system", "messages"}),
        (
            "bedrock",
            "supervised",
            "amazon.nova-2-lite-v1:0",
            {"schemaVersion", "system", "messages"},
        ),
        ("bedrock", "reinforcement", "", {"messages", "reference_answer"}),
        ("together", "dpo", "", {"input", "preferred_output", "non_preferred_output"}),
    ],
)
def test_every_format_validates_clean(facial_trajectories, provider, method, model, keys):
    examples = list(
        examples_from_trajectories(facial_trajectories[:12], "episode", method == "dpo")
    )
    rows = to_provider_rows(examples, provider, method, model)
    assert keys <= set(rows[0])
    report = validate_rows(rows, provider, method)
    assert report.ok, report.summary()
    assert report.accepted == 12 and report.estimated_tokens > 0


def test_report_names_each_bad_row_and_rule(facial_examples):
    rows = to_provider_rows(facial_examples[:12], "openai", "supervised")
    broken = copy.deepcopy(rows)
    broken[2]["messages"][1]["role"] = "narrator"
    broken[5]["messages"] = [m for m in broken[5]["messages"] if m["role"] != "assistant"]
    broken[7]["extra"] = 1
    broken[9] = ["not", "an", "object"]
    report = validate_rows(broken, "openai", "supervised", [f"id{i}" for i in range(12)])
    reasons = {r.index: r.reason for r in report.rejected}
    assert set(reasons) == {2, 5, 7, 9}
    assert "role must be one of" in reasons[2]
    assert "assistant message is required" in reasons[5]
    assert "unexpected top-level keys ['extra']" in reasons[7]
    assert "must be a JSON object" in reasons[9]
    assert report.accepted == 8 and not report.ok
    assert report.rejected[0].row_id == "id2" and "openai.com" in report.rejected[0].source
    assert "needs at least 10" in report.file_errors[0]


def test_vertex_and_bedrock_turn_rules(facial_examples):
    v = to_provider_rows(facial_examples[:2], "vertex", "supervised")
    v[0]["contents"].append({"role": "model", "parts": [{"text": "again"}]})
    v[1]["contents"][0]["parts"] = []
    reasons = [r.reason for r in validate_rows(v, "vertex", "supervised").rejected]
    assert reasons == [
        "contents[2] repeats role 'model'; turns must alternate",
        "contents[0].parts must be a non-empty list",
    ]
    b = to_provider_rows(facial_examples[:1], "bedrock", "reinforcement")
    del b[0]["reference_answer"]
    assert "reference_answer" in validate_rows(b, "bedrock", "reinforcement").rejected[0].reason


def test_parse_jsonl_flags_broken_lines():
    rows, bad = parse_jsonl(b'{"a": 1}\nnot json\n\n{"b": 2}\n')
    assert rows == [{"a": 1}, None, {"b": 2}]
    assert bad[0].index == 1 and "not JSON" in bad[0].reason


def test_step_view_and_srl_rows_agree(facial_trajectories):
    t = facial_trajectories[0]
    steps = list(examples_from_trajectories([t], "step"))
    assert len(steps) == len(t.steps)
    assert steps[1].history == [t.steps[0].action]
    assert steps[1].completion == render_completion(t.steps[1])
    srl = [
        {
            "model_type": "facial",
            "scenario": t.scenario.model_dump_json(),
            "history": canonical_json(s.history),
            "expert_action": canonical_json(s.expert_action),
            "completion": s.completion,
            "id": s.id,
        }
        for s in steps
    ]
    again = list(examples_from_srl_rows(srl))
    assert [e.grader_fields() for e in again] == [e.grader_fields() for e in steps]


def test_split_keeps_scenarios_whole_and_is_stable(facial_trajectories):
    steps = list(examples_from_trajectories(facial_trajectories, "step"))
    train, val = split_examples(steps, 0.3)
    assert val and train
    assert not {e.scenario["id"] for e in train} & {e.scenario["id"] for e in val}
    assert split_examples(steps, 0.3) == (train, val)


def test_read_source_accepts_collab_dataset_rows(tmp_path, facial_trajectories):
    path = tmp_path / "trajectories.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": t.id, "trajectory": t.model_dump_json()}) + "\n"
            for t in facial_trajectories[:3]
        )
    )
    assert [e.id for e in read_source(tmp_path)] == [t.id for t in facial_trajectories[:3]]
