"""Fake OpenAI fine-tuning API: files, jobs, events, checkpoints, graders (routes under /v1).

Job state machine (clock seconds after creation): validating_files → queued (at
``VALIDATE_S``) → running (``QUEUE_S``) → succeeded (``RUN_S``). The training file is validated
when validation ends: bad rows fail the job with ``invalid_training_file`` in the documented
error shape. Reinforcement jobs run their grader on every training row against answers from a
``policy`` the test sets, and report the mean reward as metrics events and checkpoints.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from .grading import Grader
from .http import FakeServer, HTTPError, Request, Response, bearer, parse_multipart

VALIDATE_S, QUEUE_S, RUN_S = 10.0, 20.0, 120.0
ORG = "org-fake"


def validate_rows(data: bytes, method: str) -> str | None:
    """The first reason the file is unusable for ``method``, as OpenAI reports it, or None."""
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    if len(lines) < 10:
        return f"Training file has {len(lines)} example(s), but must have at least 10 examples"
    for n, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            return f"Line {n}: invalid JSON"
        if method == "dpo":
            ok = (
                isinstance(row.get("input"), dict)
                and isinstance(row.get("preferred_output"), list)
                and isinstance(row.get("non_preferred_output"), list)
            )
            if not ok:
                return f"Line {n}: DPO examples need input, preferred_output, non_preferred_output"
            continue
        messages = row.get("messages")
        if not isinstance(messages, list) or not messages:
            return f"Line {n}: missing 'messages'"
        for m in messages:
            if m.get("role") not in ("system", "user", "assistant", "tool") or not isinstance(
                m.get("content"), str
            ):
                return f"Line {n}: each message needs a valid role and text content"
        last = messages[-1]["role"]
        if method == "reinforcement" and last != "user":
            return f"Line {n}: the last message of a reinforcement example must be from the user"
        if method == "supervised" and not any(m["role"] == "assistant" for m in messages):
            return f"Line {n}: no assistant message to train on"
    return None


class FakeOpenAI(FakeServer):
    def __init__(self, api_key: str, models: set[str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_keys = {api_key}
        self.expired_keys: set[str] = set()
        self.models = models or {"gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"}
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.checkpoints: dict[str, list[dict[str, Any]]] = {}
        self.policy: Callable[[dict[str, Any]], str] = lambda row: ""
        self._ids = itertools.count(1)
        self.route("POST", "/v1/files", self.create_file)
        self.route("GET", r"/v1/files/(?P<fid>[^/]+)", self.get_file)
        self.route("GET", r"/v1/files/(?P<fid>[^/]+)/content", self.file_content)
        self.route("POST", "/v1/fine_tuning/jobs", self.create_job)
        self.route("GET", "/v1/fine_tuning/jobs", self.list_jobs)
        self.route("GET", r"/v1/fine_tuning/jobs/(?P<jid>[^/]+)", self.get_job)
        self.route("POST", r"/v1/fine_tuning/jobs/(?P<jid>[^/]+)/cancel", self.cancel_job)
        self.route("GET", r"/v1/fine_tuning/jobs/(?P<jid>[^/]+)/events", self.list_events)
        self.route("GET", r"/v1/fine_tuning/jobs/(?P<jid>[^/]+)/checkpoints", self.list_ckpts)

    # ----- shapes ----------------------------------------------------------------------------

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        kind = {401: "invalid_request_error", 429: "requests"}.get(status, "invalid_request_error")
        if status >= 500:
            kind = "server_error"
        return {
            "error": {
                "message": message,
                "type": extra.get("type", kind),
                "param": extra.get("param"),
                "code": extra.get("code"),
            }
        }

    def authorize(self, request: Request) -> None:
        key = bearer(request)
        if key in self.expired_keys:
            # The real API masks most of the key; this fake echoes it whole so that a test can
            # prove the adapter scrubs what a provider sends back.
            raise HTTPError(401, f"Incorrect API key provided: {key}.", code="invalid_api_key")
        if key not in self.api_keys:
            raise HTTPError(401, "Missing or invalid bearer token.", code="invalid_api_key")

    def _now(self) -> int:
        return int(self.clock.now())

    # ----- files -----------------------------------------------------------------------------

    def create_file(self, request: Request) -> Response:
        fields = parse_multipart(request)
        if "file" not in fields or "purpose" not in fields:
            raise HTTPError(400, "'file' and 'purpose' are required", param="file")
        filename, data = fields["file"]
        purpose = fields["purpose"][1].decode()
        fid = f"file-{next(self._ids):06d}"
        self.files[fid] = {
            "id": fid,
            "object": "file",
            "bytes": len(data),
            "created_at": self._now(),
            "filename": filename or "upload.jsonl",
            "purpose": purpose,
            "status": "processed",
            "_data": data,
        }
        return Response(200, self._public(self.files[fid]))

    def _file(self, fid: str) -> dict[str, Any]:
        if fid not in self.files:
            raise HTTPError(404, f"No such File object: {fid}", param="id")
        return self.files[fid]

    def get_file(self, request: Request) -> Response:
        return Response(200, self._public(self._file(request.params["fid"])))

    def file_content(self, request: Request) -> Response:
        return Response(200, self._file(request.params["fid"])["_data"], content_type="text/plain")

    @staticmethod
    def _public(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    # ----- jobs ------------------------------------------------------------------------------

    def create_job(self, request: Request) -> Response:
        body = request.json()
        model = body.get("model")
        if model not in self.models:
            raise HTTPError(
                400,
                f"Model {model} is not available for fine-tuning",
                param="model",
                code="model_not_available",
            )
        for key in ("training_file", "validation_file"):
            if body.get(key) is not None:
                self._file(body[key])
        method = body.get("method") or {"type": "supervised", "supervised": {}}
        kind = method.get("type")
        if kind not in ("supervised", "dpo", "reinforcement"):
            raise HTTPError(400, f"Invalid method type {kind!r}", param="method")
        grader = None
        if kind == "reinforcement":
            if not body.get("validation_file"):
                raise HTTPError(400, "Reinforcement jobs need a validation_file", param="method")
            try:
                grader = Grader(method.get("reinforcement", {}).get("grader") or {})
            except (KeyError, ValueError, SyntaxError) as exc:
                raise HTTPError(400, f"Invalid grader: {exc}", param="method.grader") from None
        jid = f"ftjob-{next(self._ids):06d}"
        hyper = method.get(kind, {}).get("hyperparameters") or {}
        self.jobs[jid] = {
            "id": jid,
            "object": "fine_tuning.job",
            "created_at": self._now(),
            "error": None,
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": {
                "batch_size": hyper.get("batch_size", "auto"),
                "learning_rate_multiplier": hyper.get("learning_rate_multiplier", "auto"),
                "n_epochs": hyper.get("n_epochs", "auto"),
            },
            "model": model,
            "organization_id": ORG,
            "result_files": [],
            "seed": body.get("seed") or 42,
            "status": "validating_files",
            "trained_tokens": None,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "estimated_finish": None,
            "integrations": None,
            "metadata": body.get("metadata"),
            "method": method,
            "_suffix": body.get("suffix"),
            "_grader": grader,
        }
        self.events[jid] = []
        self.checkpoints[jid] = []
        self._event(jid, "info", f"Created fine-tuning job: {jid}", self._now())
        return Response(200, self._job_view(jid))

    def _event(self, jid: str, level: str, message: str, at: int, data: Any = None) -> None:
        self.events[jid].append(
            {
                "object": "fine_tuning.job.event",
                "id": f"ftevent-{next(self._ids):06d}",
                "created_at": at,
                "level": level,
                "message": message,
                "type": "metrics" if data else "message",
                "data": data or {},
            }
        )

    def _advance(self, jid: str) -> None:
        job = self.jobs[jid]
        start = job["created_at"]
        now = self._now()
        if job["status"] == "validating_files" and now >= start + VALIDATE_S:
            at = int(start + VALIDATE_S)
            kind = job["method"]["type"]
            problem = validate_rows(self.files[job["training_file"]]["_data"], kind)
            if problem:
                job["status"], job["finished_at"] = "failed", at
                job["error"] = {
                    "code": "invalid_training_file",
                    "message": f"The job failed due to an invalid training file. {problem}",
                    "param": "training_file",
                }
                self._event(jid, "error", job["error"]["message"], at)
                return
            job["status"] = "queued"
            self._event(jid, "info", "Files validated, moving job to queued state", at)
        if job["status"] == "queued" and now >= start + QUEUE_S:
            job["status"] = "running"
            self._event(jid, "info", "Fine-tuning job started", int(start + QUEUE_S))
        if job["status"] == "running" and now >= start + RUN_S:
            self._finish(jid, int(start + RUN_S))

    def _finish(self, jid: str, at: int) -> None:
        job = self.jobs[jid]
        rows = [
            json.loads(line)
            for line in self.files[job["training_file"]]["_data"].decode().splitlines()
            if line.strip()
        ]
        tokens = sum(len(json.dumps(r)) // 4 for r in rows)
        metrics: dict[str, Any] = {"step": len(rows), "train_loss": 0.25}
        if job["_grader"] is not None:
            rewards = [job["_grader"].score({"output_text": self.policy(r)}, r) for r in rows]
            metrics = {"step": len(rows), "train_reward_mean": sum(rewards) / len(rewards)}
        self._event(jid, "info", f"Step {len(rows)}/{len(rows)}", at, metrics)
        self.checkpoints[jid].append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": f"ftckpt_{next(self._ids):06d}",
                "created_at": at,
                "fine_tuned_model_checkpoint": f"ft:{job['model']}:{ORG}::{jid}:ckpt-{len(rows)}",
                "fine_tuning_job_id": jid,
                "metrics": metrics,
                "step_number": len(rows),
            }
        )
        suffix = job["_suffix"] or ""
        job.update(
            status="succeeded",
            finished_at=at,
            trained_tokens=tokens,
            fine_tuned_model=f"ft:{job['model']}:{ORG}:{suffix}:{jid}",
            result_files=[f"file-result-{jid}"],
        )
        self._event(jid, "info", "The job has successfully completed", at)

    def _job_view(self, jid: str) -> dict[str, Any]:
        if jid not in self.jobs:
            raise HTTPError(404, f"Could not find fine-tune: {jid}", param="fine_tune_id")
        self._advance(jid)
        return self._public(self.jobs[jid])

    def get_job(self, request: Request) -> Response:
        return Response(200, self._job_view(request.params["jid"]))

    def list_jobs(self, request: Request) -> Response:
        data = [self._job_view(j) for j in reversed(list(self.jobs))]
        return Response(200, {"object": "list", "data": data, "has_more": False})

    def cancel_job(self, request: Request) -> Response:
        jid = request.params["jid"]
        job = self._job_view(jid)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            raise HTTPError(400, f"Job {jid} has already {job['status']}", param="fine_tune_id")
        self.jobs[jid].update(status="cancelled", finished_at=self._now())
        self._event(jid, "info", "Fine-tuning job cancelled", self._now())
        return Response(200, self._job_view(jid))

    def _page(self, items: list[dict[str, Any]], request: Request) -> Response:
        newest_first = list(reversed(items))
        after = request.q("after")
        if after:
            ids = [e["id"] for e in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.q("limit", "20"))
        page = newest_first[:limit]
        return Response(
            200, {"object": "list", "data": page, "has_more": len(newest_first) > limit}
        )

    def list_events(self, request: Request) -> Response:
        self._job_view(request.params["jid"])
        return self._page(self.events[request.params["jid"]], request)

    def list_ckpts(self, request: Request) -> Response:
        self._job_view(request.params["jid"])
        body = self._page(self.checkpoints[request.params["jid"]], request).body
        body["first_id"] = body["data"][0]["id"] if body["data"] else None
        body["last_id"] = body["data"][-1]["id"] if body["data"] else None
        return Response(200, body)
