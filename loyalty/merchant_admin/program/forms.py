"""The program editors' forms. Each one refuses what the domain would refuse (the models'
constraints, the engine's and the services' rules) with a message next to the field, and
clears the fields that do not apply to the chosen kind, so what is saved is what counts."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from loyalty.earning.engine import RuleEffect, RuleKind, RuleTarget
from loyalty.earning.models import ActionCap, ActionKind, ActionRule, EarnRule
from loyalty.referrals.models import FriendDiscountKind, ReferralProgram
from loyalty.rewards.models import Reward, RewardKind
from loyalty.shops.models import (
    EarnTrigger,
    ExpiryMode,
    Program,
    Rounding,
    ShortfallPolicy,
    TierBasis,
    TierDowngrade,
    TierPeriod,
)
from loyalty.tiers.models import Tier

MAX_POINTS_PER_UNIT = Decimal("1000")
MAX_MULTIPLIER = Decimal("100")
MAX_TIER_MULTIPLIER = Decimal("10")
MAX_POINTS = 1_000_000
KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
VARIANT_RE = re.compile(r"(gid://shopify/ProductVariant/)?[0-9]{1,20}")


class LocalDateTimeInput(forms.DateTimeInput):
    """A browser date-time picker; values are in the shop's timezone (the view activates it)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def _date_field(label):
    return forms.DateTimeField(label=label, required=False, widget=LocalDateTimeInput())


def _lines(text: str, *, split_commas: bool = True) -> list[str]:
    parts = re.split(r"[\n,]" if split_commas else r"\n", text or "")
    seen: list[str] = []
    for part in (p.strip() for p in parts):
        if part and part not in seen:
            seen.append(part)
    return seen


def _ends_after_starts(form: forms.Form) -> None:
    starts, ends = form.cleaned_data.get("starts_at"), form.cleaned_data.get("ends_at")
    if starts and ends and ends <= starts:
        form.add_error("ends_at", _("The end must be after the start."))


def _choices(enum_choices):
    """Model choices with translated labels (the models' labels are English)."""
    return [(value, _(label)) for value, label in enum_choices]


# --- program settings -------------------------------------------------------------------------


