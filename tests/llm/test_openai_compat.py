"""The openai_compat teacher against a real OpenAI-compatible server on 127.0.0.1.

The official SDK talks to the fake over loopback, so every path — success, 429 with Retry-After,
500, timeouts, 4xx — goes through the SDK's real HTTP stack and our retry/breaker layer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from collab_service.prompts import step_messages
from srlforge.arena import get_arena, render_completion
from srlforge.llm import (
    CircuitOpenError,
    ProviderError,
    RetriesExhausted,
    RetryPolicy,
    TeacherConfigError,
    TeacherRequest,
    make_teacher,
)

MODEL_TYPE = "personality"
OPENAPI = Path("/work/shared/reference/openai-openapi.yaml")


def teacher(server, **overrides):
    options = {
        "model": "fake-teacher-1",
        "base_url": server.url,
        "api_key": SecretStr(server.api_key),
        "timeout_s": 5.0,
        "retry": RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.2),
        "breaker_failure_threshold": 50,
    }
    options.update(overrides)
    return make_teacher("openai", **options)


def first_step_request(index: int = 1) -> TeacherRequest:
    arena = get_arena(MODEL_TYPE)
    scenario = arena.sample(0, index, 3)
    state = arena.reset(scenario)
    messages = step_messages(scenario, state, [], arena.action_schema(), None)
    return TeacherRequest(messages, scenario, arena, state, [])


async def _propose(t, request):
    try:
        return await t.propose(request)
    finally:
        await t.aclose()


def propose(t, request=None):
    return asyncio.run(_propose(t, request or first_step_request()))


def test_good_answer_is_the_expert_step_and_the_request_is_well_formed(fake):
    request = first_step_request()
    with fake.FakeOpenAI(fake.good) as server:
        t = teacher(server, temperature=0.3, max_tokens=321)
        text = propose(t, request)
    expert = get_arena(MODEL_TYPE).solve(request.scenario)[0]
    assert text == render_completion(expert)
    body = server.calls[0].body
    assert body["model"] == "fake-teacher-1"
    assert body["temperature"] == 0.3 and body["max_tokens"] == 321
    assert body["messages"][0]["role"] == "system"
    assert server.calls[0].scenario == request.scenario  # the prompt carries the scenario


def test_429_is_retried_after_retry_after(fake):
    with fake.FakeOpenAI(fake.first_calls(2, fake.rate_limited(0.15))) as server:
        t = teacher(server)
        start = time.perf_counter()
        text = propose(t)
        elapsed = time.perf_counter() - start
    assert "<action>" in text
    assert server.statuses == {429: 2, 200: 1}
    assert t.stats.retries == 2 and t.stats.failures == {"rate_limited": 2}
    assert elapsed >= 0.3  # waited at least Retry-After before each retry


def test_500_is_retried(fake):
    with fake.FakeOpenAI(fake.first_calls(1, fake.server_error)) as server:
        t = teacher(server)
        assert "<action>" in propose(t)
    assert server.statuses == {500: 1, 200: 1}
    assert t.stats.failures == {"server_error": 1}


def test_timeouts_are_retried_then_given_up(fake):
    with fake.FakeOpenAI(fake.slow(1.0)) as server:
        t = teacher(server, timeout_s=0.2, retry=RetryPolicy(2, 0.01, 0.05))
        start = time.perf_counter()
        with pytest.raises(RetriesExhausted, match="timeout") as info:
            propose(t)
        assert time.perf_counter() - start < 1.5  # the client did not wait for the answers
    assert info.value.reason == "retries_exhausted"
    assert t.stats.failures == {"timeout": 2}
    assert len(server.calls) == 2


def test_4xx_fails_fast_with_the_providers_message(fake):
    with fake.FakeOpenAI(fake.bad_request) as server:
        t = teacher(server)
        with pytest.raises(ProviderError, match="no such model 'nope'") as info:
            propose(t)
    assert info.value.status == 400
    assert len(server.calls) == 1  # no retry


def test_wrong_key_fails_fast_and_the_key_never_shows(fake, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-key-SHOULD-NOT-LEAK-777"
    with fake.FakeOpenAI(fake.good) as server:
        t = teacher(server, api_key=SecretStr(wrong))
        with pytest.raises(ProviderError) as info:
            propose(t)
    assert info.value.status == 401 and len(server.calls) == 1
    shown = [str(info.value), repr(t.config), caplog.text]
    assert not any(wrong in text for text in shown)


def test_no_key_is_a_clear_configuration_error(fake):
    with fake.FakeOpenAI(fake.good) as server, pytest.raises(TeacherConfigError) as info:
        make_teacher("openai", model="m", base_url=server.url)
    message = str(info.value)
    assert "SRLFORGE_COLLAB_OPENAI_API_KEY" in message and "OPENAI_API_KEY" in message


def test_sdk_environment_variables_work(fake, monkeypatch):
    with fake.FakeOpenAI(fake.good) as server:
        monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        t = make_teacher("openai", model="env-model")
        assert "<action>" in propose(t)
    assert server.calls[0].authorized


def test_breaker_opens_after_consecutive_failures(fake):
    with fake.FakeOpenAI(fake.server_error) as server:
        t = teacher(server, retry=RetryPolicy(1, 0, 0), breaker_failure_threshold=2)

        async def three_calls():
            outcomes = []
            for _ in range(3):
                try:
                    await t.propose(first_step_request())
                except (RetriesExhausted, CircuitOpenError) as exc:
                    outcomes.append(type(exc).__name__)
            await t.aclose()
            return outcomes

        outcomes = asyncio.run(three_calls())
    assert outcomes == ["RetriesExhausted", "RetriesExhausted", "CircuitOpenError"]
    assert len(server.calls) == 2  # the third call never reached the provider


def test_requests_run_concurrently(fake):
    with fake.FakeOpenAI(fake.good, latency_s=0.2) as server:
        t = teacher(server)
        requests = [first_step_request(i) for i in range(10)]

        async def all_at_once():
            try:
                return await asyncio.gather(*(t.propose(r) for r in requests))
            finally:
                await t.aclose()

        start = time.perf_counter()
        answers = asyncio.run(all_at_once())
        elapsed = time.perf_counter() - start
    assert all("<action>" in a for a in answers)
    assert elapsed < 1.0, f"10 × 0.2 s requests took {elapsed:.2f}s: not concurrent"


# ----- the fake follows the published OpenAI contract ----------------------------------------


def _check(value, schema, spec, path="$"):
    """A small JSON Schema check (type, required, properties, items, enum, anyOf/oneOf, $ref)."""
    if "$ref" in schema:
        target = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _check(value, target, spec, path)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            errors = [_check(value, option, spec, path) for option in schema[key]]
            if all(errors):
                return f"{path}: matches none of {key}: {errors[0]}"
    if "allOf" in schema:
        for option in schema["allOf"]:
            if error := _check(value, option, spec, path):
                return error
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    python = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "null": type(None),
    }
    if schema.get("nullable") and value is None:
        return None
    if kinds and not any(isinstance(value, python[k]) for k in kinds):
        return f"{path}: {value!r} is not {kinds}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            return f"{path}: missing {missing}"
        for key, sub in schema.get("properties", {}).items():
            if key in value and (error := _check(value[key], sub, spec, f"{path}.{key}")):
                return error
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            if error := _check(item, schema["items"], spec, f"{path}[{i}]"):
                return error
    return None


@pytest.mark.skipif(not OPENAPI.is_file(), reason="the OpenAPI snapshot is not on this machine")
def test_fake_answers_follow_the_openapi_description(fake):
    spec = yaml.load(OPENAPI.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = spec["components"]["schemas"]
    completion = fake._completion("m", "<think>x</think><action>{}</action>")
    assert _check(completion, schemas["CreateChatCompletionResponse"], spec) is None
    error = fake._error("Rate limit reached", "rate_limit_error")
    assert _check(error, schemas["ErrorResponse"], spec) is None
    # and the validator is not a rubber stamp
    broken = json.loads(json.dumps(completion))
    del broken["choices"][0]["message"]["role"]
    assert _check(broken, schemas["CreateChatCompletionResponse"], spec) is not None
