"""The artifact store (``srlforge/artifacts.py``) on a folder and on a real S3 API over HTTP
(moto's server on loopback), and a job's steps handing the run over through it the way two
machines with no shared disk would: generate on one, the next step in an empty runs folder."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from gateway.jobs import run_step
from gateway.settings import GatewaySettings
from srlforge.artifacts import MARKER, ArtifactStore, ArtifactStoreError

SECRET = "wJalrXUtnFEMI-not-a-real-key-EXAMPLEKEY-7f3a"


def _folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.json").write_text('{"a": 1}')
    (root / "sub" / "b.bin").write_bytes(b"\x00\x01" * 500)
    return root


def test_push_then_pull_round_trips_a_folder(tmp_path):
    store = ArtifactStore(f"file://{tmp_path / 'store'}")
    src = _folder(tmp_path / "src")
    assert store.push(src, "runs/j1/dataset") == 2
    assert store.exists("runs/j1/dataset")
    dest = tmp_path / "dest"
    assert store.pull("runs/j1/dataset", dest)
    assert (dest / "a.json").read_text() == '{"a": 1}'
    assert (dest / "sub" / "b.bin").read_bytes() == b"\x00\x01" * 500
    assert not (dest / MARKER).exists()
    # A file already there with the recorded size is kept, not downloaded again.
    (dest / "a.json").write_text('{"b": 2}')
    assert store.pull("runs/j1/dataset", dest)
    assert (dest / "a.json").read_text() == '{"b": 2}'


def test_a_plain_path_is_a_folder_store(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    store.push(_folder(tmp_path / "src"), "k")
    assert store.url == f"file://{tmp_path / 'store'}"
    assert (tmp_path / "store" / "k" / "sub" / "b.bin").is_file()


def test_an_upload_without_its_marker_is_not_taken(tmp_path):
    store = ArtifactStore(f"file://{tmp_path / 'store'}")
    store.push(_folder(tmp_path / "src"), "runs/j1/dataset")
    (tmp_path / "store" / "runs" / "j1" / "dataset" / MARKER).unlink()  # died mid-upload
    assert not store.exists("runs/j1/dataset")
    assert store.pull("runs/j1/dataset", tmp_path / "dest") is False
    assert not (tmp_path / "dest").exists()


def test_a_re_push_drops_the_old_marker_before_uploading(tmp_path, monkeypatch):
    store = ArtifactStore(f"file://{tmp_path / 'store'}")
    src = _folder(tmp_path / "src")
    store.push(src, "k")
    calls = []
    real_put = store.fs.put_file

    def put_file(local, remote, **kwargs):
        calls.append(store.exists("k"))
        return real_put(local, remote, **kwargs)

    monkeypatch.setattr(store.fs, "put_file", put_file)
    store.push(src, "k")
    assert calls == [False, False] and store.exists("k")


def test_errors_name_the_url_and_the_fix_but_never_a_credential(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with pytest.raises(ArtifactStoreError) as refused:
        ArtifactStore(f"s3://AKIAEXAMPLE:{SECRET}@bucket/prefix")
    assert SECRET not in str(refused.value) and "AWS_SECRET_ACCESS_KEY" in str(refused.value)
    with pytest.raises(ArtifactStoreError, match="unsupported scheme"):
        ArtifactStore("ftp://host/x")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the store's folder should be")
    store = ArtifactStore(f"file://{blocked}")
    with pytest.raises(ArtifactStoreError) as failed:
        store.push(_folder(tmp_path / "src"), "k")
    message = str(failed.value)
    assert f"file://{blocked}" in message and "cannot upload 'k'" in message
    assert "writable" in message and SECRET not in message
    with pytest.raises(ArtifactStoreError, match="invalid key"):
        store.exists("../etc")


def test_the_gateway_setting_refuses_credentials_in_the_url():
    with pytest.raises(ValueError) as refused:
        GatewaySettings(artifacts_url=f"s3://AKIAEXAMPLE:{SECRET}@bucket/")
    assert SECRET not in str(refused.value)
    assert GatewaySettings(artifacts_url="s3://bucket/prefix").artifacts_url


# --- S3 over HTTP ----------------------------------------------------------------------------


@pytest.fixture
def s3_url(monkeypatch):
    """A bucket on moto's S3 server on a free loopback port; the store's endpoint URL."""
    pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIAMOTOTEST",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="srlforge-artifacts")
        yield endpoint
    finally:
        server.stop()


def test_s3_round_trip_and_errors_keep_the_secret_out(s3_url, tmp_path):
    store = ArtifactStore("s3://srlforge-artifacts/team-a", endpoint_url=s3_url)
    store.push(_folder(tmp_path / "src"), "runs/j1/dataset")
    assert store.exists("runs/j1/dataset") and not store.exists("runs/j2/dataset")
    assert store.pull("runs/j1/dataset", tmp_path / "dest")
    assert (tmp_path / "dest" / "sub" / "b.bin").read_bytes() == b"\x00\x01" * 500
    missing = ArtifactStore("s3://no-such-bucket/x", endpoint_url=s3_url)
    with pytest.raises(ArtifactStoreError) as failed:
        missing.push(_folder(tmp_path / "src2"), "k")
    message = str(failed.value)
    assert "s3://no-such-bucket/x" in message and "bucket exists" in message
    assert SECRET not in message and "AKIAMOTOTEST" not in message


def test_a_job_moves_between_machines_through_s3(s3_url, tmp_path, request):
    """generate on machine A, srl (one step, micro base) on machine B with an empty runs folder,
    then srl again on machine C: it pulls B's finished stage and reuses it, not retraining."""
    params = {
        "model_type": "facial",
        "species": None,
        "base_model": "micro",
        "stages": ["srl"],
        "n_examples": 2,
        "eval_episodes": 1,
        "max_steps": {"srl": 1},
        "data_source": "arena",
        "train_difficulties": [1],
        "seed": 0,
        "register_model": False,
    }
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the micro model's ops are tiny: more threads only cost time
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    store = ArtifactStore("s3://srlforge-artifacts/", endpoint_url=s3_url)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    made = run_step("job-x", "generate", params, a, artifacts=store)
    assert made["artifacts"] == "s3://srlforge-artifacts/runs/job-x/dataset"
    assert not b.exists()

    trained = run_step("job-x", "srl", params, b, artifacts=store)
    manifest = json.loads((b / "job-x" / "dataset" / "manifest.json").read_text())
    assert manifest["hash"] == made["dataset"]["hash"]
    assert trained["steps"] == 1 and Path(trained["model_dir"]).is_relative_to(b)
    assert store.exists("runs/job-x/checkpoints/srl")

    started = time.perf_counter()
    again = run_step("job-x", "srl", params, c, artifacts=store)
    assert (c / "job-x" / "checkpoints" / "srl" / "final" / "config.json").is_file()
    assert again["metrics"] == trained["metrics"] and time.perf_counter() - started < 5
