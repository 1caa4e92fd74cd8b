"""``/v1/rules``: versions with identities and sources; uploads validated the whole way, stored
under the rules dir with the content hash as identity; retrain requests for what changed."""

from __future__ import annotations

import yaml

from srlforge.rules import DATA_DIR, available_versions

BUILTIN = available_versions()[-1]
FACIAL_TEXT = (DATA_DIR / BUILTIN / "facial.yaml").read_text(encoding="utf-8")
SPECIES_TEXT = (DATA_DIR / BUILTIN / "species.yaml").read_text(encoding="utf-8")


def edited(text: str, **changes) -> str:
    data = yaml.safe_load(text)
    data.update(changes)
    return yaml.safe_dump(data, sort_keys=False)


def upload(api, headers, version, files, **extra):
    return api.post(
        "/v1/rules", headers=headers, json={"version": version, "files": files, **extra}
    )


def test_builtin_versions_with_identities_and_sources(api):
    body = api.get("/v1/rules", headers=api.key("acme")).json()
    builtin = [v for v in body["versions"] if v["scope"] == "builtin"]
    assert [v["version"] for v in builtin] == available_versions()
    latest = builtin[-1]
    assert latest["identity"] == f"{latest['version']}+{latest['content_hash'][:12]}"
    assert body["default"] == latest["identity"]
    facial_sources = latest["sources"]["facial.yaml"]
    assert facial_sources and all(len(s) > 3 for s in facial_sources.values())


def test_upload_store_and_use_a_new_version(api):
    headers = api.key("acme")
    builtin = api.get("/v1/rules", headers=headers).json()["default"]
    new_text = edited(FACIAL_TEXT, description="facial rules, revised by acme")
    response = upload(api, headers, "9.0.1", {"facial.yaml": new_text})
    assert response.status_code == 201, response.text
    body = response.json()
    identity = body["identity"]
    assert identity.startswith("9.0.1+") and identity != builtin
    assert identity == f"9.0.1+{body['content_hash'][:12]}"
    assert body["base_identity"] == builtin
    assert body["affected_model_types"] == ["facial"]
    assert body["files"]["facial.yaml"]["uploaded"] is True
    assert body["files"]["animals.yaml"]["uploaded"] is False
    assert "facial" in body["validated_model_types"]
    assert body["retrain"] == {
        "facial": {"status": "recorded only", "detail": "no tracker configured"}
    }
    stored = api.state.settings.rules_dir / "acme" / "9.0.1" / "facial.yaml"
    assert stored.read_text(encoding="utf-8") == new_text
    listed = api.get("/v1/rules", headers=headers).json()
    assert listed["default"] == identity  # the tenant's highest version
    mine = [v for v in listed["versions"] if v["scope"] == "tenant"]
    assert [(v["version"], v["identity"], v["upload_id"]) for v in mine] == [
        ("9.0.1", identity, body["upload_id"])
    ]
    scenario = api.get(
        "/v1/arena/facial/sample", headers=headers, params={"rules_version": "9.0.1"}
    ).json()["scenario"]
    assert scenario["rules_version"] == identity
    verified = api.post(
        "/v1/arena/verify", headers=headers, json={"scenario": scenario, "steps": []}
    )
    assert verified.status_code == 200
    assert verified.json()["rules_version"] == identity
    again = upload(api, headers, "9.0.1", {"facial.yaml": new_text})
    assert again.status_code == 200
    assert again.json()["upload_id"] == body["upload_id"]
    other = upload(api, headers, "9.0.1", {"facial.yaml": edited(FACIAL_TEXT, description="x2")})
    assert other.status_code == 409
    assert "different content" in other.json()["detail"]
    assert upload(api, headers, BUILTIN, {"facial.yaml": new_text}).status_code == 409


def test_what_changed_decides_the_affected_model_types(api):
    headers = api.key("acme")
    comment_only = upload(api, headers, "9.1.0", {"facial.yaml": FACIAL_TEXT + "\n# a note\n"})
    assert comment_only.status_code == 201
    body = comment_only.json()
    assert body["affected_model_types"] == []
    # Identity hashes parsed content: a comment changes the version's name, not its hash.
    assert body["content_hash"][:12] == body["base_identity"].split("+")[1]
    species = upload(
        api,
        headers,
        "9.2.0",
        {"species.yaml": edited(SPECIES_TEXT, description="species, revised")},
        base_version=BUILTIN,
    )
    assert species.status_code == 201, species.text
    # Every arena that reads species data is affected, and only those.
    assert {"facial", "personality", "sounds"} <= set(species.json()["affected_model_types"])
    assert "buildings" not in species.json()["affected_model_types"]


def test_malformed_uploads_are_422s_naming_file_and_path(api):
    headers = api.key("acme")
    facial = yaml.safe_load(FACIAL_TEXT)
    no_source = yaml.safe_load(FACIAL_TEXT)
    del no_source["tables"]["intensity_bands"]["source"]
    bad_rows = yaml.safe_load(FACIAL_TEXT)
    bad_rows["tables"]["intensity_bands"]["rows"] = "not a list"
    cases = [
        ({"facial.yaml": "tables: [unclosed"}, "facial.yaml: not valid YAML"),
        ({"facial.yaml": yaml.safe_dump(no_source)}, "at tables.intensity_bands.source"),
        ({"facial.yaml": yaml.safe_dump(bad_rows)}, "the facial arena cannot use this rule"),
        ({"facial.yaml": yaml.safe_dump({**facial, "model_type": "animals"})}, "model_type"),
        ({"facial.yaml": 'a: &x ["lol"]\nb: [*x, *x]\n'}, "YAML aliases (*x) are not allowed"),
        ({"../facial.yaml": FACIAL_TEXT}, "files.../facial.yaml"),
        ({"Facial.yml": FACIAL_TEXT}, "<lowercase name>.yaml"),
    ]
    for files, message in cases:
        response = upload(api, headers, "9.3.0", files)
        assert response.status_code == 422, (files.keys(), response.text)
        detail = response.json()["detail"]
        assert message in detail, detail
        assert "srlforge-rules-" not in detail  # the temporary folder never shows
    assert "facial.yaml" in upload(api, headers, "9.3.0", cases[1][0]).json()["detail"]
    bad_version = upload(api, headers, "v2", {"facial.yaml": FACIAL_TEXT})
    assert bad_version.status_code == 422 and "body.version" in bad_version.json()["detail"]
    unknown_base = upload(api, headers, "9.3.0", {"facial.yaml": FACIAL_TEXT}, base_version="0.0.1")
    assert unknown_base.status_code == 404
    nothing_stored = api.get("/v1/rules/uploads", headers=headers).json()
    assert nothing_stored == []
    assert not (api.state.settings.rules_dir / "acme" / "9.3.0").exists()
