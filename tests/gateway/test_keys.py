"""API keys: shown once, stored only as HMACs, compared in constant time, revocable; and the
``keys`` / ``migrate`` commands' contract (--json prints only JSON; bad input exits 2)."""

from __future__ import annotations

import json
import secrets

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.db import GatewayDatabase, head_revision
from gateway.keys import authenticate, create_key, key_hmac, list_keys, revoke_key
from gateway.orm import ApiKeyRow, TenantRow

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    secret = secrets.token_urlsafe(48)
    monkeypatch.setenv("SRLFORGE_GATEWAY_DB_URL", url)
    monkeypatch.setenv("SRLFORGE_GATEWAY_KEY_SECRET", secret)
    result = runner.invoke(app, ["migrate", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["revision"] == head_revision()
    db = GatewayDatabase(url)
    yield db, secret.encode()
    db.dispose()


def _dump(db: GatewayDatabase) -> str:
    with db.session() as session:
        rows = [
            *session.execute(select(ApiKeyRow.__table__)).all(),
            *session.execute(select(TenantRow.__table__)).all(),
        ]
    return repr(rows)


def test_keys_create_json_prints_only_tenant_and_key(env):
    db, secret = env
    result = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"tenant", "key"}
    assert payload["tenant"] == "acme"
    principal = authenticate(db, secret, payload["key"])
    assert principal is not None and principal.tenant == "acme"


def test_only_the_hmac_is_stored(env):
    db, secret = env
    issued = create_key(db, secret, "acme")
    stored = _dump(db)
    secret_part = issued.key.rsplit("_", 1)[-1]
    assert issued.key not in stored and secret_part not in stored
    assert key_hmac(secret, issued.key) in stored


def test_a_key_only_works_whole_and_under_its_own_secret(env):
    db, secret = env
    issued = create_key(db, secret, "acme")
    tampered = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")
    assert authenticate(db, secret, tampered) is None
    assert authenticate(db, b"another-server-secret-" * 3, issued.key) is None
    other = create_key(db, secret, "beta")
    # Another key's id with this key's secret part: the id finds a row, the HMAC refuses it.
    swapped = f"srlf_{other.key_id}_{issued.key.rsplit('_', 1)[-1]}"
    assert authenticate(db, secret, swapped) is None
    for junk in ("", "srlf_", "Bearer x", issued.key + "x", "é" * 60):
        assert authenticate(db, secret, junk) is None


def test_tenants_are_separate_principals(env):
    db, secret = env
    a = authenticate(db, secret, create_key(db, secret, "acme").key)
    a2 = authenticate(db, secret, create_key(db, secret, "acme").key)
    b = authenticate(db, secret, create_key(db, secret, "beta").key)
    assert a is not None and a2 is not None and b is not None
    assert a.tenant_id == a2.tenant_id != b.tenant_id
    assert a.key_id != a2.key_id


def test_revoked_keys_stop_working(env):
    db, secret = env
    issued = create_key(db, secret, "acme")
    result = runner.invoke(app, ["keys", "revoke", issued.key_id, "--json"])
    assert result.exit_code == 0, result.output
    assert authenticate(db, secret, issued.key) is None
    assert [k["revoked"] for k in list_keys(db, "acme")] == [True]
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert issued.key not in listed.stdout
    assert json.loads(listed.stdout)[0]["key_id"] == issued.key_id


def test_bad_input_exits_2_with_a_message(env):
    result = runner.invoke(app, ["keys", "create", "--tenant", "Not A Name", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "tenant name" in result.stderr
    result = runner.invoke(app, ["keys", "revoke", "0123456789ab"])
    assert result.exit_code == 2 and "no API key" in result.stderr
    with pytest.raises(LookupError):
        revoke_key(env[0], "nope")


def test_placeholder_secret_stops_the_command(env, monkeypatch):
    monkeypatch.setenv("SRLFORGE_GATEWAY_KEY_SECRET", "changeme")
    result = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "placeholder" in result.stderr
    assert "changeme" not in result.stderr


def test_an_unmigrated_database_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("SRLFORGE_GATEWAY_DB_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("SRLFORGE_GATEWAY_KEY_SECRET", secrets.token_urlsafe(48))
    result = runner.invoke(app, ["keys", "create", "--tenant", "acme"])
    assert result.exit_code == 1
    assert "python -m gateway migrate" in result.stderr


def test_the_mount_lines_give_srlforge_serve_and_keys(env):
    """What srlforge/cli.py will do: mount ``serve`` and the ``keys`` group on its app."""
    import typer

    from gateway.cli import keys_app, serve

    srlforge = typer.Typer()
    srlforge.command("serve")(serve)
    srlforge.add_typer(keys_app, name="keys")
    result = runner.invoke(srlforge, ["keys", "create", "--tenant", "mounted", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tenant"] == "mounted"
    help_text = runner.invoke(srlforge, ["serve", "--help"]).stdout
    assert "--host" in help_text and "--port" in help_text
