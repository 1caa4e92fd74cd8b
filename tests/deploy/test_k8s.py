"""deploy/k8s, validated without a cluster: kustomize resources exist and parse, commands exist,
GPU pools request nvidia.com/gpu, KEDA scales them from zero on their own Redis queue, and the
configuration names real settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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


def _containers(workload: dict, init: bool = True) -> list[dict]:
    spec = workload["spec"]["template"]["spec"]
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def _queues(workload: dict) -> list[str]:
    command = _containers(workload, init=False)[0]["command"]
    return command[command.index("-Q") + 1].split(",")


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
    gpu = {n for n, d in DEPLOYMENTS.items() if "cuda" in _containers(d)[-1]["image"]}
    assert gpu == {"trainer-srl", "trainer-rlvr"}
    for name, workload in DEPLOYMENTS.items():
        resources = _containers(workload, init=False)[0].get("resources", {})
        limit = resources.get("limits", {}).get("nvidia.com/gpu")
        if name in gpu:
            assert limit == 1, name
            assert workload["spec"]["replicas"] == 0, "KEDA owns the replica count"
            assert workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 600
            tolerations = workload["spec"]["template"]["spec"]["tolerations"]
            assert any(t["key"] == "nvidia.com/gpu" for t in tolerations)
        else:
            assert limit is None, name


def test_keda_scales_each_gpu_pool_from_zero_on_its_own_queue():
    assert {s["spec"]["scaleTargetRef"]["name"] for s in SCALED} == {"trainer-srl", "trainer-rlvr"}
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
        host = meta["address"].split(".")[0]
        assert host in SERVICES and host in DEPLOYMENTS, "KEDA must watch the broker's Redis"
        assert meta["databaseIndex"] == "0"
    assert "rlvr" in {s["spec"]["triggers"][0]["metadata"]["listName"] for s in SCALED}


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
    (generator,) = KUSTOMIZATION["configMapGenerator"]
    names = [literal.split("=", 1)[0] for literal in generator["literals"]]
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
