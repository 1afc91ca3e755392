"""Reads for the program pages: the earn-rate example, and the audit log as a merchant reads
it (what changed, before -> after)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from loyalty.audit.models import AuditEntry
from loyalty.earning import engine
from loyalty.rewards.models import Reward
from loyalty.shops.models import OnboardingStep, Program, Shop

EXAMPLE_ORDER = Decimal("100.00")
# Onboarding's audit actions (who did each step, when); the step a shop is at is the program's
# `onboarding` field.
ONBOARDING_FINISHED = "program.onboarding_finish"
ONBOARDING_SKIPPED = "program.onboarding_skip"
ONBOARDING_RATE = "program.onboarding_rate"
ONBOARDING_REWARDS = "program.onboarding_rewards"

ACTION_LABELS = {
    "program.update": _("Program settings changed"),
    "program.expiry_update": _("Points expiry changed"),
    "program.tier_settings_update": _("Tier qualification changed"),
    "program.rule_create": _("Earn rule added"),
    "program.rule_update": _("Earn rule changed"),
    "program.rule_delete": _("Earn rule deleted"),
    "program.action_create": _("Action added"),
    "program.action_update": _("Action changed"),
    "program.action_delete": _("Action deleted"),
    "program.tier_create": _("Tier added"),
    "program.tier_update": _("Tier changed"),
    "program.reward_create": _("Reward added"),
    "program.reward_update": _("Reward changed"),
    "program.reward_enable": _("Reward activated"),
    "program.reward_deactivate": _("Reward deactivated"),
    "program.onboarding_rate": _("Earn rate set in onboarding"),
    "program.onboarding_rewards": _("Starter rewards chosen in onboarding"),
    "program.onboarding_finish": _("Onboarding finished"),
    "program.onboarding_skip": _("Onboarding skipped"),
    "program.referrals_update": _("Referrals changed"),
}


# The starter rewards onboarding offers: key -> (kind, points cost, value in shop money).
STARTER_REWARDS: dict[str, tuple[str, int, Decimal]] = {
    "amount_5": ("amount_off", 500, Decimal("5")),
    "amount_10": ("amount_off", 1000, Decimal("10")),
    "amount_20": ("amount_off", 2000, Decimal("20")),
    "free_shipping": ("free_shipping", 800, Decimal("0")),
}
STARTER_PRESETS: dict[str, tuple[str, ...]] = {
    "ladder": ("amount_5", "amount_10", "amount_20"),
    "ladder_shipping": ("amount_5", "amount_10", "amount_20", "free_shipping"),
    "shipping": ("free_shipping", "amount_10"),
}


@dataclass(frozen=True)
class StarterReward:
    kind: str
    points_cost: int
    value: Decimal
    name: str
    existing: Reward | None  # the shop already offers it (enabled, same kind and value)


def starter_rewards_plan(*, shop: Shop, preset: str) -> list[StarterReward]:
    """The rewards a starter set stands for in this shop: new ones, named in the shop's
    currency, and those the shop already offers (like the default 5 off), which stay as they
    are."""
    offered = list(Reward.objects.filter(shop=shop, enabled=True).order_by("pk"))
    plan = []
    for key in STARTER_PRESETS[preset]:
        kind, cost, value = STARTER_REWARDS[key]
        existing = next((r for r in offered if r.kind == kind and r.value == value), None)
        name = (
            "Free shipping"
            if kind == "free_shipping"
            else f"{value:.2f} {shop.currency} off your order"
        )
        plan.append(StarterReward(kind, cost, value, name, existing))
    return plan


def onboarding_done(*, shop: Shop) -> bool:
    return shop.program.onboarding in (OnboardingStep.FINISHED, OnboardingStep.SKIPPED)


TARGET_LABELS = {
    "shops.program": _("Program"),
    "earning.earnrule": _("Earn rule"),
    "earning.actionrule": _("Action"),
    "tiers.tier": _("Tier"),
    "rewards.reward": _("Reward"),
    "referrals.referralprogram": _("Referrals"),
}


def audit_target_label(entry: AuditEntry) -> str:
    """What an entry changed, as the merchant names it: "Reward 12"."""
    if not entry.target_type:
        return ""
    kind = TARGET_LABELS.get(entry.target_type, entry.target_type)
    return f"{kind} {entry.target_id}".strip()


ONBOARDING_PAGES = {
    OnboardingStep.RATE: "admin-program-onboarding",
    OnboardingStep.REWARDS: "admin-program-onboarding-rewards",
    OnboardingStep.WIDGET: "admin-program-onboarding-widget",
}


def onboarding_next_step(*, shop: Shop) -> str:
    """The url name of the onboarding step to continue with."""
    return ONBOARDING_PAGES.get(shop.program.onboarding, "admin-program-onboarding")


def money(amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else f"{amount:.2f} {currency}"


def example_points(*, program: Program, amount: Decimal = EXAMPLE_ORDER) -> int:
    """What an order of `amount` (no shipping, tax or rules) earns under the program's rate,
    computed by the earning engine itself."""
    terms = engine.Terms(
        points_per_unit=program.points_per_currency_unit,
        rounding=engine.Rounding(program.rounding),
    )
    order = engine.Order(lines=(engine.Line("1", 1, amount),), placed_at=None)
    lines = engine.award(terms=terms, rules=[], member=engine.Member(), order=order)
    return engine.total(lines)


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: object
    after: object


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def audit_changes(entry: AuditEntry, *, labels: dict | None = None) -> list[Change]:
    """The fields an entry changed, each with its label (the editor's, when known) and its
    value before and after ("—" for none)."""
    before, after = entry.before or {}, entry.after or {}
    names = list(dict.fromkeys([*before, *after]))
    labels = labels or {}
    return [
        Change(n, str(labels.get(n, n)), _shown(before.get(n)), _shown(after.get(n))) for n in names
    ]


def audit_action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
