"""Importing members and balances: upload, mapping, dry run, apply.

The rules, in one place:

- Members are matched on the store's customer id when the row has one, otherwise on the email,
  case-insensitively (`Siti@Example.com` is `siti@example.com`). A row with a customer id that
  no member has enrols a new member (without the signup reward).
- A row with only an email that no member has is looked up in the store during the dry run
  (`StoreGateway.customers_find_by_email`, in batches; in the Celery task for a large file). The
  answer is kept on the job (`customer_lookups`), so applying never asks again: a customer found
  is enrolled with the store's customer id (names from the store when the file has none), or the
  member that already has that id is matched; an email the store does not have is skipped and
  reported. When the store cannot be asked, the dry run fails, says so and can be run again:
  an id is never guessed.
- Balances change only through the ledger: an `adjust` credit or debit, source `import`, source id
  `<file sha-256 prefix>:<row>`, under the idempotency key `import:<file sha-256>:<mode>:<row>`.
  In the same transaction the row's `ImportedRow` marker (the same key) is inserted, so applying
  the same file again, or resuming an interrupted job, changes nothing already done; the mode is
  in the key so that a file added by mistake can still be applied once in replace mode.
- Add: the file's points are added (a negative number takes points away, never below zero).
  Replace: the spendable balance becomes the file's number (pending points are left alone).
  Imported points expire under the program's policy from the day of the import.
- Points spent and pending are shown in the dry run and not imported: the ledger would count
  spent points as today's redemptions, and pending ones have no release date in the files.
- Names and a birthday fill what the member does not have yet; they never overwrite the store's.
- Tiers: the file's tier names map to Setia tiers (same name, any case, unless the merchant maps
  them otherwise or ignores them); a member is put on the tier by hand
  (`loyalty.tiers.services.tier_assign`), which credits the tier's entry points once ever, as
  any manual assignment does. Setia sends no email for it.
- A row with any problem, or one that cannot be applied (skipped), changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from loyalty.audit.services import audit_record, audit_snapshot
from loyalty.core.platform import PlatformError, gateway_for
from loyalty.expiry.services import credit_expires_at
from loyalty.imports import parsing
from loyalty.imports.models import (
    STORE_LOOKUP_FAILED,
    ImportedRow,
    ImportJob,
    ImportMode,
    ImportStatus,
)
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import (
    ledger_credit,
    ledger_debit,
    ledger_expire_due,
    ledger_release_due,
)
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import member_get_or_create, member_lock, redacted_customer_id
from loyalty.shops.models import Program, Shop
from loyalty.tiers.models import Tier
from loyalty.tiers.services import tier_assign

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
APPLY_SLICE_ROWS = 500  # rows per task run: a run stays well inside the task time limit
PLAN_REPORT_ROWS = 500  # rows listed in the dry run, and up to MAX_LISTED_PROBLEMS rows more
# that will not be applied
LOOKUP_BATCH = 500
PLAN_SLICE_LOOKUPS = 2500  # emails one run of the planning task asks the store about
STALE_AFTER = timedelta(minutes=10)  # an applying job without progress this long has stopped
MAX_LISTED_PROBLEMS = 1000  # rows not applied listed on the job (all are counted)
SOURCE_TYPE = "import"

# What happens to a row.
NEW = "new"
UPDATE = "update"
UNCHANGED = "unchanged"
SKIP = "skip"
ERROR = "error"
ALREADY = "already_applied"
MATCHED_MEMBER = "member"
FOUND_IN_STORE = "store"
NOT_IN_STORE = "not_in_store"


class ImportRefused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclasses.dataclass
class RowPlan:
    """What a row does (the dry run shows it; apply does it)."""

    number: int
    action: str
    email: str = ""
    customer_id: str = ""
    balance_before: int | None = None
    balance_after: int | None = None
    points_change: int = 0
    tier: str = ""
    profile: list[str] = dataclasses.field(default_factory=list)
    problems: list[dict] = dataclasses.field(default_factory=list)
    notes: list[dict] = dataclasses.field(default_factory=list)
    # MATCHED_MEMBER: an existing member; FOUND_IN_STORE: a customer the store has, enrolled
    matched: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- upload and mapping -----------------------------------------------------------------------


def import_job_create(*, shop: Shop, actor: str, filename: str, data: bytes) -> ImportJob:
    """Keep the uploaded file with the detected source and a proposed mapping.
    Raises ImportRefused (too_large) or parsing.CsvError (not_utf8, empty, malformed)."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused("too_large")
    table = parsing.read_csv(data)
    detection = parsing.detect_source(table)
    mapping = parsing.propose_mapping(
        preset=detection.preset, table=table, has_header=detection.has_header
    )
    with transaction.atomic():
        job = ImportJob.objects.create(
            shop=shop,
            created_by=actor,
            filename=filename[:255],
            content=data,
            content_hash=hashlib.sha256(data).hexdigest(),
            source=detection.preset.key,
            detected_source=detection.preset.key,
            has_header=detection.has_header,
            mapping=mapping,
            total_rows=len(table.rows) - (1 if detection.has_header else 0),
        )
        audit_record(
            shop=shop,
            actor=actor,
            action="imports.upload",
            target=job,
            after=audit_snapshot(
                instance=job, fields=["filename", "content_hash", "source", "total_rows"]
            ),
        )
    return job


