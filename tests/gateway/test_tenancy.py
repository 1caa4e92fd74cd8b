"""Tenant isolation and idempotency on SQLite and on the real PostgreSQL: another tenant's rule
uploads and idempotency records are invisible (404 / not replayed), and a stored upload is
served from the database even on a replica whose disk never saw it."""

from __future__ import annotations

import shutil
import uuid

import pytest
import yaml

from srlforge.rules import DATA_DIR, available_versions
from tests.support.postgres import BACKENDS

pytestmark = pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True, scope="module")
FACIAL_TEXT = (DATA_DIR / available_versions()[-1] / "facial.yaml").read_text(encoding="utf-8")


def _facial(description: str) -> dict[str, str]:
    data = yaml.safe_load(FACIAL_TEXT)
    data["description"] = description
    return {"facial.yaml": yaml.safe_dump(data)}


def _tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def api(make_api, db_url):
    return make_api(db_url=db_url)


def test_another_tenants_upload_is_invisible(api):
    a, b = api.key(_tenant()), api.key(_tenant())
    created = api.post("/v1/rules", headers=a, json={"version": "7.0.0", "files": _facial("A")})
    assert created.status_code == 201, created.text
    upload_id, identity = created.json()["upload_id"], created.json()["identity"]
    assert api.get(f"/v1/rules/uploads/{upload_id}", headers=a).status_code == 200
    assert api.get(f"/v1/rules/uploads/{upload_id}", headers=b).status_code == 404
    assert api.get("/v1/rules/uploads", headers=b).json() == []
    b_versions = api.get("/v1/rules", headers=b).json()["versions"]
    assert "7.0.0" not in [v["version"] for v in b_versions]
    sample = api.get("/v1/arena/facial/sample", headers=b, params={"rules_version": "7.0.0"})
    assert sample.status_code == 404
    scenario = api.get(
        "/v1/arena/facial/sample", headers=a, params={"rules_version": "7.0.0"}
    ).json()["scenario"]
    assert scenario["rules_version"] == identity
    as_b = api.post("/v1/arena/verify", headers=b, json={"scenario": scenario, "steps": []})
    assert as_b.status_code == 404
    reward = api.post(
        "/v1/rewards/facial", headers=b, json={"example": {"scenario": scenario}, "response": ""}
    )
    assert reward.status_code == 404
    # B may use the same version number for its own, different rules.
    own = api.post("/v1/rules", headers=b, json={"version": "7.0.0", "files": _facial("B")})
    assert own.status_code == 201
    assert own.json()["identity"] != identity


def test_idempotency_keys_replay_per_tenant(api):
    a, b = api.key(_tenant()), api.key(_tenant())
    key = f"upload-{uuid.uuid4().hex}"
    body = {"version": "7.1.0", "files": _facial("first")}
    first = api.post("/v1/rules", headers={**a, "Idempotency-Key": key}, json=body)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = api.post("/v1/rules", headers={**a, "Idempotency-Key": key}, json=body)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    changed = {"version": "7.1.1", "files": _facial("second")}
    misuse = api.post("/v1/rules", headers={**a, "Idempotency-Key": key}, json=changed)
    assert misuse.status_code == 422
    assert "different request" in misuse.json()["detail"]
    assert api.get("/v1/rules/uploads", headers=a).json()[-1]["version"] == "7.1.0"
    # The same key from another tenant is that tenant's own first request.
    theirs = api.post("/v1/rules", headers={**b, "Idempotency-Key": key}, json=body)
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["upload_id"] != first.json()["upload_id"]


def test_a_replica_without_the_files_serves_them_from_the_database(api, make_api, db_url):
    a = api.key(_tenant())
    created = api.post("/v1/rules", headers=a, json={"version": "7.2.0", "files": _facial("R")})
    assert created.status_code == 201
    secret = api.state.settings.key_secret.get_secret_value()
    replica = make_api(
        db_url=db_url, key_secret=secret, rules_dir=api.state.settings.rules_dir.parent / "replica"
    )
    assert not (replica.state.settings.rules_dir).exists()
    sample = replica.get("/v1/arena/facial/sample", headers=a, params={"rules_version": "7.2.0"})
    assert sample.status_code == 200, sample.text
    assert sample.json()["scenario"]["rules_version"] == created.json()["identity"]
    shutil.rmtree(api.state.settings.rules_dir)
    listed = api.get("/v1/rules", headers=a).json()["versions"]
    assert created.json()["identity"] in [v["identity"] for v in listed]
