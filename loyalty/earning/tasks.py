from celery import shared_task
from django.utils import timezone

from loyalty.earning.actions import action_claim_if_rewarded, members_celebrating
from loyalty.earning.models import ActionKind, ActionRule
from loyalty.shops.models import Shop
from loyalty.tiers.services import tier_evaluate


@shared_task(ignore_result=True)
def award_celebrations() -> int:
    """Birthday and anniversary points for today, in each shop's timezone. Runs hourly; the
    once-a-year cap makes every run after the first a no-op."""
    now = timezone.now()
    awarded = 0
    shop_ids = (
        ActionRule.objects.filter(
            enabled=True, action__in=[ActionKind.BIRTHDAY, ActionKind.ANNIVERSARY]
        )
        .values_list("shop_id", flat=True)
        .distinct()
    )
    for shop in Shop.objects.filter(
        pk__in=shop_ids, installed_at__isnull=False, uninstalled_at__isnull=True
    ):
        for action in (ActionKind.BIRTHDAY, ActionKind.ANNIVERSARY):
            for member in members_celebrating(shop=shop, action=action, now=now).iterator(
                chunk_size=500
            ):
                claims = action_claim_if_rewarded(shop=shop, member=member, action=action, now=now)
                credited = sum(1 for c in claims if c.created)
                if credited:
                    tier_evaluate(member=member, now=now)  # action points count toward tiers
                awarded += credited
    return awarded
