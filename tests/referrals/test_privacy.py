"""A friend's erasure (customers/redact) reaches the referral claims made with their email or
their customer id; the claim, its code and the referrer's points stay."""

from loyalty.referrals.models import ReferralClaim
from tests.platforms.shopify.helpers import post_webhook
from tests.referrals.conftest import claim_of, referrer_of


def test_customer_redact_erases_the_friend_from_their_claims(client, shop):
    referrer = referrer_of(shop)
    theirs = claim_of(
        shop, referrer, code="REF-AAAA-0001", email="nur.friend@example.com", points=300
    )
    by_id = claim_of(
        shop, referrer, code="REF-AAAA-0002", email="other@example.com", friend_customer_id="555"
    )
    someone_else = claim_of(shop, referrer, code="REF-AAAA-0003", email="keep@example.com")

    answer = post_webhook(
        client,
        "customers/redact",
        {"customer": {"id": 555, "email": "Nur.Friend@Example.com"}, "orders_to_redact": []},
    )

    assert answer.status_code == 200
    theirs.refresh_from_db()
    by_id.refresh_from_db()
    assert "friend" not in theirs.friend_email and theirs.friend_email.startswith("redacted:")
    assert (theirs.code, theirs.points) == ("REF-AAAA-0001", 300)
    assert "other" not in by_id.friend_email and by_id.friend_customer_id.startswith("redacted:")
    someone_else.refresh_from_db()
    assert someone_else.friend_email == "keep@example.com"
    assert ReferralClaim.objects.count() == 3


def test_a_data_request_exports_the_customers_referrals_without_their_friends_emails(client, shop):
    from loyalty.privacy.models import PrivacyRequest

    referrer = referrer_of(shop)  # customer 7001
    claim_of(shop, referrer, code="REF-BBBB-0001", email="friend.one@example.com", points=300)
    # The referrer was once a friend of another member: the code they claimed.
    other = referrer_of(shop, platform_customer_id="7002", email="other@example.com")
    claim_of(shop, other, code="REF-BBBB-0002", email="sitiaminah@gmail.com")

    post_webhook(
        client,
        "customers/data_request",
        {"customer": {"id": 7001, "email": "Siti.Aminah+shop@gmail.com"}},
    )

    export = PrivacyRequest.objects.get(kind="customer_data_request").export
    assert [(r["status"], r["points"]) for r in export["referrals"]["made"]] == [("issued", 300)]
    assert "friend.one" not in str(export)
    assert [r["code"] for r in export["referrals"]["claimed"]] == ["REF-BBBB-0002"]


def test_a_friend_who_is_not_a_member_finds_their_claim_in_their_export(client, shop):
    from loyalty.privacy.models import PrivacyRequest

    referrer = referrer_of(shop)
    claim_of(shop, referrer, code="REF-CCCC-0001", email="newfriend@gmail.com")

    post_webhook(
        client,
        "customers/data_request",
        {"customer": {"id": 8080, "email": "New.Friend@gmail.com"}},
    )

    export = PrivacyRequest.objects.get(kind="customer_data_request").export
    assert export["member"] is None
    assert [r["code"] for r in export["referrals"]["claimed"]] == ["REF-CCCC-0001"]
