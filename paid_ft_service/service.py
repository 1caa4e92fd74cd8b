"""The service's operations as plain functions over a ``PaidFT`` context: what routes, the CLI
and Celery tasks call.

submit: catalogue check (before anything else) → dataset conversion + validation → estimate →
budget hold → upload → create job → persist. refresh: poll the provider, store new events,
send metrics to the tracker, and on a terminal state record the tuned model and commit or
release the hold. Every function returns plain dicts (JSON-ready) and raises domain errors.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from paid_ft_service import crud
from paid_ft_service.catalogue import Catalogue, load_catalogue
from paid_ft_service.costs import CostEstimate, estimate_cost
from paid_ft_service.datasets import Example, split_examples, to_jsonl, to_provider_rows
from paid_ft_service.errors import DatasetInvalid, NotAvailable, ProviderError
from paid_ft_service.jobs import apply_remote, job_view
from paid_ft_service.orm import JobRow, PaidFTDatabase
from paid_ft_service.providers import JobSpec, Provider, ProviderJob
from paid_ft_service.retry import RetryPolicy
from paid_ft_service.settings import PaidFTSettings, get_settings
from paid_ft_service.validation import ValidationReport, validate_rows

ProviderFactory = Callable[[str, str | None], Provider]


@dataclass
class PreparedDataset:
    provider: str
    method: str
    model: str
    train_rows: list[dict[str, Any]]
    validation_rows: list[dict[str, Any]]
    train_report: ValidationReport
    validation_report: ValidationReport | None
    training_tokens: int
    sha256: str

    @property
    def ok(self) -> bool:
        return self.train_report.ok and (
            self.validation_report is None or self.validation_report.ok
        )

    def report(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "method": self.method,
            "model": self.model,
            "ok": self.ok,
            "sha256": self.sha256,
            "training_tokens": self.training_tokens,
            "train": self.train_report.to_dict(),
            "validation": self.validation_report.to_dict() if self.validation_report else None,
        }


@dataclass
class SubmitRequest:
    provider: str
    model: str
    method: str
    examples: list[Example]
    model_type: str = ""
    epochs: int = 3
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    suffix: str | None = None
    seed: int | None = None
    validation_fraction: float = 0.2
    monthly_requests: int = 0
    lambda_arn: str | None = None


class PaidFT:
    """Everything an operation needs: settings, database, catalogue, providers, tracker, clock."""

    def __init__(
        self,
        settings: PaidFTSettings | None = None,
        *,
        db: PaidFTDatabase | None = None,
        catalogue: Catalogue | None = None,
        provider_factory: ProviderFactory | None = None,
        tracker: Any | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or get_settings()
        self.db = db or PaidFTDatabase(self.settings.resolved_db_url())
        self.catalogue = catalogue or load_catalogue(self.settings.catalogue_path)
        self.tracker = tracker
        self.now = now
        self.sleep = sleep
        self._factory = provider_factory

    def today(self) -> date:
        return self.now().date()

    def provider(self, name: str, base_url: str | None = None) -> Provider:
        if self._factory is not None:
            return self._factory(name, base_url)
        from paid_ft_service.provider_config import build_provider

        policy = RetryPolicy(
            self.settings.max_retries, self.settings.backoff_base_s, self.settings.backoff_max_s
        )
        return build_provider(name, self.settings, base_url, retry=policy, sleep=self.sleep)


# ----- read-only operations -------------------------------------------------------------------


def list_providers(ctx: PaidFT) -> list[dict[str, Any]]:
    return ctx.catalogue.listing(ctx.today())


def prepare_dataset(
    provider: str, method: str, model: str, examples: list[Example], validation_fraction: float
) -> PreparedDataset:
    """Convert and validate; the validation split exists only where the method uses one."""
    needs_val = method == "reinforcement" or provider == "anthropic"
    train, val = split_examples(examples, validation_fraction if needs_val else 0.0)
    train_rows = to_provider_rows(train, provider, method, model)
    val_rows = to_provider_rows(val, provider, method, model)
    train_report = validate_rows(train_rows, provider, method, [e.id for e in train])
    val_report = None
    if val_rows:
        val_report = validate_rows(val_rows, provider, method, [e.id for e in val])
        val_report.file_errors = [e for e in val_report.file_errors if "needs at least" not in e]
    if method == "dpo":
        for i, ex in enumerate(train):
            if ex.rejected is None:
                train_report.rejected.append(
                    _rejection(i, "no verified-worse answer for this example", ex.id)
                )
                train_report.accepted -= 1
    digest = hashlib.sha256(to_jsonl(train_rows) + b"\0" + to_jsonl(val_rows)).hexdigest()
    return PreparedDataset(
        provider,
        method,
        model,
        train_rows,
        val_rows,
        train_report,
        val_report,
        train_report.estimated_tokens,
        digest,
    )


def _rejection(index: int, reason: str, row_id: str):
    from paid_ft_service.validation import RowRejection

    return RowRejection(index, reason, "srlforge DPO conversion", row_id)


def estimate(
    ctx: PaidFT,
    provider: str,
    model: str,
    method: str,
    training_tokens: int,
    epochs: int = 3,
    monthly_requests: int = 0,
    optimisation_calls: int = 0,
) -> CostEstimate:
    row = ctx.catalogue.check_submittable(provider, model, method, ctx.today())
    return estimate_cost(
        provider,
        row,
        method,
        training_tokens,
        epochs,
        monthly_requests,
        optimisation_calls=optimisation_calls,
    )


# ----- submit / refresh / cancel --------------------------------------------------------------


def submit_job(
    ctx: PaidFT,
    request: SubmitRequest,
    *,
    tenant: str = "default",
    idempotency_key: str | None = None,
    base_url: str | None = None,
) -> dict[str, Any]:
    """Validate, hold budget, upload, create. Refusals happen before any upload."""
    ctx.catalogue.check_submittable(request.provider, request.model, request.method, ctx.today())
    _check_grader_config(ctx, request)
    prepared = prepare_dataset(
        request.provider,
        request.method,
        request.model,
        request.examples,
        request.validation_fraction,
    )
    if not prepared.ok:
        raise DatasetInvalid(
            "the dataset breaks the provider's rules:\n" + prepared.train_report.summary(),
            prepared.report(),
        )
    calls = 0
    if request.method == "prompt_optimization":
        from paid_ft_service.providers.anthropic import SHOT_COUNTS, SYSTEM_VARIANTS

        calls = len(prepared.validation_rows) * len(SHOT_COUNTS) * len(SYSTEM_VARIANTS)
    cost = estimate(
        ctx,
        request.provider,
        request.model,
        request.method,
        prepared.training_tokens,
        request.epochs,
        request.monthly_requests,
        calls,
    )
    with ctx.db.session() as session, session.begin():
        if idempotency_key:
            existing = crud.find_by_idempotency_key(session, tenant, idempotency_key)
            if existing is not None:
                same = (existing.dataset_sha256, existing.provider, existing.model) == (
                    prepared.sha256,
                    request.provider,
                    request.model,
                )
                if not same:
                    raise ValueError(
                        f"Idempotency-Key '{idempotency_key}' was used for a different request"
                    )
                return job_view(existing)
        job = JobRow(
            tenant=tenant,
            idempotency_key=idempotency_key,
            provider=request.provider,
            model=request.model,
            method=request.method,
            model_type=request.model_type,
            status="submitting",
            estimate_usd=cost.training_usd,
            price_confirmed=cost.confirmed,
            dataset_sha256=prepared.sha256,
            training_tokens=prepared.training_tokens,
            config={
                "epochs": request.epochs,
                "hyperparameters": request.hyperparameters,
                "suffix": request.suffix,
                "seed": request.seed,
                "estimate": cost.to_dict(),
                "base_url": base_url,
                "dataset": prepared.report(),
            },
        )
        session.add(job)
        session.flush()
        crud.hold(session, tenant, job.id, cost.training_usd, ctx.settings.default_budget_usd)
        job_id = job.id
    try:
        provider = ctx.provider(request.provider, base_url)
        created = _upload_and_create(ctx, provider, request, prepared, job_id)
    except (ProviderError, NotAvailable, ValueError) as exc:
        with ctx.db.session() as session, session.begin():
            job = crud.get_job(session, job_id)
            job.status, job.error, job.finished_at = "failed", str(exc), ctx.now()
            crud.release_hold(session, job_id)
        raise
    with ctx.db.session() as session, session.begin():
        job = crud.get_job(session, job_id)
        job.provider_job_id = created.job_id
        apply_remote(session, job, created, ctx.now())
        job.next_poll_at = ctx.now() + timedelta(seconds=ctx.settings.monitor_interval_s)
        return job_view(job)


def _check_grader_config(ctx: PaidFT, request: SubmitRequest) -> None:
    """Refuse, before any upload, a reinforcement job whose grader cannot be set up."""
    if request.method != "reinforcement":
        return
    if not request.model_type:
        raise NotAvailable("a reinforcement job needs --model-type: the grader is its verifier")
    if request.provider == "bedrock" and not (
        request.lambda_arn
        or ctx.settings.bedrock_grader_lambda_arn
        or ctx.settings.bedrock_lambda_role_arn
    ):
        raise NotAvailable(
            "Bedrock RFT needs a Lambda grader: set SRLFORGE_PAID_FT_BEDROCK_GRADER_LAMBDA_ARN, "
            "or SRLFORGE_PAID_FT_BEDROCK_LAMBDA_ROLE_ARN to let the service deploy one"
        )


def _bedrock_grader_arn(ctx: PaidFT, provider: Provider, request: SubmitRequest) -> str:
    from paid_ft_service.graders import build_grader_source, lambda_package

    arn = request.lambda_arn or ctx.settings.bedrock_grader_lambda_arn
    if arn:
        return arn
    bundle = build_grader_source(request.model_type)
    return provider.deploy_grader(
        lambda_package(bundle),
        f"srlforge-grader-{request.model_type}-{bundle.digest[:12]}",
        ctx.settings.bedrock_lambda_role_arn or "",
        ctx.settings.bedrock_lambda_layers,
    )


def _upload_and_create(
    ctx: PaidFT, provider: Provider, request: SubmitRequest, prepared: PreparedDataset, job_id: str
) -> ProviderJob:
    stem = f"srlforge-{request.model_type or 'data'}-{prepared.sha256[:12]}"
    training_file = provider.upload_dataset(to_jsonl(prepared.train_rows), f"{stem}-train.jsonl")
    validation_file = None
    if prepared.validation_rows:
        validation_file = provider.upload_dataset(
            to_jsonl(prepared.validation_rows), f"{stem}-validation.jsonl"
        )
    hyper = {"n_epochs": request.epochs, **request.hyperparameters}
    spec = JobSpec(
        model=request.model,
        method=request.method,
        training_file=training_file,
        validation_file=validation_file,
        model_type=request.model_type,
        suffix=request.suffix,
        seed=request.seed,
        hyperparameters=hyper,
        metadata={"srlforge_job_id": job_id},
        lambda_arn=request.lambda_arn or ctx.settings.bedrock_grader_lambda_arn,
        reward_uri=f"{ctx.settings.reward_endpoint_base.rstrip('/')}/v1/rewards/"
        f"{request.model_type}",
    )
    if request.method == "reinforcement" and request.provider == "bedrock":
        spec.lambda_arn = _bedrock_grader_arn(ctx, provider, request)
    if request.method == "reinforcement" and request.provider == "openai":
        from paid_ft_service.graders import build_grader_source, openai_rft_grader

        spec.grader = openai_rft_grader(build_grader_source(request.model_type))
    return provider.create_job(spec)


def cancel_job(ctx: PaidFT, job_id: str, tenant: str | None = None) -> dict[str, Any]:
    with ctx.db.session() as session, session.begin():
        job = crud.get_job(session, job_id, tenant)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job_view(job)
        provider = ctx.provider(job.provider, job.config.get("base_url"))
        remote = provider.cancel_job(job.provider_job_id)
        apply_remote(session, job, remote, ctx.now())
        return job_view(job)


def get_job(ctx: PaidFT, job_id: str, tenant: str | None = None) -> dict[str, Any]:
    with ctx.db.session() as session:
        job = crud.get_job(session, job_id, tenant)
        view = job_view(job)
        view["events"] = [
            {
                "id": e.provider_event_id,
                "type": e.type,
                "level": e.level,
                "message": e.message,
                "data": e.data,
                "created_at": e.created_at.isoformat() if e.created_at else None,
            }
            for e in crud.job_events(session, job_id)
        ]
        view["budget_hold"] = crud.hold_state(session, job_id)
        return view


def list_jobs(ctx: PaidFT, tenant: str | None = None) -> list[dict[str, Any]]:
    with ctx.db.session() as session:
        return [job_view(j) for j in crud.list_jobs(session, tenant)]


# The monitor's operations live in ``monitor``; re-exported so callers use one module.
from paid_ft_service.monitor import monitor_due, refresh_job  # noqa: E402

__all__ = [
    "PaidFT",
    "PreparedDataset",
    "SubmitRequest",
    "cancel_job",
    "estimate",
    "get_job",
    "list_jobs",
    "list_providers",
    "monitor_due",
    "prepare_dataset",
    "refresh_job",
    "submit_job",
]
