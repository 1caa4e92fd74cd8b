"""Amazon Bedrock model customization jobs through ``boto3`` (bedrock, s3, lambda clients).

FINE_TUNING for supervised data, REINFORCEMENT_FINE_TUNING with a Lambda grader built from our
verifier (``graders.lambda_package``; ``deploy_grader`` creates the function). Datasets go to S3.
botocore's own retries are off (``total_max_attempts=1``); the service's policy retries
throttling and 5xx. Bedrock has no event stream: events are derived from status changes and
``trainingMetrics``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paid_ft_service.errors import AuthFailed, ProviderRejected, ProviderUnavailable, RateLimited
from paid_ft_service.providers.base import JobSpec, Provider, ProviderEvent, ProviderJob

STATUS = {
    "InProgress": "running",
    "Stopping": "running",
    "Completed": "succeeded",
    "Failed": "failed",
    "Stopped": "cancelled",
}
CUSTOMIZATION = {"supervised": "FINE_TUNING", "reinforcement": "REINFORCEMENT_FINE_TUNING"}
AUTH_CODES = {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "ExpiredToken",
}
THROTTLE_CODES = {"ThrottlingException", "TooManyRequestsException", "SlowDown"}
# RFT hyperparameters Bedrock accepts (botocore's RFTHyperParameters shape).
RFT_HYPER = {
    "n_epochs": "epochCount",
    "batch_size": "batchSize",
    "learning_rate": "learningRate",
    "samples_per_prompt": "trainingSamplePerPrompt",
    "max_prompt_length": "maxPromptLength",
    "inference_max_tokens": "inferenceMaxTokens",
    "reasoning_effort": "reasoningEffort",
    "eval_interval": "evalInterval",
}


class BedrockProvider(Provider):
    name = "bedrock"

    def __init__(
        self,
        *,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        bucket: str,
        role_arn: str,
        endpoint_url: str | None = None,
        s3_endpoint_url: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(secrets=[access_key_id, secret_access_key, *kw.pop("secrets", [])], **kw)
        if not bucket or not role_arn:
            raise ValueError("Bedrock needs SRLFORGE_PAID_FT_BEDROCK_BUCKET and _ROLE_ARN")
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self.bedrock = session.client("bedrock", endpoint_url=endpoint_url, config=config)
        self.s3 = session.client("s3", endpoint_url=s3_endpoint_url, config=config)
        self.lambdas = session.client("lambda", endpoint_url=endpoint_url, config=config)
        self.bucket, self.role_arn = bucket, role_arn

    def upload_dataset(self, data: bytes, filename: str) -> str:
        key = f"srlforge/{filename}"
        self._call(lambda: self.s3.put_object(Bucket=self.bucket, Key=key, Body=data), "upload")
        return f"s3://{self.bucket}/{key}"

    def deploy_grader(
        self, package: bytes, function_name: str, role_arn: str, layers: list[str] | None = None
    ) -> str:
        """Create the Lambda grader function; returns its ARN.

        The package carries only srlforge's modules; pydantic must come from a layer
        (``layers``), as Lambda's Python runtime does not ship it.
        """
        created = self._call(
            lambda: self.lambdas.create_function(
                FunctionName=function_name,
                Runtime="python3.12",
                Role=role_arn,
                Handler="lambda_function.lambda_handler",
                Code={"ZipFile": package},
                Timeout=900,
                MemorySize=1024,
                Layers=layers or [],
            ),
            "deploy grader",
        )
        return created["FunctionArn"]

    def create_job(self, spec: JobSpec) -> ProviderJob:
        kind = CUSTOMIZATION.get(spec.method)
        if kind is None:
            raise ValueError(f"Bedrock has no customization type for method '{spec.method}'")
        name = f"srlforge-{spec.model_type or 'job'}-{spec.metadata.get('srlforge_job_id', '')}"
        request: dict[str, Any] = {
            "jobName": name[:63],
            "customModelName": (spec.suffix or name)[:63],
            "roleArn": self.role_arn,
            "baseModelIdentifier": spec.model,
            "customizationType": kind,
            "trainingDataConfig": {"s3Uri": spec.training_file},
            "outputDataConfig": {"s3Uri": f"s3://{self.bucket}/srlforge/output/"},
        }
        if spec.validation_file:
            request["validationDataConfig"] = {"validators": [{"s3Uri": spec.validation_file}]}
        if kind == "REINFORCEMENT_FINE_TUNING":
            if not spec.lambda_arn:
                raise ValueError("Bedrock RFT needs a deployed Lambda grader ARN")
            hyper = {RFT_HYPER[k]: v for k, v in spec.hyperparameters.items() if k in RFT_HYPER}
            request["customizationConfig"] = {
                "rftConfig": {
                    "graderConfig": {"lambdaGrader": {"lambdaArn": spec.lambda_arn}},
                    "hyperParameters": hyper,
                }
            }
        else:
            hyper = {"epochCount": str(spec.hyperparameters.get("n_epochs", 2))}
            for ours, theirs in (("batch_size", "batchSize"), ("learning_rate", "learningRate")):
                if ours in spec.hyperparameters:
                    hyper[theirs] = str(spec.hyperparameters[ours])
            request["hyperParameters"] = hyper
        created = self._call(
            lambda: self.bedrock.create_model_customization_job(**request), "create job"
        )
        return self.get_job(created["jobArn"])

    def get_job(self, job_id: str) -> ProviderJob:
        job = self._call(
            lambda: self.bedrock.get_model_customization_job(jobIdentifier=job_id), "get"
        )
        status = job.get("status", "InProgress")
        failure = job.get("failureMessage")
        return ProviderJob(
            provider=self.name,
            job_id=job["jobArn"],
            status=STATUS.get(status, "running"),
            raw_status=status,
            model=job.get("baseModelArn", ""),
            tuned_model=job.get("outputModelArn") if status == "Completed" else None,
            error=self._clean(failure) if failure else None,
            created_at=_dt(job.get("creationTime")),
            finished_at=_dt(job.get("endTime")),
            result={"training_metrics": job.get("trainingMetrics") or {}},
        )

    def cancel_job(self, job_id: str) -> ProviderJob:
        self._call(
            lambda: self.bedrock.stop_model_customization_job(jobIdentifier=job_id), "cancel"
        )
        return self.get_job(job_id)

    def list_events(self, job_id: str, after: str | None = None) -> list[ProviderEvent]:
        job = self.get_job(job_id)
        event_id = f"{job_id}:{job.raw_status}"
        if after == event_id:
            return []
        events = []
        loss = job.result.get("training_metrics", {}).get("trainingLoss")
        if loss is not None:
            events.append(
                ProviderEvent(
                    f"{event_id}:metrics",
                    job.finished_at,
                    "info",
                    "metrics",
                    "training metrics",
                    {"train_loss": loss},
                )
            )
        level = "error" if job.status == "failed" else "info"
        message = f"status {job.raw_status}" + (f": {job.error}" if job.error else "")
        events.append(ProviderEvent(event_id, job.finished_at, level, "message", message))
        return events

    def _translate(self, exc: Exception) -> Exception:
        from botocore.exceptions import ClientError, EndpointConnectionError

        if isinstance(exc, EndpointConnectionError):
            return ProviderUnavailable(self.name, self._clean(str(exc)))
        if not isinstance(exc, ClientError):
            return exc
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = self._clean(f"HTTP {status} {code}: {error.get('Message', '')}")
        if code in AUTH_CODES or status in (401, 403):
            return AuthFailed(self.name, message, status=status)
        if code in THROTTLE_CODES or status == 429:
            return RateLimited(self.name, message, status=status, retry_after=None)
        if status >= 500:
            return ProviderUnavailable(self.name, message, status=status)
        return ProviderRejected(self.name, message, status=status)


def _dt(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None
