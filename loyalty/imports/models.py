"""Imports of members and balances from other loyalty apps' CSV files.

An `ImportJob` keeps the uploaded file itself (so a worker can read it and a dry run can be
redone after the mapping changes), the mapping the merchant confirmed, the dry run's report and
the apply's progress. Each applied row leaves an `ImportedRow` whose key (file hash, mode, row)
is unique per shop, inserted in the row's transaction: applying the same file again, or resuming
a job, changes nothing that was already done.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.shops.models import Shop

LARGE_FILE_ROWS = 1000  # larger files are planned and applied by a Celery task
STORE_LOOKUP_FAILED = "store_lookup"


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("Waiting for the column mapping")
    PLANNING = "planning", _("Dry run in progress")
    PLANNED = "planned", _("Dry run ready")
    APPLYING = "applying", _("Applying")
    DONE = "done", _("Applied")
    FAILED = "failed", _("Failed")


class ImportMode(models.TextChoices):
    ADD = "add", _("Add to current balances")
    REPLACE = "replace", _("Replace current balances")


class ImportJob(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    created_by = models.CharField(max_length=100, help_text="Who uploaded: staff:<user id>.")
    applied_by = models.CharField(max_length=100, blank=True)
    filename = models.CharField(max_length=255)
    content = models.BinaryField(help_text="The file as uploaded.")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the file's bytes.")
    source = models.CharField(max_length=32, help_text="The preset: the app the file came from.")
    detected_source = models.CharField(max_length=32)
    has_header = models.BooleanField(default=True)
    mapping = models.JSONField(default=dict, help_text="Role -> column index.")
    tier_map = models.JSONField(
        default=dict, help_text="The file's tier names (lowercased) -> Setia tier id or null."
    )
    mode = models.CharField(max_length=16, choices=ImportMode.choices, blank=True)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    total_rows = models.PositiveIntegerField(default=0)
    # Apply progress: data rows done, in file order (the resume point).
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    already_applied_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    points_added = models.BigIntegerField(default=0)
    points_removed = models.BigIntegerField(default=0)
    plan = models.JSONField(null=True, blank=True, help_text="The dry run: totals and rows.")
    apply_problems = models.JSONField(
        default=list, blank=True, help_text="Rows not applied, with why (row number, problems)."
    )
    customer_lookups = models.JSONField(
        default=dict,
        blank=True,
        help_text="The dry run's answers from the store for emails no member has: lowercased "
        "email -> {id, first_name, last_name}, or null when the store has no such customer.",
    )
    failure = models.TextField(blank=True)
    failure_code = models.CharField(
        max_length=32, blank=True, help_text="store_lookup: the store could not be asked."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "-created_at"], name="importjob_shop_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=models.F("total_rows")),
                name="importjob_progress_within_rows",
            )
        ]

    def __str__(self) -> str:
        return f"import {self.pk} {self.filename} ({self.status})"

    @property
    def store_lookup_failed(self) -> bool:
        return self.status == ImportStatus.FAILED and self.failure_code == STORE_LOOKUP_FAILED

    @property
    def is_large(self) -> bool:
        return self.total_rows > LARGE_FILE_ROWS

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return int(self.processed_rows * 100 / self.total_rows)


class ImportedRow(models.Model):
    """One row of a file applied to a member: the marker that makes applying it again a no-op."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="applied_rows")
    key = models.CharField(max_length=120, help_text="import:<file sha-256>:<mode>:<row>")
    row_number = models.PositiveIntegerField()
    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="+", null=True
    )
    action = models.CharField(max_length=16)
    points_change = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="importedrow_key_unique_per_shop")
        ]

    def __str__(self) -> str:
        return self.key
