"""The security baseline over real HTTP: authentication, the tenant from the principal, rate
limits with Retry-After, the body size limit, strict request models, and no secret in any log
line or error body."""

from __future__ import annotations

import logging

import pytest

FACIAL = "/v1/arena/facial/sample"


def test_missing_and_invalid_keys_get_401(api):
    response = api.get(FACIAL)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "ApiKey"
    assert "missing" in response.json()["detail"]
    response = api.get(FACIAL, headers={"X-API-Key": "srlf_0123456789ab_" + "x" * 43})
    assert response.status_code == 401
    assert "invalid" in response.json()["detail"]


def test_every_v1_route_requires_a_key(api):
    paths = api.get("/openapi.json").json()["paths"]
    v1 = [(m, p) for p, ops in paths.items() if p.startswith("/v1") for m in ops]
    assert len(v1) >= 7
    for method, path in v1:
        concrete = path.replace("{model_type}", "facial").replace("{upload_id}", "x")
        response = api.request(method.upper(), concrete, json={})
        assert response.status_code == 401, (method, path, response.status_code)


def test_openapi_documents_the_key_header(api):
    schema = api.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert any(
        s == {**s, "type": "apiKey", "in": "header", "name": "X-API-Key"} for s in schemes.values()
    )


def test_unknown_fields_are_a_clear_422_that_echoes_nothing(api):
    headers = api.key("acme")
    sample = api.get(FACIAL, headers=headers).json()["scenario"]
    leaked = "sk-live-THIS-MUST-NOT-COME-BACK"
    response = api.post(
        "/v1/arena/verify",
        headers=headers,
        json={"scenario": sample, "steps": [], "api_token": leaked},
    )
    assert response.status_code == 422
    body = response.json()
    assert "body.api_token: unknown field 'api_token'" in body["detail"]
    assert leaked not in response.text
    # A wrong type inside a nested model: named by its path, value not repeated.
    response = api.post(
        "/v1/arena/verify",
        headers=headers,
        json={"scenario": {**sample, "difficulty": leaked}, "steps": []},
    )
    assert response.status_code == 422
    assert "body.scenario.difficulty" in response.json()["detail"]
    assert leaked not in response.text


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.post(
        "/v1/arena/verify",
        headers={**api.key("acme"), "content-type": "application/json"},
        content=b'{"scenario": ',
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "request body is not valid JSON"}


def test_oversized_bodies_get_413_declared_or_streamed(make_api):
    api = make_api(max_body_bytes=4096)
    headers = api.key("acme")
    big = b'{"steps": ["' + b"x" * 5000 + b'"]}'
    response = api.post("/v1/arena/verify", headers=headers, content=big)
    assert response.status_code == 413
    assert "4096" in response.json()["detail"]

    async def chunks():  # no Content-Length: the limit must count the stream
        for _ in range(10):
            yield b"x" * 1000

    response = api.post("/v1/arena/verify", headers=headers, content=chunks())
    assert response.status_code == 413
    # Under the limit the same route answers normally (here: a 422 for a missing field).
    response = api.post("/v1/arena/verify", headers=headers, json={"steps": []})
    assert response.status_code == 422


def test_rate_limit_is_per_tenant_with_retry_after(make_api):
    api = make_api(rate_limit_burst=3, rate_limit_per_s=0.5)
    acme, beta = api.key("acme"), api.key("beta")
    codes = [api.get(FACIAL, headers=acme).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = api.get(FACIAL, headers=acme)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 2  # one token at 0.5/s: 2 s at most
    # A second key of the same tenant shares the tenant's bucket; another tenant does not.
    assert api.get(FACIAL, headers=api.key("acme")).status_code == 429
    assert api.get(FACIAL, headers=beta).status_code == 200


def test_failed_authentication_is_throttled_too(make_api):
    api = make_api(rate_limit_burst=2, rate_limit_per_s=0.1)
    bad = {"X-API-Key": "srlf_0123456789ab_" + "y" * 43}
    codes = [api.get(FACIAL, headers=bad).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    assert api.get(FACIAL, headers=api.key("acme")).status_code == 200


def test_no_secret_reaches_a_log_or_a_response(make_api, caplog):
    caplog.set_level(logging.DEBUG)
    api = make_api()
    server_secret = api.state.settings.key_secret.get_secret_value()
    headers = api.key("acme")
    key = headers["X-API-Key"]
    wrong = key[:-2] + "zz"
    texts = []
    for h in (headers, {"X-API-Key": wrong}):
        texts.append(api.get(FACIAL, headers=h).text)
        texts.append(api.post("/v1/arena/verify", headers=h, json={"x": key}).text)
        texts.append(api.get("/readyz", headers=h).text)
        texts.append(api.post("/v1/rewards/facial", headers=h, json={"example": {}}).text)
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for secret in (key, wrong, key.rsplit("_", 1)[-1], server_secret):
        assert secret not in logged
        assert all(secret not in text for text in texts)


def test_an_unexpected_error_is_a_generic_500_and_logs_no_message(make_api, caplog):
    api = make_api()
    leaked = "db-password-in-an-exception-message"

    @api.app.get("/boom")
    def boom():
        raise RuntimeError(leaked)

    caplog.set_level(logging.ERROR, logger="gateway")
    response = api.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "RuntimeError" in caplog.text and "/boom" in caplog.text
    assert leaked not in caplog.text and leaked not in response.text


@pytest.mark.parametrize("header", ["", "x" * 201, "bad key"])
def test_malformed_idempotency_keys_are_a_400(api, header):
    response = api.post(
        "/v1/rules",
        headers={**api.key("acme"), "Idempotency-Key": header},
        json={"version": "9.9.9", "files": {"facial.yaml": "x: 1"}},
    )
    assert response.status_code == 400
