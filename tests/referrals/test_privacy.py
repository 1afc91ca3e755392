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
