"""The friend's landing page behind the app proxy: `GET /shopify/proxy/r/<code>` shows the
offer and an email form, `POST` issues the welcome code. Plain HTML (not Liquid: the page
echoes what the friend typed, which Liquid would evaluate)."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from loyalty.members.models import Member, MemberStatus
from loyalty.platforms.shopify.embedded import app_proxy
from loyalty.referrals.codes import referral_code_member_id
from loyalty.referrals.models import ReferralProgram
from loyalty.referrals.selectors import PROXY_PREFIX, friend_offer_text
from loyalty.referrals.services import referral_claim_issue

# Claims (POSTs) allowed per hour per link and per client address; more answer 429.
CLAIMS_PER_LINK_PER_HOUR = 10
CLAIMS_PER_ADDRESS_PER_HOUR = 20
MAX_EMAIL = 254


@csrf_exempt  # no cookies: the app proxy signature is what proves the request
@require_http_methods(["GET", "POST"])
@app_proxy
def referral_landing(request: HttpRequest, code: str) -> HttpResponse:
    shop = request.shop
    program = ReferralProgram.objects.filter(shop=shop, enabled=True).first()
    member_id = referral_code_member_id(shop_id=shop.pk, code=code)
    referrer = None
    if program is not None and member_id is not None:
        referrer = Member.objects.filter(
            shop=shop, pk=member_id, status=MemberStatus.ACTIVE
        ).first()
    if referrer is None:
        return _page(request, {"missing": True}, status=404)
    context = {
        "offer": friend_offer_text(program=program, currency=shop.currency),
        "action": f"{request.GET.get('path_prefix') or PROXY_PREFIX}/r/{code}",
        "referrer_name": referrer.first_name,
        "email": "",
    }
    if request.method == "GET":
        return _page(request, context)
    email = (request.POST.get("email") or "").strip()
    context["email"] = email
    if not _rate_allowed(shop.pk, code.lower(), _client_address(request)):
        return _page(
            request, {**context, "error": "Too many requests: try again later."}, status=429
        )
    try:
        validate_email(email)
        if len(email) > MAX_EMAIL:  # what the claim can hold (Django allows 320)
            raise ValidationError("too long")
    except ValidationError:
        return _page(request, {**context, "error": "Enter a valid email address."}, status=400)
    answer = referral_claim_issue(
        shop=shop,
        program=program,
        referrer=referrer,
        email=email,
        # Signed by the app proxy with the rest of the query: a signed-in shopper who has
        # ordered is not a new customer, whatever email they type.
        signed_in_customer_id=request.platform_customer_id or "",
    )
    if answer.refused:
        return _page(request, {**context, "error": answer.refused}, status=409)
    if answer.unavailable:
        return _page(
            request,
            {**context, "error": "The store could not make your code just now: try again."},
            status=503,
        )
    claim = answer.claim
    return _page(
        request,
        {
            **context,
            "code": claim.code,
            "apply_url": f"https://{shop.domain}/discount/{claim.code}",
            "expires_at": claim.expires_at,
        },
    )


def _page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(
        request, "referrals/landing.html", {"shop": request.shop, **context}, status=status
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _client_address(request: HttpRequest) -> str:
    # Through the app proxy the connection is Shopify's: the shopper's address is the first
    # forwarded one when Shopify passes it on.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "")


def _rate_allowed(shop_id: int, code: str, address: str) -> bool:
    """A fixed window per hour, per link and per client address, counted in the cache (a cache
    that is down limits nothing)."""
    limits = [(f"referrals:rate:link:{shop_id}:{code}", CLAIMS_PER_LINK_PER_HOUR)]
    if address:
        limits.append((f"referrals:rate:addr:{shop_id}:{address}", CLAIMS_PER_ADDRESS_PER_HOUR))
    allowed = True
    for key, limit in limits:
        try:
            cache.add(key, 0, timeout=3600)
            allowed = cache.incr(key) <= limit and allowed
        except Exception:  # noqa: S112 - a missing counter or a cache down: not limited
            continue
    return allowed
