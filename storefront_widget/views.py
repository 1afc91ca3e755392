import json
import re
from datetime import date
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from loyalty.core.errors import error_response
from loyalty.core.platform import PlatformError, gateway_for
from loyalty.earning.actions import (
    ActionError,
    action_claim,
    action_claim_key,
    action_local_day,
    active_action_rules,
)
from loyalty.earning.models import ActionKind
from loyalty.ledger.models import LedgerEntry
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import BirthdayAlreadySet, member_set_birthday
from loyalty.platforms.shopify.embedded import app_proxy
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.products import Facts, product_facts_load
from loyalty.rewards.answers import redeem_and_answer
from loyalty.rewards.models import Reward
from loyalty.shops.services import shop_storefront_seen
from storefront_widget.earn import product_points
from storefront_widget.state import storefront_catalogue, storefront_state_json


@require_GET
@app_proxy
def proxy_state(request: HttpRequest) -> HttpResponse:
    shop_storefront_seen(shop=request.shop)
    body = storefront_state_json(
        shop=request.shop, platform_customer_id=request.platform_customer_id
    )
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "private, no-store"
    return response


@csrf_exempt  # no cookies: the app proxy signature is what proves the request
@require_POST
@app_proxy
def proxy_redeem(request: HttpRequest) -> JsonResponse:
    """`POST /shopify/proxy/api/redeem` with `{"reward_id", "idempotency_key", "points"?}`."""
    return redeem_answer(request)


def redeem_answer(request: HttpRequest) -> JsonResponse:
    """A redemption for the verified `request.shop` and `request.platform_customer_id` (app
    proxy, checkout extension or signed customer token alike)."""
    if not request.platform_customer_id:
        return error_response(
            code="not_logged_in", message="Sign in to redeem rewards.", status=401
        )
    body = _json_body(request)
    if body is None:
        return error_response(
            code="bad_request", message="The body must be a JSON object.", status=400
        )
    reward_id, key, points = body.get("reward_id"), body.get("idempotency_key"), body.get("points")
    if not isinstance(key, str) or not key.strip():
        return error_response(
            code="bad_request", message="idempotency_key must be a non-empty string.", status=400
        )
    if points is not None and (isinstance(points, bool) or not isinstance(points, int)):
        return error_response(
            code="bad_request", message="points must be a whole number.", status=400
        )
    if isinstance(reward_id, bool) or not isinstance(reward_id, int | str):
        return error_response(code="bad_request", message="reward_id is required.", status=400)
    reward_id = str(reward_id).strip()
    reward = (
        Reward.objects.filter(shop=request.shop, pk=int(reward_id)).first()
        if reward_id.isascii() and reward_id.isdigit() and len(reward_id) < 19
        else None
    )
    member = (
        Member.objects.filter(shop=request.shop, platform_customer_id=request.platform_customer_id)
        .exclude(status=MemberStatus.REDACTED)
        .first()
    )
    if reward is None:
        return error_response(code="unknown_reward", message="No such reward.", status=404)
    if member is None:
        return error_response(
            code="insufficient_points", message="You have no points to redeem yet.", status=409
        )
    answer = redeem_and_answer(
        member=member, reward=reward, idempotency_key=key.strip(), points=points
    )
    return JsonResponse(answer.body, status=answer.status, headers=answer.headers)