class ProgramSettingsForm(forms.ModelForm):
    class Meta:
        model = Program
        fields = [
            "name",
            "points_name",
            "points_per_currency_unit",
            "rounding",
            "include_shipping",
            "include_tax",
            "include_gift_cards",
            "earn_trigger",
            "pending_days",
            "earn_on_pos",
            "earn_on_draft",
            "minimum_order",
            "guest_orders_earn",
            "shortfall_policy",
        ]
        labels = {
            "name": _("Program name"),
            "points_name": _("What points are called"),
            "points_per_currency_unit": _("Points per unit of shop currency"),
            "rounding": _("Rounding"),
            "include_shipping": _("Shipping earns points"),
            "include_tax": _("Tax earns points"),
            "include_gift_cards": _("Gift card purchases earn points"),
            "earn_trigger": _("Points are earned when the order is"),
            "pending_days": _("Days before points can be spent (return window)"),
            "earn_on_pos": _("Point of sale orders earn"),
            "earn_on_draft": _("Draft orders earn"),
            "minimum_order": _("Minimum order to earn"),
            "guest_orders_earn": _("Guest orders earn (credited when the shopper signs up)"),
            "shortfall_policy": _("When a refund takes back points already spent"),
        }
        help_texts = {
            "points_per_currency_unit": _("For example 1: an order of 100.00 earns 100 points."),
            "minimum_order": _("In shop currency; 0 for none."),
            "pending_days": "",
            "guest_orders_earn": "",
            "shortfall_policy": "",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rounding"].choices = _choices(Rounding.choices)
        self.fields["earn_trigger"].choices = _choices(EarnTrigger.choices)
        self.fields["shortfall_policy"].choices = _choices(ShortfallPolicy.choices)

    def clean_points_per_currency_unit(self):
        rate = self.cleaned_data["points_per_currency_unit"]
        if rate <= 0 or rate > MAX_POINTS_PER_UNIT:
            raise forms.ValidationError(
                _("Points per unit must be more than 0 and at most %(max)s.")
                % {"max": MAX_POINTS_PER_UNIT}
            )
        return rate

    def clean_pending_days(self):
        days = self.cleaned_data["pending_days"]
        if days > 365:
            raise forms.ValidationError(_("The return window can be at most 365 days."))
        return days

    def clean_minimum_order(self):
        amount = self.cleaned_data["minimum_order"]
        if amount < 0:
            raise forms.ValidationError(_("The minimum order cannot be negative."))
        return amount


class EarnRateForm(forms.ModelForm):
    """Onboarding's first step: the earn rate and what points are called."""

    class Meta:
        model = Program
        fields = ["points_name", "points_per_currency_unit"]
        labels = ProgramSettingsForm.Meta.labels
        help_texts = ProgramSettingsForm.Meta.help_texts

    clean_points_per_currency_unit = ProgramSettingsForm.clean_points_per_currency_unit


class ExpiryForm(forms.ModelForm):
    class Meta:
        model = Program
        fields = [
            "expiry_mode",
            "expiry_days",
            "expiry_reminder_days",
            "return_points_for_expired_codes",
        ]
        labels = {
            "expiry_mode": _("Points expire"),
            "expiry_days": _("Days until points expire"),
            "expiry_reminder_days": _("Reminder email, days before expiry (0: none)"),
            "return_points_for_expired_codes": _(
                "Give the points back when a reward code expires unused"
            ),
        }
        help_texts = {
            "expiry_days": _(
                "Each earn: days after it was earned; inactivity: days after the last activity."
            ),
            "expiry_reminder_days": "",
            "return_points_for_expired_codes": "",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expiry_mode"].choices = _choices(ExpiryMode.choices)

    def clean(self):
        data = super().clean()
        mode, days = data.get("expiry_mode"), data.get("expiry_days")
        reminder = data.get("expiry_reminder_days")
        if mode and mode != ExpiryMode.NEVER and days is not None:
            if days < 1 or days > 3650:
                self.add_error("expiry_days", _("Points expire after 1 to 3650 days."))
            elif reminder is not None and reminder >= days:
                self.add_error(
                    "expiry_reminder_days",
                    _("The reminder must come before the points expire: fewer than %(days)s days.")
                    % {"days": days},
                )
        return data


# --- earn rules and actions -------------------------------------------------------------------


class EarnRuleForm(forms.ModelForm):
    values = forms.CharField(
        label=_("Products, collections, tags or SKUs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line or separated by commas: product or collection ids, tags, SKUs."),
    )
    starts_at = _date_field(_("Starts"))
    ends_at = _date_field(_("Ends"))
    tiers = forms.MultipleChoiceField(
        label=_("Only for these tiers (campaigns; none: everyone)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = EarnRule
        fields = [
            "name",
            "kind",
            "effect",
            "target",
            "values",
            "multiplier",
            "points",
            "starts_at",
            "ends_at",
            "tiers",
            "every_nth",
            "first_order",
            "enabled",
        ]
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "effect": _("Effect"),
            "target": _("Applies to"),
            "multiplier": _("Multiplier"),
            "points": _("Bonus points"),
            "every_nth": _("Every Nth paid order (milestones; 0: no)"),
            "first_order": _("On the first order (milestones)"),
            "enabled": _("Switched on"),
        }
        help_texts = {
            "points": _("Product rules: per unit bought; campaigns and milestones: per order."),
            "multiplier": _("For example 2 for double points."),
        }

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (RuleKind.PRODUCT.value, _("Product, collection, tag or SKU")),
            (RuleKind.CAMPAIGN.value, _("Campaign (a time window)")),
            (RuleKind.MILESTONE.value, _("Milestone (first order, every Nth order)")),
        ]
        self.fields["effect"].choices = [
            (RuleEffect.MULTIPLY.value, _("Multiply points")),
            (RuleEffect.BONUS.value, _("Add bonus points")),
            (RuleEffect.EXCLUDE.value, _("Exclude from earning")),
        ]
        self.fields["target"].choices = [
            ("", "---------"),
            (RuleTarget.PRODUCT.value, _("Products")),
            (RuleTarget.COLLECTION.value, _("Collections")),
            (RuleTarget.TAG.value, _("Product tags")),
            (RuleTarget.SKU.value, _("SKUs")),
        ]
        for name in ("multiplier", "points", "every_nth"):
            self.fields[name].required = False  # filled with the default when not used
        # Campaigns name tiers by name (the earning engine's seam).
        names = list(Tier.objects.filter(shop=shop).values_list("name", flat=True))
        current = list(self.instance.tiers or []) if self.instance.pk else []
        self.fields["tiers"].choices = [(n, n) for n in dict.fromkeys([*names, *current])]
        if self.instance.pk and not self.is_bound:
            self.initial["values"] = "\n".join(str(v) for v in self.instance.values or [])

    def clean_values(self):
        return _lines(self.cleaned_data["values"])

    def clean(self):
        data = super().clean()
        kind, effect = data.get("kind"), data.get("effect")
        for name, default in (("multiplier", Decimal("1")), ("points", 0), ("every_nth", 0)):
            if data.get(name) is None and name not in self.errors:
                data[name] = default
        if not kind or not effect:
            return data
        if kind == RuleKind.PRODUCT:
            if not data.get("target"):
                self.add_error("target", _("Choose what the rule applies to."))
            if not data.get("values"):
                self.add_error("values", _("Name at least one product, collection, tag or SKU."))
        else:
            data["target"], data["values"] = "", []
        if kind == RuleKind.CAMPAIGN:
            if effect == RuleEffect.EXCLUDE:
                self.add_error("effect", _("A campaign multiplies points or adds a bonus."))
            if not data.get("starts_at") or not data.get("ends_at"):
                self.add_error("ends_at", _("A campaign runs in a window: set its start and end."))
        else:
            data["tiers"] = []
        if kind == RuleKind.MILESTONE:
            if effect != RuleEffect.BONUS:
                self.add_error("effect", _("A milestone adds bonus points."))
            if not data.get("first_order") and not data.get("every_nth"):
                self.add_error("every_nth", _("Choose the first order, every Nth order, or both."))
        else:
            data["every_nth"], data["first_order"] = 0, False
        if effect == RuleEffect.MULTIPLY:
            multiplier = data.get("multiplier")
            if multiplier is not None and not (1 < multiplier <= MAX_MULTIPLIER):
                self.add_error(
                    "multiplier",
                    _("A multiplier must be more than 1 and at most %(max)s.")
                    % {"max": MAX_MULTIPLIER},
                )
            data["points"] = 0
        else:
            data["multiplier"] = Decimal("1")
        if effect == RuleEffect.BONUS:
            points = data.get("points")
            if points is not None and not (0 < points <= MAX_POINTS):
                self.add_error(
                    "points",
                    _("Bonus points are a whole number from 1 to %(max)s.") % {"max": MAX_POINTS},
                )
        elif effect == RuleEffect.EXCLUDE:
            data["points"] = 0
        _ends_after_starts(self)
        return data


# Actions whose cap follows from what they are.
FIXED_CAPS = {
    ActionKind.SIGNUP: ActionCap.ONCE,
    ActionKind.NEWSLETTER: ActionCap.ONCE,
    ActionKind.BIRTHDAY: ActionCap.PER_YEAR,
    ActionKind.ANNIVERSARY: ActionCap.PER_YEAR,
}
KEYED_ACTIONS = (ActionKind.SOCIAL_FOLLOW, ActionKind.SOCIAL_SHARE, ActionKind.CUSTOM)


class ActionRuleForm(forms.ModelForm):
    starts_at = _date_field(_("Starts"))
    ends_at = _date_field(_("Ends"))

    class Meta:
        model = ActionRule
        fields = ["action", "name", "points", "cap", "key", "enabled", "starts_at", "ends_at"]
        labels = {
            "action": _("Action"),
            "name": _("Name"),
            "points": _("Points"),
            "cap": _("How often"),
            "key": _("Network or key"),
            "enabled": _("Switched on"),
        }
        help_texts = {
            "key": _(
                "Social actions: the network (e.g. instagram); custom actions: the key your code "
                "sends. Lowercase letters, digits, - and _."
            ),
        }

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.fields["action"].choices = _choices(ActionKind.choices)
        self.fields["cap"].choices = _choices(ActionCap.choices)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if not (0 < points <= MAX_POINTS):
            raise forms.ValidationError(
                _("Points must be a whole number from 1 to %(max)s.") % {"max": MAX_POINTS}
            )
        return points

    def clean(self):
        data = super().clean()
        action, cap = data.get("action"), data.get("cap")
        if not action:
            return data
        key = (data.get("key") or "").strip().lower()
        if action in KEYED_ACTIONS:
            if not KEY_RE.fullmatch(key):
                self.add_error(
                    "key",
                    _("Name the network or key: lowercase letters, digits, - and _ (at most 64)."),
                )
        else:
            key = ""
        data["key"] = key
        fixed = FIXED_CAPS.get(action)
        if fixed and cap and cap != fixed:
            self.add_error(
                "cap",
                _("%(action)s can only be rewarded: %(cap)s.")
                % {
                    "action": dict(self.fields["action"].choices)[action],
                    "cap": dict(self.fields["cap"].choices)[fixed],
                },
            )
        others = ActionRule.objects.filter(shop=self.shop, action=action, key=key)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            self.add_error(
                "action",
                _("This action already has a rule; edit that one instead (points would add up)."),
            )
        _ends_after_starts(self)
        return data


# --- tiers ------------------------------------------------------------------------------------


class TierSettingsForm(forms.ModelForm):
    class Meta:
        model = Program
        fields = ["tier_basis", "tier_period", "tier_downgrade", "tier_grace_days"]
        labels = {
            "tier_basis": _("Members qualify by"),
            "tier_period": _("Counted over"),
            "tier_downgrade": _("Members drop a tier"),
            "tier_grace_days": _("Grace period in days"),
        }
        help_texts = {
            "tier_grace_days": _("With the grace policy: days below a threshold before dropping."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier_basis"].choices = _choices(TierBasis.choices)
        self.fields["tier_period"].choices = _choices(TierPeriod.choices)
        self.fields["tier_downgrade"].choices = _choices(TierDowngrade.choices)

    def clean(self):
        data = super().clean()
        days = data.get("tier_grace_days")
        grace = data.get("tier_downgrade") == TierDowngrade.GRACE
        if grace and days is not None and not (1 <= days <= 730):
            self.add_error("tier_grace_days", _("The grace period is 1 to 730 days."))
        return data


class TierForm(forms.ModelForm):
    perks = forms.CharField(
        label=_("Perks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, shown in the widget."),
    )

    class Meta:
        model = Tier
        fields = ["name", "threshold", "multiplier", "entry_points", "perks", "hidden", "tag"]
        labels = {
            "name": _("Name"),
            "threshold": _("Threshold"),
            "multiplier": _("Earn multiplier"),
            "entry_points": _("Entry reward (points, once)"),
            "hidden": _("Hidden: assigned by hand only"),
            "tag": _("Customer tag in the store"),
        }
        help_texts = {
            "multiplier": _("1 for none, 1.5 for half as much again, 2 for double."),
            "tag": _("Leave empty for one made from the name (vip-gold). Set once."),
            "entry_points": _("Credited once ever, when a member first reaches the tier."),
            "hidden": "",
        }

    def __init__(self, *args, shop, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop, self.program = shop, program
        self.fields["tag"].required = False
        if self.instance.pk:
            del self.fields["tag"]  # synced to customers already: never renamed here
            if not self.is_bound:
                self.initial["perks"] = "\n".join(self.instance.perks or [])
        unit = {
            TierBasis.POINTS_EARNED: _("points earned"),
            TierBasis.AMOUNT_SPENT: _("amount spent in %(currency)s") % {"currency": shop.currency},
            TierBasis.ORDERS_COUNT: _("number of orders"),
        }.get(program.tier_basis, "")
        self.fields["threshold"].help_text = _("In %(unit)s.") % {"unit": unit}

    def _others(self):
        tiers = Tier.objects.filter(shop=self.shop)
        return tiers.exclude(pk=self.instance.pk) if self.instance.pk else tiers

    def clean_name(self):
        name = self.cleaned_data["name"]
        if self._others().filter(name__iexact=name).exists():
            raise forms.ValidationError(_("Another tier already has this name."))
        return name

    def clean_tag(self):
        tag = self.cleaned_data.get("tag", "").strip()
        if tag and self._others().filter(tag__iexact=tag).exists():
            raise forms.ValidationError(_("Another tier already uses this tag."))
        return tag

    def clean_perks(self):
        perks = _lines(self.cleaned_data["perks"], split_commas=False)
        if len(perks) > 10 or any(len(p) > 120 for p in perks):
            raise forms.ValidationError(_("At most 10 perks of 120 characters each."))
        return perks

    def clean_multiplier(self):
        multiplier = self.cleaned_data["multiplier"]
        if not (1 <= multiplier <= MAX_TIER_MULTIPLIER):
            raise forms.ValidationError(
                _("The multiplier is from 1 to %(max)s.") % {"max": MAX_TIER_MULTIPLIER}
            )
        return multiplier

    def clean_entry_points(self):
        points = self.cleaned_data["entry_points"]
        if points > MAX_POINTS:
            raise forms.ValidationError(_("At most %(max)s points.") % {"max": MAX_POINTS})
        return points

    def clean(self):
        data = super().clean()
        threshold, multiplier = data.get("threshold"), data.get("multiplier")
        if threshold is not None and threshold < 0:
            self.add_error("threshold", _("The threshold cannot be negative."))
            return data
        if threshold is None or data.get("hidden"):  # a hidden tier is never reached by it
            return data
        if self.program.tier_basis != TierBasis.AMOUNT_SPENT and threshold != int(threshold):
            self.add_error("threshold", _("Points and orders are whole numbers."))
            return data
        ladder = self._others().filter(hidden=False)
        same = ladder.filter(threshold=threshold).first()
        if same is not None:
            self.add_error(
                "threshold",
                _(
                    "%(tier)s already starts at this threshold; each tier needs a higher one than "
                    "the tier below it."
                )
                % {"tier": same.name},
            )
            return data
        if multiplier is None:
            return data
        below = ladder.filter(threshold__lt=threshold, multiplier__gt=multiplier).last()
        above = ladder.filter(threshold__gt=threshold, multiplier__lt=multiplier).first()
        if below is not None or above is not None:
            other = below or above
            self.add_error(
                "multiplier",
                _(
                    "%(tier)s (threshold %(threshold)s) earns x%(multiplier)s: a higher tier "
                    "cannot earn less than a lower one."
                )
                % {
                    "tier": other.name,
                    "threshold": f"{other.threshold.normalize():f}",
                    "multiplier": f"{other.multiplier.normalize():f}",
                },
            )
        return data


# --- rewards ----------------------------------------------------------------------------------


class RewardForm(forms.ModelForm):
    starts_at = _date_field(_("Available from"))
    ends_at = _date_field(_("Available until"))
    tiers = forms.MultipleChoiceField(
        label=_("Only for these tiers (none: everyone)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Reward
        fields = [
            "name",
            "kind",
            "points_cost",
            "value",
            "min_points",
            "max_points",
            "product_variant_id",
            "cause",
            "minimum_subtotal",
            "code_expiry_days",
            "tiers",
            "per_customer_limit",
            "starts_at",
            "ends_at",
            "enabled",
        ]
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "points_cost": _("Points cost"),
            "value": _("Value"),
            "min_points": _("Least points per redemption"),
            "max_points": _("Most points per redemption"),
            "product_variant_id": _("Product variant id"),
            "cause": _("Cause"),
            "minimum_subtotal": _("Minimum order subtotal"),
            "code_expiry_days": _("Code valid for (days)"),
            "per_customer_limit": _("Times each member can claim it"),
            "enabled": _("Active"),
        }
        help_texts = {
            "value": _(
                "Amount off, percent off, a free product's unit price (optional), money per "
                "points cost (points to money), or the donation per points cost (charity)."
            ),
            "product_variant_id": _("Free product: the variant's id (e.g. 44012345678901)."),
            "code_expiry_days": _("Empty: codes do not expire."),
            "per_customer_limit": _("Empty: no limit."),
            "minimum_subtotal": _("In shop currency; empty for none."),
        }

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _choices(RewardKind.choices)
        self.fields["value"].required = False
        tiers = Tier.objects.filter(shop=shop).order_by("threshold", "pk")
        choices = [(str(t.pk), t.name) for t in tiers]
        known = {value for value, _label in choices}
        # Values the catalogue holds but no tier answers to any more (renamed or deleted).
        choices += [(str(v), str(v)) for v in self.instance.tiers or [] if str(v) not in known]
        self.fields["tiers"].choices = choices
        if self.instance.pk and not self.is_bound:
            self.initial["tiers"] = [str(v) for v in self.instance.tiers or []]

    def clean_points_cost(self):
        cost = self.cleaned_data["points_cost"]
        if not (0 < cost <= MAX_POINTS):
            raise forms.ValidationError(
                _("The cost is a whole number of points from 1 to %(max)s.") % {"max": MAX_POINTS}
            )
        return cost

    def clean_code_expiry_days(self):
        days = self.cleaned_data["code_expiry_days"]
        if days is not None and not (1 <= days <= 3650):
            raise forms.ValidationError(_("A code is valid for 1 to 3650 days."))
        return days

    def clean_per_customer_limit(self):
        limit = self.cleaned_data["per_customer_limit"]
        if limit is not None and limit < 1:
            raise forms.ValidationError(_("At least 1, or empty for no limit."))
        return limit

    def clean_minimum_subtotal(self):
        amount = self.cleaned_data["minimum_subtotal"]
        if amount is not None and amount < 0:
            raise forms.ValidationError(_("The minimum subtotal cannot be negative."))
        return amount or None

    def clean(self):
        data = super().clean()
        kind, value = data.get("kind"), data.get("value")
        if not kind:
            return data
        if value is None and kind != RewardKind.FREE_SHIPPING and "value" not in self.errors:
            value = data["value"] = Decimal("0")
        if kind == RewardKind.PERCENT_OFF and value is not None and not (0 < value <= 100):
            self.add_error("value", _("A percentage off must be more than 0 and at most 100."))
        if (
            kind in (RewardKind.AMOUNT_OFF, RewardKind.POINTS_TO_MONEY, RewardKind.CHARITY)
            and value is not None
            and value <= 0
        ):
            self.add_error("value", _("Set the amount: more than 0."))
        if kind == RewardKind.FREE_PRODUCT:
            variant = (data.get("product_variant_id") or "").strip()
            if not variant:
                self.add_error("product_variant_id", _("Choose the product variant to give away."))
            elif not VARIANT_RE.fullmatch(variant):
                self.add_error(
                    "product_variant_id",
                    _("A variant id is a number, or gid://shopify/ProductVariant/ and a number."),
                )
            data["product_variant_id"] = variant
            if value is not None and value < 0:
                self.add_error("value", _("The price cannot be negative."))
        else:
            data["product_variant_id"] = ""
        if kind == RewardKind.FREE_SHIPPING:
            data["value"] = Decimal("0")
        if kind == RewardKind.CHARITY:
            data["cause"] = (data.get("cause") or "").strip()
            if not data["cause"]:
                self.add_error("cause", _("Name the cause the points go to."))
        else:
            data["cause"] = ""
        if kind == RewardKind.POINTS_TO_MONEY:
            low, high = data.get("min_points"), data.get("max_points")
            if low is not None and high is not None and low > high:
                self.add_error("max_points", _("The most points cannot be fewer than the least."))
            cost = data.get("points_cost")
            if high is not None and cost and high < cost:
                self.add_error("max_points", _("The most points must cover the points cost."))
        else:
            data["min_points"] = data["max_points"] = None
        _ends_after_starts(self)
        return data


ONBOARDING_PRESETS = [
    ("ladder", _("5.00, 10.00 and 20.00 off")),
    ("ladder_shipping", _("5.00, 10.00 and 20.00 off, and free shipping")),
    ("shipping", _("Free shipping and 10.00 off")),
]


class StarterRewardsForm(forms.Form):
    preset = forms.ChoiceField(
        label=_("Starter rewards"),
        choices=ONBOARDING_PRESETS,
        widget=forms.RadioSelect,
        initial="ladder",
    )


# The models' choice labels are English; the forms translate them at runtime (`_choices`), and
# the pages show them through `{% translate %}`. Listed here so that they are in this area's
# catalogue.
MODEL_LABELS = (
    gettext_noop("Round down"),
    gettext_noop("Round to nearest"),
    gettext_noop("Round up"),
    gettext_noop("Order paid"),
    gettext_noop("Order fulfilled"),
    gettext_noop("Future earnings repay it first"),
    gettext_noop("Forgive it"),
    gettext_noop("Points never expire"),
    gettext_noop("Each earn expires N days after it was earned"),
    gettext_noop("The whole balance expires after N days without activity"),
    gettext_noop("Points earned"),
    gettext_noop("Amount spent"),
    gettext_noop("Number of orders"),
    gettext_noop("Lifetime"),
    gettext_noop("Calendar year"),
    gettext_noop("Rolling 12 months"),
    gettext_noop("Never downgrade"),
    gettext_noop("At the end of the qualifying period"),
    gettext_noop("After a grace period below the threshold"),
    gettext_noop("Join the program"),
    gettext_noop("Birthday"),
    gettext_noop("Membership anniversary"),
    gettext_noop("Subscribe to the newsletter"),
    gettext_noop("Review a product"),
    gettext_noop("Follow on social media"),
    gettext_noop("Share on social media"),
    gettext_noop("Custom action"),
    gettext_noop("Once ever"),
    gettext_noop("Once a day"),
    gettext_noop("Once a year"),
    gettext_noop("Fixed amount off"),
    gettext_noop("Percentage off"),
    gettext_noop("Free shipping"),
    gettext_noop("Free product"),
    gettext_noop("Points to money (variable)"),
    gettext_noop("Charity donation"),
    gettext_noop("Product"),
    gettext_noop("Campaign"),
    gettext_noop("Milestone"),
)


# --- referrals --------------------------------------------------------------------------------


class ReferralProgramForm(forms.ModelForm):
    class Meta:
        model = ReferralProgram
        fields = [
            "enabled",
            "friend_discount_kind",
            "friend_discount_value",
            "friend_minimum_subtotal",
            "referrer_points",
            "code_lifetime_days",
            "monthly_cap",
        ]
        labels = {
            "enabled": _("Referrals are on"),
            "friend_discount_kind": _("The friend's welcome discount"),
            "friend_discount_value": _("Discount value (amount, or percent off)"),
            "friend_minimum_subtotal": _("Minimum order subtotal for the discount (optional)"),
            "referrer_points": _("Points for the referrer"),
            "code_lifetime_days": _("Days the friend's code can be used"),
            "monthly_cap": _("Rewarded referrals per referrer per month"),
        }
        help_texts = {
            "referrer_points": _("Credited when the friend's first order is paid."),
            "monthly_cap": "",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["friend_discount_kind"].choices = _choices(FriendDiscountKind.choices)

    def clean(self):
        data = super().clean()
        kind, value = data.get("friend_discount_kind"), data.get("friend_discount_value")
        if value is not None:
            if value <= 0:
                self.add_error("friend_discount_value", _("The discount must be more than 0."))
            elif kind == FriendDiscountKind.PERCENT and value > 100:
                self.add_error("friend_discount_value", _("A percentage is at most 100."))
        minimum = data.get("friend_minimum_subtotal")
        if minimum is not None and minimum < 0:
            self.add_error("friend_minimum_subtotal", _("The minimum cannot be negative."))
        points = data.get("referrer_points")
        if points is not None and not 1 <= points <= MAX_POINTS:
            self.add_error(
                "referrer_points",
                _("Points are a whole number from 1 to %(max)s.") % {"max": MAX_POINTS},
            )
        days = data.get("code_lifetime_days")
        if days is not None and not 1 <= days <= 365:
            self.add_error("code_lifetime_days", _("A code lasts 1 to 365 days."))
        cap = data.get("monthly_cap")
        if cap is not None and not 1 <= cap <= 1000:
            self.add_error("monthly_cap", _("The cap is 1 to 1000 referrals a month."))
        return data