def import_job_table(*, job: ImportJob) -> parsing.Table:
    return parsing.read_csv(bytes(job.content))


def import_job_configure(
    *,
    job: ImportJob,
    actor: str,
    source: str,
    has_header: bool,
    mapping: dict[str, int | None],
    mode: str,
    tier_map: dict[str, int | None],
) -> ImportJob:
    """The merchant confirmed the mapping and the mode: run the dry run (in a task for a large
    file, after commit). Only a job not yet applied can be configured again."""
    if mode not in ImportMode.values:
        raise ValueError(f"mode is {ImportMode.values}, not {mode!r}")
    table = import_job_table(job=job)
    with transaction.atomic():
        # Not while a dry run is under way (its result would land on the new mapping).
        not_applied = Q(status__in=[ImportStatus.MAPPING, ImportStatus.PLANNED]) | Q(
            status=ImportStatus.FAILED, started_at__isnull=True
        )
        updated = ImportJob.objects.filter(not_applied, pk=job.pk, shop=job.shop).update(
            source=source,
            has_header=has_header,
            mapping={role: mapping.get(role) for role in parsing.ROLES},
            mode=mode,
            tier_map={name.lower(): tier_id for name, tier_id in tier_map.items()},
            total_rows=len(table.rows) - (1 if has_header else 0),
            status=ImportStatus.PLANNING,
            plan=None,
            customer_lookups={},
            failure="",
            failure_code="",
            updated_at=timezone.now(),
        )
        if not updated:
            raise ImportRefused("not_configurable")
        job.refresh_from_db()
        if job.is_large:
            transaction.on_commit(lambda: _enqueue_plan(job.pk), robust=True)
    if not job.is_large:
        job = import_job_plan(job_id=job.pk)
    return job


# --- dry run ----------------------------------------------------------------------------------


def import_job_replan(*, job: ImportJob) -> ImportJob:
    """Run the dry run again, as configured, after the store could not be asked (the job was
    never applied). A job in any other state is left as it is."""
    with transaction.atomic():
        updated = ImportJob.objects.filter(
            pk=job.pk,
            shop=job.shop,
            status=ImportStatus.FAILED,
            failure_code=STORE_LOOKUP_FAILED,
            started_at__isnull=True,
        ).update(
            status=ImportStatus.PLANNING,
            plan=None,
            failure="",
            failure_code="",
            updated_at=timezone.now(),
        )
        job.refresh_from_db()
        if updated and job.is_large:
            transaction.on_commit(lambda: _enqueue_plan(job.pk), robust=True)
    if updated and not job.is_large:
        job = import_job_plan(job_id=job.pk)
    return job


