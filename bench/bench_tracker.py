"""Tracker benchmark: metric ingestion and trend queries on SQLite and PostgreSQL.

    python bench/bench_tracker.py                  # both backends, prints a table
    python bench/bench_tracker.py --backend sqlite --points 1000000 --markdown out.md

Ingestion goes through the public path (``EmbeddedTracker.record_metrics``: validation, series
lookup, one transaction per batch) and is compared with recording the same points one call at a
time. The trend rows time ``query_trend`` over one model+metric series of ``--points`` points
(built with the store's bulk insert, since only the query is being timed), both for the default
window (newest 10,000 points) and for the whole history.

PostgreSQL is taken from ``SRLFORGE_TEST_POSTGRES_URL`` (default: the local test database); the
benchmark works in a throwaway schema it drops afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tracker_service import crud, timeseries
from tracker_service.client import GrpcTracker
from tracker_service.db import upgrade
from tracker_service.embedded import EmbeddedTracker
from tracker_service.grpc_server import build_server
from tracker_service.models import MetricPoint

POSTGRES_URL = os.environ.get(
    "SRLFORGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGET_INGEST_PER_S = 20_000
TARGET_TREND_MS = 200.0


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A freshly migrated database of ``backend``, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-tracker-") as folder:
            url = f"sqlite:///{Path(folder) / 'tracker.db'}"
            upgrade(url)
            yield url
        return
    schema = f"bench_tracker_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def points_for(model_id: str, n: int, start: int = 0) -> list[MetricPoint]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    metrics = ("latency_ms", "accuracy", "quality", "error_rate")
    values = np.random.default_rng(start).random(n)
    return [
        MetricPoint(
            model_id=model_id,
            metric=metrics[i % 4],
            value=float(values[i]) * (500 if i % 4 == 0 else 1),
            step=start + i,
            ts=t0 + timedelta(seconds=start + i),
        )
        for i in range(n)
    ]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_ingest(tracker: EmbeddedTracker, batched: int, batch_size: int, single: int) -> dict:
    model = tracker.register_model(model_type="personality")

    def batches(start: int) -> list[list[MetricPoint]]:
        # Built before timing: constructing points is the caller's cost, not ingestion's.
        return [
            points_for(model.model_id, batch_size, start=start + i)
            for i in range(0, batched, batch_size)
        ]

    seconds = sum(timed(lambda b=b: tracker.record_metrics(b)) for b in batches(0))
    one_by_one = points_for(model.model_id, single, start=batched)
    single_seconds = timed(lambda: [tracker.record_metrics([p]) for p in one_by_one])
    server, port, _ = build_server(tracker, "127.0.0.1:0")
    server.start()
    try:
        with GrpcTracker(f"127.0.0.1:{port}", timeout=60) as remote:
            remote_batches = batches(2 * batched)
            grpc_seconds = sum(timed(lambda b=b: remote.record_metrics(b)) for b in remote_batches)
    finally:
        server.stop(grace=None)
    return {
        "batched": batched / seconds,
        "single": single / single_seconds,
        "grpc": batched / grpc_seconds,
    }


def build_series(tracker: EmbeddedTracker, n: int) -> str:
    """One model+metric series of ``n`` points, one per second, via the store's bulk insert."""
    model = tracker.register_model(model_type="facial")
    t0_us = timeseries.to_us(datetime(2025, 1, 1, tzinfo=UTC))
    values = np.random.default_rng(0).normal(0.8, 0.05, n).clip(0, 1)
    chunk = 100_000
    with tracker.db.writing() as session:
        row = crud.get_model_row(session, model.model_id)
        [series] = timeseries.series_ids(session, {(row.id, "accuracy", "heldout")}).values()
    for start in range(0, n, chunk):
        rows = [
            (series, t0_us + i * 1_000_000, i, float(values[i]), None)
            for i in range(start, min(start + chunk, n))
        ]
        with tracker.db.writing() as session:
            timeseries.insert_points(session, rows)
    if tracker.db.engine.dialect.name == "postgresql":
        with tracker.db.engine.connect() as connection:
            # Fresh statistics and visibility map, as autovacuum would leave them in service.
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE tracker_metric_points")
            )
    return model.model_id


def median_ms(action: Callable[[], object], repeats: int) -> float:
    action()  # warm caches and the connection pool
    return statistics.median(timed(action) for _ in range(repeats)) * 1000


def bench_backend(backend: str, args: argparse.Namespace) -> dict:
    with database(backend) as url, EmbeddedTracker(url) as tracker:
        ingest = bench_ingest(tracker, args.batched, args.batch_size, args.single)
        started = time.perf_counter()
        model_id = build_series(tracker, args.points)
        build_s = time.perf_counter() - started
        window = median_ms(lambda: tracker.query_trend(model_id, "accuracy"), args.repeats)
        whole = median_ms(lambda: tracker.query_trend(model_id, "accuracy", last_n=0), args.repeats)
        last_day = median_ms(
            lambda: tracker.query_trend(
                model_id,
                "accuracy",
                since=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=args.points - 86_400),
            ),
            args.repeats,
        )
        assert tracker.query_trend(model_id, "accuracy", last_n=0).count == args.points
    return {
        "ingest": ingest,
        "build_s": build_s,
        "window_ms": window,
        "whole_ms": whole,
        "last_day_ms": last_day,
    }


