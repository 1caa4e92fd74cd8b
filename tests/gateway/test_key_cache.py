"""The per-process cache of verified API keys: a revoked key stops working within the TTL
(at once with TTL 0), a cached key id still needs the whole key, and the cache holds neither
the key nor its secret part."""

from __future__ import annotations

from gateway.keys import KeyCache, Principal, authenticate, create_key, key_hmac, revoke_key
from tests.gateway.test_jobs import GENERATE_ONLY, wait_for_end


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _issue(api, tenant: str) -> tuple[str, dict[str, str]]:
    issued = create_key(api.state.db, api.state.secret, tenant)
    return issued.key_id, {"X-API-Key": issued.key}


def test_with_ttl_0_a_revoked_key_is_refused_on_the_next_request(make_api):
    api = make_api(key_cache_ttl_s=0)
    key_id, alice = _issue(api, "alice")
    assert api.get("/v1/jobs", headers=alice).status_code == 200
    revoke_key(api.state.db, key_id)
    refused = api.get("/v1/jobs", headers=alice)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "invalid or revoked API key"


def test_a_revoked_key_works_until_its_cache_entry_expires_then_401(make_api):
    api = make_api(key_cache_ttl_s=5)
    clock = FakeClock()
    api.state.keys = KeyCache(5, clock=clock)
    key_id, alice = _issue(api, "alice")
    assert api.get("/v1/jobs", headers=alice).status_code == 200  # verified and cached
    revoke_key(api.state.db, key_id)
    clock.now += 4.9
    assert api.get("/v1/jobs", headers=alice).status_code == 200  # the documented window
    clock.now += 0.1
    assert api.get("/v1/jobs", headers=alice).status_code == 401
    clock.now += 60
    assert api.get("/v1/jobs", headers=alice).status_code == 401  # refusals are not cached


def test_a_cached_key_id_still_needs_the_whole_key(make_api):
    api = make_api(key_cache_ttl_s=60)
    key_id, alice = _issue(api, "alice")
    assert api.get("/v1/jobs", headers=alice).status_code == 200
    assert api.state.keys.get(key_id) is not None
    key = alice["X-API-Key"]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert api.get("/v1/jobs", headers={"X-API-Key": tampered}).status_code == 401
    _, bob = _issue(api, "bob")
    swapped = f"srlf_{key_id}_{bob['X-API-Key'].rsplit('_', 1)[-1]}"
    assert api.get("/v1/jobs", headers={"X-API-Key": swapped}).status_code == 401
    assert api.get("/v1/jobs", headers=alice).status_code == 200


def test_the_cache_holds_the_hmac_and_principal_never_the_key(api):
    key_id, alice = _issue(api, "alice")
    assert api.get("/v1/jobs", headers=alice).status_code == 200
    stored, principal = api.state.keys.get(key_id)
    assert stored == key_hmac(api.state.secret, alice["X-API-Key"])
    held = repr(api.state.keys._entries)
    assert alice["X-API-Key"] not in held
    assert alice["X-API-Key"].rsplit("_", 1)[-1] not in held
    assert principal.tenant == "alice" and principal.key_id == key_id


def test_tenant_scoping_holds_with_cached_keys(make_api, tmp_path):
    api = make_api(runs_dir=tmp_path / "runs", key_cache_ttl_s=60)
    _, alice = _issue(api, "alice")
    _, bob = _issue(api, "bob")
    job_id = api.post("/v1/jobs", json=GENERATE_ONLY, headers=alice).json()["job_id"]
    wait_for_end(api, job_id, alice)
    for _ in range(2):  # the second round is served from the cache
        assert api.get(f"/v1/jobs/{job_id}", headers=alice).status_code == 200
        assert api.get(f"/v1/jobs/{job_id}", headers=bob).status_code == 404


def test_unknown_key_ids_are_not_cached_and_the_cache_is_bounded(api):
    db, secret = api.state.db, api.state.secret
    cache = KeyCache(60, max_entries=2)
    for _ in range(3):
        assert authenticate(db, secret, f"srlf_{'0' * 12}_{'A' * 43}", cache) is None
    assert cache._entries == {}
    issued = [create_key(db, secret, "alice") for _ in range(3)]
    for key in issued:
        assert isinstance(authenticate(db, secret, key.key, cache), Principal)
    assert set(cache._entries) == {issued[1].key_id, issued[2].key_id}  # the oldest went
