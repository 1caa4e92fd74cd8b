"""Celery adapters: routing per the issue, and the lease that makes a stage run once."""

from __future__ import annotations

import json
import time

import pytest

from trainer_service.tasks import QUEUES, StageBusy, app, stage_lease


def test_tasks_are_routed_to_their_queues():
    assert QUEUES == {"trainer.srl": "srl", "trainer.rlvr": "rlvr", "trainer.evaluate": "eval"}
    for name in QUEUES:
        assert name in app.tasks
    assert app.conf.task_acks_late is True and app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit


def test_stage_lease_is_exclusive_and_stale_leases_are_taken_over(tmp_path):
    with (
        stage_lease(tmp_path, "srl", "worker-a"),
        pytest.raises(StageBusy, match="worker-a"),
        stage_lease(tmp_path, "srl", "worker-b"),
    ):
        pass
    assert not (tmp_path / "leases" / "srl").exists()  # released
    stale = tmp_path / "leases" / "rlvr"
    stale.write_text(json.dumps({"owner": "dead", "until": time.time() - 1}))
    with stage_lease(tmp_path, "rlvr", "worker-c"):
        assert json.loads(stale.read_text())["owner"] == "worker-c"


def test_pipeline_chain_is_immutable_and_keyed_by_job_and_stage():
    from trainer_service.tasks import pipeline_chain

    flow = pipeline_chain("job-7", {"species": "vampire"})
    names = [sig.task for sig in flow.tasks]
    assert names == ["trainer.srl", "trainer.rlvr", "trainer.evaluate"]
    assert [sig.options["task_id"] for sig in flow.tasks] == [
        "job-7:srl",
        "job-7:rlvr",
        "job-7:evaluate",
    ]
    assert all(sig.immutable for sig in flow.tasks)
    assert all(sig.args == ("job-7", {"species": "vampire"}) for sig in flow.tasks)
