"""The friend's landing page through a signed app proxy request, with the welcome code made at
the Shopify stand-in over real HTTP."""

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from loyalty.earning.models import OrderRecord
from loyalty.referrals.codes import referral_code
from loyalty.referrals.models import ClaimStatus, ReferralClaim
from loyalty.referrals.views import CLAIMS_PER_LINK_PER_HOUR
from tests.platforms.shopify.helpers import SHOP, proxy_query
from tests.referrals.conftest import enable, referrer_of

pytestmark = pytest.mark.django_db


def landing(client, shop, member_id, *, email=None, **query):
    code = referral_code(shop_id=shop.pk, member_id=member_id)
    url = f"/shopify/proxy/r/{code}?" + urlencode(proxy_query(**query))
    if email is None:
        return client.get(url)
    return client.post(url, data={"email": email})


def discounts(standin):
    return standin.shop(SHOP).discounts


def test_the_landing_shows_the_friends_offer_and_a_form(client, shop):
    enable(shop, friend_discount_kind="percent", friend_discount_value="20")
    referrer = referrer_of(shop)

    response = landing(client, shop, referrer.pk)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Siti sent you a gift" in page
    assert "20% off your first order" in page
    code = referral_code(shop_id=shop.pk, member_id=referrer.pk)
    assert f'action="/apps/setia/r/{code}"' in page


def test_a_forged_code_or_another_shops_code_is_404(client, shop):
    from tests.factories import ShopFactory

    enable(shop)
    referrer = referrer_of(shop)
    other = ShopFactory(domain="other.myshopify.com")
    theirs = referral_code(shop_id=other.pk, member_id=referrer.pk)

    forged = client.get(f"/shopify/proxy/r/{theirs}?" + urlencode(proxy_query()))
    made_up = client.get("/shopify/proxy/r/1abcdefghij?" + urlencode(proxy_query()))

    assert (forged.status_code, made_up.status_code) == (404, 404)
    assert "This link is not valid" in forged.content.decode()


def test_a_link_is_404_while_referrals_are_off_or_the_member_left(client, shop):
    program = enable(shop, enabled=False)
    referrer = referrer_of(shop)
    assert landing(client, shop, referrer.pk).status_code == 404

    program.enabled = True
    program.save()
    referrer.status = "excluded"
    referrer.save()
    assert landing(client, shop, referrer.pk).status_code == 404


def test_an_unsigned_request_is_refused(client, shop):
    enable(shop)
    referrer = referrer_of(shop)
    code = referral_code(shop_id=shop.pk, member_id=referrer.pk)

    response = client.get(f"/shopify/proxy/r/{code}?shop={SHOP}")

    assert response.status_code == 401


