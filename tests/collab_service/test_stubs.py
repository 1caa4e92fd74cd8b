"""The committed collab gRPC stubs are exactly what protoc generates from collab.proto."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO = "srlforge/proto/v1/collab.proto"
STUBS = ("collab_pb2.py", "collab_pb2.pyi", "collab_pb2_grpc.py")


def test_committed_stubs_match_the_proto(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            str(ROOT / "protos"),
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            str(ROOT / "protos" / PROTO),
        ],
        check=True,
        capture_output=True,
    )
    stale = [
        name
        for name in STUBS
        if (tmp_path / "srlforge/proto/v1" / name).read_text()
        != (ROOT / "srlforge/proto/v1" / name).read_text()
    ]
    assert not stale, (
        f"{stale} differ from {PROTO}; regenerate with `python -m grpc_tools.protoc -I protos "
        f"--python_out=. --pyi_out=. --grpc_python_out=. protos/{PROTO}`"
    )
