"""Points expiry's own records: since when each shop's expiry mode has applied, and the
reminders sent (one per member and expiry date)."""

from django.db import models

from loyalty.members.models import Member
from loyalty.shops.models import ExpiryMode, Shop


class ExpiryModeSince(models.Model):
    """When the expiry task first saw the shop's program in its current mode.

    Inactivity is counted from no earlier than this moment, so switching a program to
    inactivity expiry never expires a long-idle member's balance the same day: everyone gets
    the full `expiry_days` from the switch."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=16, choices=ExpiryMode.choices)
    since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.shop}: {self.mode} since {self.since:%Y-%m-%d %H:%M}"


class ReminderState(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ExpiryReminder(models.Model):
    """One reminder email per member and expiry date: the row is inserted before the email is
    sent (the unique constraint is what stops a second one), then marked sent or failed. The
    address is read from the member when sending, never copied here (redaction blanks it)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="expiry_reminders")
    expires_on = models.DateField(
        help_text="The (first) day the points expire, in the shop's timezone."
    )
    covers_until = models.DateTimeField(
        help_text="Latest expiry the email covered: lots expiring up to here are not mentioned "
        "again by a later reminder."
    )
    points = models.PositiveIntegerField()
    state = models.CharField(
        max_length=16, choices=ReminderState.choices, default=ReminderState.SENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "expires_on"], name="expiry_reminder_once_per_member_and_date"
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=~models.Q(state="sent"),
                name="expiry_reminder_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"reminder to member {self.member_id}: {self.points} points on {self.expires_on}"
