"""The tier reaches the store as a customer tag and app-owned metafields: against the Shopify
stand-in over real HTTP, faults included."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.members.models import Member
from loyalty.platforms.shopify import admin_api
from loyalty.tiers.models import TierHistory
from loyalty.tiers.services import tier_assign, tier_evaluate
from loyalty.tiers.tasks import SYNC_MAX_ATTEMPTS, resync_member_tiers
from tests.factories import MemberFactory, TierFactory
from tests.platforms.shopify.helpers import SHOP
from tests.tiers.helpers import earned

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

CUSTOMER = 8801


@pytest.fixture(autouse=True)
def no_backoff_waits(monkeypatch):
    """admin_api waits a random share of its backoff between attempts: none in these tests."""
    monkeypatch.setattr(admin_api.random, "uniform", lambda low, high: 0.0)


@pytest.fixture
def tiers(shopify_shop):
    return {
        "Silver": TierFactory(shop=shopify_shop, name="Silver", threshold=500),
        "Gold": TierFactory(shop=shopify_shop, name="Gold", threshold=1000, entry_points=200),
    }


@pytest.fixture
def member(shopify_standin, shopify_shop):
    shopify_standin.add_customer(SHOP, CUSTOMER, email="siti@example.com", tags=["newsletter"])
    return MemberFactory(shop=shopify_shop, platform_customer_id=str(CUSTOMER))


def customer_in_store(standin):
    shop = standin.shop(SHOP)
    namespace = f"app--{standin.store.app_id}--loyalty"
    gid = f"gid://shopify/Customer/{CUSTOMER}"
    metafields = {
        key: (field.type, field.value)
        for (owner, ns, key), field in shop.metafields.items()
        if owner == gid and ns == namespace
    }
    return shop.customers[CUSTOMER].tags, metafields


def tier_sync_requests(standin):
    return [
        r for r in standin.requests if r.target == "graphql" and "SetiaTierSync" in r.body.decode()
    ]


def test_an_upgrade_sets_the_tag_drops_the_old_one_and_sets_the_metafields(
    shopify_standin, tiers, member, django_capture_on_commit_callbacks
):
    shopify_standin.shop(SHOP).customers[CUSTOMER].tags.append("vip-silver")
    earned(member, 1200, timezone.now())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        change = tier_evaluate(member=member)

    # One store sync after the commit (besides the members' cache versions moving).
    assert len([c for c in callbacks if "members_changed" not in c.__qualname__]) == 1
    tags, metafields = customer_in_store(shopify_standin)
    assert tags == ["newsletter", "vip-gold"]
    assert metafields == {
        "tier": ("single_line_text_field", "Gold"),
        "points_balance": ("single_line_text_field", "1400"),  # 1200 + Gold's 200
    }
    (request,) = tier_sync_requests(shopify_standin)
    assert request.status == 200
    assert request.json["variables"]["id"] == f"gid://shopify/Customer/{CUSTOMER}"
    assert request.json["variables"]["add"] == ["vip-gold"]
    assert request.json["variables"]["remove"] == ["vip-silver"]
    change.refresh_from_db()
    assert (change.synced_at is not None, change.sync_error, change.sync_attempts) == (True, "", 0)


def test_losing_every_tier_removes_the_tags_and_says_none(
    shopify_standin, tiers, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tier_assign(member=member, tier=tiers["Gold"], actor="staff:1")
    with django_capture_on_commit_callbacks(execute=True):
        tier_assign(member=member, tier=None, actor="staff:1")

    tags, metafields = customer_in_store(shopify_standin)
    assert tags == ["newsletter"]
    assert metafields["tier"] == ("single_line_text_field", "none")
    assert TierHistory.objects.filter(synced_at__isnull=True).count() == 0


def test_a_500_is_retried_and_the_tag_arrives(
    shopify_standin, tiers, member, django_capture_on_commit_callbacks
):
    earned(member, 600, timezone.now())
    # Both attempts of the first call fail; the task retries and the second call succeeds.
    shopify_standin.faults.push("500", count=2)

    with django_capture_on_commit_callbacks(execute=True):
        change = tier_evaluate(member=member)

    assert [r.status for r in tier_sync_requests(shopify_standin)] == [500, 500, 200]
    tags, metafields = customer_in_store(shopify_standin)
    assert (tags, metafields["tier"][1]) == (["newsletter", "vip-silver"], "Silver")
    change.refresh_from_db()
    assert (change.synced_at is not None, change.sync_error, change.sync_attempts) == (True, "", 1)


def test_a_sync_that_keeps_failing_leaves_an_error_the_resync_picks_up(
    shopify_standin, tiers, member, django_capture_on_commit_callbacks
):
    an_hour_ago = timezone.now() - timedelta(hours=1)
    earned(member, 600, an_hour_ago)
    shopify_standin.faults.push("503", count=100)

    with django_capture_on_commit_callbacks(execute=True):
        change = tier_evaluate(member=member, now=an_hour_ago)

    runs = SYNC_MAX_ATTEMPTS
    assert len(tier_sync_requests(shopify_standin)) == runs * 2  # two attempts per run
    change.refresh_from_db()
    assert (change.synced_at, change.sync_attempts) == (None, runs)
    assert change.sync_error.endswith("Shopify answered 503")
    assert customer_in_store(shopify_standin) == (["newsletter"], {})

    shopify_standin.reset()  # the store is back
    resynced = resync_member_tiers()

    change.refresh_from_db()
    assert (resynced, change.synced_at is not None, change.sync_error) == (1, True, "")
    assert customer_in_store(shopify_standin)[0] == ["newsletter", "vip-silver"]
    assert resync_member_tiers() == 0


def test_a_customer_the_store_does_not_know_fails_at_once_without_retrying(
    shopify_standin, shopify_shop, tiers, django_capture_on_commit_callbacks
):
    stranger = MemberFactory(shop=shopify_shop, platform_customer_id="999999")

    with django_capture_on_commit_callbacks(execute=True):
        change = tier_assign(member=stranger, tier=tiers["Gold"], actor="staff:1")

    assert len(tier_sync_requests(shopify_standin)) == 1
    change.refresh_from_db()
    assert (change.synced_at, change.sync_attempts) == (None, 1)
    assert change.sync_error.startswith("user_errors: ")
    assert Member.objects.get(pk=stranger.pk).tier == tiers["Gold"]  # the tier itself stands
