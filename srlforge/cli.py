"""The ``srlforge`` command line.

Contract: every command has ``--help``; ``--json`` prints machine-readable output on stdout and
nothing else (progress and messages go to stderr); bad input exits with code 2 and a message
that says what was wrong and how to fix it.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import gateway.cli
from collab_service.cli import generate as collab_generate
from paid_ft_service.cli import app as paid_ft_app
from tracker_service.cli import app as tracker_app
from trainer_service.cli import bench_learning_app, pipeline_app, train_app

app = typer.Typer(
    help="srlforge: train small game-AI models with SRL -> RLVR on verifiable rewards.",
    no_args_is_help=True,
    add_completion=False,
)
arena_app = typer.Typer(
    help="Verifiable environments: sample, solve, verify, check.", no_args_is_help=True
)
schema_app = typer.Typer(help="JSON Schemas of the data contracts.", no_args_is_help=True)
app.add_typer(arena_app, name="arena")
app.add_typer(schema_app, name="schema")
app.add_typer(tracker_app, name="tracker")
app.command("generate")(collab_generate)
app.add_typer(paid_ft_app, name="paid-ft")
app.command("serve")(gateway.cli.serve)
app.add_typer(gateway.cli.keys_app, name="keys")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(train_app, name="train")
bench_app = typer.Typer(help="Benchmarks that train (CPU by default).", no_args_is_help=True)
bench_app.add_typer(bench_learning_app, name="learning")
app.add_typer(bench_app, name="bench")

err = Console(stderr=True)

ModelType = Annotated[
    str, typer.Option("--model-type", "-t", help="Model type (see `arena list`).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
Seed = Annotated[
    int, typer.Option(help="Scenario seed; seeds >= 1,000,000 are the held-out split.")
]
Index = Annotated[int, typer.Option(help="Scenario index within the seed.")]
Difficulty = Annotated[int, typer.Option(help="Difficulty 1 (easy) to 5 (hard).")]


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _arena(model_type: str):
    from srlforge.arena import UnknownModelType, get_arena
    from srlforge.rules import RuleFileError

    try:
        return get_arena(model_type)
    except (UnknownModelType, RuleFileError) as exc:
        fail(str(exc))


def _scenario(model_type: str, seed: int, index: int, difficulty: int):
    arena = _arena(model_type)
    try:
        return arena, arena.sample(seed, index, difficulty)
    except ValueError as exc:
        fail(str(exc))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


@arena_app.command("list")
def arena_list(as_json: JsonFlag = False) -> None:
    """List model types with their rules version and difficulty levels."""
    from srlforge.arena import DIFFICULTIES, model_types

    rows = [
        {
            "model_type": t,
            "rules_version": _arena(t).rules_version,
            "difficulties": list(DIFFICULTIES),
        }
        for t in model_types()
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("model type", "rules version", "difficulties")
    for r in rows:
        table.add_row(r["model_type"], r["rules_version"], ", ".join(map(str, r["difficulties"])))
    Console().print(table)


@arena_app.command("sample")
def arena_sample(
    model_type: ModelType,
    seed: Seed = 0,
    index: Index = 0,
    difficulty: Difficulty = 1,
    as_json: JsonFlag = False,
) -> None:
    """Generate one scenario deterministically from (seed, index, difficulty)."""
    _, scenario = _scenario(model_type, seed, index, difficulty)
    if as_json:
        emit_json(scenario.model_dump(mode="json"))
        return
    Console().print_json(scenario.model_dump_json())


@arena_app.command("solve")
def arena_solve(
    model_type: ModelType,
    seed: Seed = 0,
    index: Index = 0,
    difficulty: Difficulty = 1,
    as_json: JsonFlag = False,
) -> None:
    """The expert trajectory for one scenario, verified."""
    arena, scenario = _scenario(model_type, seed, index, difficulty)
    trajectory = arena.expert_trajectory(scenario)
    if as_json:
        emit_json(trajectory.model_dump(mode="json"))
        return
    out = Console()
    out.print(f"[bold]{scenario.id}[/] — {scenario.objective}")
    for i, step in enumerate(trajectory.steps):
        out.print(f"[cyan]{i + 1}.[/] {step.think}")
        out.print(f"   {json.dumps(step.action, sort_keys=True)}", highlight=False)
    outcome = trajectory.outcome
    out.print(f"success={outcome.success} outcome_reward={outcome.outcome_reward:.3f}")


@arena_app.command("verify")
def arena_verify(
    model_type: ModelType,
    input_file: Annotated[
        Path,
        typer.Option(
            "--input", "-i", help='JSON file: {"scenario": …, "steps": [{"think", "action"}…]}'
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Verify a submitted episode step by step and as a whole."""
    from srlforge.schema import Scenario

    arena = _arena(model_type)
    try:
        payload = json.loads(input_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"--input {input_file}: no such file")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"--input {input_file}: not valid JSON ({exc})")
    if not isinstance(payload, dict) or not {"scenario", "steps"} <= payload.keys():
        fail(f'--input {input_file}: expected an object with keys "scenario" and "steps"')
    try:
        scenario = Scenario.model_validate(payload["scenario"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"--input {input_file}: scenario.{where}: {first['msg']} (use `arena sample --json`)")
    if scenario.model_type != model_type:
        fail(f"--model-type {model_type} but the scenario is a '{scenario.model_type}' scenario")
    steps = payload["steps"]
    if not isinstance(steps, list):
        fail(f"--input {input_file}: 'steps' must be a list of {{think, action}} objects")
    replay = arena.replay(scenario, steps)
    episode = arena.verify_episode(scenario, steps)
    result = {
        "steps": [v.model_dump(mode="json") for v in replay.verdicts],
        "episode": episode.model_dump(mode="json"),
    }
    if as_json:
        emit_json(result)
        return
    out = Console()
    for v in replay.verdicts:
        mark = "[green]ok[/]" if v.format_valid and not v.hard_violation else "[red]x[/]"
        out.print(
            f"{mark} step {v.step_index + 1}: compliance={v.rule_compliance:.2f} {v.feedback}"
        )
    out.print(f"success={episode.success} outcome_reward={episode.outcome_reward:.3f}")


@arena_app.command("check")
def arena_check(
    model_type: Annotated[
        str, typer.Option("--model-type", "-t", help="A model type, or 'all'.")
    ] = "all",
    n: Annotated[int, typer.Option("--n", min=1, help="Scenarios per difficulty level.")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """Expert success, random-policy success, reward-hacking ceiling and verify speed."""
    from srlforge.arena import model_types
    from srlforge.arena.check import check_arena

    types = model_types() if model_type == "all" else [model_type]
    arenas = [_arena(t) for t in types]
    reports = []
    with _progress() as progress:
        for arena in arenas:
            task = progress.add_task(f"check {arena.model_type}", total=n * 5)
            reports.append(
                check_arena(arena, n, on_progress=lambda k, task=task: progress.advance(task, k))
            )
    if as_json:
        emit_json([r.to_dict() for r in reports])
        return
    table = Table(
        "model type", "expert ok", "random ok", "constant ok", "max hack reward", "verify/s"
    )
    for r in reports:
        table.add_row(
            r.model_type,
            f"{r.expert_success_rate:.1%}",
            f"{r.random_success_rate:.1%}",
            f"{r.constant_action_success_rate:.1%}",
            f"{r.hack_max_outcome_reward:.2f}",
            f"{r.verify_steps_per_s:,.0f}",
        )
    Console().print(table)
    for r in reports:
        for line in r.failures:
            err.print(f"[yellow]{r.model_type}:[/] {line}", highlight=False, soft_wrap=True)


@arena_app.command("demo")
def arena_demo(
    species: Annotated[
        str, typer.Option(help="Monster species for the personality encounter.")
    ] = "vampire",
    difficulty: Difficulty = 3,
    seed: Seed = 0,
) -> None:
    """One personality encounter: the expert plan, a random policy and the hacks, verified."""
    from srlforge.arena.check import random_episode
    from srlforge.arena.hacks import run_hacks

    arena = _arena("personality")
    scenario = next(
        (s for i in range(500) if (s := arena.sample(seed, i, difficulty)).species == species), None
    )
    if scenario is None:
        known = sorted({arena.sample(seed, i, difficulty).species for i in range(50)})
        fail(f"--species {species}: no such species in the rules; known: {', '.join(known)}")
    out = Console()
    out.rule(f"[bold]{scenario.id}[/] {species}, difficulty {difficulty}")
    out.print(scenario.objective)
    trajectory = arena.expert_trajectory(scenario)
    for i, step in enumerate(trajectory.steps):
        out.print(f"[cyan]{i + 1}.[/] {step.think}")
        out.print(f"   [dim]{json.dumps(step.action, sort_keys=True)}[/]", highlight=False)
    expert = trajectory.outcome
    rnd = arena.verify_episode(scenario, random_episode(arena, scenario, random.Random(seed)))
    table = Table("policy", "success", "outcome reward", "violations")
    table.add_row(
        "expert (search)",
        str(expert.success),
        f"{expert.outcome_reward:.2f}",
        str(len(expert.violations)),
    )
    table.add_row("random", str(rnd.success), f"{rnd.outcome_reward:.2f}", str(len(rnd.violations)))
    for hack in run_hacks(arena, scenario, trajectory.steps):
        table.add_row(
            f"hack: {hack.probe}",
            f"{hack.successes}/{hack.attempts}",
            f"{hack.max_outcome_reward:.2f}",
            "",
        )
    out.print(table)


@schema_app.command("export")
def schema_export(
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write one <Name>.json per model here.")
    ] = None,
) -> None:
    """Print (or write) the JSON Schemas of Scenario, Step, Trajectory, verdicts and LoreBundle."""
    from srlforge.schema import json_schemas

    schemas = json_schemas()
    if out_dir is None:
        emit_json(schemas)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (out_dir / f"{name}.json").write_text(json.dumps(schema, indent=2) + "\n")
    err.print(f"wrote {len(schemas)} schemas to {out_dir}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