def import_job_plan(*, job_id: int, max_lookups: int | None = None) -> ImportJob:
    """Work out what every row would do, with totals; nothing is changed.

    First the emails no member has are looked up in the store, at most `max_lookups` of them
    per call (None: all): their answers are saved on the job as they come, and a job still
    PLANNING afterwards has more to look up (the task runs again, so that a run stays inside
    the task time limit). Once every email is answered, the rows are planned."""
    job = ImportJob.objects.select_related("shop").get(pk=job_id)
    if job.status != ImportStatus.PLANNING:
        return job
    lookups: dict[str, dict | None] = dict(job.customer_lookups)
    try:
        rows = _parsed_rows(job)
        missing = _emails_to_look_up(job, rows, lookups)
        if max_lookups is not None and len(missing) > max_lookups:
            lookups.update(_store_customers(job.shop, missing[:max_lookups]))
            ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PLANNING).update(
                customer_lookups=lookups, updated_at=timezone.now()
            )
            job.refresh_from_db()
            return job
        lookups.update(_store_customers(job.shop, missing))
        plans = _plan_rows(job, rows, lookups)
    except PlatformError as exc:
        # Nothing is guessed: the dry run stops and can be run again; the answers saved so far
        # are kept, so a large file carries on where it stopped.
        logger.warning("dry run of import %s: the store lookup failed: %s", job_id, exc)
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.PLANNING).update(
            status=ImportStatus.FAILED,
            failure=f"{exc.code}: {exc}"[:2000],
            failure_code=STORE_LOOKUP_FAILED,
            updated_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    except Exception as exc:
        logger.exception("dry run of import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.PLANNING).update(
            status=ImportStatus.FAILED, failure=f"{type(exc).__name__}: {exc}"[:2000]
        )
        job.refresh_from_db()
        return job
    totals = _totals(plans)
    listed = [p.as_dict() for p in plans[:PLAN_REPORT_ROWS]]
    not_applied = [p for p in plans[PLAN_REPORT_ROWS:] if p.action in (SKIP, ERROR)]
    listed += [p.as_dict() for p in not_applied[:MAX_LISTED_PROBLEMS]]
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PLANNING).update(
        status=ImportStatus.PLANNED,
        plan={"totals": totals, "rows": listed},
        customer_lookups=lookups,
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def _parsed_rows(job: ImportJob) -> list[parsing.Row]:
    preset = parsing.PRESETS.get(job.source, parsing.PRESETS[parsing.GENERIC])
    return parsing.parse_rows(
        table=import_job_table(job=job),
        mapping=job.mapping,
        has_header=job.has_header,
        mode=job.mode,
        transactions=preset.transactions,
        tiers=_tier_lookup(job),
    )


def _tier_lookup(job: ImportJob) -> dict[str, int | None]:
    """The file's tier names (lowercased) -> Setia tier id, None to ignore the name."""
    lookup: dict[str, int | None] = {
        name.lower(): pk
        for pk, name in Tier.objects.filter(shop=job.shop).values_list("pk", "name")
    }
    lookup.update(job.tier_map)
    return lookup


def _plan_rows(
    job: ImportJob, rows: list[parsing.Row], lookups: dict[str, dict | None]
) -> list[RowPlan]:
    """Every row's plan, with the store's answers (`lookups`) for emails no member has."""
    tiers = {tier.pk: tier for tier in Tier.objects.filter(shop=job.shop)}
    tier_ids = _tier_lookup(job)
    # A history file may move one member several times: each row starts where the last left.
    running: dict[int, int] = {}
    new_members: dict[str, int] = {}
    plans = []
    for batch in _batches(rows, LOOKUP_BATCH):
        applied, pending, by_id, by_email = _batch_state(job, batch)
        resolved = {row.number: _with_store_customer(row, by_email, lookups) for row in pending}
        if any(resolved[row.number] is not row for row in pending):
            by_id, by_email = _members_for(
                job.shop, [r for r in resolved.values() if isinstance(r, parsing.Row)]
            )
        for row in batch:
            if not row.ok:
                plans.append(_error_plan(row))
                continue
            if _row_key(job, row) in applied:
                plans.append(_plan(row, ALREADY, problems=[{"code": ALREADY}]))
                continue
            completed = resolved[row.number]  # with the store's customer id, if it was asked
            if isinstance(completed, RowPlan):
                plans.append(completed)
                continue
            plan = _plan_row(completed, job, by_id, by_email, tiers, tier_ids, running, new_members)
            if plan.action not in (SKIP, ERROR) and completed is not row and not plan.matched:
                plan.matched = FOUND_IN_STORE
            plans.append(plan)
    return plans


def _plan_row(row, job, by_id, by_email, tiers, tier_ids, running, new_members) -> RowPlan:
    """One row's plan; `running` and `new_members` carry the balances earlier rows left."""
    found = _match(row, by_id, by_email)
    if isinstance(found, RowPlan):
        return found
    tier = tiers.get(tier_ids.get(row.tier_name.lower())) if row.tier_name else None
    if found is None:
        balance = new_members.get(row.customer_id, 0)
    else:
        balance = running.get(found.pk, found.points_balance)
    plan = _decide(row, found, balance=balance, mode=job.mode, tier=tier)
    if found is not None and plan.action not in (SKIP, ERROR):
        plan.matched = MATCHED_MEMBER
    if found is None and row.customer_id in new_members and plan.action == NEW:
        # enrolled by an earlier row of this file
        plan.action = UPDATE if plan.points_change or plan.tier else UNCHANGED
    if plan.balance_after is not None:
        if found is None:
            new_members[row.customer_id] = plan.balance_after
        else:
            running[found.pk] = plan.balance_after
    return plan


def _totals(plans: list[RowPlan]) -> dict:
    totals = {action: 0 for action in (NEW, UPDATE, UNCHANGED, ALREADY, SKIP, ERROR)}
    for plan in plans:
        totals[plan.action] += 1
    totals["rows"] = len(plans)
    totals["points_added"] = sum(p.points_change for p in plans if p.points_change > 0)
    totals["points_removed"] = -sum(p.points_change for p in plans if p.points_change < 0)
    totals["tiers_set"] = sum(1 for p in plans if p.tier)
    totals["matched_members"] = sum(1 for p in plans if p.matched == MATCHED_MEMBER)
    totals["found_in_store"] = sum(1 for p in plans if p.matched == FOUND_IN_STORE)
    totals["not_in_store"] = sum(
        1 for p in plans if any(q["code"] == NOT_IN_STORE for q in p.problems)
    )
    return totals


# --- the store's customers for emails no member has -------------------------------------------


def _batch_state(job: ImportJob, batch: list[parsing.Row]):
    """The batch's rows already applied (keys), the rows still to plan, and their members."""
    applied = set(
        ImportedRow.objects.filter(
            shop=job.shop, key__in=[_row_key(job, row) for row in batch]
        ).values_list("key", flat=True)
    )
    pending = [row for row in batch if row.ok and _row_key(job, row) not in applied]
    by_id, by_email = _members_for(job.shop, pending)
    return applied, pending, by_id, by_email


def _emails_to_look_up(
    job: ImportJob, rows: list[parsing.Row], lookups: dict[str, dict | None]
) -> list[str]:
    """Emails of rows still to apply that name no customer id and no member has, not yet
    answered by the store, in file order."""
    missing: dict[str, None] = {}
    for batch in _batches(rows, LOOKUP_BATCH):
        _applied, pending, _by_id, by_email = _batch_state(job, batch)
        for row in pending:
            named_by_email_only = row.email and not row.customer_id
            if named_by_email_only and row.email not in by_email and row.email not in lookups:
                missing[row.email] = None
    return list(missing)


def _store_customers(shop: Shop, emails: list[str]) -> dict[str, dict | None]:
    """The store's answer for each email: {id, first_name, last_name}, or None when the store
    has no such customer. Raises PlatformError."""
    if not emails:
        return {}
    found = gateway_for(shop).customers_find_by_email(shop=shop, emails=emails)
    answers: dict[str, dict | None] = dict.fromkeys(emails)
    for email in emails:
        customer = found.get(email)
        if customer is not None and customer.platform_customer_id:
            answers[email] = {
                "id": customer.platform_customer_id,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
            }
    return answers


def _with_store_customer(
    row: parsing.Row, by_email: dict[str, list[Member]], lookups: dict[str, dict | None]
) -> parsing.Row | RowPlan:
    """A row with only an email that no member has, completed with the store's customer id
    (and the store's names where the file has none); the plan of a skipped row when the store
    has no such customer. Any other row is returned as it is."""
    if row.customer_id or not row.email or by_email.get(row.email):
        return row
    if row.email not in lookups:  # not asked (the member the dry run matched has gone since)
        return _plan(row, SKIP, problems=[{"code": "no_member"}], notes=_notes(row))
    customer = lookups[row.email]
    if customer is None:
        return _plan(row, SKIP, problems=[{"code": NOT_IN_STORE}], notes=_notes(row))
    return dataclasses.replace(
        row,
        customer_id=customer["id"],
        first_name=row.first_name or customer.get("first_name") or "",
        last_name=row.last_name or customer.get("last_name") or "",
    )


# --- deciding a row (the dry run and apply share it) ------------------------------------------


def _members_for(
    shop: Shop, rows: Iterable[parsing.Row]
) -> tuple[dict[str, Member], dict[str, list[Member]]]:
    rows = list(rows)
    ids = {row.customer_id for row in rows if row.customer_id}
    emails = {row.email for row in rows if row.email}
    # A customer erased at their request is never enrolled again: their tombstone answers.
    erased = {redacted_customer_id(shop=shop, platform_customer_id=i): i for i in ids}
    by_id: dict[str, Member] = {}
    for m in Member.objects.filter(shop=shop, platform_customer_id__in=[*ids, *erased]):
        by_id.setdefault(erased.get(m.platform_customer_id, m.platform_customer_id), m)
    by_email: dict[str, list[Member]] = {}
    matches = (
        Member.objects.filter(shop=shop)
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
        .order_by("pk")
    )
    for member in matches:
        by_email.setdefault(member.email_lower, []).append(member)
    return by_id, by_email


def _match(
    row: parsing.Row, by_id: dict[str, Member], by_email: dict[str, list[Member]]
) -> Member | RowPlan | None:
    """The row's member; None: a new member (the row has a customer id no member has); or the
    plan of a row that cannot be applied."""
    if row.customer_id:
        member = by_id.get(row.customer_id)
        if member is None:
            others = by_email.get(row.email, []) if row.email else []
            if others:
                taken = {"code": "email_taken", "customer_id": others[0].platform_customer_id}
                return _plan(row, SKIP, problems=[taken])
            return None
    else:
        found = by_email.get(row.email, [])
        if not found:
            return _plan(row, SKIP, problems=[{"code": "no_member"}])
        if len(found) > 1:
            return _plan(row, SKIP, problems=[{"code": "several_members", "count": len(found)}])
        member = found[0]
    if member.status != MemberStatus.ACTIVE:
        return _plan(row, SKIP, problems=[{"code": "member_not_active"}])
    return member


def _decide(
    row: parsing.Row, member: Member | None, *, balance: int, mode: str, tier: Tier | None
) -> RowPlan:
    notes = _notes(row)
    change = 0
    if row.points is not None:
        change = row.points - balance if mode == ImportMode.REPLACE else row.points
        if balance + change < 0:
            overdraw = {"code": "overdraw", "points": -change, "balance": balance}
            return _plan(row, SKIP, problems=[overdraw], notes=notes, balance_before=balance)
    tier_name = (
        tier.name if tier is not None and (member is None or member.tier_id != tier.pk) else ""
    )
    profile = _profile_changes(row, member)
    if member is None:
        action = NEW
    elif change or tier_name or profile:
        action = UPDATE
    else:
        action = UNCHANGED
    return _plan(
        row,
        action,
        balance_before=balance,
        balance_after=balance + change,
        points_change=change,
        tier=tier_name,
        profile=profile,
        notes=notes,
    )


def _profile_changes(row: parsing.Row, member: Member | None) -> list[str]:
    """The details the row fills in: only what the member does not have yet."""
    changes = []
    if row.first_name and not (member and member.first_name):
        changes.append("first_name")
    if row.last_name and not (member and member.last_name):
        changes.append("last_name")
    if row.birthday and not (member and member.birthday_month):
        changes.append("birthday")
    return changes


def _notes(row: parsing.Row) -> list[dict]:
    notes = []
    if row.points_rounded_from:
        notes.append({"code": "rounded", "value": row.points_rounded_from, "points": row.points})
    if row.points_spent:
        notes.append({"code": "spent_not_imported", "value": row.points_spent})
    if row.points_pending:
        notes.append({"code": "pending_not_imported", "value": row.points_pending})
    return notes


def _plan(row: parsing.Row, action: str, **fields) -> RowPlan:
    return RowPlan(
        number=row.number, action=action, email=row.email, customer_id=row.customer_id, **fields
    )


def _error_plan(row: parsing.Row) -> RowPlan:
    return _plan(row, ERROR, problems=[p.as_dict() for p in row.problems], notes=_notes(row))


# --- apply ------------------------------------------------------------------------------------


def import_job_start_apply(*, job: ImportJob, actor: str) -> bool:
    """Start applying a job whose dry run is ready, or resume one that stopped (failed, or no
    progress for a while: its worker died). False when there is nothing to start."""
    now = timezone.now()
    with transaction.atomic():
        started = ImportJob.objects.filter(
            pk=job.pk, shop=job.shop, status=ImportStatus.PLANNED
        ).update(status=ImportStatus.APPLYING, applied_by=actor, started_at=now, updated_at=now)
        resumed = 0
        if not started:
            stopped = Q(status=ImportStatus.FAILED) | Q(
                status=ImportStatus.APPLYING, updated_at__lt=now - STALE_AFTER
            )
            resumed = ImportJob.objects.filter(
                stopped, pk=job.pk, shop=job.shop, started_at__isnull=False
            ).update(status=ImportStatus.APPLYING, failure="", updated_at=now)
        if not (started or resumed):
            return False
        job.refresh_from_db()
        audit_record(
            shop=job.shop,
            actor=actor,
            action="imports.apply" if started else "imports.resume",
            target=job,
            after=audit_snapshot(
                instance=job, fields=["filename", "content_hash", "mode", "total_rows"]
            ),
            note=f"{job.filename}: {job.mode}, from row {job.processed_rows + 1} of the data",
        )
        if job.is_large:
            transaction.on_commit(lambda: _enqueue_apply(job.pk), robust=True)
    if not job.is_large:
        while not import_job_apply_slice(job_id=job.pk, max_rows=APPLY_SLICE_ROWS):
            pass
        job.refresh_from_db()
    return True


def import_job_apply_slice(*, job_id: int, max_rows: int) -> bool:
    """Apply up to `max_rows` rows from where the job stands; True when there is nothing more
    for this run to do. Each row is one transaction that holds the job's row lock, checks that
    the row is the next one, and moves the job's progress: a job can stop anywhere and resume
    exactly, and a second runner (a resume while a slow one still runs) never applies or counts
    a row twice (it stops at the first row the other has done)."""
    job = ImportJob.objects.select_related("shop").get(pk=job_id)
    if job.status != ImportStatus.APPLYING:
        return True
    try:
        rows = _parsed_rows(job)
        start = job.processed_rows
        program = Program.objects.get(shop=job.shop)
        tiers = {tier.pk: tier for tier in Tier.objects.filter(shop=job.shop)}
        tier_ids = _tier_lookup(job)
        for index in range(start, min(start + max_rows, len(rows))):
            plan = _apply_row(
                job, rows[index], index, program=program, tiers=tiers, tier_ids=tier_ids
            )
            if plan is None:
                return True  # another runner is ahead: it carries on
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED, failure=f"{type(exc).__name__}: {exc}"[:2000]
        )
        return True
    job.refresh_from_db(fields=["processed_rows", "total_rows"])
    if job.processed_rows < job.total_rows:
        return False
    # Finished: the uploaded file is not needed any more (it holds customers' personal data).
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.APPLYING).update(
        status=ImportStatus.DONE,
        content=b"",
        customer_lookups={},
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return True


class _NotApplied(Exception):
    def __init__(self, plan: RowPlan):
        self.plan = plan


COUNTER = {
    NEW: "created_count",
    UPDATE: "updated_count",
    UNCHANGED: "unchanged_count",
    ALREADY: "already_applied_count",
    SKIP: "skipped_count",
    ERROR: "error_count",
}


def _apply_row(
    job: ImportJob,
    row: parsing.Row,
    index: int,
    *,
    program: Program,
    tiers: dict[int, Tier],
    tier_ids: dict[str, int | None],
) -> RowPlan | None:
    """Apply the job's row `index`; None when it is not the job's next row any more."""
    now = timezone.now()
    try:
        with transaction.atomic():
            if not _is_next_row(job, index):
                return None
            plan = _apply_row_locked(
                job, row, program=program, tiers=tiers, tier_ids=tier_ids, now=now
            )
            _advance(job, index, plan)
            return plan
    except _NotApplied as not_applied:
        # Everything the row did is rolled back; its outcome is recorded on its own.
        with transaction.atomic():
            if not _is_next_row(job, index):
                return None
            _advance(job, index, not_applied.plan)
        return not_applied.plan


def _is_next_row(job: ImportJob, index: int) -> bool:
    """Lock the job's row (until the row's transaction ends) and check where it stands."""
    done = (
        ImportJob.objects.select_for_update()
        .filter(pk=job.pk, status=ImportStatus.APPLYING)
        .values_list("processed_rows", flat=True)
        .first()
    )
    return done == index


def _apply_row_locked(
    job: ImportJob,
    file_row: parsing.Row,
    *,
    program: Program,
    tiers: dict[int, Tier],
    tier_ids: dict[str, int | None],
    now: datetime,
) -> RowPlan:
    if not file_row.ok:
        raise _NotApplied(_error_plan(file_row))
    by_id, by_email = _members_for(job.shop, [file_row])
    # An email no member has: the store's customer as the dry run found it (never asked again).
    row = _with_store_customer(file_row, by_email, job.customer_lookups)
    if isinstance(row, RowPlan):
        raise _NotApplied(row)
    if row is not file_row:
        by_id, by_email = _members_for(job.shop, [row])
    found = _match(row, by_id, by_email)
    if isinstance(found, RowPlan):
        raise _NotApplied(found)
    try:
        with transaction.atomic():
            marker = ImportedRow.objects.create(
                shop=job.shop, job=job, key=_row_key(job, row), row_number=row.number, action=""
            )
    except IntegrityError:
        raise _NotApplied(_plan(row, ALREADY, problems=[{"code": ALREADY}])) from None
    created = False
    if found is None:
        found, created = member_get_or_create(
            shop=job.shop,
            platform_customer_id=row.customer_id,
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
        )
    if job.mode == ImportMode.REPLACE or (row.points or 0) < 0:
        # Due pending points and expired lots first: the balance read under the lock is the
        # one the ledger will see (adding needs no balance; a debit is checked by the ledger).
        ledger_release_due(member=found, now=now)
        ledger_expire_due(member=found, now=now)
    member = member_lock(member_id=found.pk)
    tier = tiers.get(tier_ids.get(row.tier_name.lower())) if row.tier_name else None
    plan = _decide(
        row, None if created else member, balance=member.points_balance, mode=job.mode, tier=tier
    )
    if plan.action in (SKIP, ERROR):
        raise _NotApplied(plan)
    _fill_profile(member, row, plan.profile, enrolled=row.enrolled if created else None)
    _move_points(job, row, member, plan.points_change, program=program, now=now)
    if plan.tier:
        tier_assign(
            member=member,
            tier=tier,
            actor=job.applied_by or job.created_by,
            reason=f"Imported from {job.filename}, row {row.number}",
            now=now,
        )
    marker.member = member
    marker.action = plan.action
    marker.points_change = plan.points_change
    marker.save(update_fields=["member", "action", "points_change"])
    return plan


def _fill_profile(member: Member, row: parsing.Row, fields: list[str], *, enrolled) -> None:
    update = []
    if "first_name" in fields:
        member.first_name = row.first_name
        update.append("first_name")
    if "last_name" in fields:
        member.last_name = row.last_name
        update.append("last_name")
    if "birthday" in fields:
        member.birthday_month = row.birthday.month
        member.birthday_day = row.birthday.day
        member.birthday_year = row.birthday.year
        update += ["birthday_month", "birthday_day", "birthday_year"]
    if enrolled is not None:
        member.enrolled_at = datetime.combine(enrolled, time(), tzinfo=UTC)
        update.append("enrolled_at")
    if update:
        member.save(update_fields=[*update, "updated_at"])


def _move_points(
    job: ImportJob, row: parsing.Row, member: Member, change: int, *, program, now
) -> None:
    if not change:
        return
    common = {
        "member": member,
        "points": abs(change),
        "idempotency_key": _row_key(job, row),
        "source_type": SOURCE_TYPE,
        "source_id": f"{job.content_hash[:16]}:{row.number}",
        "kind": EntryKind.ADJUST,
        "reason": f"Imported from {job.filename}, row {row.number} ({job.mode})",
        "actor": job.applied_by or job.created_by,
        "now": now,
    }
    if change > 0:
        ledger_credit(**common, expires_at=credit_expires_at(program=program, earned_at=now))
    else:
        ledger_debit(**common)


def _advance(job: ImportJob, index: int, plan: RowPlan) -> None:
    """Count the row and move the resume point past it, in the row's transaction."""
    updates = {
        "processed_rows": index + 1,
        COUNTER[plan.action]: F(COUNTER[plan.action]) + 1,
        "updated_at": timezone.now(),
    }
    if plan.points_change > 0:
        updates["points_added"] = F("points_added") + plan.points_change
    elif plan.points_change < 0:
        updates["points_removed"] = F("points_removed") - plan.points_change
    if plan.action in (SKIP, ERROR, ALREADY):
        # The job's row is locked (`_is_next_row`): read and write its list in one step.
        listed = ImportJob.objects.values_list("apply_problems", flat=True).get(pk=job.pk)
        problems = [p for p in listed if p["number"] != plan.number]
        if len(problems) < MAX_LISTED_PROBLEMS:
            updates["apply_problems"] = [*problems, plan.as_dict()]
    ImportJob.objects.filter(pk=job.pk).update(**updates)


def _row_key(job: ImportJob, row: parsing.Row) -> str:
    return f"import:{job.content_hash}:{job.mode}:{row.number}"


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _enqueue_plan(job_id: int) -> None:
    from loyalty.imports.tasks import plan_import_job

    plan_import_job.delay(job_id)


def _enqueue_apply(job_id: int) -> None:
    from loyalty.imports.tasks import apply_import_job

    apply_import_job.delay(job_id)


def imported_entries(*, job: ImportJob):
    """The ledger entries a job's file wrote (any job that applied the same file)."""
    return LedgerEntry.objects.filter(
        shop=job.shop, source_type=SOURCE_TYPE, source_id__startswith=f"{job.content_hash[:16]}:"
    )
