"""The merchant's Referrals editor: saved with an audit row, refused with the message by the
field, recent claims listed, another shop's claim 404."""

from datetime import UTC, datetime

import pytest

from loyalty.audit.models import AuditEntry
from loyalty.merchant_admin.program.services import onboarding_finish
from loyalty.referrals.models import ClaimStatus, ReferralProgram
from loyalty.rewards.services import reward_ensure_default
from tests.factories import ShopFactory
from tests.merchant_admin.helpers import admin_get, admin_post
from tests.referrals.conftest import claim_of, referrer_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

VALID = {
    "enabled": "on",
    "friend_discount_kind": "percent",
    "friend_discount_value": "15",
    "friend_minimum_subtotal": "",
    "referrer_points": "250",
    "code_lifetime_days": "30",
    "monthly_cap": "5",
}


def installed(domain):
    shop = ShopFactory(
        domain=domain, access_token="shpat_x", installed_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    reward_ensure_default(shop=shop)
    onboarding_finish(shop=shop, actor="staff:1")
    return shop


@pytest.fixture
def admin_shop():
    return installed("batik-aisyah.myshopify.com")


def test_the_overview_links_to_the_referrals_editor(client, admin_shop):
    page = admin_get(client, "/app/program/", admin_shop).content.decode()

    assert 'href="/app/program/referrals/"' in page
    assert 'id="program-referrals"' in page


def test_referrals_saved_with_an_audit_row(client, admin_shop):
    response = admin_post(client, "/app/program/referrals/", admin_shop, VALID, user_id="77")

    assert response.status_code == 303
    program = ReferralProgram.objects.get(shop=admin_shop)
    assert (
        program.enabled,
        program.friend_discount_kind,
        program.friend_discount_value,
        program.friend_minimum_subtotal,
        program.referrer_points,
        program.monthly_cap,
    ) == (True, "percent", 15, None, 250, 5)
    [entry] = AuditEntry.objects.filter(shop=admin_shop, action="program.referrals_update")
    assert entry.actor == "staff:77"
    assert entry.before["enabled"] is False
    assert entry.after["enabled"] is True
    assert entry.after["referrer_points"] == 250
    overview = admin_get(client, "/app/program/", admin_shop).content.decode()
    assert "Friends get 15% off your first order; the referrer earns 250 points." in overview


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"friend_discount_value": "0"}, "friend_discount_value", "more than 0"),
        ({"friend_discount_value": "150"}, "friend_discount_value", "at most 100"),
        ({"friend_minimum_subtotal": "-1"}, "friend_minimum_subtotal", "cannot be negative"),
        ({"referrer_points": "0"}, "referrer_points", "from 1 to"),
        ({"code_lifetime_days": "400"}, "code_lifetime_days", "1 to 365 days"),
        ({"monthly_cap": "0"}, "monthly_cap", "1 to 1000"),
        ({"friend_discount_kind": "free_money"}, "friend_discount_kind", "valid choice"),
    ],
)
def test_invalid_values_are_refused_with_the_message_by_the_field(
    client, admin_shop, change, field, message
):
    response = admin_post(client, "/app/program/referrals/", admin_shop, {**VALID, **change})

    assert response.status_code == 400
    page = response.content.decode()
    row = page.split(f'id="field-{field}"', 1)[1].split("</div>", 1)[0]
    assert message in row
    assert not ReferralProgram.objects.filter(shop=admin_shop).exists()
    assert not AuditEntry.objects.filter(action="program.referrals_update").exists()


def test_recent_claims_are_listed_with_status_and_reason(client, admin_shop):
    referrer = referrer_of(admin_shop)
    claim_of(admin_shop, referrer, code="REF-LIST-0001", email="a@example.com")
    claim_of(
        admin_shop,
        referrer,
        code="REF-LIST-0002",
        email="b@example.com",
        status=ClaimStatus.REFUSED,
        reason="The referrer placed the order themselves.",
    )

    page = admin_get(client, "/app/program/referrals/", admin_shop).content.decode()

    assert "REF-LIST-0001" in page and "REF-LIST-0002" in page
    assert "The referrer placed the order themselves." in page


def test_a_claim_shows_and_another_shops_claim_is_404(client, admin_shop):
    other = installed("other-store.myshopify.com")
    mine = claim_of(admin_shop, referrer_of(admin_shop), code="REF-MINE-0001")
    theirs = claim_of(other, referrer_of(other), code="REF-THEM-0001")

    shown = admin_get(client, f"/app/program/referrals/claims/{mine.pk}/", admin_shop)
    forged = admin_get(client, f"/app/program/referrals/claims/{theirs.pk}/", admin_shop)

    assert shown.status_code == 200
    assert "friend@example.com" in shown.content.decode()
    assert forged.status_code == 404


def test_a_change_without_a_session_token_changes_nothing(client, admin_shop):
    response = client.post("/app/program/referrals/", VALID, HTTP_AUTHORIZATION="Bearer forged")

    assert response.status_code == 401
    assert not ReferralProgram.objects.exists()


@pytest.mark.parametrize(
    ("locale", "label"),
    [("ms", "Rujukan dihidupkan"), ("ar", "الإحالات مفعّلة"), ("th", "เปิดการแนะนำเพื่อน")],
)
def test_the_editor_speaks_the_admins_languages(client, admin_shop, locale, label):
    page = admin_get(client, f"/app/program/referrals/?locale={locale}", admin_shop)

    assert label in page.content.decode()
