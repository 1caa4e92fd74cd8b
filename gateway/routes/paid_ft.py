"""``/v1/paid-ft``: paid fine-tuning through the service in ``paid_ft_service`` (embedded).

Providers and their catalogue, dataset preparation with a row-level report, cost estimates,
and jobs (create with ``Idempotency-Key``, list, status, cancel), all scoped to the calling
tenant: another tenant's job id is a 404. The service's functions run in-process on a
``PaidFT`` context kept on the gateway state; domain errors become status codes here.
Provider base URLs come from the service's settings only, never from a request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import Field

from gateway.deps import State, Tenant
from gateway.idempotency import HEADER, idempotent
from gateway.schemas import Strict
from paid_ft_service import service
from paid_ft_service.datasets import Example
from paid_ft_service.errors import (
    BudgetExceeded,
    DatasetInvalid,
    JobNotFound,
    NotAvailable,
    PaidFTError,
    ProviderError,
    RateLimited,
    redact,
)

router = APIRouter(prefix="/paid-ft", tags=["paid-ft"])
_NOT_FOUND = "no such paid fine-tuning job"
_LOCK = threading.Lock()
MAX_EXAMPLES = 20_000


def get_paid_ft(state: State) -> service.PaidFT:
    """The embedded service context (built from ``SRLFORGE_PAID_FT_*`` on first use)."""
    if state.paid_ft is None:
        with _LOCK:
            if state.paid_ft is None:
                state.paid_ft = service.PaidFT()
    return state.paid_ft


PaidFTCtx = Annotated[service.PaidFT, Depends(get_paid_ft)]


class ExampleIn(Strict):
    """One provider-neutral training example (the service's ``Example``)."""

    id: str = Field(min_length=1, max_length=200)
    model_type: str = Field(min_length=1, max_length=100)
    system: str = ""
    prompt: str
    completion: str
    scenario: dict[str, Any] = Field(default_factory=dict)
    grading: str = Field(default="episode", pattern=r"^(episode|step)$")
    history: list[Any] = Field(default_factory=list)
    expert_action: Any = None
    rejected: str | None = Field(default=None, description="A verified-worse answer (DPO).")

    def to_example(self) -> Example:
        return Example(**self.model_dump())


class _Target(Strict):
    provider: str = Field(min_length=1, max_length=50)
    model: str = Field(min_length=1, max_length=200)
    method: str = Field(min_length=1, max_length=50)


class DatasetRequest(_Target):
    examples: list[ExampleIn] = Field(min_length=1, max_length=MAX_EXAMPLES)
    validation_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)


class EstimateRequest(_Target):
    training_tokens: int = Field(ge=0, le=10**12)
    epochs: int = Field(default=3, ge=1, le=100)
    monthly_requests: int = Field(default=0, ge=0)


class PaidJobRequest(_Target):
    examples: list[ExampleIn] = Field(min_length=1, max_length=MAX_EXAMPLES)
    model_type: str = Field(default="", max_length=100)
    epochs: int = Field(default=3, ge=1, le=100)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    suffix: str | None = Field(default=None, max_length=64)
    seed: int | None = None
    validation_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
    monthly_requests: int = Field(default=0, ge=0)


def _tenant(principal: Any) -> str:
    return principal.tenant


@contextmanager
def _domain_errors(ctx: service.PaidFT) -> Iterator[None]:
    """The service's domain errors as HTTP answers; messages scrubbed of every secret."""

    def clean(exc: Exception) -> str:
        return redact(str(exc), ctx.settings.secret_values())

    try:
        yield
    except JobNotFound:
        raise HTTPException(404, detail=_NOT_FOUND) from None
    except DatasetInvalid as exc:
        raise HTTPException(422, detail={"message": clean(exc), "report": exc.report}) from None
    except NotAvailable as exc:
        raise HTTPException(422, detail=clean(exc)) from None
    except BudgetExceeded as exc:
        raise HTTPException(402, detail=clean(exc)) from None
    except RateLimited as exc:
        raise HTTPException(503, detail=clean(exc), headers={"Retry-After": "30"}) from None
    except ProviderError as exc:
        raise HTTPException(502, detail=clean(exc)) from None
    except PaidFTError as exc:
        raise HTTPException(422, detail=clean(exc)) from None
    except (ValueError, KeyError) as exc:
        raise HTTPException(422, detail=clean(exc)) from None


