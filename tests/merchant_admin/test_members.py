"""Members pages: the list (search, filters, sorting, keyset pages), a member's page, and the
manual adjustment form."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.audit.models import AuditEntry
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_credit, ledger_debit, ledger_reverse
from loyalty.members.models import Member, MemberStatus
from loyalty.merchant_admin import selectors
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.tiers.models import TierChange, TierHistory
from tests.factories import MemberFactory, RewardFactory, ShopFactory, TierFactory
from tests.merchant_admin.helpers import admin_get, admin_post

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def shop(db):
    return ShopFactory(
        domain="batik-members.myshopify.com",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def other_shop(db):
    return ShopFactory(domain="other-members.myshopify.com", access_token="shpat_y")


def listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-member="(\d+)">', response.content.decode())]


def member(shop, **fields):
    return MemberFactory(shop=shop, **fields)


# --- the list ---------------------------------------------------------------------------------


def test_list_shows_only_this_shops_members_newest_first(client, shop, other_shop):
    older = member(shop, enrolled_at=T0)
    newer = member(shop, enrolled_at=T0 + timedelta(days=1))
    member(other_shop, enrolled_at=T0 + timedelta(days=2))

    response = admin_get(client, "/app/members/", shop)

    assert response.status_code == 200
    assert listed(response) == [newer.pk, older.pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("siti@exa", ["siti"]),
        ("SITI@EXAMPLE.COM", ["siti"]),
        ("8100000002", ["siti"]),
        ("gid://shopify/Customer/8100000001", ["aisyah"]),
        ("aisy", ["aisyah"]),
        ("rahman", ["aisyah", "siti"]),
        ("siti rah", ["siti"]),
        ("nobody", []),
    ],
)
def test_search_by_email_name_or_customer_id(client, shop, other_shop, query, expected):
    people = {
        "aisyah": member(
            shop,
            platform_customer_id="8100000001",
            email="aisyah@example.com",
            first_name="Aisyah",
            last_name="Rahman",
            enrolled_at=T0,
        ),
        "siti": member(
            shop,
            platform_customer_id="8100000002",
            email="siti@example.com",
            first_name="Siti",
            last_name="Rahman",
            enrolled_at=T0 + timedelta(hours=1),
        ),
    }
    member(other_shop, platform_customer_id="8100000002", email="siti@example.com")

    response = admin_get(client, "/app/members/", shop, data={"q": query})

    assert response.status_code == 200
    assert listed(response) == sorted(
        (people[name].pk for name in expected),
        key=lambda pk: -Member.objects.get(pk=pk).enrolled_at.timestamp(),
    )


def test_filters_by_tier_status_balance_and_activity(client, shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=1000)
    in_gold = member(shop, tier=gold, points_balance=1500, last_activity_at=T0)
    no_tier = member(shop, points_balance=200, last_activity_at=T0 + timedelta(days=10))
    excluded = member(shop, status=MemberStatus.EXCLUDED, points_balance=50)

    def ids(**params):
        return listed(admin_get(client, "/app/members/", shop, data=params))

    assert ids(tier=str(gold.pk)) == [in_gold.pk]
    assert ids(tier="none", sort="-balance") == [no_tier.pk, excluded.pk]
    assert ids(status="excluded") == [excluded.pk]
    assert ids(balance_min="100", balance_max="1000") == [no_tier.pk]
    assert ids(active_after="2026-03-05") == [no_tier.pk]
    assert ids(active_before="2026-03-05") == [in_gold.pk]


def test_another_shops_tier_is_not_a_choice(client, shop, other_shop):
    theirs = TierFactory(shop=other_shop, name="Platinum")

    response = admin_get(client, "/app/members/", shop, data={"tier": str(theirs.pk)})

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert listed(response) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"balance_min": "500", "balance_max": "100"}, "Must be at least the lower bound."),
        ({"balance_min": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"active_after": "2026-03-05", "active_before": "2026-03-01"}, "Must be a later date"),
        ({"active_after": "yesterday"}, "Enter a valid date."),
        ({"sort": "email"}, "Select a valid choice."),
    ],
)
def test_invalid_filters_answer_400_with_the_message(client, shop, params, message):
    member(shop)

    response = admin_get(client, "/app/members/", shop, data=params)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert listed(response) == []


def test_sort_by_balance_both_ways(client, shop):
    low = member(shop, points_balance=10)
    high = member(shop, points_balance=900)
    mid = member(shop, points_balance=300)

    assert listed(admin_get(client, "/app/members/", shop, data={"sort": "-balance"})) == [
        high.pk,
        mid.pk,
        low.pk,
    ]
    assert listed(admin_get(client, "/app/members/", shop, data={"sort": "balance"})) == [
        low.pk,
        mid.pk,
        high.pk,
    ]


def test_sort_by_last_activity_puts_members_never_active_last_both_ways(client, shop):
    never = member(shop, last_activity_at=None)
    early = member(shop, last_activity_at=T0)
    late = member(shop, last_activity_at=T0 + timedelta(days=3))

    assert listed(admin_get(client, "/app/members/", shop, data={"sort": "-activity"})) == [
        late.pk,
        early.pk,
        never.pk,
    ]
    assert listed(admin_get(client, "/app/members/", shop, data={"sort": "activity"})) == [
        early.pk,
        late.pk,
        never.pk,
    ]


@pytest.mark.parametrize(
    "sort", ["-enrolled", "enrolled", "-balance", "balance", "-activity", "activity"]
)
def test_keyset_pages_cover_every_member_once_in_order(shop, sort):
    # Ties on the sort value and members without activity: the id breaks ties, nulls come last.
    for n in range(7):
        member(
            shop,
            enrolled_at=T0 + timedelta(days=n // 2),
            points_balance=100 * (n % 3),
            last_activity_at=None if n % 3 == 0 else T0 + timedelta(days=n % 2),
        )
    everyone = selectors.member_list(
        shop=shop, filters=selectors.MemberFilters(), sort=sort, size=100
    ).items

    seen, after = [], None
    while True:
        page = selectors.member_list(
            shop=shop, filters=selectors.MemberFilters(), sort=sort, after=after, size=2
        )
        seen += page.items
        if page.next_cursor is None:
            break
        after = page.next_cursor

    assert [m.pk for m in seen] == [m.pk for m in everyone]
    assert len(seen) == 7


def test_list_pages_with_a_next_link_that_keeps_the_filters(client, shop):
    members = [member(shop, enrolled_at=T0 + timedelta(minutes=n)) for n in range(52)]
    newest_first = [m.pk for m in reversed(members)]

    first = admin_get(client, "/app/members/", shop, data={"status": "active"})
    next_href = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    second = admin_get(client, next_href.replace("&amp;", "&"), shop)

    assert listed(first) == newest_first[:50]
    assert "status=active" in next_href
    assert listed(second) == newest_first[50:]
    assert 'rel="next"' not in second.content.decode()


def test_a_tampered_cursor_shows_the_first_page(client, shop):
    only = member(shop)

    response = admin_get(client, "/app/members/", shop, data={"after": "not-a-cursor!"})

    assert response.status_code == 200
    assert listed(response) == [only.pk]


# --- a member's page --------------------------------------------------------------------------


def test_member_page_shows_figures_tier_history_ledger_sources_and_redemptions(client, shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=100)
    aisyah = member(shop, first_name="Aisyah", last_name="Rahman", tier=gold, tier_since=T0)
    earned = ledger_credit(
        member=aisyah, points=500, idempotency_key="o1", source_type="order", source_id="1001"
    ).entry
    ledger_reverse(entry=earned, points=100, idempotency_key="r1", reason="Refund of 1001")
    ledger_debit(
        member=aisyah, points=150, idempotency_key="d1", source_type="redemption", source_id="9"
    )
    TierHistory.objects.create(
        shop=shop, member=aisyah, to_tier=gold, to_name="Gold", reason=TierChange.UPGRADE, at=T0
    )
    reward = RewardFactory(shop=shop, name="RM5 off")
    Redemption.objects.create(
        shop=shop,
        member=aisyah,
        reward=reward,
        idempotency_key="x",
        points=150,
        status=RedemptionStatus.ISSUED,
        code="SETIA-ABC",
    )

    response = admin_get(client, f"/app/members/{aisyah.pk}/", shop)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Aisyah Rahman</h1>" in html
    assert '<div class="stat-value" data-figure="balance">250</div>' in html
    assert '<div data-figure="earned">400</div>' in html  # the refund took 100 back
    assert '<div data-figure="spent">150</div>' in html
    assert "<strong>Gold</strong>" in html
    assert "— → Gold" in html and "Upgrade" in html
    rows = re.findall(r'<tr data-entry="\d+">(.*?)</tr>', html, re.S)
    assert [re.sub(r"<[^>]+>|\s+", " ", row).split() for row in rows] == [
        [*row_date(entry), *words]
        for entry, words in zip(
            LedgerEntry.objects.filter(member=aisyah).order_by("-created_at", "-id"),
            [
                ["Redemption", "9", "-150"],
                ["Refund", "or", "cancellation", "1001", "-100", "Refund", "of", "1001"],
                ["Order", "1001", "+500"],
            ],
            strict=True,
        )
    ]
    assert "SETIA-ABC" in html and "RM5 off" in html and "Issued" in html


def row_date(entry):
    return entry.created_at.strftime("%Y-%m-%d %H:%M").split()


def test_member_ledger_is_paged_by_keyset(client, shop):
    aisyah = member(shop)
    for n in range(27):
        ledger_credit(member=aisyah, points=n + 1, idempotency_key=f"k{n}", source_type="action")

    first = admin_get(client, f"/app/members/{aisyah.pk}/", shop)
    older = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    second = admin_get(client, older, shop)

    def points(response):
        return [
            int(p)
            for p in re.findall(r'class="numeric positive">\+(\d+)</td>', response.content.decode())
        ]

    assert points(first) == list(range(27, 2, -1))
    assert points(second) == [2, 1]
    assert 'rel="next"' not in second.content.decode()


def test_another_shops_member_is_not_found(client, shop, other_shop):
    theirs = member(other_shop)

    response = admin_get(client, f"/app/members/{theirs.pk}/", shop)

    assert response.status_code == 404


# --- manual adjustments -----------------------------------------------------------------------


def adjust(client, shop, target, **data):
    data.setdefault("idempotency_key", str(uuid.uuid4()))
    return admin_post(client, f"/app/members/{target.pk}/adjust/", shop, data, user_id="77")


def test_adding_points_by_hand_is_recorded_with_the_staff_member_and_audited(client, shop):
    aisyah = member(shop)
    ledger_credit(member=aisyah, points=100, idempotency_key="seed", source_type="action")

    response = adjust(client, shop, aisyah, points="250", reason="Sorry for the late parcel")

    assert response.status_code == 303
    assert response["Location"] == f"/app/members/{aisyah.pk}/?adjusted=1"
    aisyah.refresh_from_db()
    assert aisyah.points_balance == 350
    entry = LedgerEntry.objects.get(member=aisyah, kind=EntryKind.ADJUST)
    assert (entry.points, entry.source_type, entry.reason, entry.actor) == (
        250,
        "adjustment",
        "Sorry for the late parcel",
        "staff:77",
    )
    audit = AuditEntry.objects.get(shop=shop, action="members.adjust")
    assert (audit.actor, audit.target_id, audit.before, audit.after) == (
        "staff:77",
        str(aisyah.pk),
        {"points_balance": 100, "lifetime_earned": 100},
        {"points_balance": 350, "lifetime_earned": 350},
    )
    page = admin_get(client, response["Location"], shop).content.decode()
    assert "The balance was adjusted." in page
    assert '<div class="stat-value" data-figure="balance">350</div>' in page


def test_taking_points_away_by_hand(client, shop):
    aisyah = member(shop)
    ledger_credit(member=aisyah, points=100, idempotency_key="seed", source_type="action")

    response = adjust(client, shop, aisyah, points="-40", reason="Duplicate order bonus")

    assert response.status_code == 303
    aisyah.refresh_from_db()
    assert aisyah.points_balance == 60
    assert LedgerEntry.objects.get(member=aisyah, kind=EntryKind.ADJUST).points == -40


def test_a_double_submit_of_the_same_form_credits_once(client, shop):
    aisyah = member(shop)
    key = str(uuid.uuid4())

    first = adjust(client, shop, aisyah, points="100", reason="Welcome gift", idempotency_key=key)
    second = adjust(client, shop, aisyah, points="100", reason="Welcome gift", idempotency_key=key)

    assert (first.status_code, second.status_code) == (303, 303)
    aisyah.refresh_from_db()
    assert aisyah.points_balance == 100
    assert LedgerEntry.objects.filter(member=aisyah).count() == 1
    assert AuditEntry.objects.filter(shop=shop, action="members.adjust").count() == 1


def test_a_debit_larger_than_the_balance_is_a_form_error_and_changes_nothing(client, shop):
    aisyah = member(shop)
    ledger_credit(member=aisyah, points=30, idempotency_key="seed", source_type="action")

    response = adjust(client, shop, aisyah, points="-50", reason="Fraud")

    assert response.status_code == 400
    assert "Only 30 points can be taken away: that is the member&#x27;s balance." in (
        response.content.decode()
    )
    aisyah.refresh_from_db()
    assert aisyah.points_balance == 30
    assert LedgerEntry.objects.filter(member=aisyah).count() == 1
    assert not AuditEntry.objects.filter(shop=shop).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"points": "10", "reason": "  "}, "Say why, for the member&#x27;s history."),
        ({"points": "10"}, "Say why, for the member&#x27;s history."),
        ({"reason": "x"}, "This field is required."),
        ({"points": "0", "reason": "x"}, "Enter a number of points other than 0."),
        ({"points": "ten", "reason": "x"}, "Enter a whole number."),
        ({"points": "2000000", "reason": "x"}, "Ensure this value is less than or equal to"),
        (
            {"points": "5", "reason": "x", "idempotency_key": "not-a-uuid"},
            "This form is out of date: reload the page.",
        ),
    ],
)
def test_invalid_adjustments_answer_400_with_the_message(client, shop, data, message):
    aisyah = member(shop)

    response = adjust(client, shop, aisyah, **data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not LedgerEntry.objects.filter(member=aisyah).exists()
    assert not AuditEntry.objects.exists()


def test_adjusting_another_shops_member_is_not_found_and_changes_nothing(client, shop, other_shop):
    theirs = member(other_shop)

    response = adjust(client, shop, theirs, points="500", reason="Nice try")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.points_balance == 0
    assert not LedgerEntry.objects.exists()


def test_adjust_answers_only_posts(client, shop):
    aisyah = member(shop)

    response = admin_get(client, f"/app/members/{aisyah.pk}/adjust/", shop)

    assert response.status_code == 405


def test_member_page_lists_the_friends_they_referred_with_why_each_paid_or_not(client, shop):
    from loyalty.referrals.models import ClaimStatus, ReferralClaim

    member = MemberFactory(shop=shop)
    someone = MemberFactory(shop=shop)
    ReferralClaim.objects.create(
        shop=shop,
        referrer=member,
        friend_email="a@example.com",
        code="REF-AAAA-0001",
        status=ClaimStatus.REWARDED,
        points=300,
    )
    ReferralClaim.objects.create(
        shop=shop,
        referrer=member,
        friend_email="b@example.com",
        code="REF-AAAA-0002",
        status=ClaimStatus.REFUSED,
        reason="Not the friend's first paid order.",
    )
    ReferralClaim.objects.create(
        shop=shop, referrer=someone, friend_email="c@example.com", code="REF-OTHER-001"
    )

    page = admin_get(client, f"/app/members/{member.pk}/", shop).content.decode()
    quiet = admin_get(client, f"/app/members/{someone.pk}/", shop).content.decode()
    without = admin_get(client, f"/app/members/{MemberFactory(shop=shop).pk}/", shop)

    section = page[page.index('id="member-referrals"') :]
    assert section.index("REF-AAAA-0002") < section.index("REF-AAAA-0001")  # newest first
    assert "Referrer rewarded" in section and "Not the friend&#x27;s first paid order." in section
    assert "REF-OTHER-001" not in page and "REF-AAAA" not in quiet
    assert 'id="member-referrals"' not in without.content.decode()  # no card without any
