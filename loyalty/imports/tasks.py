"""Large imports in the background. Both tasks are idempotent: the dry run only runs for a job
waiting for it (and carries on from the store's answers it has kept), and applying resumes from
the job's last applied row (each row's effect and the job's progress commit together). Each
runs one slice per run so that a run stays inside the task time limit; the next slice is a new
message, on the queue this one came from."""

from __future__ import annotations

from celery import shared_task

from loyalty.imports import services
from loyalty.imports.models import ImportStatus


@shared_task(bind=True, ignore_result=True)
def plan_import_job(self, job_id: int) -> str:
    """The dry run; a file with many emails to look up in the store takes several runs, each
    asking about at most PLAN_SLICE_LOOKUPS of them (their answers are kept on the job)."""
    job = services.import_job_plan(job_id=job_id, max_lookups=services.PLAN_SLICE_LOOKUPS)
    if job.status == ImportStatus.PLANNING:
        queue = (self.request.delivery_info or {}).get("routing_key")
        plan_import_job.apply_async((job_id,), queue=queue or None)
    return job.status


@shared_task(bind=True, ignore_result=True)
def apply_import_job(self, job_id: int) -> str:
    finished = services.import_job_apply_slice(job_id=job_id, max_rows=services.APPLY_SLICE_ROWS)
    if finished:
        return "finished"
    queue = (self.request.delivery_info or {}).get("routing_key")
    apply_import_job.apply_async((job_id,), queue=queue or None)
    return "continues"
