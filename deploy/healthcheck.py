"""Container health probes with nothing but the image's Python: HTTP and gRPC health.

    python deploy/healthcheck.py http http://127.0.0.1:8000/readyz
    python deploy/healthcheck.py grpc 127.0.0.1:50053 [service]

Exit 0 when healthy, 1 otherwise (one line on stderr says why). Compose and the Dockerfile use
it; Kubernetes probes HTTP and gRPC natively and does not need it.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_S = 5.0


def http(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"


def grpc_health(target: str, service: str = "") -> str | None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        with grpc.insecure_channel(target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT_S
            )
    except grpc.RpcError as exc:
        return f"gRPC {exc.code().name}"
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return None


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "http":
        problem = http(argv[1])
    elif len(argv) >= 2 and argv[0] == "grpc":
        problem = grpc_health(argv[1], argv[2] if len(argv) > 2 else "")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
