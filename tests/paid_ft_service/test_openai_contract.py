"""The OpenAI fake follows the published contract: its responses, and the SDK's requests to it,
validate against OpenAI's OpenAPI description (shared/reference/openai-openapi.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from srlforge_test_fakes.credentials import BEFORE_RETIREMENTS

from paid_ft_service import service
from paid_ft_service.service import SubmitRequest

SPEC = Path(__file__).resolve().parents[3] / "shared" / "reference" / "openai-openapi.yaml"
TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}


@pytest.fixture(scope="module")
def schemas():
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not present")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)["components"]["schemas"]


def errors(value, schema, schemas, where="$"):
    """JSON Schema subset the spec uses: $ref, type, enum, required, properties, items, *Of."""
    if "$ref" in schema:
        return errors(value, schemas[schema["$ref"].rsplit("/", 1)[1]], schemas, where)
    out = []
    for sub in schema.get("allOf", []):
        out += errors(value, sub, schemas, where)
    for key in ("anyOf", "oneOf"):
        if key in schema and all(errors(value, s, schemas, where) for s in schema[key]):
            out.append(f"{where}: matches none of {key}")
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        ok = any(
            isinstance(value, TYPES[k])
            and not (k in ("integer", "number") and isinstance(value, bool))
            for k in kinds
        )
        if not ok:
            return [*out, f"{where}: {type(value).__name__} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        out += [f"{where}: missing '{k}'" for k in schema.get("required", []) if k not in value]
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                out += errors(value[k], sub, schemas, f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += errors(item, schema["items"], schemas, f"{where}[{i}]")
    return out


def test_fake_responses_and_sdk_requests_follow_the_spec(
    schemas, make_ctx, openai_fake, facial_examples, facial_trajectories
):
    from paid_ft_service.datasets import render_episode

    answers = {t.scenario.id: render_episode(t.steps) for t in facial_trajectories}
    openai_fake.policy = lambda row: answers[row["scenario"]["id"]]
    ctx = make_ctx(now=BEFORE_RETIREMENTS)
    request = SubmitRequest(
        "openai", "o4-mini-2025-04-16", "reinforcement", facial_examples, model_type="facial"
    )
    job = service.submit_job(ctx, request, base_url=f"{openai_fake.url}/v1")
    openai_fake.clock.advance(500)
    service.refresh_job(ctx, job["id"])
    jid = job["provider_job_id"]

    (create,) = openai_fake.requests_to("POST", r"/fine_tuning/jobs$")
    assert errors(create.json(), {"$ref": "#/CreateFineTuningJobRequest"}, schemas) == []
    fake = openai_fake
    checks = {
        "OpenAIFile": fake._public(next(iter(fake.files.values()))),
        "FineTuningJob": fake._job_view(jid),
        "ListFineTuningJobEventsResponse": {
            "object": "list",
            "data": fake.events[jid],
            "has_more": False,
        },
        "ListFineTuningJobCheckpointsResponse": {
            "object": "list",
            "data": fake.checkpoints[jid],
            "has_more": False,
        },
        "ErrorResponse": fake.error_body(429, "slow down"),
    }
    for name, body in checks.items():
        assert errors(json.loads(json.dumps(body)), schemas[name], schemas) == [], name
    bad = dict(checks["FineTuningJob"], status="finished")
    assert errors(bad, schemas["FineTuningJob"], schemas)  # the checker does catch drift
