"""``srlforge generate``: verified expert trajectories for (species, model type, count).

Contract: ``--json`` prints only JSON on stdout — ``{"requested", "kept", "failed",
"duplicates", "dataset", "manifest", …}``; the progress bar and messages go to stderr; bad
input exits with code 2 and says what was wrong and how to fix it. Teacher ``openai`` without a
key is bad input: there is no silent fallback to another teacher.

Mounted in ``srlforge/cli.py`` with ``app.command("generate")(collab_service.cli.generate)``;
standalone: ``python -m collab_service.cli --help``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

err = Console(stderr=True)

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


def _weaknesses(items: list[str], path: Path | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    texts = list(items)
    if path is not None:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            _fail(f"--weaknesses-file {path}: {exc}")
        if not isinstance(loaded, list):
            _fail(f"--weaknesses-file {path}: expected a JSON list of feature objects")
        texts += [json.dumps(w) for w in loaded]
    for text in texts:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            _fail(f"--weakness {text!r} is not JSON ({exc}); e.g. '{{\"difficulty\": 4}}'")
        if not isinstance(value, dict) or not value:
            _fail(f"--weakness {text!r}: expected a non-empty JSON object of features")
        out.append(value)
    return out


@app.command()
def generate(
    model_type: Annotated[
        str, typer.Option("--model-type", "-t", help="Model type (see `srlforge arena list`).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the dataset and manifest.")],
    species: Annotated[
        str | None, typer.Option(help="Monster species (scenarios and lore are for it).")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Verified trajectories wanted.")] = 100,
    teacher: Annotated[str, typer.Option(help="scripted | openai | hf")] = "scripted",
    strategy: Annotated[
        str | None,
        typer.Option(help="synthetic | collaboration | adversarial (default by teacher)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Teacher model id (openai) or folder (hf).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Scenario seed (>= 1,000,000 is held out).")] = 0,
    difficulty: Annotated[
        list[int] | None, typer.Option("--difficulty", "-d", help="Repeatable; default 1-5.")
    ] = None,
    rounds: Annotated[int | None, typer.Option(help="Regeneration rounds (default 3).")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Episodes in flight at once (LLM teachers).")
    ] = None,
    weakness: Annotated[
        list[str] | None,
        typer.Option(help="Adversarial target, JSON features: '{\"difficulty\": 4}'."),
    ] = None,
    weaknesses_file: Annotated[
        Path | None, typer.Option(help="JSON list of adversarial feature objects.")
    ] = None,
    failed_scenario: Annotated[
        list[str] | None, typer.Option(help="Adversarial target: a failed scenario id.")
    ] = None,
    skip_produced: Annotated[
        bool, typer.Option(help="Skip trajectories earlier requests already produced.")
    ] = False,
    request_id: Annotated[str | None, typer.Option(help="Id recorded in the manifest.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Generate verified expert trajectories (lore -> teacher -> verifier) into --out."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from collab_service.config import GenerationConfig
    from collab_service.service import produce
    from collab_service.settings import get_settings
    from collab_service.strategies import ScenarioSearchError
    from srlforge.arena import UnknownModelType
    from srlforge.llm import TeacherConfigError
    from srlforge.rules import RuleFileError

    settings = get_settings()
    options: dict[str, Any] = {
        "model_type": model_type,
        "n": n,
        "species": species,
        "teacher": teacher,
        "strategy": strategy,
        "model": model,
        "seed": seed,
        "rounds": rounds or settings.rounds,
        "concurrency": concurrency or settings.concurrency,
        "near_duplicate_threshold": settings.near_duplicate_threshold,
        "weaknesses": _weaknesses(weakness or [], weaknesses_file),
        "failed_scenario_ids": list(failed_scenario or []),
        "skip_produced": skip_produced,
        "judge": settings.judge,
    }
    if difficulty:
        options["difficulties"] = tuple(difficulty)
    if request_id:
        options["request_id"] = request_id
    try:
        config = GenerationConfig(**options)
    except ValueError as exc:
        _fail(str(exc))

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err)
    task = bar.add_task(f"{model_type} via {teacher}", total=n)

    def on_progress(event) -> None:
        bar.update(
            task,
            completed=min(event.kept, n),
            description=f"round {event.round}: kept {event.kept} failed {event.failed} "
            f"dup {event.duplicates}",
        )

    try:
        with bar:
            summary = produce(config, out, settings, on_progress)
    except (TeacherConfigError, UnknownModelType, RuleFileError, ScenarioSearchError) as exc:
        _fail(str(exc))
    except ValueError as exc:  # e.g. a malformed --failed-scenario id
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        Console().print(
            f"kept {summary['kept']}/{summary['requested']} "
            f"(failed {summary['failed']}, duplicates {summary['duplicates']}) -> {out}"
        )
    if summary["kept"] < n:
        reasons = ", ".join(f"{k}: {v}" for k, v in summary["failure_reasons"].items())
        err.print(
            f"[yellow]short by {n - summary['kept']}[/] after the regeneration rounds"
            + (f"; failures: {reasons}" if reasons else "")
            + f" (details in {summary['manifest']})",
            highlight=False,
        )
    if summary["kept"] == 0:
        # Nothing survived verification; the output above says why. A non-zero exit keeps a
        # script from mistaking an empty dataset for a usable one.
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
