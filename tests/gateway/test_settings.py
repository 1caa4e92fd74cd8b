"""Settings fail fast on placeholder secrets and impossible combinations, and never echo a
secret back."""

from __future__ import annotations

import os
import secrets
import stat

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings, SettingsError, check_secret


def _secret() -> str:
    return secrets.token_urlsafe(48)


PLACEHOLDERS = [
    "changeme",
    "change-me-change-me-change-me-change-me",
    "<your-secret-here-with-enough-length-padding>",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "example-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "replace_me_with_a_real_value_0123456789abcdef",
    "short-but-random-Zq81",
]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholder_secrets_are_refused_without_echoing_them(value, tmp_path):
    with pytest.raises(ValidationError) as info:
        GatewaySettings(key_secret=value, db_url=f"sqlite:///{tmp_path / 'g.db'}")
    text = str(info.value)
    assert "SRLFORGE_GATEWAY_KEY_SECRET" in text
    assert value not in text


def test_placeholder_from_the_environment_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SRLFORGE_GATEWAY_KEY_SECRET", "changeme")
    with pytest.raises(ValidationError, match="placeholder"):
        GatewaySettings()


def test_a_real_secret_is_accepted_and_hidden_in_repr():
    value = _secret()
    settings = GatewaySettings(key_secret=value)
    assert value not in repr(settings)
    assert value not in str(settings.model_dump())
    assert settings.hmac_secret() == value.encode()


def test_urls_with_passwords_stay_out_of_repr():
    settings = GatewaySettings(
        key_secret=_secret(),
        db_url="postgresql+psycopg://app:pg-pass-123@db/gateway",
        redis_url="redis://:redis-pass-456@redis:6379/2",
        broker_url="redis://:broker-pass-789@redis:6379/0",
    )
    shown = repr(settings)
    for password in ("pg-pass-123", "redis-pass-456", "broker-pass-789"):
        assert password not in shown


def test_a_deployment_must_configure_the_secret():
    with pytest.raises(ValidationError, match="KEY_SECRET is required"):
        GatewaySettings(db_url="postgresql+psycopg://app@db/gateway")
    with pytest.raises(ValidationError, match="KEY_SECRET is required"):
        GatewaySettings(executor="celery")


def test_the_embedded_default_generates_one_private_secret(monkeypatch, tmp_path):
    from srlforge.settings import get_settings as shared

    monkeypatch.setenv("SRLFORGE_HOME", str(tmp_path))
    shared.cache_clear()
    try:
        settings = GatewaySettings()
        first = settings.hmac_secret()
        path = tmp_path / "gateway-key-secret"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert len(first) >= 48
        assert GatewaySettings().hmac_secret() == first  # stable across processes
        path.write_text("changeme")
        with pytest.raises(SettingsError, match="placeholder"):
            GatewaySettings().hmac_secret()
    finally:
        shared.cache_clear()


def test_inconsistent_settings_name_the_fix():
    with pytest.raises(ValidationError, match="REDIS_URL"):
        GatewaySettings(key_secret=_secret(), rate_limit_backend="redis")
    with pytest.raises(ValidationError, match="TRACKER_TARGET"):
        GatewaySettings(key_secret=_secret(), tracker="grpc")
    with pytest.raises(ValidationError, match="all zero"):
        GatewaySettings(
            key_secret=_secret(),
            select_weight_capability=0,
            select_weight_responsibility=0,
            select_weight_cost=0,
            select_weight_latency=0,
        )


def test_check_secret_accepts_generated_values():
    for _ in range(20):
        value = _secret()
        assert check_secret("X", value) == value


def test_a_malformed_database_url_is_refused_without_echoing_it():
    with pytest.raises(ValidationError, match="not a SQLAlchemy URL") as info:
        GatewaySettings(key_secret=_secret(), db_url="not a url :pw-4321@")
    assert "pw-4321" not in str(info.value)


def test_the_visibility_timeout_must_outlast_a_step():
    from gateway.celery_app import HARD_TIME_LIMIT_S, make_celery

    def settings(**extra) -> GatewaySettings:
        broker = "redis://127.0.0.1:6379/3"
        return GatewaySettings(key_secret=_secret(), executor="celery", broker_url=broker, **extra)

    # Redelivered while still running, a step would be worked on twice.
    with pytest.raises(SettingsError, match="BROKER_VISIBILITY_TIMEOUT_S=3600 must be above"):
        make_celery(settings(broker_visibility_timeout_s=3600))
    with pytest.raises(SettingsError):
        make_celery(settings(broker_visibility_timeout_s=HARD_TIME_LIMIT_S))
    app = make_celery(settings(broker_visibility_timeout_s=HARD_TIME_LIMIT_S + 1))
    assert app.conf.broker_transport_options["visibility_timeout"] == HARD_TIME_LIMIT_S + 1
    default = make_celery(settings()).conf.broker_transport_options["visibility_timeout"]
    assert default == GatewaySettings.model_fields["broker_visibility_timeout_s"].default
    assert default > app.conf.task_time_limit
