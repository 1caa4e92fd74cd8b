"""The committed gRPC stubs are exactly what protoc generates from each proto under protos/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = Path("srlforge/proto/v1")
PROTOS = sorted((ROOT / "protos" / PROTO_DIR).glob("*.proto"))


def test_the_protos_are_found():
    # An empty glob (a moved folder) would otherwise leave nothing parametrized, and pass.
    assert {"collab.proto", "tracker.proto"} <= {p.name for p in PROTOS}


@pytest.mark.parametrize("proto", PROTOS, ids=lambda p: p.name)
def test_committed_stubs_match_the_proto(proto: Path, tmp_path: Path):
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
            str(proto),
        ],
        check=True,
        capture_output=True,
    )
    stubs = [f"{proto.stem}_pb2.py", f"{proto.stem}_pb2.pyi", f"{proto.stem}_pb2_grpc.py"]
    stale = [
        name
        for name in stubs
        if not (ROOT / PROTO_DIR / name).is_file()
        or (tmp_path / PROTO_DIR / name).read_text() != (ROOT / PROTO_DIR / name).read_text()
    ]
    source = (PROTO_DIR / proto.name).as_posix()
    assert not stale, (
        f"{stale} differ from {source}; regenerate with `python -m grpc_tools.protoc -I protos "
        f"--python_out=. --pyi_out=. --grpc_python_out=. protos/{source}`"
    )
