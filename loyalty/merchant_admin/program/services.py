"""Every change a merchant makes to the program from the admin: settings, earn rules, actions,
tiers, rewards, expiry, onboarding. Each service makes the change and writes its audit row
(who, before, after) in one transaction; the forms have already checked the values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Model

from loyalty.audit.services import audit_record, audit_snapshot
from loyalty.earning.models import ActionRule, EarnRule
from loyalty.merchant_admin.program.selectors import (
    ONBOARDING_FINISHED,
    ONBOARDING_RATE,
    ONBOARDING_REWARDS,
    ONBOARDING_SKIPPED,
    starter_rewards_plan,
)
from loyalty.rewards.models import Reward
from loyalty.shops.models import OnboardingStep, Program, Shop
from loyalty.tiers.models import Tier
from loyalty.tiers.services import tier_create


def _save_audited(
    *, shop: Shop, actor: str, action: str, instance: Model, changes: Mapping[str, Any]
) -> Model:
    """Update `instance` with `changes` and record before -> after of those fields."""
    fields = list(changes)
    with transaction.atomic():
        locked = type(instance).objects.select_for_update().get(pk=instance.pk, shop=shop)
        before = audit_snapshot(instance=locked, fields=fields)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields, "updated_at"])
        locked.refresh_from_db(fields=fields)  # as stored: 1 reads back as 1.0000
        audit_record(
            shop=shop,
            actor=actor,
            action=action,
            target=locked,
            before=before,
            after=audit_snapshot(instance=locked, fields=fields),
        )
    return locked


def _create_audited(*, shop: Shop, actor: str, action: str, model, values: Mapping[str, Any]):
    with transaction.atomic():
        instance = model.objects.create(shop=shop, **values)
        instance.refresh_from_db(fields=list(values))
        audit_record(
            shop=shop,
            actor=actor,
            action=action,
            target=instance,
            after=audit_snapshot(instance=instance, fields=list(values)),
        )
    return instance


# --- program settings and expiry ------------------------------------------------------------


def program_update(
    *, shop: Shop, actor: str, changes: Mapping[str, Any], action: str = "program.update"
) -> Program:
    """Change the program's settings (earning, tiers' qualification, expiry)."""
    return _save_audited(
        shop=shop, actor=actor, action=action, instance=shop.program, changes=changes
    )


def program_tier_settings_update(*, shop: Shop, actor: str, changes: Mapping[str, Any]) -> Program:
    """How members qualify for tiers; members are evaluated again under the new terms."""
    from loyalty.tiers.tasks import evaluate_shop_members

    with transaction.atomic():
        program = program_update(
            shop=shop, actor=actor, changes=changes, action="program.tier_settings_update"
        )
        if Tier.objects.filter(shop=shop).exists():
            transaction.on_commit(lambda: evaluate_shop_members.delay(shop.pk), robust=True)
    return program


# --- earn rules and actions -----------------------------------------------------------------


def earn_rule_create(*, shop: Shop, actor: str, values: Mapping[str, Any]) -> EarnRule:
    return _create_audited(
        shop=shop, actor=actor, action="program.rule_create", model=EarnRule, values=values
    )


def earn_rule_update(
    *, shop: Shop, actor: str, rule: EarnRule, changes: Mapping[str, Any]
) -> EarnRule:
    """Orders already earned keep the rule as it was (their snapshot); new orders use this."""
    return _save_audited(
        shop=shop, actor=actor, action="program.rule_update", instance=rule, changes=changes
    )


def earn_rule_delete(*, shop: Shop, actor: str, rule: EarnRule) -> None:
    _delete_audited(shop=shop, actor=actor, action="program.rule_delete", instance=rule)


def action_rule_create(*, shop: Shop, actor: str, values: Mapping[str, Any]) -> ActionRule:
    return _create_audited(
        shop=shop, actor=actor, action="program.action_create", model=ActionRule, values=values
    )


def action_rule_update(
    *, shop: Shop, actor: str, rule: ActionRule, changes: Mapping[str, Any]
) -> ActionRule:
    return _save_audited(
        shop=shop, actor=actor, action="program.action_update", instance=rule, changes=changes
    )


def action_rule_delete(*, shop: Shop, actor: str, rule: ActionRule) -> None:
    """Claims already made stay in the ledger (their key names the rule id, never reused)."""
    _delete_audited(shop=shop, actor=actor, action="program.action_delete", instance=rule)


def _delete_audited(*, shop: Shop, actor: str, action: str, instance: Model) -> None:
    with transaction.atomic():
        locked = type(instance).objects.select_for_update().get(pk=instance.pk, shop=shop)
        audit_record(
            shop=shop,
            actor=actor,
            action=action,
            target=locked,
            before=audit_snapshot(instance=locked),
            after=None,
        )
        locked.delete()


# --- tiers ------------------------------------------------------------------------------------


def program_tier_create(*, shop: Shop, actor: str, values: Mapping[str, Any]) -> Tier:
    """A new tier through the tiers service (members who qualify reach it after commit)."""
    with transaction.atomic():
        tier = tier_create(shop=shop, **values)
        audit_record(
            shop=shop,
            actor=actor,
            action="program.tier_create",
            target=tier,
            after=audit_snapshot(instance=tier, fields=[*values, "tag"]),
        )
    return tier


def program_tier_update(*, shop: Shop, actor: str, tier: Tier, changes: Mapping[str, Any]) -> Tier:
    """Edit a tier. A new threshold or visibility re-evaluates the shop's members, and a new
    name re-syncs the tier's members (the store shows the name); campaign rules name tiers by
    name, so they follow a rename."""
    from loyalty.tiers.tasks import evaluate_shop_members

    with transaction.atomic():
        current = Tier.objects.select_for_update().get(pk=tier.pk, shop=shop)
        old_name, old_rank = current.name, (current.threshold, current.hidden)
        tier = _save_audited(
            shop=shop, actor=actor, action="program.tier_update", instance=current, changes=changes
        )
        if tier.name != old_name:
            _campaigns_follow_rename(shop=shop, actor=actor, old=old_name, new=tier.name)
            member_ids = list(tier.members.values_list("pk", flat=True))
            transaction.on_commit(lambda: _sync_members(member_ids), robust=True)
        if (tier.threshold, tier.hidden) != old_rank:
            transaction.on_commit(lambda: evaluate_shop_members.delay(shop.pk), robust=True)
    return tier


def _campaigns_follow_rename(*, shop: Shop, actor: str, old: str, new: str) -> None:
    campaigns = EarnRule.objects.select_for_update().filter(shop=shop, kind="campaign")
    for rule in campaigns.order_by("pk"):
        if old in rule.tiers:
            _save_audited(
                shop=shop,
                actor=actor,
                action="program.rule_update",
                instance=rule,
                changes={"tiers": [new if name == old else name for name in rule.tiers]},
            )


def _sync_members(member_ids: list[int]) -> None:
    from loyalty.tiers.tasks import sync_member_tier

    for member_id in member_ids:
        sync_member_tier.delay(member_id)


# --- rewards ----------------------------------------------------------------------------------


def reward_create(*, shop: Shop, actor: str, values: Mapping[str, Any]) -> Reward:
    return _create_audited(
        shop=shop, actor=actor, action="program.reward_create", model=Reward, values=values
    )


def reward_update(*, shop: Shop, actor: str, reward: Reward, changes: Mapping[str, Any]) -> Reward:
    """Codes already issued keep the terms they were made with."""
    return _save_audited(
        shop=shop, actor=actor, action="program.reward_update", instance=reward, changes=changes
    )


def reward_set_enabled(*, shop: Shop, actor: str, reward: Reward, enabled: bool) -> Reward:
    """Rewards are never deleted (redemptions point at them): they are switched off."""
    return _save_audited(
        shop=shop,
        actor=actor,
        action="program.reward_enable" if enabled else "program.reward_deactivate",
        instance=reward,
        changes={"enabled": enabled},
    )


# --- onboarding -------------------------------------------------------------------------------


ONBOARDING_ORDER = list(OnboardingStep)


def onboarding_advance(*, program: Program, step: OnboardingStep) -> None:
    """Move the (locked) program's onboarding forward to `step`; never back, never out of
    finished or skipped (a merchant who goes back to step 1 later does not start again)."""
    if ONBOARDING_ORDER.index(step) > ONBOARDING_ORDER.index(program.onboarding) and (
        program.onboarding not in (OnboardingStep.FINISHED, OnboardingStep.SKIPPED)
    ):
        program.onboarding = step
        program.save(update_fields=["onboarding", "updated_at"])


def onboarding_set_rate(*, shop: Shop, actor: str, changes: dict) -> None:
    """Step 1: the earn rate (audited as such)."""
    with transaction.atomic():
        program_update(shop=shop, actor=actor, changes=changes, action=ONBOARDING_RATE)
        program = Program.objects.select_for_update().get(shop=shop)
        onboarding_advance(program=program, step=OnboardingStep.REWARDS)


def onboarding_add_rewards(*, shop: Shop, actor: str, preset: str) -> list[Reward]:
    """Add a starter reward set. A reward the shop already offers (enabled, same kind and
    value, like the default 5 off) is not added again, so submitting twice changes nothing."""
    created = []
    with transaction.atomic():
        program = Program.objects.select_for_update().get(shop=shop)  # one submit at a time
        for starter in starter_rewards_plan(shop=shop, preset=preset):
            if starter.existing is None:
                values = {
                    "name": starter.name,
                    "kind": starter.kind,
                    "points_cost": starter.points_cost,
                    "value": starter.value,
                }
                created.append(reward_create(shop=shop, actor=actor, values=values))
        audit_record(
            shop=shop,
            actor=actor,
            action=ONBOARDING_REWARDS,
            target=shop.program,
            note=f"Starter set {preset}: {len(created)} reward(s) added.",
        )
        onboarding_advance(program=program, step=OnboardingStep.WIDGET)
    return created


def onboarding_finish(*, shop: Shop, actor: str, skipped: bool = False) -> None:
    """Mark onboarding finished (or skipped); the program page stops sending the merchant to
    it. Finishing twice records once."""
    with transaction.atomic():
        program = Program.objects.select_for_update().get(shop=shop)
        if program.onboarding in (OnboardingStep.FINISHED, OnboardingStep.SKIPPED):
            return
        onboarding_advance(
            program=program,
            step=OnboardingStep.SKIPPED if skipped else OnboardingStep.FINISHED,
        )
        shop.program.onboarding = program.onboarding
        audit_record(
            shop=shop,
            actor=actor,
            action=ONBOARDING_SKIPPED if skipped else ONBOARDING_FINISHED,
            target=program,
        )
