"""Anthropic: no fine-tuning API exists, so this adapter does prompt optimisation instead.

It searches system-prompt variants × few-shot counts, scores each candidate on the validation
split by calling the Messages API and running every answer through the arena verifier (the same
code the generated graders run), and keeps the best. The winner is versioned by a hash of its
content, saved as JSON, and reported as ``prompt-opt:<model>:<version>`` with the label
``prompt_optimization`` — never as a fine-tuned model. The search runs inside ``create_job``
(synchronously); the returned job is already terminal.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paid_ft_service.errors import AuthFailed, ProviderRejected, ProviderUnavailable, RateLimited
from paid_ft_service.providers.base import JobSpec, Provider, ProviderEvent, ProviderJob
from paid_ft_service.scoring import score_answer

# Appended to the dataset's system text; "" keeps it as written.
SYSTEM_VARIANTS: dict[str, str] = {
    "base": "",
    "rules_first": (
        "\nBefore each action, check it against every rule you know for this species and "
        "state; an action that breaks a hard rule fails the whole episode."
    ),
    "format_strict": (
        "\nOutput nothing but the steps: no prose before, between or after them. Each action "
        "must be valid JSON with exactly the schema's fields."
    ),
}
SHOT_COUNTS = (0, 1, 3)


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        artifact_dir: Path | None = None,
        max_calls: int = 300,
        max_tokens: int = 2048,
        timeout: float = 120.0,
        **kw: Any,
    ) -> None:
        super().__init__(secrets=[api_key, *kw.pop("secrets", [])], **kw)
        import anthropic

        self.client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout
        )
        self.artifact_dir = artifact_dir
        self.max_calls, self.max_tokens = max_calls, max_tokens
        self._files: dict[str, list[dict[str, Any]]] = {}
        self._jobs: dict[str, tuple[ProviderJob, list[ProviderEvent]]] = {}

    def upload_dataset(self, data: bytes, filename: str) -> str:
        ref = f"local:{hashlib.sha256(data).hexdigest()[:16]}:{filename}"
        self._files[ref] = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
        return ref

    def _ask(self, model: str, system: str, shots: list[dict[str, Any]], prompt: str) -> str:
        messages: list[dict[str, str]] = []
        for shot in shots:
            messages += [
                {"role": "user", "content": shot["prompt"]},
                {"role": "assistant", "content": shot["completion"]},
            ]
        messages.append({"role": "user", "content": prompt})
        reply = self._call(
            lambda: self.client.messages.create(
                model=model, max_tokens=self.max_tokens, system=system, messages=messages
            ),
            "messages",
        )
        return "".join(b.text for b in reply.content if getattr(b, "type", "") == "text")

    def create_job(self, spec: JobSpec) -> ProviderJob:
        if spec.method != "prompt_optimization":
            raise ValueError("Anthropic has no fine-tuning API; use method prompt_optimization")
        pool = self._files[spec.training_file]
        validation = self._files.get(spec.validation_file or "", []) or pool
        candidates = [(v, k) for v in SYSTEM_VARIANTS for k in SHOT_COUNTS if k <= len(pool)]
        per_candidate = max(1, self.max_calls // len(candidates))
        validation = validation[:per_candidate]
        base_system = _system_of(pool[0])
        events: list[ProviderEvent] = []
        scores: dict[str, float] = {}
        for variant, shots in candidates:
            system = base_system + SYSTEM_VARIANTS[variant]
            rewards = [
                score_answer(self._ask(spec.model, system, pool[:shots], row["prompt"]), row)[
                    "reward"
                ]
                for row in validation
            ]
            name = f"{variant}/{shots}-shot"
            scores[name] = sum(rewards) / len(rewards)
            events.append(
                ProviderEvent(
                    f"cand-{len(events)}",
                    datetime.now(UTC),
                    "info",
                    "metrics",
                    f"candidate {name}",
                    {"candidate": name, "train_reward_mean": scores[name]},
                )
            )
        # Best mean reward; on a tie the cheaper prompt (fewer shots) wins.
        best = max(candidates, key=lambda c: (scores[f"{c[0]}/{c[1]}-shot"], -c[1]))
        prompt = {
            "model": spec.model,
            "model_type": spec.model_type,
            "system": base_system + SYSTEM_VARIANTS[best[0]],
            "few_shot": [
                {"prompt": s["prompt"], "completion": s["completion"]} for s in pool[: best[1]]
            ],
        }
        version = hashlib.sha256(json.dumps(prompt, sort_keys=True).encode()).hexdigest()[:12]
        result = {
            "label": "prompt_optimization",
            "version": version,
            "prompt": prompt,
            "candidate": f"{best[0]}/{best[1]}-shot",
            "scores": scores,
            "baseline_score": scores.get("base/0-shot"),
            "best_score": scores[f"{best[0]}/{best[1]}-shot"],
            "validation_examples": len(validation),
            "calls": len(candidates) * len(validation),
        }
        if self.artifact_dir is not None:
            path = Path(self.artifact_dir) / "prompts" / (spec.model_type or "any")
            path.mkdir(parents=True, exist_ok=True)
            (path / f"{version}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
            result["artifact"] = str(path / f"{version}.json")
        now = datetime.now(UTC)
        job = ProviderJob(
            provider=self.name,
            job_id=f"promptopt-{version}",
            status="succeeded",
            raw_status="completed",
            model=spec.model,
            tuned_model=f"prompt-opt:{spec.model}:{version}",
            created_at=now,
            finished_at=now,
            result=result,
        )
        self._jobs[job.job_id] = (job, events)
        return job

    def get_job(self, job_id: str) -> ProviderJob:
        if job_id not in self._jobs:
            raise ValueError(f"prompt optimisation {job_id} is not in this process")
        return self._jobs[job_id][0]

    def list_events(self, job_id: str, after: str | None = None) -> list[ProviderEvent]:
        events = self._jobs[job_id][1] if job_id in self._jobs else []
        ids = [e.id for e in events]
        return events[ids.index(after) + 1 :] if after in ids else list(events)

    def cancel_job(self, job_id: str) -> ProviderJob:
        return self.get_job(job_id)  # the search ran synchronously; nothing is left to cancel

    def _translate(self, exc: Exception) -> Exception:
        import anthropic

        if isinstance(exc, anthropic.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = (body.get("error") or {}).get("message") or exc.message
            message = self._clean(f"HTTP {exc.status_code}: {detail}")
            if exc.status_code in (401, 403):
                return AuthFailed(self.name, message, status=exc.status_code)
            if exc.status_code == 429:
                retry_after = exc.response.headers.get("retry-after")
                return RateLimited(
                    self.name, message, retry_after=float(retry_after) if retry_after else None
                )
            if exc.status_code >= 500:  # 529 = overloaded
                return ProviderUnavailable(self.name, message, status=exc.status_code)
            return ProviderRejected(self.name, message, status=exc.status_code)
        if isinstance(exc, anthropic.APIConnectionError):
            return ProviderUnavailable(self.name, self._clean(f"connection failed: {exc}"))
        return exc


def _system_of(row: dict[str, Any]) -> str:
    from paid_ft_service.datasets import system_text

    return row.get("system") or system_text(row["model_type"])
