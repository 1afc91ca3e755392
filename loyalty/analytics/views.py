"""The analytics page: figures over a chosen period, read from the daily roll-ups."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.analytics import charts, selectors
from loyalty.analytics.services import day_bounds, shop_today, shop_zone
from loyalty.analytics.templatetags.analytics_format import count, money, percent
from loyalty.platforms.shopify.embedded import embedded_admin
from loyalty.referrals.selectors import referral_figures

MAX_DAYS = 366
PRESETS = {"7": 7, "30": 30, "90": 90}


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        choices=[
            ("7", gettext_lazy("Last 7 days")),
            ("30", gettext_lazy("Last 30 days")),
            ("90", gettext_lazy("Last 90 days")),
            ("custom", gettext_lazy("Custom")),
        ],
    )
    start = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if data.get("period") != "custom":
            return data
        start, end = data.get("start"), data.get("end")
        if start is None and "start" not in self.errors:
            self.add_error("start", _("Choose the first day."))
        if end is None and "end" not in self.errors:
            self.add_error("end", _("Choose the last day."))
        if start is None or end is None:
            return data
        if end > self.today:
            self.add_error("end", _("The last day cannot be after today."))
        elif start > end:
            self.add_error("start", _("The first day must be on or before the last day."))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", _("Choose at most %(days)s days.") % {"days": MAX_DAYS})
        return data

    def bounds(self) -> tuple[date, date]:
        data = self.cleaned_data
        if data["period"] == "custom":
            return data["start"], data["end"]
        return self.today - timedelta(days=PRESETS[data["period"]] - 1), self.today


@embedded_admin
def analytics_page(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    today = shop_today(shop=shop)
    query = request.GET.copy()  # other parameters (the admin's `locale`) are left alone
    query.setdefault("period", "30")
    form = PeriodForm(query, today=today)
    if not form.is_valid():
        context = {"shop": shop, "form": form, "figures": None}
        return render(request, "merchant_admin/analytics/page.html", context, status=400)
    first, last = form.bounds()
    figures = selectors.analytics_figures(shop=shop, first=first, last=last)
    context = {
        "shop": shop,
        "form": form,
        "figures": figures,
        "zone": shop_zone(shop),  # times are told on the shop's clock, like its days
        "top_members": selectors.analytics_top_members(shop=shop),
        "referrals": referral_figures(
            shop=shop,
            start=day_bounds(shop=shop, day=first).start,
            end=day_bounds(shop=shop, day=last).end,
        ),
        "charts": _charts(figures, currency=shop.currency),
    }
    return render(request, "merchant_admin/analytics/page.html", context)


def _charts(figures: selectors.Figures, *, currency: str) -> dict:
    """Each chart's geometry and its text alternative (a sentence; the templates add a table
    of the same figures)."""
    days = [d.day for d in figures.days]
    rows = figures.days
    points = charts.daily_bars(
        days=days,
        series=[
            charts.Series(_("Issued"), [d.points_issued for d in rows], charts.PALETTE[0]),
            charts.Series(_("Redeemed"), [d.points_redeemed for d in rows], charts.PALETTE[1]),
        ],
    )
    points["summary"] = _(
        "Points issued and redeemed per day: %(issued)s issued and %(redeemed)s redeemed "
        "over %(days)s days."
    ) % {
        "issued": count(figures.points_issued),
        "redeemed": count(figures.points_redeemed),
        "days": count(len(days)),
    }
    members = charts.daily_line(
        days=days,
        series=[
            charts.Series(_("Members"), [d.members_total for d in rows], charts.PALETTE[2]),
        ],
    )
    members["summary"] = _(
        "Members at the end of each day: %(end)s at the end of the period, %(enrolled)s "
        "enrolled during it."
    ) % {"end": count(figures.members_total), "enrolled": count(figures.members_enrolled)}
    revenue = charts.daily_bars(
        days=days,
        series=[
            charts.Series(_("Members"), [d.member_revenue for d in rows], charts.PALETTE[0]),
            charts.Series(_("Non-members"), [d.nonmember_revenue for d in rows], charts.PALETTE[5]),
        ],
        stacked=True,
    )
    revenue["summary"] = _(
        "Revenue per day from members' and non-members' orders: %(members)s from members, "
        "%(others)s from non-members."
    ) % {
        "members": money(figures.member_revenue, currency),
        "others": money(figures.nonmember_revenue, currency),
    }
    tier_items = [(t["name"] or _("No tier"), t["members"]) for t in figures.tiers]
    tiers = charts.horizontal_bars(items=tier_items, colour=charts.PALETTE[2])
    tiers["summary"] = _("Members per tier at the end of the period: %(list)s.") % {
        "list": "; ".join(f"{name} {count(n)}" for name, n in tier_items) or _("no members")
    }
    flow_items = [
        (_("Issued"), figures.points_issued),
        (_("Redeemed"), figures.points_redeemed),
        (_("Expired"), figures.points_expired),
        (_("Taken back"), figures.points_taken_back),
    ]
    flow = charts.horizontal_bars(items=flow_items, colour=charts.PALETTE[0])
    flow["summary"] = _("Points over the period: %(list)s; redemption rate %(rate)s.") % {
        "list": "; ".join(f"{name} {count(n)}" for name, n in flow_items),
        "rate": percent(figures.redemption_rate),
    }
    return {"points": points, "members": members, "revenue": revenue, "tiers": tiers, "flow": flow}
