"""The gateway's way to the tracker: the model registry and retrain triggers.

``tracker=embedded`` opens the tracker's database in-process (the one-machine default),
``tracker=grpc`` talks to ``srlforge tracker serve`` with a deadline on every call, ``off`` has
no tracker. The client is created on first use, so a gateway whose tracker is down still
starts and answers everything that does not need it.
"""

from __future__ import annotations

import threading
from typing import Any

from gateway.selection import Candidate
from gateway.settings import GatewaySettings


class TrackerUnavailable(RuntimeError):
    """No tracker is configured, or it cannot be reached (503)."""


class TrackerLink:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.settings.tracker != "off"

    def client(self) -> Any:
        """A ``tracker_service.client.TrackerClient``; raises TrackerUnavailable."""
        if not self.enabled:
            raise TrackerUnavailable("no tracker configured (SRLFORGE_GATEWAY_TRACKER=off)")
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        from tracker_service.errors import TrackerError

        try:
            if self.settings.tracker == "grpc":
                from tracker_service.client import GrpcTracker

                return GrpcTracker(
                    self.settings.tracker_target or "", timeout=self.settings.grpc_timeout_s
                )
            from tracker_service.embedded import EmbeddedTracker

            return EmbeddedTracker(self.settings.tracker_db_url)
        except TrackerError as exc:
            raise TrackerUnavailable(f"tracker: {exc}") from None

    def candidates(self, model_type: str | None) -> list[Candidate]:
        """Every non-archived registered version (of ``model_type``) as a selection candidate."""
        from tracker_service.errors import TrackerError

        client = self.client()
        try:
            versions = client.list_models(model_type=model_type)
        except TrackerError as exc:
            raise TrackerUnavailable(f"tracker: {exc}") from None
        out = []
        for v in versions:
            if v.stage == "archived":
                continue
            declared = v.config.get("responsibilities", [])
            out.append(
                Candidate(
                    model_id=v.model_id,
                    model_type=v.model_type,
                    provider=str(v.config.get("provider", "self-hosted")),
                    responsibilities=[str(r) for r in declared]
                    if isinstance(declared, list)
                    else [],
                    evaluation=dict(v.evaluation),
                    cost_per_token=v.evaluation.get("cost_per_token"),
                    latency_ms=v.evaluation.get("latency_ms"),
                )
            )
        return out

    def retrain_for_rules(self, model_types: list[str], identity: str) -> dict[str, Any]:
        """Ask the tracker, per model type, for a retrain trigger under the new rules.

        The tracker fires only when at least two retrain conditions hold; a changed rules
        version is one. Each outcome is returned so the upload record says what happened.
        """
        from tracker_service.errors import InvalidArgument, TrackerError

        outcomes: dict[str, Any] = {}
        try:
            client = self.client()
        except TrackerUnavailable as exc:
            return {m: {"status": "tracker unavailable", "detail": str(exc)} for m in model_types}
        for model_type in model_types:
            try:
                decision = client.check_retrain_triggers(model_type, current_rules_version=identity)
            except InvalidArgument as exc:
                # The tracker's answer when the type has no production model to retrain.
                outcomes[model_type] = {"status": "no production model", "detail": str(exc)}
                continue
            except TrackerError as exc:
                outcomes[model_type] = {"status": "tracker unavailable", "detail": str(exc)}
                continue
            outcomes[model_type] = {
                "status": "trigger raised" if decision.fired else "conditions not met",
                "trigger_id": decision.trigger.id if decision.trigger else None,
                "conditions": [c.model_dump() for c in decision.conditions],
            }
        return outcomes

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
