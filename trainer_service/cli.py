"""Typer apps the ``srlforge`` CLI mounts: ``pipeline``, ``train`` and ``bench learning``.

Nothing heavy is imported at module top (torch, TRL and transformers load inside the commands),
so ``srlforge --help`` stays fast. ``--json`` prints only JSON on stdout; progress bars and
summaries go to stderr; bad input exits with code 2 and says how to fix it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)

pipeline_app = typer.Typer(
    help="The main job: generate -> srl -> rlvr -> evaluate -> register, into runs/<run_id>/.",
    invoke_without_command=True,
    add_completion=False,
)
train_app = typer.Typer(
    help="Train one stage or build a base model.", no_args_is_help=True, add_completion=False
)
bench_learning_app = typer.Typer(
    help="Learning benchmark: SFT, RLVR, SRL, SFT->RLVR, SRL->RLVR at an equal step budget.",
    invoke_without_command=True,
    add_completion=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
ModelType = Annotated[str, typer.Option("--model-type", "-t", help="Arena model type.")]
Device = Annotated[str, typer.Option(help="cpu | cuda")]


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _quiet_libraries() -> None:
    """Keep library chatter off stdout/stderr noise (TRL's experimental notices, HF bars)."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def _max_steps(value: str | None) -> dict[str, int] | int | None:
    """``30`` (every stage) or ``srl=30,rlvr=20``."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    out: dict[str, int] = {}
    for part in value.split(","):
        name, _, number = part.partition("=")
        if not number.strip().isdigit():
            fail(f"--max-steps {value!r}: use a number or stage=number pairs like srl=30,rlvr=20")
        out[name.strip()] = int(number)
    return out


def _summary_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"run {report['run_id']} ({report['wall_seconds']} s)")
    for col in ("checkpoint", "split", "success", "outcome", "format", "similarity"):
        table.add_column(col)
    for name, ev in report["eval"].items():
        for split, m in ev["splits"].items():
            table.add_row(
                name,
                split,
                f"{m['success_rate']:.2f}",
                f"{m['mean_outcome_reward']:.2f}",
                f"{m['format_valid_rate']:.2f}",
                f"{ev['step_similarity']:.2f}",
            )
        free = ev.get("unconstrained")
        if free:
            table.add_row(
                name,
                f"{free['split']} (free decoding)",
                f"{free['success_rate']:.2f}",
                f"{free['mean_outcome_reward']:.2f}",
                f"{free['format_valid_rate']:.2f}",
                "",
            )
    return table


@pipeline_app.callback(invoke_without_command=True)
def pipeline(
    species: Annotated[str | None, typer.Option(help="Monster species (personality).")] = None,
    model_type: Annotated[str | None, typer.Option("--model-type", "-t")] = None,
    base_model: Annotated[str | None, typer.Option(help="tiny | small | path | hub id")] = None,
    stages: Annotated[str | None, typer.Option(help="Comma list, e.g. sft,srl,rlvr")] = None,
    n_examples: Annotated[int | None, typer.Option(help="Expert trajectories to generate.")] = None,
    max_steps: Annotated[str | None, typer.Option(help="N, or srl=30,rlvr=20")] = None,
    eval_episodes: Annotated[int | None, typer.Option(help="Held-out episodes/split.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML/JSON file of pipeline fields.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu | cuda")] = None,
    bf16: Annotated[bool | None, typer.Option("--bf16/--no-bf16", help="bf16 (CUDA).")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads.")] = None,
    run_id: Annotated[str | None, typer.Option(help="Re-use to resume a run.")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Folder of run folders.")] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Save every N steps.")] = None,
    curriculum: Annotated[bool | None, typer.Option("--curriculum/--no-curriculum")] = None,
    legal_actions: Annotated[
        bool | None,
        typer.Option(
            "--legal-actions/--free-decoding",
            help="RLVR rollouts and evaluation choose among the arena's legal actions "
            "(default), or decode freely.",
        ),
    ] = None,
    register: Annotated[
        bool | None, typer.Option("--register/--no-register", help="Register in the tracker.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the main job and write runs/<run_id>/report.json, report.md and PNG plots."""
    from pydantic import ValidationError

    _quiet_libraries()
    from trainer_service.pipeline import load_config, run_pipeline

    if config is not None and not config.exists():
        fail(f"--config {config} does not exist")
    try:
        cfg = load_config(
            config,
            species=species,
            model_type=model_type,
            base_model=base_model,
            stages=[s.strip() for s in stages.split(",") if s.strip()] if stages else None,
            n_examples=n_examples,
            max_steps=_max_steps(max_steps),
            eval_episodes=eval_episodes,
            device=device,
            bf16=bf16,
            seed=seed,
            threads=threads,
            run_id=run_id,
            runs_dir=runs_dir,
            checkpoint_every=checkpoint_every,
            curriculum=curriculum,
            legal_actions=legal_actions,
            register_model=register,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        fail(f"bad pipeline config: {problems}")
    except ValueError as exc:
        fail(f"bad pipeline config: {exc}")
    try:
        report = run_pipeline(cfg, progress=True)
    except ValueError as exc:
        fail(str(exc))
    err.print(_summary_table(report))
    err.print(f"report: {Path(cfg.runs_dir or 'runs') / report['run_id'] / 'report.md'}")
    if as_json:
        emit_json({k: v for k, v in report.items() if k != "histories"})


@train_app.command("base")
def train_base(
    model_type: ModelType = "personality",
    preset: Annotated[str, typer.Option(help="tiny | small | medium")] = "tiny",
    seed: int = 0,
    out: Annotated[Path | None, typer.Option(help="Folder (default: the cache).")] = None,
    device: Device = "cpu",
    as_json: JsonFlag = False,
) -> None:
    """Build a preset base model locally (tokenizer + config + format pre-training)."""
    _quiet_libraries()
    from trainer_service.base_models import base_info, build_preset

    try:
        folder = build_preset(model_type, preset, seed=seed, out_dir=out, device=device)
    except ValueError as exc:
        fail(str(exc))
    info = base_info(folder)
    if as_json:
        emit_json({"model_dir": str(folder), **info})
    else:
        err.print(f"base model: {folder} ({info.get('parameters', '?')} parameters)")


def _dataset(dataset: Path | None, model_type: str, species: str | None, n: int, seed: int):
    from trainer_service.data import expert_data

    if dataset is None:
        return expert_data(model_type, n=n, difficulties=[1, 2], species=species, seed=seed)
    from trainer_service.pipeline import PipelineConfig
    from trainer_service.steps import load_dataset

    if not (dataset / "manifest.json").exists():
        fail(f"{dataset} is not a dataset folder (no manifest.json); point at runs/<id>/dataset")
    cfg = PipelineConfig(model_type=model_type, species=species)
    return load_dataset(dataset.parent, cfg)


@train_app.command("stage")
def train_stage(
    stage: Annotated[str, typer.Argument(help="sft | srl | rlvr | dpo")],
    model: Annotated[str, typer.Option(help="Model folder (or tiny/small to build one).")],
    out: Annotated[Path, typer.Option(help="Output folder (checkpoints + final/).")],
    model_type: ModelType = "personality",
    species: Annotated[str | None, typer.Option()] = None,
    dataset: Annotated[Path | None, typer.Option(help="runs/<id>/dataset folder.")] = None,
    n_examples: int = 64,
    max_steps: int = 30,
    checkpoint_every: int = 0,
    seed: int = 0,
    device: Device = "cpu",
    bf16: bool = False,
    as_json: JsonFlag = False,
) -> None:
    """Train one stage from a model folder; resumes from the newest checkpoint in --out."""
    _quiet_libraries()
    from trainer_service.pipeline import PipelineConfig
    from trainer_service.steps import base_model, train_stage

    if stage not in ("sft", "srl", "rlvr", "dpo"):
        fail(f"unknown stage {stage!r}; choose sft, srl, rlvr or dpo")
    try:
        cfg = PipelineConfig(
            model_type=model_type,
            species=species,
            base_model=model,
            n_examples=n_examples,
            max_steps={stage: max_steps},
            checkpoint_every=checkpoint_every,
            seed=seed,
            device=device,
            bf16=bf16,
            stages=[stage],
        )
        data = _dataset(dataset, model_type, species, n_examples, seed)
        start = base_model(cfg)
        out.mkdir(parents=True, exist_ok=True)
        # train_stage writes into <run_dir>/checkpoints/<stage>; --out is that run_dir.
        result = train_stage(stage, cfg, out, start, data, progress=True)
    except ValueError as exc:
        fail(str(exc))
    payload = {k: v for k, v in result.to_dict().items() if k != "history"}
    if as_json:
        emit_json(payload)
    else:
        err.print(f"{stage}: {result.steps} steps in {result.seconds:.1f} s -> {result.model_dir}")


@train_app.command("evaluate")
def train_evaluate(
    model: Annotated[str, typer.Option(help="Model folder.")],
    model_type: ModelType = "personality",
    species: Annotated[str | None, typer.Option()] = None,
    episodes: Annotated[int, typer.Option(help="Held-out episodes per split.")] = 24,
    reference: Annotated[str | None, typer.Option(help="Reference model for KL.")] = None,
    pass_k: int = 0,
    device: Device = "cpu",
    as_json: JsonFlag = False,
) -> None:
    """Greedy held-out evaluation of one model folder."""
    _quiet_libraries()
    from trainer_service.pipeline import PipelineConfig
    from trainer_service.steps import evaluate_checkpoint, heldout_splits, similarity_rows

    if not Path(model).exists():
        fail(f"--model {model} does not exist")
    cfg = PipelineConfig(
        model_type=model_type,
        species=species,
        eval_episodes=episodes,
        pass_k=pass_k,
        device=device,
    )
    result = evaluate_checkpoint(
        cfg, model, reference or model, heldout_splits(cfg), similarity_rows(cfg)
    )
    if as_json:
        emit_json(result)
    else:
        for split, m in result["splits"].items():
            err.print(f"{split}: " + ", ".join(f"{k}={v:.3f}" for k, v in m.items()))


@bench_learning_app.callback(invoke_without_command=True)
def bench_learning(
    model_type: ModelType = "personality",
    species: Annotated[str | None, typer.Option()] = "vampire",
    seeds: Annotated[int, typer.Option(help="Seeds per method.")] = 3,
    budget: Annotated[int, typer.Option(help="Optimizer steps per method.")] = 60,
    methods: Annotated[str | None, typer.Option(help="Comma list of methods.")] = None,
    out: Annotated[Path | None, typer.Option(help="Markdown table file.")] = None,
    device: Device = "cpu",
    as_json: JsonFlag = False,
) -> None:
    """Train every method from the same base at an equal step budget; held-out success."""
    _quiet_libraries()
    from trainer_service.benchmark import METHODS, render_markdown, run_learning_benchmark

    chosen = [m.strip() for m in methods.split(",")] if methods else list(METHODS)
    unknown = [m for m in chosen if m not in METHODS]
    if unknown:
        fail(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    result = run_learning_benchmark(
        model_type=model_type,
        species=species,
        seeds=seeds,
        budget=budget,
        methods=chosen,
        device=device,
    )
    if out is not None:
        out.write_text(render_markdown(result))
        err.print(f"wrote {out}")
    if as_json:
        emit_json(result)
    else:
        err.print(render_markdown(result))