def test_an_email_gets_one_single_use_code_for_any_customer_and_the_same_code_again(
    client, shopify_standin, shopify_shop
):
    enable(shopify_shop, friend_minimum_subtotal="50")
    referrer = referrer_of(shopify_shop)

    first = landing(client, shopify_shop, referrer.pk, email="Nurul.Huda@example.com")
    again = landing(client, shopify_shop, referrer.pk, email="nurul.huda+again@EXAMPLE.com")

    assert (first.status_code, again.status_code) == (200, 200)
    claim = ReferralClaim.objects.get()
    assert (claim.status, claim.friend_email, claim.referrer_id) == (
        ClaimStatus.ISSUED,
        "nurul.huda@example.com",
        referrer.pk,
    )
    for response in (first, again):
        page = response.content.decode()
        assert claim.code in page
        assert f"https://{SHOP}/discount/{claim.code}" in page
    [discount] = discounts(shopify_standin)
    assert discount.code == claim.code
    assert claim.platform_discount_id == discount.gid
    sent = discount.input
    assert sent["context"] == {"all": "ALL"}
    assert (sent["usageLimit"], sent["appliesOncePerCustomer"]) == (1, True)
    assert sent["customerGets"]["value"] == {
        "discountAmount": {"amount": "15.00", "appliesOnEachItem": False}
    }
    assert sent["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}}
    assert sent["endsAt"] == claim.expires_at.isoformat()


@pytest.mark.parametrize(
    "email", ["siti.aminah+shop@gmail.com", "SitiAminah@gmail.com", "s.i.t.i.aminah@googlemail.com"]
)
def test_the_referrers_own_email_in_any_spelling_is_refused(client, shop, email):
    enable(shop)
    referrer = referrer_of(shop)

    response = landing(client, shop, referrer.pk, email=email)

    assert response.status_code == 409
    assert "your own link" in response.content.decode()
    assert not ReferralClaim.objects.exists()


def past_order(shop, order_id, email):
    """A paid order on record, through the earning path (it keeps the email's one spelling)."""
    from loyalty.core.dispatch import PlatformRecords, handle_event
    from loyalty.platforms.shopify import translate
    from loyalty.platforms.shopify.standin import payloads

    payload = payloads.order_payload(
        order_id=order_id, customer_id=None, email=email, currency="MYR", discount_codes=[]
    )
    event = translate.to_event(
        topic="orders/paid", payload=payload, shop_id=shop.pk, occurred_at=None, source_id="t"
    )
    handle_event(event, shop=shop, records=PlatformRecords())
    assert OrderRecord.objects.get(shop=shop, order_id=str(order_id)).paid_at is not None


@pytest.mark.parametrize(
    ("on_record", "typed"),
    [
        ("Buyer@Example.com", "buyer@example.com"),
        ("Nurul.Huda@gmail.com", "nurulhuda@gmail.com"),
        ("aina+shop@example.com", "aina@example.com"),
    ],
)
def test_an_email_that_has_bought_before_in_any_spelling_is_refused(client, shop, on_record, typed):
    enable(shop)
    referrer = referrer_of(shop)
    past_order(shop, 1, on_record)

    response = landing(client, shop, referrer.pk, email=typed)

    assert response.status_code == 409
    assert "for new customers" in response.content.decode()
    assert not ReferralClaim.objects.exists()


def test_a_signed_in_customer_who_has_ordered_is_refused_whatever_email_they_type(client, shop):
    from loyalty.earning.models import OrderRecord as Record

    enable(shop)
    referrer = referrer_of(shop)
    Record.objects.create(
        shop=shop,
        order_id="5",
        platform_customer_id="4242",
        paid_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    response = landing(client, shop, referrer.pk, email="brand.new@example.com", customer_id="4242")

    assert response.status_code == 409
    assert not ReferralClaim.objects.exists()


def test_an_email_with_a_claim_through_another_link_gets_no_code(client, shop):
    from tests.referrals.conftest import claim_of

    enable(shop)
    referrer = referrer_of(shop)
    first = referrer_of(shop, platform_customer_id="7002", email="first@example.com")
    claim_of(shop, first, code="REF-SECR-ET01", email="friend@example.com")

    response = landing(client, shop, referrer.pk, email="friend@example.com")

    assert response.status_code == 409
    assert "REF-SECR-ET01" not in response.content.decode()


def test_an_email_longer_than_a_claim_holds_is_400(client, shop):
    enable(shop)
    referrer = referrer_of(shop)
    email = "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "@" + "d" * 63 + ".example.com"

    response = landing(client, shop, referrer.pk, email=email)

    assert response.status_code == 400
    assert not ReferralClaim.objects.exists()


def test_a_member_who_never_paid_may_still_be_referred(client, shopify_standin, shopify_shop):
    from tests.factories import MemberFactory

    enable(shopify_shop)
    referrer = referrer_of(shopify_shop)
    MemberFactory(shop=shopify_shop, platform_customer_id="9", email="joined@example.com")

    response = landing(client, shopify_shop, referrer.pk, email="joined@example.com")

    assert response.status_code == 200
    assert ReferralClaim.objects.get().status == ClaimStatus.ISSUED


def test_a_bad_email_is_400_and_nothing_is_issued(client, shop):
    enable(shop)
    referrer = referrer_of(shop)

    response = landing(client, shop, referrer.pk, email="not an email")

    assert response.status_code == 400
    assert "valid email" in response.content.decode()
    assert not ReferralClaim.objects.exists()


def test_claims_on_one_link_are_rate_limited(client, shop):
    enable(shop)
    referrer = referrer_of(shop)
    statuses = [
        landing(client, shop, referrer.pk, email="bad").status_code
        for _ in range(CLAIMS_PER_LINK_PER_HOUR + 1)
    ]

    assert statuses == [400] * CLAIMS_PER_LINK_PER_HOUR + [429]


def test_a_code_the_store_made_on_an_earlier_unanswered_call_is_taken_as_issued(
    client, shopify_standin, shopify_shop
):
    # given a claim whose first call reached the store but whose answer was lost
    from loyalty.core.platform import DiscountCodeSpec, DiscountKind, gateway_for

    enable(shopify_shop)
    referrer = referrer_of(shopify_shop)
    claim = ReferralClaim.objects.create(
        shop=shopify_shop,
        referrer=referrer,
        friend_email="nurul@example.com",
        code="REF-ABCD-EFGH",
    )
    gateway_for(shopify_shop).discount_code_create(
        shop=shopify_shop,
        spec=DiscountCodeSpec(
            code=claim.code,
            title="earlier",
            platform_customer_id="",
            kind=DiscountKind.AMOUNT,
            value=15,
        ),
    )

    # when the friend asks again
    response = landing(client, shopify_shop, referrer.pk, email="nurul@example.com")

    # then the store's answer "taken" is read as ours, and the code shown
    assert response.status_code == 200
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ISSUED
    assert [d.code for d in discounts(shopify_standin)] == [claim.code]


def test_a_code_taken_by_a_customers_own_discount_is_not_ours(
    client, shopify_standin, shopify_shop
):
    from loyalty.core.platform import DiscountCodeSpec, DiscountKind, gateway_for

    enable(shopify_shop)
    referrer = referrer_of(shopify_shop)
    shopify_standin.add_customer(SHOP, 4242, email="c@example.com")
    claim = ReferralClaim.objects.create(
        shop=shopify_shop, referrer=referrer, friend_email="nurul@example.com", code="REF-TAKE-N000"
    )
    gateway_for(shopify_shop).discount_code_create(
        shop=shopify_shop,
        spec=DiscountCodeSpec(
            code=claim.code,
            title="someone's reward",
            platform_customer_id="4242",
            kind=DiscountKind.AMOUNT,
            value=5,
        ),
    )

    response = landing(client, shopify_shop, referrer.pk, email="nurul@example.com")

    assert response.status_code == 503
    assert not ReferralClaim.objects.exists()  # refused for sure: nothing issued


def test_the_sweep_asks_the_store_again_for_claims_left_pending(shopify_standin, shopify_shop):
    # given two claims left pending by an unanswered store call, one of them minutes ago (the
    # store made its code, the answer was lost) and one just now
    from datetime import timedelta

    from django.utils import timezone

    from loyalty.core.platform import DiscountCodeSpec, DiscountKind, gateway_for
    from loyalty.referrals.services import referral_claims_settle
    from loyalty.referrals.tasks import settle_pending_claims

    enable(shopify_shop)
    referrer = referrer_of(shopify_shop)
    old = ReferralClaim.objects.create(
        shop=shopify_shop, referrer=referrer, friend_email="lost@example.com", code="REF-LOST-0001"
    )
    never = ReferralClaim.objects.create(
        shop=shopify_shop, referrer=referrer, friend_email="none@example.com", code="REF-NONE-0001"
    )
    ReferralClaim.objects.create(
        shop=shopify_shop, referrer=referrer, friend_email="new@example.com", code="REF-YOUN-0001"
    )
    ReferralClaim.objects.filter(pk__in=[old.pk, never.pk]).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    gateway_for(shopify_shop).discount_code_create(
        shop=shopify_shop,
        spec=DiscountCodeSpec(
            code=old.code, title="x", platform_customer_id="", kind=DiscountKind.AMOUNT, value=15
        ),
    )

    # when the sweep runs (the beat's task)
    counts = settle_pending_claims()

    # then both old claims have their code at the store, once; the young one waits its turn
    assert counts == {"issued": 2, "dropped": 0, "waiting": 0}
    statuses = dict(ReferralClaim.objects.values_list("code", "status"))
    assert statuses == {
        "REF-LOST-0001": ClaimStatus.ISSUED,
        "REF-NONE-0001": ClaimStatus.ISSUED,
        "REF-YOUN-0001": ClaimStatus.PENDING,
    }
    assert sorted(d.code for d in discounts(shopify_standin)) == [
        "REF-LOST-0001",
        "REF-NONE-0001",
    ]
    assert referral_claims_settle() == {"issued": 0, "dropped": 0, "waiting": 0}
