"""Forms of the admin's core pages, validated on the server."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.members.models import MemberStatus
from loyalty.merchant_admin.selectors import DEFAULT_MEMBER_SORT, MemberFilters
from loyalty.platforms.shopify.models import DeliveryStatus
from loyalty.shops.models import Shop
from loyalty.tiers.models import Tier

NO_TIER = "none"
MAX_ADJUSTMENT = 1_000_000
MEMBER_STATUS_LABELS = {
    MemberStatus.ACTIVE: _("Active"),
    MemberStatus.EXCLUDED: _("Excluded"),
    MemberStatus.REDACTED: _("Redacted"),
}
SORT_CHOICES = [
    ("-enrolled", _("Newest members")),
    ("enrolled", _("Oldest members")),
    ("-balance", _("Highest balance")),
    ("balance", _("Lowest balance")),
    ("-activity", _("Most recently active")),
    ("activity", _("Least recently active")),
]
DELIVERY_STATUS_LABELS = {
    DeliveryStatus.RECEIVED: _("Received"),
    DeliveryStatus.RETRYING: _("Retrying"),
    DeliveryStatus.PROCESSED: _("Processed"),
    DeliveryStatus.IGNORED: _("Ignored"),
    DeliveryStatus.FAILED: _("Failed"),
}


def _day_start(day: date, shop: Shop) -> datetime:
    """Midnight at the start of `day` in the shop's time zone (what a merchant means)."""
    try:
        zone = ZoneInfo(shop.iana_timezone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, time.min, tzinfo=zone)


class MemberFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=254,
        help_text=_("Email, first or last name, or Shopify customer id"),
    )
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *MEMBER_STATUS_LABELS.items()],
    )
    balance_min = forms.IntegerField(label=_("Balance from"), required=False, min_value=0)
    balance_max = forms.IntegerField(label=_("Balance up to"), required=False, min_value=0)
    active_after = forms.DateField(
        label=_("Active on or after"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    active_before = forms.DateField(
        label=_("Active before"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        tiers = Tier.objects.filter(shop=shop).order_by("threshold", "pk").values_list("pk", "name")
        self.fields["tier"].choices = [
            ("", _("Any tier")),
            (NO_TIER, _("No tier")),
            *((str(pk), name) for pk, name in tiers),
        ]

    def clean(self):
        data = super().clean()
        low, high = data.get("balance_min"), data.get("balance_max")
        if low is not None and high is not None and low > high:
            self.add_error("balance_max", _("Must be at least the lower bound."))
        after, before = data.get("active_after"), data.get("active_before")
        if after and before and after >= before:
            self.add_error("active_before", _("Must be a later date than the start."))
        return data

    @property
    def sort_key(self) -> str:
        chosen = self.cleaned_data.get("sort") if self.is_bound and self.is_valid() else ""
        return chosen or DEFAULT_MEMBER_SORT

    def filters(self) -> MemberFilters:
        data = self.cleaned_data
        tier = data.get("tier") or ""
        return MemberFilters(
            search=data.get("q") or "",
            tier_id=int(tier) if tier.isdigit() else None,
            no_tier=tier == NO_TIER,
            status=data.get("status") or "",
            balance_min=data.get("balance_min"),
            balance_max=data.get("balance_max"),
            active_after=_day_start(data["active_after"], self.shop)
            if data.get("active_after")
            else None,
            active_before=_day_start(data["active_before"], self.shop)
            if data.get("active_before")
            else None,
        )


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"),
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text=_("Positive to add points, negative to take them away."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        error_messages={"required": _("Say why, for the member's history.")},
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the member's history and the audit log."),
    )
    # One key per form shown: submitting the same form twice changes the balance once.
    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("This form is out of date: reload the page."),
            "invalid": _("This form is out of date: reload the page."),
        },
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4())
        super().__init__(*args, **kwargs)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than 0."))
        return points


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *DELIVERY_STATUS_LABELS.items()],
    )


class IdListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        try:
            ids = [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Choose deliveries from the list.")) from None
        if any(i <= 0 for i in ids) or len(ids) > 500:
            raise forms.ValidationError(_("Choose deliveries from the list."))
        return sorted(set(ids))


class ReplayForm(forms.Form):
    ids = IdListField(error_messages={"required": _("Choose at least one delivery to replay.")})
