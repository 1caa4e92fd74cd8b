"""docker-compose.yml, validated without a Docker engine: every command names something that
exists, every SRLFORGE_* variable is a real setting, the GPU profile is the only one reserving
a device, Redis is durable, start order follows health, and no secret is committed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.settings import SettingsError, check_secret

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
INFRA = {"redis", "postgres", "minio", "minio-buckets"}
APP = sorted(set(SERVICES) - INFRA)
REQUIRED_VAR = re.compile(r"\$\{([A-Z0-9_]+):\?[^}]+\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY")


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (SERVICES[service].get("environment") or {}).items()}


def test_the_stack_has_every_part_the_design_names():
    assert {
        "redis",
        "postgres",
        "minio",
        "gateway",
        "collab-grpc",
        "collab-worker",
        "tracker",
        "trainer-worker",
        "trainer-worker-gpu",
        "paid-ft-worker",
    } <= set(SERVICES)


@pytest.mark.parametrize("service", APP)
def test_every_command_exists_in_the_repository(service, resolve_command):
    resolve_command(SERVICES[service]["command"], where=f"docker-compose.yml: {service}")


@pytest.mark.parametrize("service", APP)
def test_every_healthcheck_command_exists(service, resolve_command):
    check = SERVICES[service].get("healthcheck")
    if check is None:
        assert service.endswith("-migrate") or service.startswith("trainer-worker"), (
            f"{service} has no healthcheck"
        )
        return
    test = check["test"]
    where = f"docker-compose.yml: {service} healthcheck"
    if test[0] == "CMD":
        resolve_command(test[1:], where=where)
    else:
        assert test[0] == "CMD-SHELL"
        resolve_command(test[1].replace("$$", "$").split(), where=where)


def test_environment_names_are_settings_fields(check_env):
    skipped = []
    for service in SERVICES:
        names = list(_env(service))
        skipped += check_env(names, f"docker-compose.yml: {service}")
    assert all(name.startswith("SRLFORGE_TRAINER_") for name in skipped)


def test_only_the_gpu_profile_reserves_a_device():
    reserving = {
        name: spec
        for name, spec in SERVICES.items()
        if ((spec.get("deploy") or {}).get("resources") or {})
        .get("reservations", {})
        .get("devices")
    }
    assert set(reserving) == {"trainer-worker-gpu"}
    spec = reserving["trainer-worker-gpu"]
    assert spec["profiles"] == ["gpu"]
    (device,) = spec["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    assert spec["command"] == SERVICES["trainer-worker"]["command"]
    assert spec["build"]["dockerfile"] == "deploy/docker/Dockerfile.cuda"
    for name, other in SERVICES.items():
        if name != "trainer-worker-gpu":
            assert "profiles" not in other, f"{name} must start with a plain `compose up`"


def test_redis_keeps_jobs_through_restarts_and_memory_pressure():
    command = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_start_order_waits_on_health_and_migrations():
    for name, spec in SERVICES.items():
        for dep, rule in (spec.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{name} waits on {dep}'s missing check"
            else:
                assert condition == "service_completed_successfully"
                assert SERVICES[dep]["restart"] == "no", f"{dep} must be a one-shot"
    gateway = SERVICES["gateway"]["depends_on"]
    assert gateway["gateway-migrate"]["condition"] == "service_completed_successfully"
    assert {"redis", "tracker", "collab-grpc"} <= set(gateway)
    assert SERVICES["tracker"]["depends_on"]["tracker-migrate"]
    for name in APP:
        if "@postgres:" in " ".join(_env(name).values()):
            assert "postgres" in _waits_on(name), f"{name} uses PostgreSQL before it is up"


def _waits_on(name: str) -> set[str]:
    """Every service ``name`` waits for, directly or through the services it waits for."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dep in SERVICES[todo.pop()].get("depends_on") or {}:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_no_secret_is_committed():
    example = (ROOT / "deploy/env/example.env").read_text(encoding="utf-8")
    example_vars = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    required = set(REQUIRED_VAR.findall(text))
    assert required == set(example_vars)
    for service in SERVICES:
        for name, value in _env(service).items():
            if SECRET_NAME.search(name):
                assert REQUIRED_VAR.fullmatch(value), f"{service}: {name} must come from .env"
            if "@" in value and "://" in value:
                assert ":${POSTGRES_PASSWORD}@" in value, f"{service}: {name} embeds a password"
    # The example values are placeholders the services refuse, so nobody ships them.
    with pytest.raises(SettingsError):
        check_secret("SRLFORGE_GATEWAY_KEY_SECRET", example_vars["SRLFORGE_GATEWAY_KEY_SECRET"])


def test_local_stack_runs_the_same_commands(resolve_command):
    result = subprocess.run(
        ["bash", str(ROOT / "deploy/local-stack.sh"), "commands"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PATH": "/usr/bin:/bin", "STACK_DIR": "/nonexistent-not-created"},
    )
    local = dict(line.split("\t", 1) for line in result.stdout.strip().splitlines())
    compose = {name: SERVICES[name]["command"] for name in APP if name != "trainer-worker-gpu"}
    assert set(local) == set(compose)
    for name, command in compose.items():
        try:
            expected = resolve_command(command, where=f"compose {name}")
        except pytest.skip.Exception:
            continue
        got = resolve_command(local[name].split(), where=f"local-stack {name}")
        assert got == expected, name


def test_local_stack_is_valid_bash():
    subprocess.run(["bash", "-n", str(ROOT / "deploy/local-stack.sh")], check=True, timeout=10)
