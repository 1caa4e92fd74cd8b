"""Shared pieces of the tracker CLI: options, error exits, JSON or table output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from tracker_service.embedded import EmbeddedTracker
from tracker_service.errors import Conflict, InvalidArgument, NotFound, TrackerError

stdout = Console()
stderr = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL (default: $SRLFORGE_TRACKER_DB_URL or the embedded SQLite file).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
ModelIdOption = Annotated[str, typer.Option("--model-id", help="Registered model id.")]


def fail(exc: TrackerError) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(2 if isinstance(exc, InvalidArgument | NotFound | Conflict) else 1)


@contextmanager
def open_tracker(db: str | None) -> Iterator[EmbeddedTracker]:
    try:
        with EmbeddedTracker(db) as tracker:
            yield tracker
    except TrackerError as exc:
        fail(exc)


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        elif isinstance(data, list):
            data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
        typer.echo(json.dumps(data, indent=2))
    else:
        human()


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    rendered = Table(title=title)
    for column in columns:
        rendered.add_column(column)
    for row in rows:
        rendered.add_row(
            *["" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        )
    stdout.print(rendered)
