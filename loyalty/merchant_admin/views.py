"""The admin's core pages: home, members, operations. Views only orchestrate: forms validate,
selectors read (scoped to `request.shop`), services change and audit."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from loyalty.imports.models import ImportJob, ImportStatus
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import IdempotencyKeyReused, InsufficientPoints
from loyalty.members.models import Member
from loyalty.merchant_admin import selectors, services
from loyalty.merchant_admin.forms import (
    DELIVERY_STATUS_LABELS,
    AdjustmentForm,
    DeliveryFilterForm,
    MemberFilterForm,
    ReplayForm,
)
from loyalty.merchant_admin.pages import see_other
from loyalty.merchant_admin.shell import reverse_if_defined, theme_editor_url
from loyalty.platforms.shopify.embedded import embedded_admin
from loyalty.privacy.models import PrivacyRequest, PrivacyRequestKind
from loyalty.referrals.selectors import referral_claims_of
from loyalty.rewards.models import RedemptionStatus
from loyalty.shops.models import OnboardingStep
from loyalty.tiers.models import TierChange

# Where a ledger entry came from, as the merchant reads it: by source, or by kind.
SOURCE_LABELS = {
    "order": gettext_lazy("Order"),
    "action": gettext_lazy("Action"),
    "tier": gettext_lazy("Tier reward"),
    "redemption": gettext_lazy("Redemption"),
    "adjustment": gettext_lazy("Manual adjustment"),
    "import": gettext_lazy("Import"),
    "inactivity": gettext_lazy("Expiry after inactivity"),
    "lot": gettext_lazy("Expiry"),
    "debt": gettext_lazy("Debt repayment"),
    "referral": gettext_lazy("Referral"),
    "campaign": gettext_lazy("Campaign"),
}
REVERSAL_LABELS = {
    "order": gettext_lazy("Refund or cancellation"),
    "redemption": gettext_lazy("Redemption returned"),
}
KIND_LABELS = {
    EntryKind.EARN: gettext_lazy("Earned"),
    EntryKind.REDEEM: gettext_lazy("Redeemed"),
    EntryKind.ADJUST: gettext_lazy("Adjusted"),
    EntryKind.EXPIRE: gettext_lazy("Expired"),
    EntryKind.REVERSE: gettext_lazy("Reversed"),
}
REDEMPTION_LABELS = {
    RedemptionStatus.PENDING: (gettext_lazy("Pending"), "attention"),
    RedemptionStatus.ISSUED: (gettext_lazy("Issued"), "info"),
    RedemptionStatus.FAILED: (gettext_lazy("Failed"), "critical"),
    RedemptionStatus.USED: (gettext_lazy("Used"), "success"),
    RedemptionStatus.EXPIRED: (gettext_lazy("Expired"), ""),
    RedemptionStatus.DONATED: (gettext_lazy("Donated"), "success"),
}
DELIVERY_BADGES = {
    "received": "info",
    "retrying": "attention",
    "processed": "success",
    "ignored": "",
    "failed": "critical",
}
TIER_CHANGE_LABELS = {
    TierChange.UPGRADE: gettext_lazy("Upgrade"),
    TierChange.DOWNGRADE: gettext_lazy("Downgrade"),
    TierChange.REFUND: gettext_lazy("Refunds"),
    TierChange.MANUAL: gettext_lazy("By hand"),
}
PRIVACY_KIND_LABELS = {
    PrivacyRequestKind.CUSTOMER_DATA_REQUEST: gettext_lazy("Customer data request"),
    PrivacyRequestKind.CUSTOMER_REDACT: gettext_lazy("Customer redaction"),
    PrivacyRequestKind.SHOP_REDACT: gettext_lazy("Shop redaction"),
}


def _query(params: dict) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"?{urlencode(kept)}" if kept else ""


# --- home -------------------------------------------------------------------------------------


def home_checklist(*, shop, summary: selectors.ShopSummary) -> list[dict] | None:
    """The dashboard's "getting started" steps, each done or not from what the shop has, until
    the widget answers the shop's storefront (it is enabled in the theme): None from then on."""
    if shop.storefront_seen_at is not None:
        return None
    steps = [
        (
            "admin-program",
            _("Set how members earn points and the rewards they can get"),
            shop.program.onboarding in (OnboardingStep.FINISHED, OnboardingStep.SKIPPED),
            "",
        ),
        (
            "admin-widget",
            _("Choose the look of the widget and enable it in your theme"),
            False,
            theme_editor_url(shop_domain=shop.domain),
        ),
        (
            "admin-imports",
            _("Bring members and balances from your previous app"),
            ImportJob.objects.filter(shop=shop, status=ImportStatus.DONE).exists(),
            "",
        ),
        ("admin-members", _("Welcome your first members"), summary.members > 0, ""),
    ]
    return [
        {
            "label": label,
            "href": reverse_if_defined(url_name) or "",
            "done": done,
            "theme_editor": editor,
            "optional": url_name == "admin-imports",
        }
        for url_name, label, done, editor in steps
    ]


