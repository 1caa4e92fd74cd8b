"""deploy/k8s, validated without a cluster: kustomize resources exist and parse, commands exist,
GPU pools request nvidia.com/gpu, KEDA scales them from zero on their own Redis queue (in the
database their app publishes to), the gateway has a job worker per queue, and the configuration
names real settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import get_args

import pytest
import yaml
from celery import Celery
from kombu import Connection

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/k8s"
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
DOCS = [
    doc
    for name in KUSTOMIZATION["resources"]
    for doc in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8"))
    if doc
]
DEPLOYMENTS = {d["metadata"]["name"]: d for d in DOCS if d["kind"] in {"Deployment", "StatefulSet"}}
SERVICES = {d["metadata"]["name"]: d for d in DOCS if d["kind"] == "Service"}
SCALED = [d for d in DOCS if d["kind"] == "ScaledObject"]
(_GENERATOR,) = KUSTOMIZATION["configMapGenerator"]
CONFIG = dict(literal.split("=", 1) for literal in _GENERATOR["literals"])
GATEWAY_WORKERS = sorted(
    n
    for n, d in DEPLOYMENTS.items()
    if "gateway.celery_app" in d["spec"]["template"]["spec"]["containers"][0].get("command", [])
)


def _containers(workload: dict, init: bool = True) -> list[dict]:
    spec = workload["spec"]["template"]["spec"]
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def _queues(workload: dict) -> list[str]:
    command = _containers(workload, init=False)[0]["command"]
    return command[command.index("-Q") + 1].split(",")


def _app_module(workload: dict) -> str:
    command = _containers(workload, init=False)[0]["command"]
    return command[command.index("-A") + 1]


def _from_config(prefix: str) -> dict[str, str]:
    """The ConfigMap's settings of one service, as field name -> value."""
    return {k[len(prefix) :].lower(): v for k, v in CONFIG.items() if k.startswith(prefix)}


@pytest.fixture
def gateway_settings(monkeypatch):
    """The gateway's settings in a pod with this ConfigMap (nothing from this machine)."""
    for name in [n for n in os.environ if n.startswith("SRLFORGE_")]:
        monkeypatch.delenv(name)
    from gateway.settings import GatewaySettings

    # The key secret and database URL come from the Secret; a generated secret stands in.
    return GatewaySettings(
        **_from_config("SRLFORGE_GATEWAY_"), key_secret=secrets.token_urlsafe(48)
    )


@pytest.fixture
def apps(gateway_settings) -> dict[str, Celery]:
    """Celery app module -> the app as a worker pod with this ConfigMap builds it."""
    from gateway.celery_app import make_celery

    found = {"gateway.celery_app": make_celery(gateway_settings)}
    try:
        from trainer_service.settings import TrainerSettings
        from trainer_service.tasks import make_app
    except ImportError:  # pending (tests/deploy/conftest.py)
        return found
    found["trainer_service.tasks"] = make_app(TrainerSettings(**_from_config("SRLFORGE_TRAINER_")))
    return found


def test_every_resource_exists_and_has_a_kind():
    for name in KUSTOMIZATION["resources"]:
        assert (K8S / name).is_file(), name
    kinds = {d["kind"] for d in DOCS}
    assert {"Namespace", "Deployment", "Service", "ScaledObject"} <= kinds
    assert not [d for d in DOCS if d["kind"] == "Secret"], "secrets are created out of band"


@pytest.mark.parametrize("name", sorted(n for n in DEPLOYMENTS if n != "redis"))
def test_every_command_exists(name, resolve_command):
    for container in _containers(DEPLOYMENTS[name]):
        resolve_command(container["command"], where=f"k8s {name}/{container['name']}")


def test_gpu_pools_request_gpus_and_nothing_else_does():
    from gateway.jobs import QUEUES, TrainStage

    gpu = {n for n, d in DEPLOYMENTS.items() if "cuda" in _containers(d)[-1]["image"]}
    # The gateway's training steps run on GPUs, generate and evaluate on CPU.
    gateway_gpu = {f"gateway-worker-{QUEUES[stage]}" for stage in get_args(TrainStage)}
    assert gpu == {"trainer-srl", "trainer-rlvr", *gateway_gpu}
    for name, workload in DEPLOYMENTS.items():
        resources = _containers(workload, init=False)[0].get("resources", {})
        limit = resources.get("limits", {}).get("nvidia.com/gpu")
        if name in gpu:
            assert limit == 1, name
            assert resources["requests"]["nvidia.com/gpu"] == 1, name
            assert workload["spec"]["replicas"] == 0, "KEDA owns the replica count"
            assert workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 600
            tolerations = workload["spec"]["template"]["spec"]["tolerations"]
            assert any(t["key"] == "nvidia.com/gpu" for t in tolerations)
        else:
            assert limit is None, name


