"""The program pages: overview, editors (valid, invalid with the message by the field, another
shop's object answering 404), the audit log."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty.audit.models import AuditEntry
from loyalty.earning.models import ActionRule, EarnRule
from loyalty.merchant_admin.program.selectors import ONBOARDING_FINISHED
from loyalty.merchant_admin.program.services import onboarding_finish
from loyalty.rewards.models import Reward
from loyalty.rewards.services import reward_ensure_default
from loyalty.shops.models import Program
from loyalty.tiers.models import Tier
from tests.factories import RewardFactory, ShopFactory, TierFactory
from tests.merchant_admin.helpers import admin_get, admin_post

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


def _installed_shop(domain, **kwargs):
    """An installed shop with the default program and reward, as an install leaves it."""
    shop = ShopFactory(
        domain=domain,
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
        **kwargs,
    )
    reward_ensure_default(shop=shop)
    return shop


@pytest.fixture
def shop():
    """A shop that has been through onboarding (the program page is its home)."""
    shop = _installed_shop("batik-aisyah.myshopify.com", currency="MYR")
    onboarding_finish(shop=shop, actor="staff:1")
    return shop


@pytest.fixture
def other_shop():
    return _installed_shop("other-store.myshopify.com")


def _field_html(page: str, field: str) -> str:
    """The form row of one field, as rendered: its label, input and messages."""
    match = re.search(rf'<div class="field[^"]*" id="field-{field}">(.*?)\n</div>', page, re.S)
    assert match, f"no form row for {field}"
    return match.group(1)


def _entries(shop, action):
    return list(AuditEntry.objects.filter(shop=shop, action=action).order_by("pk"))


SETTINGS = {
    "name": "Batik Rewards",
    "points_name": "stars",
    "points_per_currency_unit": "2.5",
    "rounding": "nearest",
    "include_shipping": "on",
    "earn_trigger": "order_fulfilled",
    "pending_days": "14",
    "earn_on_pos": "on",
    "minimum_order": "20.00",
    "guest_orders_earn": "on",
    "shortfall_policy": "forgive",
}


# --- overview ---------------------------------------------------------------------------------


def test_overview_shows_the_program_with_links_to_each_editor(client, shop):
    TierFactory(shop=shop, name="Gold", threshold=1000)
    EarnRule.objects.create(shop=shop, name="Double weekend", kind="campaign", effect="multiply")

    response = admin_get(client, "/app/program/", shop)

    assert response.status_code == 200
    page = response.content.decode()
    assert "An order of 100.00 MYR earns 100 points." in page
    assert "Gold" in page
    assert "Double weekend" in page
    assert "5 off your order" in page  # the default reward
    for path in ("settings/", "rules/", "tiers/", "rewards/", "expiry/", "audit/"):
        assert f'href="/app/program/{path}"' in page


def test_a_change_without_a_session_token_changes_nothing(client, shop):
    response = client.post("/app/program/settings/", SETTINGS, HTTP_AUTHORIZATION="Bearer forged")

    assert response.status_code == 401
    assert Program.objects.get(shop=shop).name == "Rewards"
    assert _entries(shop, "program.update") == []


# --- program settings -------------------------------------------------------------------------


def test_settings_saved_with_an_audit_row_of_who_before_and_after(client, shop):
    response = admin_post(client, "/app/program/settings/", shop, SETTINGS, user_id="77")

    assert response.status_code == 303
    assert response["Location"] == "/app/program/"
    program = Program.objects.get(shop=shop)
    assert program.name == "Batik Rewards"
    assert program.points_per_currency_unit == Decimal("2.5")
    assert program.rounding == "nearest"
    assert program.include_shipping is True
    assert program.include_tax is False
    assert program.earn_trigger == "order_fulfilled"
    assert program.pending_days == 14
    assert program.earn_on_draft is False
    assert program.minimum_order == Decimal("20.00")
    assert program.shortfall_policy == "forgive"
    [entry] = _entries(shop, "program.update")
    assert entry.actor == "staff:77"
    assert entry.target_type == "shops.program"
    assert entry.before == {
        "name": "Rewards",
        "points_name": "points",
        "points_per_currency_unit": "1.0000",
        "rounding": "down",
        "include_shipping": False,
        "earn_trigger": "order_paid",
        "pending_days": 0,
        "earn_on_draft": True,
        "minimum_order": "0.00",
        "shortfall_policy": "debt",
    }
    assert entry.after == {
        "name": "Batik Rewards",
        "points_name": "stars",
        "points_per_currency_unit": "2.5000",
        "rounding": "nearest",
        "include_shipping": True,
        "earn_trigger": "order_fulfilled",
        "pending_days": 14,
        "earn_on_draft": False,
        "minimum_order": "20.00",
        "shortfall_policy": "forgive",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("points_per_currency_unit", "0", "Points per unit must be more than 0 and at most 1000."),
        ("points_per_currency_unit", "-1", "Points per unit must be more than 0 and at most 1000."),
        ("pending_days", "400", "The return window can be at most 365 days."),
        ("minimum_order", "-5", "The minimum order cannot be negative."),
        ("name", "   ", "This field is required."),
        ("name", "x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
    ],
)
def test_invalid_settings_answer_400_with_the_message_by_the_field(
    client, shop, field, value, message
):
    response = admin_post(client, "/app/program/settings/", shop, {**SETTINGS, field: value})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    row = _field_html(response.content.decode(), field)
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>' in row
    assert Program.objects.get(shop=shop).name == "Rewards"
    assert _entries(shop, "program.update") == []


def test_an_empty_settings_post_is_refused_not_ignored(client, shop):
    response = admin_post(client, "/app/program/settings/", shop, {})

    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["This field is required."]


def test_saving_unchanged_settings_records_an_entry_without_changes(client, shop):
    program = shop.program
    unchanged = {
        "name": program.name,
        "points_name": program.points_name,
        "points_per_currency_unit": "1",
        "rounding": "down",
        "earn_trigger": "order_paid",
        "pending_days": "0",
        "earn_on_pos": "on",
        "earn_on_draft": "on",
        "minimum_order": "0",
        "guest_orders_earn": "on",
        "shortfall_policy": "debt",
    }

    response = admin_post(client, "/app/program/settings/", shop, unchanged)

    assert response.status_code == 303
    [entry] = _entries(shop, "program.update")
    assert (entry.before, entry.after) == ({}, {})


# --- points expiry ----------------------------------------------------------------------------


def test_expiry_settings_saved_and_audited(client, shop):
    response = admin_post(
        client,
        "/app/program/expiry/",
        shop,
        {"expiry_mode": "per_lot", "expiry_days": "180", "expiry_reminder_days": "14"},
    )

    assert response.status_code == 303
    program = Program.objects.get(shop=shop)
    assert (program.expiry_mode, program.expiry_days, program.expiry_reminder_days) == (
        "per_lot",
        180,
        14,
    )
    [entry] = _entries(shop, "program.expiry_update")
    assert entry.before == {"expiry_mode": "never", "expiry_days": 365, "expiry_reminder_days": 30}
    assert entry.after == {"expiry_mode": "per_lot", "expiry_days": 180, "expiry_reminder_days": 14}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"expiry_mode": "inactivity", "expiry_days": "30", "expiry_reminder_days": "30"},
            "expiry_reminder_days",
            "The reminder must come before the points expire: fewer than 30 days.",
        ),
        (
            {"expiry_mode": "per_lot", "expiry_days": "0", "expiry_reminder_days": "0"},
            "expiry_days",
            "Points expire after 1 to 3650 days.",
        ),
        (
            {"expiry_mode": "sometimes", "expiry_days": "30", "expiry_reminder_days": "0"},
            "expiry_mode",
            "Select a valid choice. sometimes is not one of the available choices.",
        ),
    ],
)
def test_invalid_expiry_answers_400_with_the_message(client, shop, data, field, message):
    response = admin_post(client, "/app/program/expiry/", shop, data)

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert Program.objects.get(shop=shop).expiry_mode == "never"


# --- earn rules -------------------------------------------------------------------------------

PRODUCT_RULE = {
    "name": "Batik x2",
    "kind": "product",
    "effect": "multiply",
    "target": "collection",
    "values": "gid://shopify/Collection/841564295\n  sarong ,",
    "multiplier": "2",
    "points": "0",
    "every_nth": "0",
    "enabled": "on",
}


def test_rules_page_lists_rules_and_actions(client, shop):
    EarnRule.objects.create(shop=shop, name="Sarong bonus", kind="product", target="tag")
    ActionRule.objects.create(
        shop=shop, action="birthday", name="Birthday", points=50, cap="per_year"
    )

    response = admin_get(client, "/app/program/rules/", shop)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Sarong bonus" in page
    assert "Birthday" in page


def test_a_product_rule_created_with_only_what_applies_to_it(client, shop):
    data = {**PRODUCT_RULE, "points": "40", "tiers": [], "first_order": "on"}

    response = admin_post(client, "/app/program/rules/new/", shop, data)

    assert response.status_code == 303
    assert response["Location"] == "/app/program/rules/"
    rule = EarnRule.objects.get(shop=shop)
    assert rule.kind == "product"
    assert rule.target == "collection"
    assert rule.values == ["gid://shopify/Collection/841564295", "sarong"]
    assert rule.multiplier == Decimal("2")
    assert rule.points == 0  # a multiplier adds no bonus
    assert rule.first_order is False  # milestones only
    [entry] = _entries(shop, "program.rule_create")
    assert entry.before is None
    assert entry.after["name"] == "Batik x2"
    assert entry.target_id == str(rule.pk)


def test_a_campaign_for_some_tiers_in_the_shops_timezone(client):
    shop = _installed_shop("kl-store.myshopify.com", iana_timezone="Asia/Kuala_Lumpur")
    onboarding_finish(shop=shop, actor="staff:1")
    TierFactory(shop=shop, name="Gold", threshold=1000)
    data = {
        "name": "Double weekend",
        "kind": "campaign",
        "effect": "multiply",
        "multiplier": "2",
        "starts_at": "2026-12-05T00:00",
        "ends_at": "2026-12-07T00:00",
        "tiers": ["Gold"],
        "enabled": "on",
    }

    response = admin_post(client, "/app/program/rules/new/", shop, data)

    assert response.status_code == 303
    rule = EarnRule.objects.get(shop=shop)
    assert rule.tiers == ["Gold"]
    assert rule.starts_at == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # midnight in KL
    assert rule.ends_at == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


def test_a_milestone_every_fifth_order(client, shop):
    data = {"name": "Every 5th", "kind": "milestone", "effect": "bonus", "points": "100"}

    response = admin_post(client, "/app/program/rules/new/", shop, {**data, "every_nth": "5"})

    assert response.status_code == 303
    rule = EarnRule.objects.get(shop=shop)
    assert (rule.every_nth, rule.first_order, rule.points, rule.target) == (5, False, 100, "")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"multiplier": "1"}, "multiplier", "A multiplier must be more than 1 and at most 100."),
        ({"multiplier": "500"}, "multiplier", "A multiplier must be more than 1 and at most 100."),
        ({"values": " , "}, "values", "Name at least one product, collection, tag or SKU."),
        ({"target": ""}, "target", "Choose what the rule applies to."),
        (
            {"effect": "bonus", "points": "0"},
            "points",
            "Bonus points are a whole number from 1 to 1000000.",
        ),
        (
            {"starts_at": "2026-12-07T00:00", "ends_at": "2026-12-05T00:00"},
            "ends_at",
            "The end must be after the start.",
        ),
        (
            {"kind": "campaign", "starts_at": "", "ends_at": ""},
            "ends_at",
            "A campaign runs in a window: set its start and end.",
        ),
        (
            {
                "kind": "campaign",
                "effect": "exclude",
                "starts_at": "2026-12-05T00:00",
                "ends_at": "2026-12-07T00:00",
            },
            "effect",
            "A campaign multiplies points or adds a bonus.",
        ),
        (
            {"kind": "milestone", "effect": "bonus", "points": "10", "every_nth": "0"},
            "every_nth",
            "Choose the first order, every Nth order, or both.",
        ),
        (
            {"kind": "milestone", "points": "10", "first_order": "on"},
            "effect",
            "A milestone adds bonus points.",
        ),
    ],
)
def test_invalid_rules_answer_400_with_the_message(client, shop, changes, field, message):
    response = admin_post(client, "/app/program/rules/new/", shop, {**PRODUCT_RULE, **changes})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert message in _field_html(response.content.decode(), field)
    assert not EarnRule.objects.filter(shop=shop).exists()
    assert _entries(shop, "program.rule_create") == []


def test_a_rule_edited_records_before_and_after(client, shop):
    rule = EarnRule.objects.create(
        shop=shop,
        name="Batik x2",
        kind="product",
        effect="multiply",
        target="tag",
        values=["batik"],
        multiplier=Decimal("2"),
    )

    response = admin_post(
        client,
        f"/app/program/rules/{rule.pk}/",
        shop,
        {**PRODUCT_RULE, "target": "tag", "values": "batik", "multiplier": "3"},
    )

    assert response.status_code == 303
    rule.refresh_from_db()
    assert rule.multiplier == Decimal("3")
    [entry] = _entries(shop, "program.rule_update")
    assert entry.before == {"multiplier": "2.000"}
    assert entry.after == {"multiplier": "3.000"}


def test_the_rule_form_shows_its_values_one_per_line(client, shop):
    rule = EarnRule.objects.create(
        shop=shop,
        name="SKUs",
        kind="product",
        effect="exclude",
        target="sku",
        values=["A-1", "B-2"],
    )

    response = admin_get(client, f"/app/program/rules/{rule.pk}/", shop)

    assert response.status_code == 200
    assert "A-1\nB-2</textarea>" in response.content.decode()


def test_a_rule_switched_off_and_on(client, shop):
    rule = EarnRule.objects.create(shop=shop, name="Tag bonus", kind="product", target="tag")

    off = admin_post(client, f"/app/program/rules/{rule.pk}/toggle/", shop)
    rule.refresh_from_db()
    enabled_after_off = rule.enabled
    on = admin_post(client, f"/app/program/rules/{rule.pk}/toggle/", shop)
    rule.refresh_from_db()

    assert (off.status_code, on.status_code) == (303, 303)
    assert enabled_after_off is False
    assert rule.enabled is True
    assert [(e.before, e.after) for e in _entries(shop, "program.rule_update")] == [
        ({"enabled": True}, {"enabled": False}),
        ({"enabled": False}, {"enabled": True}),
    ]


def test_a_rule_deleted_after_confirmation(client, shop):
    rule = EarnRule.objects.create(shop=shop, name="Old campaign", kind="campaign")

    confirm = admin_get(client, f"/app/program/rules/{rule.pk}/delete/", shop)
    response = admin_post(client, f"/app/program/rules/{rule.pk}/delete/", shop)

    assert confirm.status_code == 200
    assert "Delete Old campaign?" in confirm.content.decode()
    assert response.status_code == 303
    assert not EarnRule.objects.filter(pk=rule.pk).exists()
    [entry] = _entries(shop, "program.rule_delete")
    assert entry.before["name"] == "Old campaign"
    assert entry.after is None


def test_the_toggle_answers_only_post(client, shop):
    rule = EarnRule.objects.create(shop=shop, name="Tag bonus", kind="product", target="tag")

    response = admin_get(client, f"/app/program/rules/{rule.pk}/toggle/", shop)

    assert response.status_code == 405
    rule.refresh_from_db()
    assert rule.enabled is True


# --- actions ----------------------------------------------------------------------------------


def test_an_action_created(client, shop):
    data = {
        "action": "social_follow",
        "name": "Follow us",
        "points": "25",
        "cap": "once",
        "key": " Instagram ",
        "enabled": "on",
    }

    response = admin_post(client, "/app/program/actions/new/", shop, data)

    assert response.status_code == 303
    rule = ActionRule.objects.get(shop=shop)
    assert (rule.action, rule.points, rule.cap, rule.key) == (
        "social_follow",
        25,
        "once",
        "instagram",
    )
    [entry] = _entries(shop, "program.action_create")
    assert entry.after["points"] == 25


def test_a_birthday_action_edited(client, shop):
    rule = ActionRule.objects.create(
        shop=shop, action="birthday", name="Birthday", points=50, cap="per_year"
    )
    data = {
        "action": "birthday",
        "name": "Birthday treat",
        "points": "80",
        "cap": "per_year",
        "enabled": "on",
    }

    response = admin_post(client, f"/app/program/actions/{rule.pk}/", shop, data)

    assert response.status_code == 303
    rule.refresh_from_db()
    assert (rule.name, rule.points) == ("Birthday treat", 80)
    [entry] = _entries(shop, "program.action_update")
    assert entry.before == {"name": "Birthday", "points": 50}
    assert entry.after == {"name": "Birthday treat", "points": 80}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"action": "signup", "points": "0", "cap": "once"},
            "points",
            "Points must be a whole number from 1 to 1000000.",
        ),
        (
            {"action": "birthday", "points": "10", "cap": "per_day"},
            "cap",
            "Birthday can only be rewarded: Once a year.",
        ),
        (
            {"action": "custom", "points": "10", "cap": "per_day", "key": "no spaces!"},
            "key",
            "Name the network or key: lowercase letters, digits, - and _ (at most 64).",
        ),
        (
            {
                "action": "review",
                "points": "10",
                "cap": "per_day",
                "starts_at": "2026-05-01T00:00",
                "ends_at": "2026-04-01T00:00",
            },
            "ends_at",
            "The end must be after the start.",
        ),
    ],
)
def test_invalid_actions_answer_400_with_the_message(client, shop, data, field, message):
    response = admin_post(client, "/app/program/actions/new/", shop, {"name": "Act", **data})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert not ActionRule.objects.filter(shop=shop).exists()


def test_a_second_rule_for_the_same_action_is_refused(client, shop):
    ActionRule.objects.create(shop=shop, action="signup", name="Welcome", points=100)

    response = admin_post(
        client,
        "/app/program/actions/new/",
        shop,
        {"action": "signup", "name": "Welcome again", "points": "50", "cap": "once"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["action"] == [
        "This action already has a rule; edit that one instead (points would add up)."
    ]
    assert ActionRule.objects.filter(shop=shop).count() == 1


def test_an_action_switched_off_and_deleted(client, shop):
    rule = ActionRule.objects.create(shop=shop, action="newsletter", name="News", points=20)

    toggled = admin_post(client, f"/app/program/actions/{rule.pk}/toggle/", shop)
    rule.refresh_from_db()
    deleted = admin_post(client, f"/app/program/actions/{rule.pk}/delete/", shop)

    assert (toggled.status_code, deleted.status_code) == (303, 303)
    assert rule.enabled is False
    assert not ActionRule.objects.filter(pk=rule.pk).exists()
    assert [
        e.action
        for e in AuditEntry.objects.filter(shop=shop, target_type="earning.actionrule").order_by(
            "pk"
        )
    ] == [
        "program.action_update",
        "program.action_delete",
    ]


# --- tiers ------------------------------------------------------------------------------------

TIER = {
    "name": "Silver",
    "threshold": "500",
    "multiplier": "1.25",
    "entry_points": "100",
    "perks": "Free gift wrap\n\nEarly access",
}


def test_tiers_page_lists_the_ladder_and_qualification(client, shop):
    TierFactory(shop=shop, name="Gold", threshold=1000)

    response = admin_get(client, "/app/program/tiers/", shop)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Gold" in page
    assert 'name="tier_basis"' in page


def test_a_tier_created_through_the_tiers_service(client, shop):
    response = admin_post(client, "/app/program/tiers/new/", shop, TIER)

    assert response.status_code == 303
    assert response["Location"] == "/app/program/tiers/"
    tier = Tier.objects.get(shop=shop)
    assert tier.threshold == Decimal("500")
    assert tier.multiplier == Decimal("1.25")
    assert tier.entry_points == 100
    assert tier.perks == ["Free gift wrap", "Early access"]
    assert tier.tag == "vip-silver"
    [entry] = _entries(shop, "program.tier_create")
    assert entry.after["tag"] == "vip-silver"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"threshold": "1000"},
            "threshold",
            "Gold already starts at this threshold; each tier needs a higher one than the tier "
            "below it.",
        ),
        (
            {"threshold": "1500", "multiplier": "1.25"},
            "multiplier",
            "Gold (threshold 1000) earns x1.5: a higher tier cannot earn less than a lower one.",
        ),
        (
            {"threshold": "100", "multiplier": "2"},
            "multiplier",
            "Gold (threshold 1000) earns x1.5: a higher tier cannot earn less than a lower one.",
        ),
        ({"threshold": "10.5"}, "threshold", "Points and orders are whole numbers."),
        ({"multiplier": "0.5"}, "multiplier", "The multiplier is from 1 to 10."),
        ({"threshold": "-1", "hidden": "on"}, "threshold", "The threshold cannot be negative."),
        ({"name": "gold"}, "name", "Another tier already has this name."),
        ({"tag": "VIP-GOLD"}, "tag", "Another tier already uses this tag."),
    ],
)
def test_invalid_tiers_answer_400_with_the_message(client, shop, changes, field, message):
    TierFactory(shop=shop, name="Gold", threshold=1000, multiplier=Decimal("1.5"))

    response = admin_post(client, "/app/program/tiers/new/", shop, {**TIER, **changes})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert Tier.objects.filter(shop=shop).count() == 1


def test_a_hidden_tier_may_share_a_threshold(client, shop):
    TierFactory(shop=shop, name="Gold", threshold=1000)

    response = admin_post(
        client,
        "/app/program/tiers/new/",
        shop,
        {**TIER, "name": "Staff", "threshold": "1000", "hidden": "on"},
    )

    assert response.status_code == 303
    assert Tier.objects.get(shop=shop, name="Staff").hidden is True


def test_a_tier_renamed_carries_campaigns_naming_it(client, shop):
    tier = TierFactory(shop=shop, name="Gold", threshold=1000)
    campaign = EarnRule.objects.create(
        shop=shop, name="Gold weekend", kind="campaign", tiers=["Gold", "Silver"]
    )

    response = admin_post(
        client,
        f"/app/program/tiers/{tier.pk}/",
        shop,
        {"name": "Emas", "threshold": "1000", "multiplier": "1", "entry_points": "0"},
    )

    assert response.status_code == 303
    tier.refresh_from_db()
    campaign.refresh_from_db()
    assert tier.name == "Emas"
    assert tier.tag == "vip-gold"  # the store tag is never renamed here
    assert campaign.tiers == ["Emas", "Silver"]
    [tier_entry] = _entries(shop, "program.tier_update")
    assert (tier_entry.before, tier_entry.after) == ({"name": "Gold"}, {"name": "Emas"})
    [rule_entry] = _entries(shop, "program.rule_update")
    assert rule_entry.after == {"tiers": ["Emas", "Silver"]}


def test_tier_qualification_saved(client, shop):
    data = {
        "tier_basis": "amount_spent",
        "tier_period": "calendar_year",
        "tier_downgrade": "grace",
        "tier_grace_days": "60",
    }

    response = admin_post(client, "/app/program/tiers/", shop, data)

    assert response.status_code == 303
    program = Program.objects.get(shop=shop)
    assert (
        program.tier_basis,
        program.tier_period,
        program.tier_downgrade,
        program.tier_grace_days,
    ) == ("amount_spent", "calendar_year", "grace", 60)
    [entry] = _entries(shop, "program.tier_settings_update")
    assert entry.after == {
        "tier_basis": "amount_spent",
        "tier_period": "calendar_year",
        "tier_downgrade": "grace",
        "tier_grace_days": 60,
    }


def test_a_grace_policy_without_grace_days_is_refused(client, shop):
    data = {
        "tier_basis": "points_earned",
        "tier_period": "lifetime",
        "tier_downgrade": "grace",
        "tier_grace_days": "0",
    }

    response = admin_post(client, "/app/program/tiers/", shop, data)

    assert response.status_code == 400
    assert response.context["form"].errors["tier_grace_days"] == [
        "The grace period is 1 to 730 days."
    ]
    assert Program.objects.get(shop=shop).tier_downgrade == "end_of_period"


# --- rewards ----------------------------------------------------------------------------------

REWARD = {
    "name": "10 off",
    "kind": "amount_off",
    "points_cost": "1000",
    "value": "10",
    "enabled": "on",
}


def test_rewards_page_lists_the_catalogue_with_money_in_shop_currency(client, shop):
    RewardFactory(shop=shop, name="15 % off", kind="percent_off", value=Decimal("15"))

    response = admin_get(client, "/app/program/rewards/", shop)

    assert response.status_code == 200
    page = response.content.decode()
    assert "5.00 MYR" in page  # the default 5 off
    assert "15 %" in page


def test_a_reward_created_for_one_tier_with_its_terms(client, shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=1000)
    data = {
        **REWARD,
        "minimum_subtotal": "50",
        "code_expiry_days": "30",
        "per_customer_limit": "2",
        "tiers": [str(gold.pk)],
        "starts_at": "2026-12-01T09:00",
        "ends_at": "2026-12-31T09:00",
        "min_points": "100",
        "product_variant_id": "123",
        "cause": "Trees",
    }

    response = admin_post(client, "/app/program/rewards/new/", shop, data)

    assert response.status_code == 303
    assert response["Location"] == "/app/program/rewards/"
    reward = Reward.objects.get(shop=shop, name="10 off")
    assert reward.value == Decimal("10")
    assert reward.minimum_subtotal == Decimal("50")
    assert (reward.code_expiry_days, reward.per_customer_limit) == (30, 2)
    assert reward.tiers == [str(gold.pk)]
    assert (reward.min_points, reward.product_variant_id, reward.cause) == (None, "", "")
    [entry] = _entries(shop, "program.reward_create")
    assert entry.after["points_cost"] == 1000


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"kind": "percent_off", "value": "150"},
            "value",
            "A percentage off must be more than 0 and at most 100.",
        ),
        (
            {"kind": "percent_off", "value": "0"},
            "value",
            "A percentage off must be more than 0 and at most 100.",
        ),
        (
            {"kind": "free_product", "product_variant_id": ""},
            "product_variant_id",
            "Choose the product variant to give away.",
        ),
        (
            {"kind": "free_product", "product_variant_id": "shirt"},
            "product_variant_id",
            "A variant id is a number, or gid://shopify/ProductVariant/ and a number.",
        ),
        ({"kind": "charity", "cause": " "}, "cause", "Name the cause the points go to."),
        ({"value": "0"}, "value", "Set the amount: more than 0."),
        (
            {"points_cost": "0"},
            "points_cost",
            "The cost is a whole number of points from 1 to 1000000.",
        ),
        (
            {"starts_at": "2026-12-31T00:00", "ends_at": "2026-12-01T00:00"},
            "ends_at",
            "The end must be after the start.",
        ),
        (
            {
                "kind": "points_to_money",
                "value": "1",
                "points_cost": "100",
                "min_points": "500",
                "max_points": "200",
            },
            "max_points",
            "The most points cannot be fewer than the least.",
        ),
        ({"code_expiry_days": "0"}, "code_expiry_days", "A code is valid for 1 to 3650 days."),
    ],
)
def test_invalid_rewards_answer_400_with_the_message(client, shop, changes, field, message):
    response = admin_post(client, "/app/program/rewards/new/", shop, {**REWARD, **changes})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert message in _field_html(response.content.decode(), field)
    assert not Reward.objects.filter(shop=shop, is_default=False).exists()


def test_a_free_product_reward_with_its_variant(client, shop):
    data = {
        **REWARD,
        "kind": "free_product",
        "value": "",
        "product_variant_id": "gid://shopify/ProductVariant/44012345678901",
    }

    response = admin_post(client, "/app/program/rewards/new/", shop, data)

    assert response.status_code == 303
    reward = Reward.objects.get(shop=shop, kind="free_product")
    assert reward.product_variant_id == "gid://shopify/ProductVariant/44012345678901"
    assert reward.value == Decimal("0")


def test_a_reward_edited_and_deactivated(client, shop):
    reward = Reward.objects.get(shop=shop, is_default=True)

    edited = admin_post(
        client,
        f"/app/program/rewards/{reward.pk}/",
        shop,
        {**REWARD, "name": "5 off", "points_cost": "400", "value": "5"},
    )
    deactivated = admin_post(client, f"/app/program/rewards/{reward.pk}/toggle/", shop)

    assert (edited.status_code, deactivated.status_code) == (303, 303)
    reward.refresh_from_db()
    assert (reward.name, reward.points_cost, reward.enabled, reward.is_default) == (
        "5 off",
        400,
        False,
        True,
    )
    [update] = _entries(shop, "program.reward_update")
    assert update.before == {"name": "5 off your order", "points_cost": 500}
    assert update.after == {"name": "5 off", "points_cost": 400}
    [off] = _entries(shop, "program.reward_deactivate")
    assert (off.before, off.after) == ({"enabled": True}, {"enabled": False})


# --- another shop's objects -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/program/rules/{rule}/"),
        ("post", "/app/program/rules/{rule}/"),
        ("post", "/app/program/rules/{rule}/toggle/"),
        ("get", "/app/program/rules/{rule}/delete/"),
        ("post", "/app/program/rules/{rule}/delete/"),
        ("get", "/app/program/actions/{action}/"),
        ("post", "/app/program/actions/{action}/toggle/"),
        ("post", "/app/program/actions/{action}/delete/"),
        ("get", "/app/program/tiers/{tier}/"),
        ("post", "/app/program/tiers/{tier}/"),
        ("get", "/app/program/rewards/{reward}/"),
        ("post", "/app/program/rewards/{reward}/"),
        ("post", "/app/program/rewards/{reward}/toggle/"),
    ],
)
def test_another_shops_object_answers_404_and_stays_as_it_was(
    client, shop, other_shop, method, path
):
    ids = {
        "rule": EarnRule.objects.create(
            shop=other_shop, name="Theirs", kind="product", target="tag"
        ).pk,
        "action": ActionRule.objects.create(
            shop=other_shop, action="signup", name="Theirs", points=5
        ).pk,
        "tier": TierFactory(shop=other_shop, name="Theirs").pk,
        "reward": RewardFactory(shop=other_shop, name="Theirs").pk,
    }
    call = admin_get if method == "get" else admin_post
    kwargs = {} if method == "get" else {"data": {**REWARD, **TIER, "name": "Mine"}}

    response = call(client, path.format(**ids), shop, **kwargs)

    assert response.status_code == 404
    assert EarnRule.objects.get(pk=ids["rule"]).enabled is True
    assert ActionRule.objects.get(pk=ids["action"]).enabled is True
    assert Tier.objects.get(pk=ids["tier"]).name == "Theirs"
    assert Reward.objects.get(pk=ids["reward"]).name == "Theirs"
    assert (
        AuditEntry.objects.filter(action__startswith="program.")
        .exclude(action=ONBOARDING_FINISHED)
        .count()
        == 0
    )


# --- audit log --------------------------------------------------------------------------------


def test_the_audit_log_lists_the_shops_entries_newest_first_with_before_and_after(
    client, shop, other_shop
):
    admin_post(client, "/app/program/settings/", shop, {**SETTINGS}, user_id="7")
    admin_post(client, "/app/program/rules/new/", shop, PRODUCT_RULE, user_id="8")
    AuditEntry.objects.create(
        shop=other_shop,
        actor="staff:99",
        action="program.update",
        before={"name": "Secret"},
        after={"name": "Other"},
    )

    response = admin_get(client, "/app/program/audit/", shop)

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r["entry"].action, r["entry"].actor) for r in rows] == [
        ("program.rule_create", "staff:8"),
        ("program.update", "staff:7"),
        (ONBOARDING_FINISHED, "staff:1"),
    ]
    page = response.content.decode()
    assert "Program settings changed" in page
    assert "Earn rule added" in page
    rule = EarnRule.objects.get(shop=shop)
    assert f'<span class="badge">Earn rule {rule.pk}</span>' in page
    assert "Name: <del>—</del> → <ins>Batik x2</ins>" in page  # the rule's name, not the program's
    assert "Program name: <del>Rewards</del> → <ins>Batik Rewards</ins>" in page
    assert "Shipping earns points: <del>no</del> → <ins>yes</ins>" in page
    assert "Secret" not in page
    assert "staff:99" not in page


# --- languages --------------------------------------------------------------------------------


def test_an_invalid_form_answers_in_malay_with_malay_messages(client, shop):
    response = admin_post(
        client, "/app/program/settings/?locale=ms", shop, {**SETTINGS, "pending_days": "400"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="ms" dir="ltr">' in page
    assert "Tetapan program" in page
    assert "Tempoh pemulangan paling lama 365 hari." in page
    assert "Bundarkan ke terdekat" in page  # a model choice, translated by the form


def test_the_rules_page_in_arabic_reads_right_to_left(client, shop):
    ActionRule.objects.create(shop=shop, action="birthday", name="Hari jadi", points=50)

    response = admin_get(client, "/app/program/rules/?locale=ar", shop)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "قواعد الكسب والإجراءات" in page
    assert "<td>عيد الميلاد</td>" in page  # the action's kind


def test_the_onboarding_example_in_thai(client):
    shop = _installed_shop("thai-shop.myshopify.com", currency="THB")

    response = admin_get(client, "/app/program/onboarding/?locale=th", shop)

    assert response.status_code == 200
    assert (
        "คำสั่งซื้อ 100.00 THB ได้รับ <output data-earn-points>100</output> points"
        in response.content.decode()
    )


def test_members_are_evaluated_again_only_when_a_tier_moves_on_the_ladder(
    client, shop, monkeypatch, django_capture_on_commit_callbacks
):
    from loyalty.tiers import tasks

    evaluated = []
    monkeypatch.setattr(tasks.evaluate_shop_members, "delay", evaluated.append)
    tier = TierFactory(shop=shop, name="Gold", threshold=1000)
    same = {"name": "Gold", "threshold": "1000", "multiplier": "1.5", "entry_points": "0"}

    with django_capture_on_commit_callbacks(execute=True):
        admin_post(client, f"/app/program/tiers/{tier.pk}/", shop, same)
    after_multiplier = list(evaluated)
    with django_capture_on_commit_callbacks(execute=True):
        admin_post(client, f"/app/program/tiers/{tier.pk}/", shop, {**same, "threshold": "800"})

    assert after_multiplier == []
    assert evaluated == [shop.pk]


def test_a_reward_or_campaign_naming_another_shops_tier_is_refused(client, shop, other_shop):
    theirs = TierFactory(shop=other_shop, name="Platinum")
    campaign = {
        "name": "Platinum weekend",
        "kind": "campaign",
        "effect": "bonus",
        "points": "50",
        "starts_at": "2026-12-05T00:00",
        "ends_at": "2026-12-07T00:00",
        "tiers": ["Platinum"],
    }

    reward = admin_post(
        client, "/app/program/rewards/new/", shop, {**REWARD, "tiers": [str(theirs.pk)]}
    )
    rule = admin_post(client, "/app/program/rules/new/", shop, campaign)

    assert (reward.status_code, rule.status_code) == (400, 400)
    assert reward.context["form"].errors["tiers"] == [
        f"Select a valid choice. {theirs.pk} is not one of the available choices."
    ]
    assert rule.context["form"].errors["tiers"] == [
        "Select a valid choice. Platinum is not one of the available choices."
    ]
    assert not Reward.objects.filter(shop=shop, name="10 off").exists()
    assert not EarnRule.objects.filter(shop=shop).exists()


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/app/program/settings/", 'name="points_per_currency_unit"'),
        ("/app/program/expiry/", 'name="expiry_mode"'),
        ("/app/program/rules/new/", 'name="every_nth"'),
        ("/app/program/actions/new/", 'name="cap"'),
        ("/app/program/tiers/new/", 'name="tag"'),
        ("/app/program/rewards/new/", 'name="product_variant_id"'),
        ("/app/program/audit/", "Onboarding finished"),
    ],
)
def test_each_editor_page_opens_with_its_form(client, shop, path, marker):
    response = admin_get(client, path, shop)

    assert response.status_code == 200
    assert marker in response.content.decode()
    assert (
        response["Content-Security-Policy"]
        == f"frame-ancestors https://{shop.domain} https://admin.shopify.com;"
    )


def test_a_refused_edit_shows_the_saved_name_in_the_title_and_the_typed_one_in_the_form(
    client, shop
):
    response = admin_post(
        client,
        "/app/program/settings/",
        shop,
        {**SETTINGS, "name": "Batik Club", "pending_days": "999"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "<title>Program settings · Rewards</title>" in page
    assert 'value="Batik Club"' in page
