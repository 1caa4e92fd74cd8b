"""``srlforge paid-ft``: providers, prepare, estimate, submit, status, cancel, grader, decide.

Every command takes ``--json`` (machine-readable output on stdout and nothing else). ``submit``
refuses a retired model, an unsupported method or an invalid dataset with exit code 2 before
anything is uploaded; a provider error exits 1 with the (secret-free) message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from paid_ft_service import service
from paid_ft_service.errors import BudgetExceeded, DatasetInvalid, NotAvailable, PaidFTError

app = typer.Typer(
    help="Paid fine-tuning: providers, datasets, estimates, jobs.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only.")]
BaseUrl = Annotated[
    str | None, typer.Option("--base-url", help="Send every provider call here (a fake, a proxy).")
]


def _out(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        typer.echo(text if text is not None else json.dumps(data, indent=2, default=str))


def _fail(message: str, code: int, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": message, "exit_code": code}) + "\n")
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _examples(dataset: Path | None, model_type: str | None, expert: int, unit: str, dpo: bool):
    from paid_ft_service.datasets import (
        examples_from_trajectories,
        expert_trajectories,
        read_source,
    )

    if dataset is not None:
        return read_source(dataset, unit, with_rejected=dpo)
    if not model_type or expert <= 0:
        raise typer.BadParameter("give --dataset, or --model-type with --expert N")
    return list(examples_from_trajectories(expert_trajectories(model_type, expert), unit, dpo))


@app.command()
def providers(as_json: JsonOpt = False) -> None:
    """Providers, their methods and models, with availability and shutdown dates."""
    listing = service.list_providers(service.PaidFT())
    if as_json:
        _out(listing, True)
        return
    for p in listing:
        typer.echo(f"{p['provider']} ({p['status']}): {', '.join(p['methods'])}")
        for m in p["models"]:
            mark = "available" if m["available"] else "UNAVAILABLE"
            until = f", shuts down {m['shutdown_date']}" if m["shutdown_date"] else ""
            typer.echo(f"  {m['model']}: {mark}{until} [{', '.join(m['methods'])}]")


@app.command()
def prepare(
    provider: Annotated[str, typer.Option(help="openai|vertex|bedrock|together|anthropic")],
    method: Annotated[str, typer.Option(help="supervised|dpo|reinforcement|prompt_optimization")],
    out: Annotated[Path, typer.Option(help="Folder for train/validation JSONL + report.json")],
    model: Annotated[str, typer.Option(help="Base model (picks the Bedrock row format)")] = "",
    dataset: Annotated[
        Path | None, typer.Option(help="trajectories.jsonl, srl.jsonl or folder")
    ] = None,
    model_type: Annotated[str | None, typer.Option(help="With --expert: arena to solve")] = None,
    expert: Annotated[int, typer.Option(help="Generate N expert trajectories instead")] = 0,
    unit: Annotated[str, typer.Option(help="episode | step (SRL view)")] = "episode",
    validation_fraction: float = 0.2,
    as_json: JsonOpt = False,
) -> None:
    """Convert a dataset to a provider's format and validate it row by row."""
    from paid_ft_service.datasets import to_jsonl

    examples = _examples(dataset, model_type, expert, unit, method == "dpo")
    prepared = service.prepare_dataset(provider, method, model, examples, validation_fraction)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.jsonl").write_bytes(to_jsonl(prepared.train_rows))
    if prepared.validation_rows:
        (out / "validation.jsonl").write_bytes(to_jsonl(prepared.validation_rows))
    report = prepared.report()
    (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    _out(report, as_json, prepared.train_report.summary())
    if not prepared.ok:
        raise typer.Exit(2)


@app.command()
def estimate(
    provider: Annotated[str, typer.Option()],
    model: Annotated[str, typer.Option()],
    method: Annotated[str, typer.Option()],
    training_tokens: Annotated[int, typer.Option(help="Tokens per epoch")],
    epochs: int = 3,
    monthly_requests: int = 0,
    as_json: JsonOpt = False,
) -> None:
    """Training and inference cost from the catalogue (unconfirmed prices are flagged)."""
    try:
        cost = service.estimate(
            service.PaidFT(), provider, model, method, training_tokens, epochs, monthly_requests
        )
    except NotAvailable as exc:
        _fail(str(exc), 2, as_json)
    data = cost.to_dict()
    flag = "" if cost.confirmed else " (UNCONFIRMED prices)"
    _out(
        data,
        as_json,
        f"training ${cost.training_usd:.2f}, inference "
        f"${cost.inference_usd_per_month:.2f}/month{flag}",
    )


@app.command()
def submit(
    provider: Annotated[str, typer.Option()],
    model: Annotated[str, typer.Option()],
    method: Annotated[str, typer.Option()],
    dataset: Annotated[Path, typer.Option(help="trajectories.jsonl, srl.jsonl or dataset folder")],
    model_type: Annotated[str, typer.Option(help="Arena (needed for reinforcement)")] = "",
    unit: str = "episode",
    epochs: int = 3,
    tenant: str = "default",
    idempotency_key: str | None = None,
    base_url: BaseUrl = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate, hold budget, upload and start a job."""
    ctx = service.PaidFT()
    try:
        ctx.catalogue.check_submittable(provider, model, method, ctx.today())
        examples = _examples(dataset, None, 0, unit, method == "dpo")
        request = service.SubmitRequest(
            provider, model, method, examples, model_type=model_type, epochs=epochs
        )
        job = service.submit_job(
            ctx, request, tenant=tenant, idempotency_key=idempotency_key, base_url=base_url
        )
    except (NotAvailable, DatasetInvalid, BudgetExceeded) as exc:
        _fail(str(exc), 2, as_json)
    except PaidFTError as exc:
        _fail(str(exc), 1, as_json)
    _out(job, as_json, f"{job['id']}: {job['status']} ({provider} {job['provider_job_id']})")


@app.command()
def status(
    job_id: Annotated[str | None, typer.Argument(help="Job id; omit to list jobs")] = None,
    refresh: Annotated[bool, typer.Option(help="Poll the provider first")] = False,
    as_json: JsonOpt = False,
) -> None:
    """A job's status, events and tuned model (or every job)."""
    ctx = service.PaidFT()
    try:
        if job_id is None:
            jobs = service.list_jobs(ctx)
            _out(jobs, as_json, "\n".join(f"{j['id']} {j['provider']} {j['status']}" for j in jobs))
            return
        if refresh:
            service.refresh_job(ctx, job_id)
        job = service.get_job(ctx, job_id)
    except PaidFTError as exc:
        _fail(str(exc), 1, as_json)
    _out(job, as_json, f"{job['id']}: {job['status']} tuned_model={job['tuned_model']}")


@app.command()
def cancel(job_id: str, as_json: JsonOpt = False) -> None:
    """Cancel a job at the provider and release its budget hold."""
    try:
        job = service.cancel_job(service.PaidFT(), job_id)
    except PaidFTError as exc:
        _fail(str(exc), 1, as_json)
    _out(job, as_json, f"{job['id']}: {job['status']}")


@app.command()
def grader(
    model_type: Annotated[str, typer.Option()],
    out: Annotated[Path, typer.Option(help="Folder for grader.py, openai_grader.json, lambda.zip")],
    as_json: JsonOpt = False,
) -> None:
    """Write the self-contained grader: OpenAI python/multi grader JSON and a Lambda zip."""
    from paid_ft_service.graders import build_grader_source, lambda_package, openai_rft_grader

    bundle = build_grader_source(model_type)
    out.mkdir(parents=True, exist_ok=True)
    (out / "grader.py").write_text(bundle.source, encoding="utf-8")
    (out / "openai_grader.json").write_text(json.dumps(openai_rft_grader(bundle), indent=2))
    (out / "lambda.zip").write_bytes(lambda_package(bundle))
    _out(bundle.manifest(), as_json, f"grader {bundle.digest[:16]} written to {out}")


def main() -> None:  # pragma: no cover - console entry for running this app alone
    app()
