"""The triggerer side of deferrable AWS Batch mode (FLOWUI_BATCH_DEFERRABLE=true).

FlowUIOperator submits the job, then defers with this trigger; Airflow's triggerer polls DescribeJobs here
(boto3 in a thread, so the triggerer's event loop never blocks) and fires one event when the job reaches
SUCCEEDED or FAILED; the task resumes in FlowUIOperator.execute_batch_complete. Kept apart from batch.py,
which must stay importable without Airflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from flowui_runtime.batch import TERMINAL, _client


class BatchJobTrigger(BaseTrigger):
    def __init__(self, job_id: str, poll_s: float = 10.0):
        super().__init__()
        self.job_id = job_id
        self.poll_s = poll_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("flowui_runtime.batch_trigger.BatchJobTrigger", {"job_id": self.job_id, "poll_s": self.poll_s})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        batch = _client("batch")
        failures = 0
        while True:
            try:
                jobs = (await asyncio.to_thread(batch.describe_jobs, jobs=[self.job_id]))["jobs"]
                failures = 0
            except Exception as exc:  # noqa: BLE001 - transient API errors: retry a few times, then report
                failures += 1
                if failures >= 5:
                    yield TriggerEvent({"job_id": self.job_id, "status": "UNKNOWN", "error": str(exc)})
                    return
                jobs = []
            status = jobs[0].get("status") if jobs else None
            if status in TERMINAL:
                yield TriggerEvent({"job_id": self.job_id, "status": status})
                return
            await asyncio.sleep(self.poll_s)
