"""Fake Together AI fine-tuning API (routes under /v1): files, fine-tunes, events, cancel.

States: pending → running (at ``START_S``, after the file validated; bad rows → ``error``) →
completed (``RUN_S``) with ``output_name``. Errors: ``{"error": {message, type, code}}``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from .http import FakeServer, HTTPError, Request, Response, bearer, parse_multipart

START_S, RUN_S = 10.0, 90.0


def problem_in(data: bytes, method: str) -> str | None:
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            return f"Line {n} is not valid JSON"
        if method == "dpo":
            if not {"input", "preferred_output", "non_preferred_output"} <= set(row):
                return (
                    f"Line {n}: preference rows need input, preferred_output, non_preferred_output"
                )
        elif not isinstance(row.get("messages"), list) or not row["messages"]:
            return f"Line {n}: missing field 'messages'"
    return None


class FakeTogether(FakeServer):
    def __init__(self, api_key: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_keys = {api_key}
        self.expired_keys: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.route("POST", "/v1/files/upload", self.upload)
        self.route("POST", "/v1/fine-tunes", self.create)
        self.route("GET", r"/v1/fine-tunes/(?P<jid>[^/]+)", self.get)
        self.route("GET", r"/v1/fine-tunes/(?P<jid>[^/]+)/events", self.events)
        self.route("POST", r"/v1/fine-tunes/(?P<jid>[^/]+)/cancel", self.cancel)

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        return {
            "error": {
                "message": message,
                "type": extra.get("type", "invalid_request_error"),
                "code": extra.get("code"),
            }
        }

    def authorize(self, request: Request) -> None:
        key = bearer(request)
        if key in self.expired_keys or key not in self.api_keys:
            raise HTTPError(401, f"Invalid API key provided: {key}", code="invalid_api_key")

    def _iso(self, t: float) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat()

    def upload(self, request: Request) -> Response:
        fields = parse_multipart(request)
        if fields.get("purpose", (None, b""))[1] != b"fine-tune" or "file" not in fields:
            raise HTTPError(400, "file and purpose=fine-tune are required")
        fid = f"file-{next(self._ids):04d}"
        self.files[fid] = fields["file"][1]
        return Response(
            200,
            {
                "id": fid,
                "object": "file",
                "bytes": len(fields["file"][1]),
                "filename": fields["file"][0],
                "purpose": "fine-tune",
            },
        )

    def create(self, request: Request) -> Response:
        body = request.json()
        if body.get("training_file") not in self.files:
            raise HTTPError(400, f"training_file {body.get('training_file')} not found")
        method = body.get("training_method", {}).get("method", "sft")
        jid = f"ft-{next(self._ids):04d}"
        self.jobs[jid] = {
            "id": jid,
            "status": "pending",
            "model": body["model"],
            "training_file": body["training_file"],
            "n_epochs": body.get("n_epochs", 1),
            "training_method": body.get("training_method"),
            "training_type": body.get("training_type"),
            "created_at": self._iso(self.clock.now()),
            "updated_at": self._iso(self.clock.now()),
            "output_name": None,
            "_t0": self.clock.now(),
            "_method": method,
            "_suffix": body.get("suffix", ""),
            "_events": [],
        }
        self._event(jid, "Fine tune request created")
        return Response(200, self._view(jid))

    def _event(self, jid: str, message: str, level: str = "info", **data: Any) -> None:
        self.jobs[jid]["_events"].append(
            {
                "object": "fine-tune-event",
                "hash": f"ev-{next(self._ids):05d}",
                "created_at": self._iso(self.clock.now()),
                "level": level,
                "message": message,
                "type": "metrics" if data else "message",
                "data": data or None,
            }
        )

    def _advance(self, jid: str) -> None:
        job = self.jobs[jid]
        now, t0 = self.clock.now(), job["_t0"]
        if job["status"] == "pending" and now >= t0 + START_S:
            problem = problem_in(self.files[job["training_file"]], job["_method"])
            if problem:
                job.update(status="error", error=f"Data validation failed: {problem}")
                self._event(jid, job["error"], "error")
                return
            job["status"] = "running"
            self._event(jid, "Training started")
        if job["status"] == "running" and now >= t0 + RUN_S:
            suffix = f"-{job['_suffix']}" if job["_suffix"] else ""
            job.update(
                status="completed",
                updated_at=self._iso(t0 + RUN_S),
                output_name=f"srlforge/{job['model'].split('/')[-1]}{suffix}-{jid}",
                total_tokens=12345,
            )
            self._event(jid, "Epoch completed", train_loss=0.31, step=1)
            self._event(jid, "Job finished")

    def _view(self, jid: str) -> dict[str, Any]:
        if jid not in self.jobs:
            raise HTTPError(404, f"Fine-tune job {jid} not found")
        self._advance(jid)
        return {k: v for k, v in self.jobs[jid].items() if not k.startswith("_")}

    def get(self, request: Request) -> Response:
        return Response(200, self._view(request.params["jid"]))

    def events(self, request: Request) -> Response:
        self._view(request.params["jid"])
        return Response(200, {"data": self.jobs[request.params["jid"]]["_events"]})

    def cancel(self, request: Request) -> Response:
        jid = request.params["jid"]
        if self._view(jid)["status"] in ("completed", "error", "cancelled"):
            raise HTTPError(400, f"Job {jid} cannot be cancelled in its current state")
        self.jobs[jid]["status"] = "cancelled"
        self._event(jid, "Job cancelled by user")
        return Response(200, self._view(jid))