@embedded_admin
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    summary = selectors.shop_summary(shop=shop)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"shop": shop.domain, "members": summary.members})
    return render(
        request,
        "merchant_admin/home.html",
        {
            "shop": shop,
            "summary": summary,
            "points_outstanding": summary.points_balance + summary.points_pending,
            "checklist": home_checklist(shop=shop, summary=summary),
        },
    )


# --- members ----------------------------------------------------------------------------------


SORT_COLUMNS = {"balance": "-balance", "enrolled": "-enrolled", "activity": "-activity"}


def _sort_links(params: dict, current: str) -> dict:
    """Column headers: a click sorts by the column (descending first, then ascending)."""
    links = {}
    for column, first in SORT_COLUMNS.items():
        target = column if current == first else first
        links[column] = {
            "href": _query({**params, "sort": target, "after": ""}),
            "aria_sort": (
                "descending"
                if current == f"-{column}"
                else "ascending"
                if current == column
                else ""
            ),
        }
    return links


@embedded_admin
@require_GET
def members(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    form = MemberFilterForm(request.GET or None, shop=shop)
    params = {name: request.GET.get(name, "") for name in form.fields}
    page = None
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        status = 200
        filters = form.filters() if form.is_bound else selectors.MemberFilters()
        page = selectors.member_list(
            shop=shop,
            filters=filters,
            sort=form.sort_key,
            after=request.GET.get("after"),
        )
    sort = form.sort_key
    filtered = any(params.get(name) for name in form.fields if name != "sort")
    return render(
        request,
        "merchant_admin/members/list.html",
        {
            "form": form,
            "page": page,
            "sort_links": _sort_links(params, sort),
            "next_href": _query({**params, "after": page.next_cursor})
            if page and page.next_cursor
            else "",
            "first_href": _query(params) if request.GET.get("after") else "",
            "filtered": filtered,
        },
        status=status,
    )


def _entry_source(entry: LedgerEntry) -> str:
    if entry.kind == EntryKind.REVERSE and entry.source_type in REVERSAL_LABELS:
        return str(REVERSAL_LABELS[entry.source_type])
    label = SOURCE_LABELS.get(entry.source_type)
    return str(label) if label else entry.source_type or str(KIND_LABELS[entry.kind])


def _member_page(request: HttpRequest, member: Member, form: AdjustmentForm, *, status: int):
    ledger = selectors.member_ledger(member=member, after=request.GET.get("ledger_after"))
    entries = [
        {
            "entry": entry,
            "kind": KIND_LABELS.get(entry.kind, entry.kind),
            "source": _entry_source(entry),
        }
        for entry in ledger.items
    ]
    redemptions = [
        {
            "redemption": r,
            "label": REDEMPTION_LABELS[r.status][0],
            "tone": REDEMPTION_LABELS[r.status][1],
        }
        for r in selectors.member_redemptions(member=member)
    ]
    return render(
        request,
        "merchant_admin/members/detail.html",
        {
            "member": member,
            "entries": entries,
            "ledger_next": _query({"ledger_after": ledger.next_cursor})
            if ledger.next_cursor
            else "",
            "ledger_paged": bool(request.GET.get("ledger_after")),
            "tier_history": [
                {"change": change, "reason": TIER_CHANGE_LABELS.get(change.reason, change.reason)}
                for change in selectors.member_tier_history(member=member)
            ],
            "redemptions": redemptions,
            # The friends this member referred, newest first: why a referral paid or not.
            "referrals": referral_claims_of(member=member),
            "form": form,
            "adjusted": request.GET.get("adjusted") == "1" and status == 200,
        },
        status=status,
    )


def _shop_member(request: HttpRequest, member_id: int) -> Member:
    return get_object_or_404(
        Member.objects.select_related("tier", "shop"), shop=request.shop, pk=member_id
    )


@embedded_admin
@require_GET
def member_detail(request: HttpRequest, member_id: int) -> HttpResponse:
    member = _shop_member(request, member_id)
    return _member_page(request, member, AdjustmentForm(), status=200)


@embedded_admin
@require_POST
def member_adjust(request: HttpRequest, member_id: int) -> HttpResponse:
    member = _shop_member(request, member_id)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            services.member_adjust(
                member=member,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                idempotency_key=str(form.cleaned_data["idempotency_key"]),
                user_id=request.shopify_user_id,
            )
        except InsufficientPoints as exc:
            form.add_error(
                "points",
                _("Only %(available)s points can be taken away: that is the member's balance.")
                % {"available": exc.available},
            )
        except IdempotencyKeyReused:
            form.add_error(None, _("This form was already used for another change. Reload it."))
        else:
            return see_other("admin-members-detail", member.pk, query="adjusted=1")
    return _member_page(request, member, form, status=400)


# --- operations -------------------------------------------------------------------------------


def _operations_page(request: HttpRequest, replay_form: ReplayForm, *, status: int):
    shop = request.shop
    filter_form = DeliveryFilterForm(request.GET or None)
    chosen = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
    page = selectors.webhook_deliveries(shop=shop, status=chosen, after=request.GET.get("after"))
    deliveries = [
        {
            "delivery": d,
            "label": DELIVERY_STATUS_LABELS.get(d.status, d.status),
            "tone": DELIVERY_BADGES.get(d.status, ""),
        }
        for d in page.items
    ]
    privacy = [
        {"request": r, "kind": PRIVACY_KIND_LABELS.get(r.kind, r.kind)}
        for r in selectors.privacy_requests(shop=shop)
    ]
    replayed = request.GET.get("replayed", "")
    return render(
        request,
        "merchant_admin/operations/index.html",
        {
            "filter_form": filter_form,
            "replay_form": replay_form,
            "deliveries": deliveries,
            "next_href": _query({"status": chosen, "after": page.next_cursor})
            if page.next_cursor
            else "",
            "first_href": _query({"status": chosen}) if request.GET.get("after") else "",
            "privacy": privacy,
            "replayed": int(replayed) if replayed.isdigit() and status == 200 else None,
        },
        status=status,
    )


@embedded_admin
@require_GET
def operations(request: HttpRequest) -> HttpResponse:
    return _operations_page(request, ReplayForm(), status=200)


@embedded_admin
@require_POST
def operations_replay(request: HttpRequest) -> HttpResponse:
    form = ReplayForm({"ids": request.POST.getlist("ids")})
    if not form.is_valid():
        return _operations_page(request, form, status=400)
    try:
        count = services.webhook_deliveries_replay(
            shop=request.shop, ids=form.cleaned_data["ids"], user_id=request.shopify_user_id
        )
    except services.NotThisShops:
        raise Http404("No such delivery.") from None
    return see_other("admin-operations", query=f"replayed={count}")


@embedded_admin
@require_GET
def privacy_export(request: HttpRequest, request_id: int) -> HttpResponse:
    privacy_request = get_object_or_404(
        PrivacyRequest, shop=request.shop, pk=request_id, export__isnull=False
    )
    response = JsonResponse(privacy_request.export, safe=False, json_dumps_params={"indent": 2})
    filename = f"privacy-request-{privacy_request.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
