"""Import and export pages (/app/imports/). Views only orchestrate: forms check, services
change (with their audit rows), selectors read, all scoped by `request.shop`; a valid POST
answers 303 (post/redirect/get), an invalid one re-renders with 400."""

from __future__ import annotations

import contextlib
import csv
from datetime import datetime

from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.audit.services import audit_record
from loyalty.imports import forms, parsing, selectors, services
from loyalty.imports.models import ImportStatus

# The program area's page wrapper serves every admin area: the session token verified
# (embedded_admin), the methods allowed, dates in the shop's timezone.
from loyalty.merchant_admin.pages import admin_view, request_actor, see_other
from loyalty.tiers.models import Tier

CSV_ERRORS = {
    "not_utf8": _("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again."),
    "empty": _("The file has no rows."),
    "malformed": _("The file is not a readable CSV file."),
    "too_large": _("The file is too large."),
}
# The figures of a dry run (its totals' keys) and of an applied job (its counters).
FIGURES = (
    ("new", "created_count", _("New members"), ""),
    ("update", "updated_count", _("Members updated"), ""),
    ("unchanged", "unchanged_count", _("Unchanged"), ""),
    ("already_applied", "already_applied_count", _("Already imported"), ""),
    ("skip", "skipped_count", _("Skipped"), ""),
    ("error", "error_count", _("Rows with problems"), ""),
    ("points_added", "points_added", _("Points added"), "positive"),
    ("points_removed", "points_removed", _("Points removed"), "negative"),
    ("tiers_set", None, _("Tiers set"), ""),
)
# Where the dry run found each row's customer (its totals' keys).
MATCH_FIGURES = (
    ("matched_members", _("Matched to members"), ""),
    ("found_in_store", _("Found in your store (will be enrolled)"), "positive"),
    ("not_in_store", _("Not in your store (skipped)"), "negative"),
)
# Characters a spreadsheet reads as the start of a formula: such text cells get a leading '.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _render(request, template: str, context: dict, *, invalid: bool = False) -> HttpResponse:
    return render(
        request,
        f"merchant_admin/imports/{template}",
        {"shop": request.shop, **context},
        status=400 if invalid else 200,
    )


