"""The analytics page (`admin-analytics`): the period chooser, the figures, the charts and
their text alternatives, an empty shop, another shop's figures never shown."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from loyalty.analytics.models import ShopDay
from loyalty.analytics.services import analytics_rollup_range, shop_today
from tests.analytics.conftest import DAY1, DAY3
from tests.factories import ShopFactory
from tests.merchant_admin.helpers import admin_get

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

URL = "/app/analytics/"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "merchant_admin" / "analytics"


def usable(shop):
    """A shop the embedded admin accepts (a usable access token)."""
    shop.access_token = "shpat_x"
    shop.installed_at = datetime(2026, 1, 1, tzinfo=UTC)
    shop.save()
    return shop


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(.*?)</p>', html, re.S)
    assert match, f"no figure {name}"
    return re.sub(r"[ \t\r\n]+", " ", match.group(1)).strip()


def custom(first, last) -> str:
    return f"{URL}?period=custom&start={first.isoformat()}&end={last.isoformat()}"


def test_the_url_name():
    assert reverse("admin-analytics") == URL


def test_an_empty_shop_renders_with_dashes_and_no_error(client):
    shop = ShopFactory(access_token="shpat_x")

    response = admin_get(client, URL, shop)

    assert response.status_code == 200
    html = response.content.decode()
    assert figure(html, "members-total") == "0"
    assert figure(html, "enrolment-rate") == "\u2014"
    assert figure(html, "liability") == "0 points"
    assert figure(html, "member-aov") == "\u2014"
    assert "No figures for this period yet" in html
    assert "No member has earned points yet." in html
    # The default period is the last 30 days, today included.
    today = shop_today(shop=shop)
    assert response.context["figures"].first == today - timedelta(days=29)
    assert response.context["figures"].last == today


def test_the_page_shows_the_periods_figures(client, history):
    shop = usable(history.shop)
    analytics_rollup_range(shop=shop, first=DAY1, last=DAY3)
    analytics_rollup_range(shop=history.other, first=DAY1, last=DAY3)

    response = admin_get(client, custom(DAY1, DAY3), shop)

    assert response.status_code == 200
    html = response.content.decode()
    assert figure(html, "members-total") == "4"
    assert figure(html, "enrolment-rate") == "60.0\u00a0%"
    assert figure(html, "members-active") == "4"
    assert figure(html, "points-issued") == "440"
    assert figure(html, "points-redeemed") == "160"
    assert figure(html, "points-expired") == "40"
    assert figure(html, "points-pending") == "0"
    assert figure(html, "liability") == "10.00 MYR"
    assert figure(html, "breakage").startswith("Expected breakage 20.0\u00a0%: about 2.00 MYR")
    assert figure(html, "member-aov") == "52.50 MYR"
    assert figure(html, "nonmember-aov") == "Non-members: 30.00 MYR"
    assert figure(html, "member-repeat") == "33.3\u00a0%"
    assert figure(html, "nonmember-repeat") == "Non-members: 100.0\u00a0%"
    assert figure(html, "reward-revenue") == "60.00 MYR"
    assert figure(html, "point-value") == (
        "A point is valued at 0.05 MYR, from your cheapest active fixed-amount reward, "
        "“5 off” (5.00 MYR for 100 points)."
    )
    assert figure(html, "redemption-rate") == "Redemption rate 36.4\u00a0%"
    assert figure(html, "reward-share") == "18.2\u00a0% of all revenue"
    assert figure(html, "redemptions-value") == "Rewards worth 16.00 MYR"
    # The other shop's 999.00 order and 5,700 points are nowhere.
    assert "999" not in html and "5,700" not in html
    assert "No figures for this period yet" not in html


def test_every_chart_is_inline_svg_with_a_text_alternative(client, history):
    shop = usable(history.shop)
    analytics_rollup_range(shop=shop, first=DAY1, last=DAY3)

    html = admin_get(client, custom(DAY1, DAY3), shop).content.decode()

    svgs = re.findall(
        r'<svg viewBox[^>]*role="img"[^>]*>\s*<title id="([^"]+)">(.*?)</title>', html
    )
    titles = dict(svgs)
    assert set(titles) == {
        "chart-points-t",
        "chart-flow-t",
        "chart-members-t",
        "chart-revenue-t",
        "chart-tiers-t",
    }
    assert titles["chart-points-t"] == (
        "Points issued and redeemed per day: 440 issued and 160 redeemed over 3 days."
    )
    assert titles["chart-tiers-t"] == (
        "Members per tier at the end of the period: No tier 2; Silver 1; Gold 1."
    )
    assert titles["chart-revenue-t"] == (
        "Revenue per day from members&#x27; and non-members&#x27; orders: 210.00 MYR from "
        "members, 120.00 MYR from non-members."
    )
    # The daily charts carry a table of the same figures: 3 days x (issued, redeemed).
    assert html.count("Show the figures as a table") == 3
    assert html.count("Show the figures as a table") == 3  # the daily charts
    # Their tables: day 2's points (30 issued, 60 redeemed) and revenue (140.00 and 15.00).
    assert "<td>30</td><td>60</td>" in html
    assert "<td>140.00</td><td>15.00</td>" in html


def test_the_templates_have_no_script_and_no_cdn():
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text()
        assert "<script" not in source and "//" not in source.replace("{#", ""), template


def test_the_top_members_table(client, history):
    shop = usable(history.shop)

    html = admin_get(client, URL + "?period=7", shop).content.decode()

    table = html.split('data-table="top-members"')[1].split("</table>")[0]
    rows = re.findall(
        r'<tr>\s*<th scope="row">(.*?)</th>\s*<td>(.*?)</td>\s*<td class="numeric">(.*?)</td>',
        table,
    )
    assert [(name.split()[0], tier, earned) for name, tier, earned in rows] == [
        ("Dina", "Gold", "240"),
        ("Adam", "Silver", "70"),
        ("Bella", "\u2014", "50"),
        ("Chen", "\u2014", "50"),
    ]


@pytest.mark.parametrize("period, days", [("7", 7), ("30", 30), ("90", 90)])
def test_the_preset_periods_end_today(client, period, days):
    shop = ShopFactory(access_token="shpat_x", iana_timezone="Pacific/Kiritimati")

    response = admin_get(client, f"{URL}?period={period}", shop)

    assert response.status_code == 200
    today = shop_today(shop=shop)
    figures = response.context["figures"]
    assert (figures.first, figures.last) == (today - timedelta(days=days - 1), today)
    assert f'href="?period={period}" aria-current="page"' in response.content.decode()


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("period=custom&end=2026-03-04", "start", "Choose the first day."),
        ("period=custom&start=2026-03-05&end=2026-03-04", "start", "on or before the last day"),
        ("period=custom&start=2024-01-01&end=2026-03-04", "start", "at most 366 days"),
        ("period=custom&start=2026-03-01&end=2099-01-01", "end", "cannot be after today"),
        ("period=custom&start=yesterday&end=2026-03-04", "start", "Enter a valid date."),
        ("period=365", "period", "Select a valid choice."),
    ],
)
def test_an_invalid_period_is_400_with_the_message_by_its_field(client, query, field, message):
    shop = ShopFactory(access_token="shpat_x")

    response = admin_get(client, f"{URL}?{query}", shop)

    assert response.status_code == 400
    assert response.context["figures"] is None
    assert any(message in e for e in response.context["form"].errors[field])
    assert 'class="errorlist"' in response.content.decode()


def test_without_a_session_token_the_page_is_not_served(client):
    ShopFactory(access_token="shpat_x")

    response = client.get(URL)

    assert response.status_code in (302, 400, 401)
    assert b"data-figure" not in response.content


def test_money_uses_the_shops_currency_and_two_decimals(client, history):
    shop = usable(history.shop)
    shop.currency = "THB"
    shop.save()
    analytics_rollup_range(shop=shop, first=DAY1, last=DAY3)

    html = admin_get(client, custom(DAY1, DAY3), shop).content.decode()

    assert figure(html, "reward-revenue") == "60.00 THB"
    assert Decimal(figure(html, "liability").split()[0]) == Decimal("10.00")


def test_the_admins_locale_alone_shows_the_default_period(client):
    shop = ShopFactory(access_token="shpat_x")

    response = admin_get(client, f"{URL}?locale=en", shop)

    assert response.status_code == 200
    assert response.context["figures"].first == shop_today(shop=shop) - timedelta(days=29)


@pytest.mark.parametrize(
    "locale, title, liability",
    [
        ("ms", "Analitik", "Liabiliti mata tertunggak"),
        ("ar", "التحليلات", "التزام النقاط القائم"),
        ("th", "การวิเคราะห์", "ภาระคะแนนคงค้าง"),
    ],
)
def test_the_page_speaks_malay_arabic_and_thai(client, history, locale, title, liability):
    shop = usable(history.shop)
    analytics_rollup_range(shop=shop, first=DAY1, last=DAY3)

    response = admin_get(client, f"{custom(DAY1, DAY3)}&locale={locale}", shop)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"<h1>{title}</h1>" in html
    assert liability in html
    assert "Outstanding points liability" not in html
    assert "Show the figures as a table" not in html


def test_when_the_figures_were_computed_is_told_on_the_shops_clock(client, history):
    shop = usable(history.shop)  # Kuala Lumpur, UTC+8
    analytics_rollup_range(shop=shop, first=DAY1, last=DAY3)
    ShopDay.objects.filter(shop=shop).update(computed_at=datetime(2026, 3, 4, 20, 5, tzinfo=UTC))

    html = admin_get(client, custom(DAY1, DAY3), shop).content.decode()

    assert "Figures as of March 5, 2026, 4:05 a.m.;" in html


def test_the_referrals_card_counts_the_periods_referrals_on_the_shops_clock(client):
    from loyalty.earning.models import OrderRecord
    from loyalty.referrals.models import ClaimStatus, ReferralClaim
    from tests.factories import MemberFactory

    shop = usable(ShopFactory(iana_timezone="Asia/Kuala_Lumpur", currency="MYR"))
    assert 'data-card="referrals"' not in admin_get(client, URL, shop).content.decode()
    referrer = MemberFactory(shop=shop)
    day = datetime(2026, 3, 3, tzinfo=UTC).date()  # a day of the shop's calendar (UTC+8)
    inside = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)  # 3 March 00:30 in Kuala Lumpur
    outside = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 2 March 23:30 there

    def claim(code, *, status, created, rewarded=None, order_id="", points=0):
        made = ReferralClaim.objects.create(
            shop=shop,
            referrer=referrer,
            friend_email=f"{code.lower()}@example.com",
            code=code,
            status=status,
            rewarded_at=rewarded,
            order_id=order_id,
            points=points,
        )
        ReferralClaim.objects.filter(pk=made.pk).update(created_at=created)

    claim(
        "REF-A",
        status=ClaimStatus.REWARDED,
        created=outside,
        rewarded=inside,
        order_id="1",
        points=300,
    )
    claim(
        "REF-B",
        status=ClaimStatus.REWARDED,
        created=inside,
        rewarded=outside,
        order_id="2",
        points=300,
    )
    claim(
        "REF-C",
        status=ClaimStatus.REVERSED,
        created=inside,
        rewarded=inside,
        order_id="3",
        points=300,
    )
    claim("REF-D", status=ClaimStatus.ISSUED, created=inside)
    for order_id, amount in (("1", "120.00"), ("2", "80.00"), ("3", "60.00")):
        OrderRecord.objects.create(shop=shop, order_id=order_id, net_amount=Decimal(amount))
    other = usable(ShopFactory(domain="other-referrals.myshopify.com"))
    claim_other = MemberFactory(shop=other)
    ReferralClaim.objects.create(
        shop=other,
        referrer=claim_other,
        friend_email="x@example.com",
        code="REF-X",
        status=ClaimStatus.REWARDED,
        rewarded_at=inside,
        points=999,
    )

    html = admin_get(client, custom(day, day), shop).content.decode()

    assert figure(html, "referrals-rewarded") == "1"
    assert "120.00" in figure(html, "referrals-revenue")
    assert figure(html, "referrals-points").startswith("300 ")
    assert figure(html, "referrals-claimed").startswith("3 ")
