"""Fake Vertex AI tuning API (v1 and v1beta1) plus the Cloud Storage simple-upload route.

Job states (clock seconds after creation): JOB_STATE_PENDING → RUNNING (at ``START_S``, once
the dataset validated) → SUCCEEDED (``RUN_S``) with a tuned model and endpoint. A missing or
malformed dataset fails the job with ``error{code: 3, message}`` (INVALID_ARGUMENT), as the
service does after accepting the request. Errors are ``{"error": {code, message, status}}``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from .http import FakeServer, HTTPError, Request, Response, bearer

START_S, RUN_S = 15.0, 150.0
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
JOBS = r"/(?P<ver>v1|v1beta1)/projects/(?P<p>[^/]+)/locations/(?P<loc>[^/]+)/tuningJobs"


def problem_in(data: bytes | None, kind: str) -> str | None:
    if data is None:
        return "training dataset not found"
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            return f"line {n}: not JSON"
        contents = row.get("contents")
        if not isinstance(contents, list) or not contents:
            return f"line {n}: 'contents' is required"
        if any(c.get("role") not in ("user", "model") for c in contents):
            return f"line {n}: role must be 'user' or 'model'"
        if kind == "supervised" and contents[-1]["role"] != "model":
            return f"line {n}: the last turn must be from 'model'"
        if kind == "reinforcement" and "references" not in row:
            return f"line {n}: reinforcement rows need 'references'"
    return None


class FakeVertex(FakeServer):
    def __init__(self, token: str, models: set[str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens = {token}
        self.expired_tokens: set[str] = set()
        self.models = models or {"gemini-2.5-flash", "gemini-2.5-flash-lite"}
        self.objects: dict[str, bytes] = {}  # "gs://bucket/name" -> bytes
        self.jobs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1000)
        self.route("POST", r"/upload/storage/v1/b/(?P<bucket>[^/]+)/o", self.upload)
        self.route("POST", JOBS, self.create)
        self.route("GET", JOBS, self.list)
        self.route("GET", JOBS + r"/(?P<jid>[0-9]+)", self.get)
        self.route("POST", JOBS + r"/(?P<jid>[0-9]+):cancel", self.cancel)

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        return {
            "error": {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}
        }

    def authorize(self, request: Request) -> None:
        token = bearer(request)
        if token in self.expired_tokens:
            raise HTTPError(401, f"Request had invalid authentication credentials: {token}")
        if token not in self.tokens:
            raise HTTPError(401, "Request is missing required authentication credential.")

    def _iso(self, seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")

    def upload(self, request: Request) -> Response:
        if request.q("uploadType") != "media" or not request.q("name"):
            raise HTTPError(400, "uploadType=media and name are required")
        uri = f"gs://{request.params['bucket']}/{request.q('name')}"
        self.objects[uri] = request.body
        return Response(
            200,
            {
                "kind": "storage#object",
                "bucket": request.params["bucket"],
                "name": request.q("name"),
                "size": str(len(request.body)),
            },
        )

    def create(self, request: Request) -> Response:
        body = request.json()
        if body.get("baseModel") not in self.models:
            raise HTTPError(400, f"Base model {body.get('baseModel')} is not supported for tuning")
        specs = [
            k
            for k in (
                "supervisedTuningSpec",
                "preferenceOptimizationSpec",
                "reinforcementTuningSpec",
            )
            if k in body
        ]
        if len(specs) != 1:
            raise HTTPError(400, "exactly one tuning spec is required")
        spec_key = specs[0]
        if spec_key == "reinforcementTuningSpec":
            if request.params["ver"] != "v1beta1":
                raise HTTPError(400, "reinforcement tuning is available on v1beta1 only")
            reward = body[spec_key].get("singleRewardConfig") or {}
            scorer = reward.get("cloudRunRewardScorer") or {}
            # The SDK sends this field in snake_case; the service accepts both spellings.
            if not (scorer.get("cloudRunUri") or scorer.get("cloud_run_uri")):
                raise HTTPError(400, "a reward config (e.g. cloudRunRewardScorer) is required")
        jid = str(next(self._ids))
        p, loc = request.params["p"], request.params["loc"]
        self.jobs[jid] = {
            "name": f"projects/{p}/locations/{loc}/tuningJobs/{jid}",
            "baseModel": body["baseModel"],
            "state": "JOB_STATE_PENDING",
            "createTime": self._iso(self.clock.now()),
            spec_key: body[spec_key],
            "tunedModelDisplayName": body.get("tunedModelDisplayName", ""),
            "_created": self.clock.now(),
            "_kind": {
                "supervisedTuningSpec": "supervised",
                "preferenceOptimizationSpec": "dpo",
                "reinforcementTuningSpec": "reinforcement",
            }[spec_key],
            "_spec": spec_key,
        }
        return Response(200, self._view(jid))

    def _advance(self, jid: str) -> None:
        job = self.jobs[jid]
        now, start = self.clock.now(), job["_created"]
        if job["state"] == "JOB_STATE_PENDING" and now >= start + START_S:
            uri = job[job["_spec"]]["trainingDatasetUri"]
            problem = problem_in(self.objects.get(uri), job["_kind"])
            if problem:
                job.update(
                    state="JOB_STATE_FAILED",
                    endTime=self._iso(start + START_S),
                    error={"code": 3, "message": f"Dataset validation failed: {problem}"},
                )
                return
            job.update(state="JOB_STATE_RUNNING", startTime=self._iso(start + START_S))
        if job["state"] == "JOB_STATE_RUNNING" and now >= start + RUN_S:
            name = job["name"].rsplit("/tuningJobs/", 1)[0]
            job.update(
                state="JOB_STATE_SUCCEEDED",
                endTime=self._iso(start + RUN_S),
                tunedModel={
                    "model": f"{name}/models/{jid}@1",
                    "endpoint": f"{name}/endpoints/{jid}",
                },
            )

    def _view(self, jid: str) -> dict[str, Any]:
        if jid not in self.jobs:
            raise HTTPError(404, f"TuningJob {jid} not found")
        self._advance(jid)
        return {k: v for k, v in self.jobs[jid].items() if not k.startswith("_")}

    def get(self, request: Request) -> Response:
        return Response(200, self._view(request.params["jid"]))

    def list(self, request: Request) -> Response:
        return Response(200, {"tuningJobs": [self._view(j) for j in self.jobs]})

    def cancel(self, request: Request) -> Response:
        jid = request.params["jid"]
        job = self._view(jid)
        if job["state"] in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
            raise HTTPError(400, f"TuningJob {jid} is already in state {job['state']}")
        self.jobs[jid].update(state="JOB_STATE_CANCELLED", endTime=self._iso(self.clock.now()))
        return Response(200, {})