@admin_view(methods=("GET", "POST"))
def landing(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = forms.UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_job_create(
                shop=request.shop,
                actor=request_actor(request),
                filename=upload.name,
                data=upload.read(),
            )
        except (parsing.CsvError, services.ImportRefused) as exc:
            form.add_error("file", CSV_ERRORS[exc.code])
        else:
            return see_other("admin-imports-mapping", job.pk)
    return _render(
        request,
        "landing.html",
        {"form": form, "jobs": selectors.import_jobs_recent(shop=request.shop)},
        invalid=posted,
    )


@admin_view(methods=("GET", "POST"))
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(shop=request.shop, pk=pk)
    if job.status not in (ImportStatus.MAPPING, ImportStatus.PLANNED) and not (
        job.status == ImportStatus.FAILED and job.started_at is None
    ):
        return see_other("admin-imports-job", job.pk)
    table = services.import_job_table(job=job)
    tiers = list(Tier.objects.filter(shop=request.shop).order_by("threshold", "pk"))
    data = request.POST if request.method == "POST" else None
    preset_change = data is not None and "use_preset" in data
    if preset_change:
        source = data.get("source", "")
        if source not in parsing.PRESETS:
            source = job.source
        # Another preset: its proposal, shown for the merchant to check (nothing is saved).
        initial = forms.mapping_initial(job, source=source, table=table)
        data = None
    else:
        initial = forms.mapping_initial(job)
    has_header = (data.get("has_header") == "on") if data is not None else initial["has_header"]
    tier_column = forms.posted_tier_column(
        data,
        fallback=int(initial["column_tier"]) if initial["column_tier"] else None,
    )
    form = forms.MappingForm(
        data,
        initial=initial,
        columns=parsing.column_labels(table, has_header=has_header),
        tier_names=selectors.import_job_tier_names(
            table=table, column=tier_column, has_header=has_header
        ),
        tiers=tiers,
    )
    if data is not None and form.is_valid():
        # Applied (or being applied) since the page was loaded: the job's page says so.
        with contextlib.suppress(services.ImportRefused):
            services.import_job_configure(
                job=job,
                actor=request_actor(request),
                source=form.cleaned_data["source"],
                has_header=form.cleaned_data["has_header"],
                mapping=form.mapping(),
                mode=form.cleaned_data["mode"],
                tier_map=form.tier_map(),
            )
        return see_other("admin-imports-job", job.pk)
    preview = table.rows[:6]
    return _render(
        request,
        "mapping.html",
        {
            "job": job,
            "form": form,
            "detected": parsing.PRESETS.get(job.detected_source),
            "preview": preview,
            "columns": parsing.column_labels(table, has_header=False),
        },
        invalid=data is not None,
    )


@admin_view()
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(shop=request.shop, pk=pk)
    plan = job.plan or {}
    stale = job.status == ImportStatus.APPLYING and (
        timezone.now() - job.updated_at > services.STALE_AFTER
    )
    return _render(
        request,
        "job.html",
        {
            "job": job,
            "totals": plan.get("totals"),
            "plan_figures": [
                {"label": label, "value": plan["totals"][key], "css": css}
                for key, _field, label, css in FIGURES
            ]
            if plan.get("totals")
            else [],
            "match_figures": [
                {"label": label, "value": plan["totals"].get(key, 0), "css": css}
                for key, label, css in MATCH_FIGURES
            ]
            if plan.get("totals")
            else [],
            "result_figures": [
                {"label": label, "value": getattr(job, field), "css": css}
                for _key, field, label, css in FIGURES
                if field
            ],
            "plan_rows": selectors.plan_rows_described(plan.get("rows", [])),
            "apply_problems": selectors.plan_rows_described(job.apply_problems),
            "in_progress": job.status in (ImportStatus.PLANNING, ImportStatus.APPLYING),
            "can_resume": stale
            or (job.status == ImportStatus.FAILED and job.started_at is not None),
            "listed_limit": services.PLAN_REPORT_ROWS,
            "problems_limit": services.MAX_LISTED_PROBLEMS,
        },
    )


@admin_view(methods=("POST",))
def replan(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a dry run again after the store could not be asked (same columns, same mode)."""
    job = selectors.import_job_get(shop=request.shop, pk=pk)
    services.import_job_replan(job=job)
    return see_other("admin-imports-job", job.pk)


@admin_view(methods=("POST",))
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(shop=request.shop, pk=pk)
    services.import_job_start_apply(job=job, actor=request_actor(request))
    return see_other("admin-imports-job", job.pk)


@admin_view()
def progress(request: HttpRequest, pk: int) -> JsonResponse:
    job = selectors.import_job_get(shop=request.shop, pk=pk)
    return JsonResponse(
        {
            "status": job.status,
            "processed_rows": job.processed_rows,
            "total_rows": job.total_rows,
            "percent": job.progress_percent,
            "finished": job.status not in (ImportStatus.PLANNING, ImportStatus.APPLYING),
        }
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin_view()
def export(request: HttpRequest, name: str) -> StreamingHttpResponse:
    """The shop's members or ledger as CSV, streamed: rows are read in chunks as they are sent."""
    csv_export = selectors.EXPORTS[name]
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # spreadsheets then read the file as UTF-8
        yield writer.writerow(csv_export.header)
        for row in selectors.export_rows(shop=request.shop, export=csv_export):
            yield writer.writerow([_safe_cell(value) for value in row])

    stamp = datetime.now(tz=timezone.get_current_timezone()).strftime("%Y%m%d")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="setia-{name}-{stamp}.csv"'
    audit_record(
        shop=request.shop,
        actor=request_actor(request),
        action=f"imports.export_{name}",
        target_type=csv_export.target_type,
        note=f"CSV export of {name}",
    )
    return response


def _safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