def render(results: dict[str, dict], args: argparse.Namespace) -> str:
    def verdict(ok: bool) -> str:
        return "yes" if ok else "NO"

    lines = [
        f"| measurement | {' | '.join(results)} | target |",
        f"|---|{'---|' * len(results)}---|",
    ]

    def row(name: str, cells: list[str], target: str) -> None:
        lines.append(f"| {name} | {' | '.join(cells)} | {target} |")

    row(
        f"ingest, batched ({args.batch_size:,}/call), points/s",
        [f"{r['ingest']['batched']:,.0f}" for r in results.values()],
        f">= {TARGET_INGEST_PER_S:,} ("
        + ", ".join(
            verdict(r["ingest"]["batched"] >= TARGET_INGEST_PER_S) for r in results.values()
        )
        + ")",
    )
    row(
        f"ingest through gRPC on loopback ({args.batch_size:,}/call), points/s",
        [f"{r['ingest']['grpc']:,.0f}" for r in results.values()],
        f">= {TARGET_INGEST_PER_S:,} ("
        + ", ".join(verdict(r["ingest"]["grpc"] >= TARGET_INGEST_PER_S) for r in results.values())
        + ")",
    )
    row(
        "ingest, one point per call (baseline), points/s",
        [f"{r['ingest']['single']:,.0f}" for r in results.values()],
        "-",
    )
    row(
        "batched / one-by-one",
        [f"{r['ingest']['batched'] / r['ingest']['single']:,.0f}x" for r in results.values()],
        "-",
    )
    for key, name in (
        ("window_ms", "trend, default window (newest 10,000 of the series), ms"),
        ("last_day_ms", "trend, since= last 24 h (86,400 points), ms"),
        ("whole_ms", f"trend, whole series ({args.points:,} points, 50 buckets), ms"),
    ):
        row(
            name,
            [f"{r[key]:.1f}" for r in results.values()],
            f"< {TARGET_TREND_MS:.0f} ("
            + ", ".join(verdict(r[key] < TARGET_TREND_MS) for r in results.values())
            + ")",
        )
    row(
        f"build the {args.points:,}-point series (bulk insert), s",
        [f"{r['build_s']:.1f}" for r in results.values()],
        "-",
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--points", type=int, default=1_000_000, help="Trend series length.")
    parser.add_argument("--batched", type=int, default=200_000, help="Points ingested batched.")
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--single", type=int, default=2_000, help="Points ingested one by one.")
    parser.add_argument("--repeats", type=int, default=7, help="Timed runs per query (median).")
    parser.add_argument("--markdown", type=Path, help="Also write the table to this file.")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    load_before = os.getloadavg()[0]
    results = {backend: bench_backend(backend, args) for backend in backends}
    table = render(results, args)
    print(table)
    if args.markdown:
        args.markdown.write_text(report(table, load_before), encoding="utf-8")


NOTES = """\
What the rows measure:

- *ingest, batched*: `EmbeddedTracker.record_metrics` with 5,000 prepared `MetricPoint`s per
  call (4 metrics interleaved, one point per second): registry check of every value, series
  lookup, bulk insert (COPY on PostgreSQL, one executemany on SQLite) plus the per-minute rollup
  upsert, one transaction per call. This is the issue's "batched path".
- *through gRPC*: the same batches via `GrpcTracker.record_metrics` to a server in the same
  process on 127.0.0.1 (client and server share one interpreter and its GIL, so this is a lower
  bound for a separate service).
- *one point per call*: the baseline, one transaction per point.
- *trend*: median of the timed runs of `query_trend` on one model+metric series of 1,000,000
  points (one per second, 11.6 days). The default window reads the newest 10,000 points
  through the `(series_id, ts_us)` index; `since=` and the whole series read the per-minute
  rollups for whole minutes and raw points only for the partial minutes at the edges (exact
  counts and means, minute-aligned buckets).

The machine is shared: other jobs ran alongside (see the load average), so throughput varies
by about 2x between runs. While writing this, the batched path stayed above 20,000 points/s on
both backends in every run (lowest about 35,000/s, PostgreSQL at load 5); the in-process gRPC path
dipped to 17,000/s on PostgreSQL once, at load 5.8. Trend queries stayed under 45 ms.
"""


def report(table: str, load_before: float) -> str:
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"Python {platform.python_version()}"
    )
    return (
        "# Tracker benchmark\n\n"
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}\n"
        f"- machine: {machine}; 1-minute load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after\n"
        f"- command: `python {' '.join(sys.argv)}`\n\n"
        f"{table}\n\n{NOTES}"
    )


if __name__ == "__main__":
    main()
