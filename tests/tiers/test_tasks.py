"""The periodic downgrade check, in batches, with the clock as it is."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.shops.models import TierDowngrade, TierPeriod
from loyalty.tiers import tasks
from loyalty.tiers.models import TierHistory
from loyalty.tiers.services import tier_create, tier_evaluate
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.tiers.helpers import earned

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_store_sync")]


def shop_with_gold(downgrade):
    shop = ShopFactory()
    shop.program.tier_period = TierPeriod.ROLLING_12_MONTHS
    shop.program.tier_downgrade = downgrade
    shop.program.save()
    TierFactory(shop=shop, name="Gold", threshold=1000)
    return shop


def gold_member_since(shop, when):
    member = MemberFactory(shop=shop)
    earned(member, 1000, when)
    tier_evaluate(member=member, now=when)
    return member


def test_the_check_drops_members_whose_tier_ran_out_in_every_batch(monkeypatch):
    monkeypatch.setattr(tasks, "BATCH", 2)
    long_ago = timezone.now() - timedelta(days=400)
    shop = shop_with_gold(TierDowngrade.END_OF_PERIOD)
    lapsed = [gold_member_since(shop, long_ago) for _ in range(3)]
    recent = gold_member_since(shop, timezone.now() - timedelta(days=10))
    keeps_all = gold_member_since(shop_with_gold(TierDowngrade.NEVER), long_ago)

    changed = tasks.check_tier_downgrades()

    assert changed == 2  # the first batch; the second ran as its own task
    downgraded = TierHistory.objects.filter(reason="downgrade").values_list("member_id", flat=True)
    assert sorted(downgraded) == sorted(m.pk for m in lapsed)
    for member in (recent, keeps_all):
        member.refresh_from_db()
        assert member.tier.name == "Gold"


def test_a_new_tier_places_the_members_who_already_qualify(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    qualified = MemberFactory(shop=shop)
    earned(qualified, 700, timezone.now() - timedelta(days=3))
    short = MemberFactory(shop=shop)
    earned(short, 100, timezone.now() - timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        silver = tier_create(shop=shop, name="Silver", threshold=500)

    qualified.refresh_from_db()
    short.refresh_from_db()
    assert (qualified.tier, short.tier) == (silver, None)
    assert silver.tag == "vip-silver"
