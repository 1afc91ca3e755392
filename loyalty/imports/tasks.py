"""Large imports in the background. Both tasks are idempotent: the dry run only runs for a job
waiting for it, and applying resumes from the job's last applied row (each row's effect and the
job's progress commit together), one slice per run so that a run stays inside the task time
limit; the next slice is a new message."""

from __future__ import annotations

from celery import shared_task

from loyalty.imports import services


@shared_task(ignore_result=True)
def plan_import_job(job_id: int) -> str:
    job = services.import_job_plan(job_id=job_id)
    return job.status


@shared_task(ignore_result=True)
def apply_import_job(job_id: int) -> str:
    finished = services.import_job_apply_slice(job_id=job_id, max_rows=services.APPLY_SLICE_ROWS)
    if not finished:
        apply_import_job.delay(job_id)
        return "continues"
    return "finished"