def test_keda_scales_each_gpu_pool_from_zero_on_its_own_queue(apps):
    gpu = {n for n, d in DEPLOYMENTS.items() if "cuda" in _containers(d)[-1]["image"]}
    assert {s["spec"]["scaleTargetRef"]["name"] for s in SCALED} == gpu
    for scaled in SCALED:
        spec = scaled["spec"]
        target = DEPLOYMENTS[spec["scaleTargetRef"]["name"]]
        assert spec["minReplicaCount"] == 0
        assert spec["maxReplicaCount"] >= 1
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "redis"
        meta = trigger["metadata"]
        assert [meta["listName"]] == _queues(target)
        assert meta["listLength"] == "1" and meta["activationListLength"] == "0"
        host, port = meta["address"].rsplit(":", 1)
        service = host.split(".")[0]
        assert service in SERVICES and service in DEPLOYMENTS, "KEDA must watch the broker's Redis"
        # The list KEDA counts is the one the target's app publishes to (a Celery queue on
        # Redis is a list of that name in the broker URL's database).
        module = _app_module(target)
        if module not in apps:
            pytest.skip(f"{module} is not importable here")
        broker = apps[module].connection_for_write()
        assert (service, int(port)) == (broker.hostname, broker.port), scaled["metadata"]["name"]
        assert meta["databaseIndex"] == broker.virtual_host, scaled["metadata"]["name"]
    assert "rlvr" in {s["spec"]["triggers"][0]["metadata"]["listName"] for s in SCALED}


def test_gateway_has_a_job_worker_per_queue_on_its_own_broker_database(apps, gateway_settings):
    from gateway.jobs import QUEUES

    app, prefix = apps["gateway.celery_app"], gateway_settings.celery_queue_prefix
    queues = sorted(q for name in GATEWAY_WORKERS for q in _queues(DEPLOYMENTS[name]))
    assert queues == sorted(f"{prefix}{q}" for q in set(QUEUES.values())), "one worker per queue"
    assert all(len(_queues(DEPLOYMENTS[name])) == 1 for name in GATEWAY_WORKERS)
    # The collab and trainer workers consume queues of the same names and would drop a
    # gateway.run_step, so the gateway's broker database is nobody else's.
    others = {
        Connection(url).virtual_host
        for name, url in CONFIG.items()
        if name.endswith("_BROKER_URL") and name != "SRLFORGE_GATEWAY_BROKER_URL"
    }
    assert others and app.connection_for_write().virtual_host not in others
    gateway_env = _containers(DEPLOYMENTS["gateway"], init=False)[0]["envFrom"]
    runs_dir = gateway_settings.resolved_runs_dir()
    for name in GATEWAY_WORKERS:
        spec = DEPLOYMENTS[name]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["envFrom"] == gateway_env, name
        # SIGTERM lets the running step finish (warm shutdown): wait longer than a step may take.
        assert spec["terminationGracePeriodSeconds"] > app.conf.task_time_limit, name
        # Every step of a job works in runs/<job_id>/, so that folder is on the shared claim.
        claims = {v["name"] for v in spec["volumes"] if "persistentVolumeClaim" in v}
        mounts = [m for m in container["volumeMounts"] if m["name"] in claims]
        assert any(runs_dir.is_relative_to(m["mountPath"]) for m in mounts), name
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > app.conf.task_time_limit


def test_redis_is_durable():
    args = " ".join(_containers(DEPLOYMENTS["redis"])[0]["args"])
    assert "--appendonly yes" in args and "--maxmemory-policy noeviction" in args


def test_probes_match_ports_and_routes():
    from gateway.routes.health import router

    routes = {r.path for r in router.routes}
    gateway = _containers(DEPLOYMENTS["gateway"], init=False)[0]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= routes
    for name in ("tracker", "collab-grpc"):
        container = _containers(DEPLOYMENTS[name], init=False)[0]
        ports = {p["containerPort"] for p in container["ports"]}
        assert container["readinessProbe"]["grpc"]["port"] in ports
        service_ports = {p["port"] for p in SERVICES[name]["spec"]["ports"]}
        assert ports == service_ports


def test_configuration_names_are_settings_fields(check_env):
    names = list(CONFIG)
    secrets = (K8S / "secrets.example.env").read_text(encoding="utf-8")
    names += [
        line.split("=", 1)[0]
        for line in secrets.splitlines()
        if "=" in line and not line.startswith("#")
    ]
    skipped = check_env(names, "deploy/k8s")
    assert all(name.startswith("SRLFORGE_TRAINER_") for name in skipped)
    for workload in DEPLOYMENTS.values():
        for container in _containers(workload):
            refs = container.get("envFrom", [])
            if refs:
                assert {"configMapRef": {"name": "srlforge-config"}} in refs
                assert {"secretRef": {"name": "srlforge-secrets"}} in refs
