"""Model registry: gated promotion, rollback, audit trail and concurrent promotions."""

from __future__ import annotations

import threading
import time

import pytest

from tracker_service import registry
from tracker_service.embedded import EmbeddedTracker
from tracker_service.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NothingToRollBack,
    PromotionRefused,
    UnknownModelError,
)

GOOD = {"accuracy": 0.85, "quality": 0.82, "latency_ms": 420.0}


def _register(tracker, model_type="personality", **evaluation):
    return tracker.register_model(
        model_type=model_type,
        evaluation=GOOD | evaluation,
        artifact_uri=f"file:///ckpt/{len(tracker.list_models())}",
        config={"lr": 1e-5, "seed": 7},
        dataset_hash="d" * 64,
        training_stage="rlvr",
        rules_version="1.0.0",
        git_revision="abc123",
        run_id="run-1",
    )


def _replay(trail):
    """Stages implied by the audit trail; fails if a transition does not start where the last
    one ended, or if two models of a type are ever in production together."""
    stages: dict[str, str | None] = {}
    production: dict[str, set[str]] = {}
    for t in trail:
        assert t.from_stage == stages.get(t.model_id), f"audit gap at transition {t.id}"
        stages[t.model_id] = t.to_stage
        prod = production.setdefault(t.model_type, set())
        prod.discard(t.model_id)
        if t.to_stage == "production":
            prod.add(t.model_id)
        assert len(prod) <= 1, f"two production models after transition {t.id}"
    return stages


def test_register_assigns_versions_and_keeps_lineage(tracker):
    first = _register(tracker)
    child = tracker.register_model(
        model_type="personality", parent_model_id=first.model_id, training_stage="srl"
    )
    assert (first.model_id, first.version, first.stage) == ("personality-v1", 1, "candidate")
    assert (child.model_id, child.version, child.parent_model_id) == (
        "personality-v2",
        2,
        first.model_id,
    )
    assert first.evaluation == GOOD and first.config == {"lr": 1e-5, "seed": 7}
    assert first.run_id == "run-1" and first.git_revision == "abc123"


def test_register_is_idempotent_and_conflicts_on_different_content(tracker):
    one = tracker.register_model(model_type="facial", model_id="facial-x", evaluation=GOOD)
    again = tracker.register_model(model_type="facial", model_id="facial-x", evaluation=GOOD)
    assert again == one
    assert tracker.query_trend("facial-x", "accuracy").count == 1  # not recorded twice
    with pytest.raises(Conflict, match="already registered with different"):
        tracker.register_model(model_type="facial", model_id="facial-x", artifact_uri="s3://b")


def test_register_rejects_bad_input_and_writes_nothing(tracker):
    with pytest.raises(InvalidArgument, match="finite"):
        tracker.register_model(model_type="facial", evaluation={"accuracy": float("nan")})
    with pytest.raises(InvalidArgument, match="model_type"):
        tracker.register_model(model_type="Not A Type")
    with pytest.raises(InvalidArgument, match="unknown metric"):
        tracker.register_model(model_type="facial", feature_breakdown={"x=1": {"acc": 0.1}})
    assert tracker.list_models() == []
    assert tracker.audit_trail() == []


def test_first_promotion_then_a_worse_model_is_refused(tracker):
    current = _register(tracker)
    tracker.promote(current.model_id)
    worse = _register(tracker, accuracy=0.80)
    with pytest.raises(PromotionRefused, match="does not beat production"):
        tracker.promote(worse.model_id)
    mixed = _register(tracker, accuracy=0.9, latency_ms=450.0)  # better and worse
    with pytest.raises(PromotionRefused):
        tracker.promote(mixed.model_id)
    same = _register(tracker)
    with pytest.raises(PromotionRefused):
        tracker.promote(same.model_id)  # a tie does not beat production
    assert tracker.get_production("personality").model_id == current.model_id
    assert tracker.get_model(worse.model_id).stage == "candidate"
    assert [t.action for t in tracker.audit_trail()].count("promote") == 1


def test_better_model_replaces_production_atomically(tracker):
    old = _register(tracker)
    tracker.promote(old.model_id, actor="ci", reason="first")
    new = _register(tracker, latency_ms=300.0)
    result = tracker.promote(new.model_id, actor="ci", reason="faster")
    assert result.model.stage == "production" and result.previous.stage == "archived"
    assert result.model.replaced_model_id == old.model_id
    assert {c.metric: (c.better, c.worse) for c in result.comparisons} == {
        "accuracy": (False, False),
        "quality": (False, False),
        "latency_ms": (True, False),
    }
    assert [(t.model_id, t.from_stage, t.to_stage) for t in result.transitions] == [
        (old.model_id, "production", "archived"),
        (new.model_id, "candidate", "production"),
    ]
    assert tracker.list_models(stage="production") == [tracker.get_model(new.model_id)]


