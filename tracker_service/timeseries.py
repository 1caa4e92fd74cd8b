"""Metric series storage: points, their per-minute rollups, and the windows analysis reads.

Every insert also folds the points into ``metric_rollups`` (same transaction). A trend over a
count window (``last_n``) reads raw points through the ``(series_id, ts_us)`` index; a trend over
a time range reads rollups for the whole minutes inside it and raw points only for the partial
minutes at its edges, so its statistics stay exact while a million-point series costs a few
thousand rows. Buckets of a range trend are therefore aligned to whole minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Select, Table, and_, func, select
from sqlalchemy.orm import Session

from tracker_service.crud import dialect_insert, insert_ignoring_conflicts
from tracker_service.models import TrendBucket
from tracker_service.orm import (
    IngestBatchRow,
    MetricPointRow,
    MetricRollupRow,
    MetricSeriesRow,
    utcnow,
)

POINTS: Table = MetricPointRow.__table__  # type: ignore[assignment]
ROLLUPS: Table = MetricRollupRow.__table__  # type: ignore[assignment]
ROLLUP_US = 60_000_000  # one minute
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

SeriesKey = tuple[int, str, str]  # (model_version_id, metric, split)
# (bucket, count, sum, min, max, first ts, last ts, min step, max step), as both queries return
_Aggregate = tuple[int, int, float, float, float, int, int, int | None, int | None]


def to_us(ts: datetime) -> int:
    """Exact microseconds since the epoch (float timestamps would round)."""
    return (ts - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def claim_batch(session: Session, batch_id: str, n_points: int) -> bool:
    """Record ``batch_id``; False when it was recorded before (the caller then writes nothing)."""
    table: Table = IngestBatchRow.__table__  # type: ignore[assignment]
    inserted = session.execute(
        dialect_insert(session, table)
        .values(batch_id=batch_id, n_points=n_points, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(table.c.batch_id)
    ).first()
    return inserted is not None


def series_ids(session: Session, keys: set[SeriesKey]) -> dict[SeriesKey, int]:
    """Ids of the series, creating the missing ones."""
    table: Table = MetricSeriesRow.__table__  # type: ignore[assignment]
    wanted = [{"model_version_id": m, "metric": k, "split": s} for m, k, s in sorted(keys)]
    insert_ignoring_conflicts(session, table, wanted)
    rows = session.execute(
        select(table.c.model_version_id, table.c.metric, table.c.split, table.c.id).where(
            table.c.model_version_id.in_({m for m, _, _ in keys})
        )
    )
    return {(m, k, s): sid for m, k, s, sid in rows if (m, k, s) in keys}


def find_series(
    session: Session, model_version_id: int, metric: str, splits: Sequence[str]
) -> list[int]:
    query = select(MetricSeriesRow.id).where(
        MetricSeriesRow.model_version_id == model_version_id,
        MetricSeriesRow.metric == metric,
        MetricSeriesRow.split.in_(list(splits)),
    )
    return list(session.scalars(query))


def series_metrics(session: Session, model_version_id: int, splits: Iterable[str]) -> list[str]:
    query = (
        select(MetricSeriesRow.metric)
        .where(
            MetricSeriesRow.model_version_id == model_version_id,
            MetricSeriesRow.split.in_(list(splits)),
        )
        .distinct()
    )
    return sorted(session.scalars(query))


# --- writing ----------------------------------------------------------------------------------


# One point as written: (series_id, ts_us, step, value, run_id), the column order below.
PointRow = tuple[int, int, int | None, float, str | None]
POINT_COLUMNS = ("series_id", "ts_us", "step", "value", "run_id")


def insert_points(session: Session, rows: list[PointRow]) -> None:
    """Bulk insert and update the rollups, through the driver: COPY on PostgreSQL, one
    executemany of tuples on SQLite (SQLAlchemy's per-row parameter handling would double the
    cost of ingestion)."""
    if not rows:
        return
    driver = session.connection().connection.driver_connection
    columns = ", ".join(POINT_COLUMNS)
    with closing(driver.cursor()) as cursor:  # type: ignore[union-attr]
        if session.get_bind().dialect.name == "postgresql":
            with cursor.copy(f"COPY {POINTS.name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO {POINTS.name} ({columns}) VALUES (?, ?, ?, ?, ?)"
            cursor.executemany(sql, rows)
    _upsert_rollups(session, _rollups_of(rows))


def _rollups_of(rows: Iterable[PointRow]) -> list[dict[str, Any]]:
    acc: dict[tuple[int, int], list[Any]] = {}
    for series, ts, step, value, _ in rows:
        key = (series, ts - ts % ROLLUP_US)
        a = acc.get(key)
        if a is None:
            acc[key] = [1, value, value, value, ts, ts, step, step]
            continue
        a[0] += 1
        a[1] += value
        a[2], a[3] = min(a[2], value), max(a[3], value)
        a[4], a[5] = min(a[4], ts), max(a[5], ts)
        if step is not None:
            a[6] = step if a[6] is None else min(a[6], step)
            a[7] = step if a[7] is None else max(a[7], step)
    names = ("n_points", "total", "min_value", "max_value", "first_ts_us", "last_ts_us",
             "min_step", "max_step")  # fmt: skip
    return [
        {"series_id": series, "minute_us": minute, **dict(zip(names, a, strict=True))}
        for (series, minute), a in acc.items()
    ]


def _upsert_rollups(session: Session, rollups: list[dict[str, Any]]) -> None:
    if not rollups:
        return
    statement = dialect_insert(session, ROLLUPS)
    new, old = statement.excluded, ROLLUPS.c
    postgres = session.get_bind().dialect.name == "postgresql"
    # SQLite's two-argument min()/max() are its LEAST/GREATEST.
    least, greatest = (func.least, func.greatest) if postgres else (func.min, func.max)

    def either(column: str, pick: Any) -> Any:
        # Steps may be NULL on either side; SQLite's min(NULL, x) would be NULL.
        return pick(
            func.coalesce(old[column], new[column]), func.coalesce(new[column], old[column])
        )

    session.execute(
        statement.on_conflict_do_update(
            index_elements=["series_id", "minute_us"],
            set_={
                "n_points": old.n_points + new.n_points,
                "total": old.total + new.total,
                "min_value": least(old.min_value, new.min_value),
                "max_value": greatest(old.max_value, new.max_value),
                "first_ts_us": least(old.first_ts_us, new.first_ts_us),
                "last_ts_us": greatest(old.last_ts_us, new.last_ts_us),
                "min_step": either("min_step", least),
                "max_step": either("max_step", greatest),
            },
        ),
        rollups,
    )


# --- reading ----------------------------------------------------------------------------------


def newest_values(session: Session, series: Sequence[int], limit: int) -> np.ndarray:
    """The newest ``limit`` values of the series, oldest first."""
    query = (
        select(MetricPointRow.value)
        .where(MetricPointRow.series_id.in_(series))
        .order_by(MetricPointRow.ts_us.desc(), MetricPointRow.id.desc())
        .limit(limit)
    )
    return np.fromiter(session.scalars(query), dtype=np.float64)[::-1]


def _points_in(series: Sequence[int], since_us: int | None, until_us: int | None) -> Select:
    query = select(POINTS.c.id, POINTS.c.ts_us, POINTS.c.step, POINTS.c.value).where(
        POINTS.c.series_id.in_(series)
    )
    if since_us is not None:
        query = query.where(POINTS.c.ts_us >= since_us)
    if until_us is not None:
        query = query.where(POINTS.c.ts_us <= until_us)
    return query


def _aggregate(session: Session, source: Any, bucket: Any, columns: dict[str, Any]) -> list:
    """Group ``source`` by ``bucket``. Bucketing happens in a subquery so GROUP BY names a column:
    PostgreSQL would not match one expression written twice with different bind parameters."""
    inner = select(bucket.label("bucket"), *(c.label(n) for n, c in columns.items()))
    c = inner.select_from(source).subquery().c
    # Rollup rows carry their point count in "n"; raw points count one each.
    count = func.sum(c.n) if "n" in columns else func.count()
    return list(
        session.execute(
            select(
                c.bucket,
                count,
                func.sum(c.total),
                func.min(c.low),
                func.max(c.high),
                func.min(c.first_ts),
                func.max(c.last_ts),
                func.min(c.min_step),
                func.max(c.max_step),
            )
            .group_by(c.bucket)
            .order_by(c.bucket)
        )
    )


def _bucketed_points(
    points: Any, lo: int, width: int, n_buckets: int, *, by_minute: bool = False
) -> tuple[Any, Any, dict[str, Any]]:
    """``_aggregate`` arguments for raw points; ``by_minute`` buckets them by their minute, as
    rollups are, so the two can be merged."""
    ts = points.c.ts_us - points.c.ts_us % ROLLUP_US if by_minute else points.c.ts_us
    columns = {"total": points.c.value, "low": points.c.value, "high": points.c.value,
               "first_ts": points.c.ts_us, "last_ts": points.c.ts_us,
               "min_step": points.c.step, "max_step": points.c.step}  # fmt: skip
    return points, (ts - lo) * n_buckets // width, columns


def _raw_buckets(session: Session, window: Any, n_buckets: int) -> list[_Aggregate]:
    lo, hi = session.execute(select(func.min(window.c.ts_us), func.max(window.c.ts_us))).one()
    if lo is None:
        return []
    # A width of hi - lo + 1 keeps the newest point inside the last bucket.
    return _aggregate(session, *_bucketed_points(window, lo, hi - lo + 1, n_buckets))


def _range_buckets(
    session: Session,
    series: Sequence[int],
    since_us: int | None,
    until_us: int | None,
    n_buckets: int,
) -> list[_Aggregate]:
    r = ROLLUPS.c
    in_range = [r.series_id.in_(series)]
    if since_us is not None:
        in_range.append(r.minute_us >= since_us - since_us % ROLLUP_US)
    if until_us is not None:
        in_range.append(r.minute_us <= until_us)
    lo, hi = session.execute(select(func.min(r.minute_us), func.max(r.minute_us))
                             .where(*in_range)).one()  # fmt: skip
    if lo is None:
        return []
    # Whole minutes inside [since, until] come from rollups: [full_from, full_to).
    full_from = lo if since_us is None else -(-since_us // ROLLUP_US) * ROLLUP_US
    full_to = hi + ROLLUP_US if until_us is None else (until_us + 1) // ROLLUP_US * ROLLUP_US
    if (hi - lo) // ROLLUP_US + 1 < n_buckets or full_from >= full_to:
        # Rollups would be coarser than the buckets asked for: read the points.
        return _raw_buckets(session, _points_in(series, since_us, until_us).subquery(), n_buckets)
    width = hi - lo + ROLLUP_US
    from_rollups = _aggregate_rollups(session, series, full_from, full_to, lo, width, n_buckets)
    # The partial minutes at either end (at most one minute of points each) come from points.
    from_edges: list[_Aggregate] = []
    for start, end in ((since_us, full_from - 1), (full_to, until_us)):
        if start is None or end is None or start > end:
            continue
        edge = _points_in(series, start, end).subquery()
        bucketed = _bucketed_points(edge, lo, width, n_buckets, by_minute=True)
        from_edges += _aggregate(session, *bucketed)
    return _merge(from_rollups + from_edges)


def _aggregate_rollups(
    session: Session,
    series: Sequence[int],
    full_from: int,
    full_to: int,
    lo: int,
    width: int,
    n_buckets: int,
) -> list[_Aggregate]:
    r = ROLLUPS.c
    source = (
        select(ROLLUPS)
        .where(and_(r.series_id.in_(series), r.minute_us >= full_from, r.minute_us < full_to))
        .subquery()
    )
    s = source.c
    columns = {"n": s.n_points, "total": s.total, "low": s.min_value, "high": s.max_value,
               "first_ts": s.first_ts_us, "last_ts": s.last_ts_us, "min_step": s.min_step,
               "max_step": s.max_step}  # fmt: skip
    return _aggregate(session, source, (s.minute_us - lo) * n_buckets // width, columns)


def _merge(parts: list[_Aggregate]) -> list[_Aggregate]:
    """Combine partial aggregates of the same bucket (rollups + edge points)."""
    merged: dict[int, list[Any]] = {}
    for bucket, n, total, low, high, first, last, min_step, max_step in parts:
        a = merged.get(bucket)
        if a is None:
            merged[bucket] = [bucket, n, total, low, high, first, last, min_step, max_step]
            continue
        a[1] += n
        a[2] += total
        a[3], a[4] = min(a[3], low), max(a[4], high)
        a[5], a[6] = min(a[5], first), max(a[6], last)
        steps_min = [s for s in (a[7], min_step) if s is not None]
        steps_max = [s for s in (a[8], max_step) if s is not None]
        a[7] = min(steps_min) if steps_min else None
        a[8] = max(steps_max) if steps_max else None
    return [tuple(merged[b]) for b in sorted(merged)]  # type: ignore[misc]


def trend_buckets(
    session: Session,
    series: Sequence[int],
    *,
    since_us: int | None,
    until_us: int | None,
    last_n: int | None,
    n_buckets: int,
) -> list[TrendBucket]:
    """The window aggregated into at most ``n_buckets`` equal-time buckets, in the database.

    With ``last_n``: the newest ``last_n`` points inside since/until. Without: every point
    inside since/until, read through the rollups where whole minutes allow.
    """
    if last_n:
        window = (
            _points_in(series, since_us, until_us)
            .order_by(POINTS.c.ts_us.desc(), POINTS.c.id.desc())
            .limit(last_n)
            .subquery()
        )
        rows = _raw_buckets(session, window, n_buckets)
    else:
        rows = _range_buckets(session, series, since_us, until_us, n_buckets)
    return [
        TrendBucket(
            start=from_us(first),
            end=from_us(last),
            count=int(n),  # PostgreSQL sums BIGINT into NUMERIC
            mean=float(total) / int(n),
            min=float(low),
            max=float(high),
            first_step=min_step,
            last_step=max_step,
        )
        for _, n, total, low, high, first, last, min_step, max_step in rows
    ]
