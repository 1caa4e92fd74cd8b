"""Fake Amazon Bedrock customization API, with the S3 and Lambda routes it relies on.

One server answers the three boto3 clients (bedrock, s3 path-style, lambda). Jobs: InProgress
→ (training data read from the fake S3 at ``START_S``; bad rows → Failed with
``failureMessage``) → Completed at ``RUN_S`` with ``outputModelArn``. Reinforcement jobs run the
Lambda grader package that ``create_function`` stored, with the documented batch event (messages
with the sampled assistant turn appended, plus ``reference_answer``). Errors: rest-json
``{"message"}`` with ``x-amzn-ErrorType``; S3 answers XML.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from .grading import run_lambda_package
from .http import FakeServer, HTTPError, Request, Response

START_S, RUN_S = 10.0, 100.0
ACCOUNT, REGION = "123456789012", "us-east-1"
CODES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
JOB = r"/model-customization-jobs/(?P<jid>[^/]+)"


def problem_in(data: bytes | None, kind: str) -> str | None:
    if data is None:
        return "training data not found in S3"
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            return f"line {n} is not valid JSON"
        messages = row.get("messages")
        if not isinstance(messages, list) or not messages:
            return f"line {n}: 'messages' is required"
        if kind == "REINFORCEMENT_FINE_TUNING" and "reference_answer" not in row:
            return f"line {n}: 'reference_answer' is required for reinforcement fine-tuning"
        if kind == "FINE_TUNING" and messages[-1].get("role") != "assistant":
            return f"line {n}: the last message must be from the assistant"
    return None


class FakeBedrock(FakeServer):
    def __init__(self, key_id: str, models: set[str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.key_ids = {key_id}
        self.expired_key_ids: set[str] = set()
        self.models = models or {"amazon.nova-2-lite-v1:0", "openai.gpt-oss-20b-1:0"}
        self.objects: dict[str, bytes] = {}  # "s3://bucket/key" -> bytes
        self.functions: dict[str, bytes] = {}  # function ARN -> zip package
        self.jobs: dict[str, dict[str, Any]] = {}
        self.rewards: dict[str, list[float]] = {}
        self.policy = lambda row: ""
        self._ids = itertools.count(1)
        self.route("POST", "/model-customization-jobs", self.create)
        self.route("GET", "/model-customization-jobs", self.list)
        self.route("GET", JOB, self.get)
        self.route("POST", JOB + "/stop", self.stop_job)
        self.route("POST", "/2015-03-31/functions", self.create_function)
        self.route("PUT", r"/(?P<bucket>[^/]+)/(?P<key>.+)", self.put_object)
        self.route("GET", r"/(?P<bucket>[^/]+)/(?P<key>.+)", self.get_object)

    # ----- shapes ----------------------------------------------------------------------------

    def _is_s3(self, path: str) -> bool:
        return not path.startswith(("/model-customization-jobs", "/2015-03-31/"))

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        if extra.get("s3"):
            code = extra.get("code", "AccessDenied")
            return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        return {"message": message}

    def error_headers(self, status: int, **extra: Any) -> dict[str, str]:
        if extra.get("s3"):
            return {"content-type": "application/xml"}
        return {"x-amzn-ErrorType": extra.get("code") or CODES.get(status, "ValidationException")}

    def authorize(self, request: Request) -> None:
        match = re.search(r"Credential=([^/]+)/", request.headers.get("authorization", ""))
        key_id = match.group(1) if match else None
        s3 = self._is_s3(request.path)
        if key_id in self.expired_key_ids:
            code = "ExpiredToken" if s3 else "ExpiredTokenException"
            raise HTTPError(
                403, "The security token included in the request is expired", code=code, s3=s3
            )
        if key_id not in self.key_ids:
            code = "InvalidAccessKeyId" if s3 else "UnrecognizedClientException"
            raise HTTPError(
                403, "The security token included in the request is invalid", code=code, s3=s3
            )

    def _iso(self, seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat()

    # ----- S3 and Lambda ---------------------------------------------------------------------

    def put_object(self, request: Request) -> Response:
        uri = f"s3://{request.params['bucket']}/{unquote(request.params['key'])}"
        self.objects[uri] = request.body
        return Response(200, b"", {"ETag": '"fake-etag"'}, content_type="application/xml")

    def get_object(self, request: Request) -> Response:
        uri = f"s3://{request.params['bucket']}/{unquote(request.params['key'])}"
        if uri not in self.objects:
            raise HTTPError(404, "The specified key does not exist.", code="NoSuchKey", s3=True)
        return Response(200, self.objects[uri], content_type="application/octet-stream")

    def create_function(self, request: Request) -> Response:
        body = request.json()
        for key in ("FunctionName", "Role", "Handler", "Code"):
            if not body.get(key):
                raise HTTPError(400, f"{key} is required", code="InvalidParameterValueException")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{body['FunctionName']}"
        self.functions[arn] = base64.b64decode(body["Code"]["ZipFile"])
        return Response(
            201,
            {
                "FunctionName": body["FunctionName"],
                "FunctionArn": arn,
                "Runtime": body.get("Runtime"),
                "Handler": body["Handler"],
                "State": "Active",
            },
        )

    # ----- customization jobs ----------------------------------------------------------------

    def create(self, request: Request) -> Response:
        body = request.json()
        if body.get("baseModelIdentifier") not in self.models:
            raise HTTPError(
                400, f"The provided model identifier is invalid: {body.get('baseModelIdentifier')}"
            )
        kind = body.get("customizationType", "FINE_TUNING")
        if kind == "REINFORCEMENT_FINE_TUNING":
            grader = body.get("customizationConfig", {}).get("rftConfig", {}).get("graderConfig")
            arn = (grader or {}).get("lambdaGrader", {}).get("lambdaArn")
            if not arn:
                raise HTTPError(400, "rftConfig.graderConfig.lambdaGrader.lambdaArn is required")
        jid = f"{next(self._ids):012d}"
        base = body["baseModelIdentifier"]
        arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{base}/{jid}"
        self.jobs[arn] = {
            "jobArn": arn,
            "jobName": body["jobName"],
            "outputModelName": body["customModelName"],
            "roleArn": body["roleArn"],
            "status": "InProgress",
            "creationTime": self._iso(self.clock.now()),
            "baseModelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{base}",
            "customizationType": kind,
            "trainingDataConfig": body["trainingDataConfig"],
            "outputDataConfig": body["outputDataConfig"],
            "customizationConfig": body.get("customizationConfig"),
            "hyperParameters": body.get("hyperParameters", {}),
            "_created": self.clock.now(),
            "_validated": False,
            "_id": jid,
        }
        return Response(201, {"jobArn": arn})

    def _find(self, raw: str) -> str:
        ident = unquote(raw)
        for arn, job in self.jobs.items():
            if ident in (arn, job["jobName"]):
                return arn
        raise HTTPError(404, f"Could not find job {ident}")

    def _advance(self, arn: str) -> None:
        job = self.jobs[arn]
        now, start = self.clock.now(), job["_created"]
        if job["status"] != "InProgress":
            return
        if not job["_validated"] and now >= start + START_S:
            uri = job["trainingDataConfig"]["s3Uri"]
            problem = problem_in(self.objects.get(uri), job["customizationType"])
            if problem:
                job.update(
                    status="Failed",
                    endTime=self._iso(start + START_S),
                    failureMessage=f"Validation of the training data failed: {problem}",
                )
                return
            job["_validated"] = True
        if job["_validated"] and now >= start + RUN_S:
            self._grade(arn)
            job.update(
                status="Completed",
                endTime=self._iso(start + RUN_S),
                outputModelArn=f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{job['_id']}",
                trainingMetrics={"trainingLoss": 0.42},
            )

    def _grade(self, arn: str) -> None:
        job = self.jobs[arn]
        if job["customizationType"] != "REINFORCEMENT_FINE_TUNING":
            return
        lambda_arn = job["customizationConfig"]["rftConfig"]["graderConfig"]["lambdaGrader"][
            "lambdaArn"
        ]
        rows = [
            json.loads(x)
            for x in self.objects[job["trainingDataConfig"]["s3Uri"]].splitlines()
            if x.strip()
        ]
        event = [
            {
                "id": str(i),
                "messages": [*r["messages"], {"role": "assistant", "content": self.policy(r)}],
                "reference_answer": r["reference_answer"],
            }
            for i, r in enumerate(rows)
        ]
        results = run_lambda_package(self.functions[lambda_arn], event)
        self.rewards[arn] = [r["aggregate_reward_score"] for r in results]

    def _view(self, arn: str) -> dict[str, Any]:
        self._advance(arn)
        return {k: v for k, v in self.jobs[arn].items() if not k.startswith("_")}

    def get(self, request: Request) -> Response:
        return Response(200, self._view(self._find(request.params["jid"])))

    def list(self, request: Request) -> Response:
        summaries = [
            {k: self._view(a)[k] for k in ("jobArn", "jobName", "status", "creationTime")}
            for a in self.jobs
        ]
        return Response(200, {"modelCustomizationJobSummaries": summaries})

    def stop_job(self, request: Request) -> Response:
        arn = self._find(request.params["jid"])
        if self._view(arn)["status"] != "InProgress":
            raise HTTPError(400, f"Job {arn} is not in progress")
        self.jobs[arn].update(status="Stopped", endTime=self._iso(self.clock.now()))
        return Response(200, {})