def test_gate_metrics_are_configurable(tracker):
    tracker.promote(_register(tracker).model_id)
    cheaper_but_slower = _register(tracker, latency_ms=600.0, accuracy=0.9)
    result = tracker.promote(cheaper_but_slower.model_id, gate_metrics=["accuracy"])
    assert result.model.model_id == cheaper_but_slower.model_id


def test_rollback_restores_exactly_the_previous_version(tracker):
    v1 = _register(tracker)
    tracker.promote(v1.model_id)
    before = tracker.get_production("personality")
    v2 = _register(tracker, accuracy=0.9)
    tracker.promote(v2.model_id)
    v3 = _register(tracker, accuracy=0.95)
    tracker.promote(v3.model_id)

    back = tracker.rollback("personality", actor="oncall", reason="bad outputs")
    assert back.model.model_id == v2.model_id and back.previous.model_id == v3.model_id
    back = tracker.rollback("personality")
    restored = tracker.get_production("personality")
    assert back.model.model_id == v1.model_id
    # Everything but the stage timestamp is what production was before.
    assert restored.model_dump(exclude={"stage_changed_at"}) == before.model_dump(
        exclude={"stage_changed_at"}
    )
    with pytest.raises(NothingToRollBack, match="first production version"):
        tracker.rollback("personality")
    stages = _replay(tracker.audit_trail("personality"))
    assert stages == {v1.model_id: "production", v2.model_id: "archived", v3.model_id: "archived"}


def test_stage_rules(tracker):
    model = _register(tracker)
    assert tracker.promote(model.model_id, stage="staging").model.stage == "staging"
    assert tracker.promote(model.model_id).model.stage == "production"
    assert tracker.promote(model.model_id).changed is False  # no-op, safe to retry
    with pytest.raises(FailedPrecondition):
        tracker.promote(model.model_id, stage="staging")
    with pytest.raises(InvalidArgument, match="promote to"):
        tracker.promote(model.model_id, stage="archived")
    with pytest.raises(UnknownModelError):
        tracker.promote("ghost")
    with pytest.raises(NothingToRollBack):
        tracker.rollback("animals")
    assert tracker.get_production("animals") is None


def test_promoting_an_archived_version_is_refused(tracker):
    old = _register(tracker)
    tracker.promote(old.model_id)
    tracker.promote(_register(tracker, accuracy=0.9).model_id)
    with pytest.raises(FailedPrecondition, match="archived"):
        tracker.promote(old.model_id)


@pytest.mark.parametrize("round_", range(2))
def test_concurrent_promotions_leave_one_production_and_a_consistent_audit(
    db_url, round_, monkeypatch
):
    model_type = f"animals_{round_}"
    compare = registry.compare_on_gate

    def slow_compare(*args, **kwargs):
        # Widen the read-compare-write window so that, without the registry lock, both
        # threads would judge themselves against the same old production model.
        time.sleep(0.3)
        return compare(*args, **kwargs)

    monkeypatch.setattr(registry, "compare_on_gate", slow_compare)
    with EmbeddedTracker(db_url) as setup:
        base = _register(setup, model_type, latency_ms=500.0)
        setup.promote(base.model_id)
        # Each beats production but not the other: whoever goes second must be refused.
        rivals = [
            _register(setup, model_type, accuracy=0.9, latency_ms=480.0).model_id,
            _register(setup, model_type, accuracy=0.86, latency_ms=300.0).model_id,
        ]
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def promote(model_id):
        # Separate tracker = separate engine, connection pool and session.
        with EmbeddedTracker(db_url) as own:
            barrier.wait()
            try:
                outcomes[model_id] = own.promote(model_id, actor=f"thread-{model_id}")
            except Exception as exc:  # recorded and asserted below
                outcomes[model_id] = exc

    threads = [threading.Thread(target=promote, args=(m,)) for m in rivals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    refused = [m for m, o in outcomes.items() if isinstance(o, Exception)]
    won = [m for m in rivals if m not in refused]
    assert len(won) == 1, outcomes
    assert isinstance(outcomes[refused[0]], PromotionRefused), outcomes
    with EmbeddedTracker(db_url) as check:
        assert [
            m.model_id for m in check.list_models(model_type=model_type, stage="production")
        ] == won
        stages = _replay(check.audit_trail(model_type))
        assert stages[won[0]] == "production"
        assert stages[base.model_id] == "archived"
        assert stages[refused[0]] == "candidate"
        assert check.get_model(won[0]).replaced_model_id == base.model_id