@router.get("/providers")
def list_providers(ctx: PaidFTCtx, principal: Tenant) -> list[dict[str, Any]]:
    """The catalogue: providers, methods, models with availability, dates, prices, sources."""
    return service.list_providers(ctx)


@router.post("/datasets", responses={422: {"description": "Unknown or retired model/method."}})
def prepare_dataset(body: DatasetRequest, ctx: PaidFTCtx, principal: Tenant) -> dict[str, Any]:
    """Convert and validate a dataset for a provider; the report lists each rejected row
    with the rule and the provider document that states it. Nothing is uploaded."""
    with _domain_errors(ctx):
        ctx.catalogue.check_submittable(body.provider, body.model, body.method, ctx.today())
        prepared = service.prepare_dataset(
            body.provider,
            body.method,
            body.model,
            [e.to_example() for e in body.examples],
            body.validation_fraction,
        )
    return prepared.report()


@router.post("/estimates", responses={422: {"description": "Unknown or retired model/method."}})
def estimate(body: EstimateRequest, ctx: PaidFTCtx, principal: Tenant) -> dict[str, Any]:
    """Cost of one job; ``confirmed: false`` until the price was checked against its page."""
    with _domain_errors(ctx):
        cost = service.estimate(
            ctx,
            body.provider,
            body.model,
            body.method,
            body.training_tokens,
            body.epochs,
            body.monthly_requests,
        )
    return cost.to_dict()


@router.post(
    "/jobs",
    status_code=201,
    responses={
        402: {"description": "The estimate does not fit the tenant's remaining budget."},
        422: {"description": "Retired/unknown model or method, or rows break the rules."},
        502: {"description": "The provider refused or failed; the job is recorded as failed."},
    },
)
def create_job(
    body: PaidJobRequest,
    state: State,
    ctx: PaidFTCtx,
    principal: Tenant,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    """Validate, hold budget, upload, create. Refusals happen before any upload; the same
    `Idempotency-Key` again answers the same job."""

    def run() -> tuple[int, dict[str, Any]]:
        request = service.SubmitRequest(
            provider=body.provider,
            model=body.model,
            method=body.method,
            examples=[e.to_example() for e in body.examples],
            model_type=body.model_type,
            epochs=body.epochs,
            hyperparameters=body.hyperparameters,
            suffix=body.suffix,
            seed=body.seed,
            validation_fraction=body.validation_fraction,
            monthly_requests=body.monthly_requests,
        )
        with _domain_errors(ctx):
            job = service.submit_job(
                ctx, request, tenant=_tenant(principal), idempotency_key=idempotency_key
            )
        return 201, job

    return idempotent(
        state.db,
        principal,
        idempotency_key,
        "POST /v1/paid-ft/jobs",
        body.model_dump(mode="json"),
        run,
    )


@router.get("/jobs")
def list_jobs(ctx: PaidFTCtx, principal: Tenant) -> list[dict[str, Any]]:
    """This tenant's paid fine-tuning jobs, newest first."""
    return service.list_jobs(ctx, _tenant(principal))


@router.get("/jobs/{job_id}", responses={404: {"description": _NOT_FOUND}})
def get_job(job_id: str, ctx: PaidFTCtx, principal: Tenant) -> dict[str, Any]:
    """Status, provider events and the budget hold."""
    with _domain_errors(ctx):
        return service.get_job(ctx, job_id, _tenant(principal))


@router.post("/jobs/{job_id}:cancel", responses={404: {"description": _NOT_FOUND}})
def cancel_job(job_id: str, ctx: PaidFTCtx, principal: Tenant) -> dict[str, Any]:
    """Ask the provider to cancel; a job already ended is answered as it is."""
    with _domain_errors(ctx):
        return service.cancel_job(ctx, job_id, _tenant(principal))
