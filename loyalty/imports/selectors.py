"""Reads for the import pages and the CSV exports, every one scoped by shop."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from django.db import models
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from loyalty.imports import parsing
from loyalty.imports.messages import describe
from loyalty.imports.models import ImportJob
from loyalty.ledger.models import LedgerEntry
from loyalty.members.models import Member
from loyalty.shops.models import Shop

EXPORT_CHUNK = 2000
RECENT_JOBS = 20


@dataclasses.dataclass(frozen=True)
class CsvExport:
    """A CSV export: its rows are the shop's rows of `model`, one column per (header, field)."""

    name: str
    model: type[models.Model]
    columns: tuple[tuple[str, str], ...]
    target_type: str

    @property
    def header(self) -> list[str]:
        return [header for header, _ in self.columns]


EXPORTS = {
    export.name: export
    for export in (
        CsvExport(
            name="members",
            model=Member,
            target_type="members.member",
            columns=(
                ("email", "email"),
                ("first_name", "first_name"),
                ("last_name", "last_name"),
                ("customer_id", "platform_customer_id"),
                ("points_balance", "points_balance"),
                ("points_pending", "points_pending"),
                ("lifetime_earned", "lifetime_earned"),
                ("tier", "tier__name"),
                ("enrolled_at", "enrolled_at"),
                ("last_activity_at", "last_activity_at"),
            ),
        ),
        CsvExport(
            name="ledger",
            model=LedgerEntry,
            target_type="ledger.ledgerentry",
            columns=(
                ("customer_id", "member__platform_customer_id"),
                ("email", "member__email"),
                ("kind", "kind"),
                ("points", "points"),
                ("source_type", "source_type"),
                ("source_id", "source_id"),
                ("reason", "reason"),
                ("created_at", "created_at"),
            ),
        ),
    )
}


def import_job_get(*, shop: Shop, pk: int) -> ImportJob:
    """The shop's job; another shop's id is a 404."""
    return get_object_or_404(ImportJob.objects.select_related("shop"), shop=shop, pk=pk)


def import_jobs_recent(*, shop: Shop) -> QuerySet[ImportJob]:
    return (
        ImportJob.objects.filter(shop=shop)
        .defer("content", "plan", "apply_problems", "customer_lookups")
        .order_by("-created_at", "-pk")[:RECENT_JOBS]
    )


def import_job_tier_names(*, table: parsing.Table, column: int | None, has_header: bool) -> list:
    """The distinct tier names of a column, in the order they first appear."""
    if column is None:
        return []
    names: dict[str, str] = {}
    for row in table.rows[1 if has_header else 0 :]:
        value = row[column].strip() if column < len(row) else ""
        if value:
            names.setdefault(value.lower(), value)
    return list(names.values())


def plan_rows_described(rows: list[dict]) -> list[dict]:
    """The dry run's (or apply's) rows with their problems and notes worded."""
    return [
        {
            **row,
            "problem_texts": [describe(p) for p in row.get("problems", [])],
            "note_texts": [describe(n) for n in row.get("notes", [])],
        }
        for row in rows
    ]


def export_rows(*, shop: Shop, export: CsvExport) -> Iterator[list]:
    fields = [field for _, field in export.columns]
    for row in _keyset(export.model.objects.filter(shop=shop), fields):
        yield [_iso(value) for value in row]


def _keyset(queryset: QuerySet, fields: list[str]) -> Iterator[tuple]:
    """All rows in primary-key order, EXPORT_CHUNK at a time: a million rows never sit in
    memory, and no server-side cursor has to outlive the response."""
    last = 0
    while True:
        chunk = list(
            queryset.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:EXPORT_CHUNK]
        )
        for row in chunk:
            yield row[1:]
        if len(chunk) < EXPORT_CHUNK:
            return
        last = chunk[-1][0]


def _iso(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