def _json_body(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return None
    return body if isinstance(body, dict) else None


_DIGITS = re.compile(r"[0-9]{1,12}")


@require_GET
@app_proxy
def proxy_earn(request: HttpRequest) -> JsonResponse:
    """`GET /shopify/proxy/api/earn?price_cents=&quantity=&product_id=&sku=`: the points this
    product earns (the theme's product-page block). `price_cents` is the variant's price in
    the shop's currency in hundredths, as Liquid's `variant.price` gives it."""
    params = request.GET
    price = params.get("price_cents", "")
    quantity = params.get("quantity", "1")
    product_id = params.get("product_id", "").rsplit("/", 1)[-1]
    sku = params.get("sku", "")[:255]
    if not _DIGITS.fullmatch(price) or not _DIGITS.fullmatch(quantity) or int(quantity) < 1:
        return error_response(
            code="bad_request",
            message="price_cents and quantity must be whole numbers (quantity at least 1).",
            status=400,
        )
    if product_id and not _DIGITS.fullmatch(product_id):
        return error_response(code="bad_request", message="product_id is not an id.", status=400)
    facts = Facts()
    if product_id:
        try:
            facts = product_facts_load(shop=request.shop, product_ids=[product_id])[0].get(
                product_id, Facts()
            )
        except AdminApiError:  # a transient failure: estimate without collections and tags
            facts = Facts()
    points = product_points(
        shop=request.shop,
        price=Decimal(int(price)) / 100,
        quantity=min(int(quantity), 999),
        product_id=product_id,
        sku=sku,
        collections=facts.collections,
        tags=facts.tags,
        platform_customer_id=request.platform_customer_id,
    )
    program = storefront_catalogue(shop=request.shop).program
    response = JsonResponse({"points": points, "points_name": program["points_name"]})
    response["Cache-Control"] = "private, max-age=60"
    return response


_BIRTHDAY = re.compile(r"(?:([0-9]{4})-)?([0-9]{2})-([0-9]{2})")
_SOCIAL = (ActionKind.SOCIAL_FOLLOW, ActionKind.SOCIAL_SHARE)


def _birthday(text: object) -> tuple[int, int, int | None] | None:
    """`MM-DD` or `YYYY-MM-DD` as (month, day, year), or None when it is no real date (29
    February is one without a year)."""
    match = _BIRTHDAY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day = int(match[1]) if match[1] else None, int(match[2]), int(match[3])
    try:
        born = date(year or 2000, month, day)  # 2000: a leap year
    except ValueError:
        return None
    if year is not None and not (year >= 1900 and born <= timezone.localdate()):
        return None
    return month, day, year


@csrf_exempt  # no cookies: the app proxy signature is what proves the request
@require_POST
@app_proxy
def proxy_actions(request: HttpRequest) -> JsonResponse:
    """`POST /shopify/proxy/api/actions`: what a signed-in shopper claims from the widget.
    `{"action": "social_follow"|"social_share", "key": "<network>"}` credits the rule for that
    network once per its cap (self-declared); `{"action": "birthday", "birthday": "MM-DD" or
    "YYYY-MM-DD"}` records the member's birthday once (the points come on the day);
    `{"action": "newsletter"}` subscribes the customer at the store, then credits the rule."""
    return actions_answer(request)


def actions_answer(request: HttpRequest) -> JsonResponse:
    """An action claim for the verified `request.shop` and `request.platform_customer_id` (app
    proxy or signed customer token alike)."""
    if not request.platform_customer_id:
        return error_response(
            code="not_logged_in", message="Sign in to earn points for actions.", status=401
        )
    body = _json_body(request)
    action = body.get("action") if body else None
    if action not in (ActionKind.BIRTHDAY, ActionKind.NEWSLETTER, *_SOCIAL):
        return error_response(
            code="bad_request",
            message="action must be birthday, newsletter, social_follow or social_share.",
            status=400,
        )
    key, birthday = body.get("key"), None
    if action in _SOCIAL and (not isinstance(key, str) or not 0 < len(key.strip()) <= 64):
        return error_response(
            code="bad_request", message="key must name the social network.", status=400
        )
    if action == ActionKind.BIRTHDAY:
        birthday = _birthday(body.get("birthday"))
        if birthday is None:
            return error_response(
                code="bad_request",
                message="birthday must be a real date as MM-DD or YYYY-MM-DD.",
                status=400,
            )
    shop = request.shop
    rules = active_action_rules(shop=shop).filter(action=action)
    if action in _SOCIAL:
        rules = rules.filter(key=key.strip())
    if not rules.exists():
        return error_response(
            code="unknown_action", message="This store does not reward that action.", status=404
        )
    member = (
        Member.objects.filter(shop=shop, platform_customer_id=request.platform_customer_id)
        .exclude(status=MemberStatus.REDACTED)
        .first()
    )
    if member is None or member.status != MemberStatus.ACTIVE:
        return error_response(
            code="not_a_member", message="Join the program to earn points.", status=409
        )
    if birthday is not None:
        month, day, year = birthday
        try:
            member, created = member_set_birthday(member=member, month=month, day=day, year=year)
        except BirthdayAlreadySet as refused:
            return error_response(code=refused.code, message=str(refused), status=409)
        answer = {"action": action, "birthday": f"{month:02d}-{day:02d}", "credited": 0}
        return _action_answer(answer, member, status=201 if created else 200)
    if action == ActionKind.NEWSLETTER:
        return _newsletter(shop=shop, member=member, rules=rules)
    try:
        claims = action_claim(shop=shop, member=member, action=action, key=key.strip())
    except ActionError as refused:
        return error_response(code=refused.code, message=str(refused), status=404)
    credited = sum(claim.entry.points for claim in claims if claim.created)
    if not any(claim.created for claim in claims):
        return error_response(
            code="already_claimed", message="You have already earned points for this.", status=409
        )
    answer = {"action": action, "key": key.strip(), "credited": credited}
    return _action_answer(answer, member, status=201)


def _newsletter(*, shop, member: Member, rules) -> JsonResponse:
    """Subscribe the customer at the store first (a failure credits nothing), then claim: the
    ledger key makes it once per the rule's cap, so the store's customers/update webhook that
    follows changes nothing (and if it came first, its credit is this click's)."""
    now = timezone.now()
    day = action_local_day(shop=shop, now=now)
    keys = {
        action_claim_key(rule_id=pk, cap=cap, member_id=member.pk, day=day)
        for pk, cap in rules.values_list("pk", "cap")
    }
    unclaimed = keys - set(
        LedgerEntry.objects.filter(shop=shop, idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )
    if not unclaimed:
        return error_response(
            code="already_claimed", message="You have already earned points for this.", status=409
        )
    try:
        gateway_for(shop).customer_email_subscribe(
            shop=shop, platform_customer_id=member.platform_customer_id
        )
    except PlatformError:
        return error_response(
            code="platform_unavailable",
            message="The store could not subscribe you just now. Try again in a minute.",
            status=503,
        )
    try:
        claims = action_claim(shop=shop, member=member, action=ActionKind.NEWSLETTER, now=now)
    except ActionError as refused:
        return error_response(code=refused.code, message=str(refused), status=404)
    credited = sum(c.entry.points for c in claims if c.entry.idempotency_key in unclaimed)
    answer = {"action": ActionKind.NEWSLETTER.value, "credited": credited}
    return _action_answer(answer, member, status=201)


def _action_answer(answer: dict, member: Member, status: int) -> JsonResponse:
    balance = Member.objects.values_list("points_balance", flat=True).get(pk=member.pk)
    response = JsonResponse({**answer, "balance": balance}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response
