"""What the storefront widget shows: the contract's `state` answer.

Everything the shop shows every shopper alike (the program, the ways to earn, the rewards on
offer, the tier ladder) is the *catalogue*, cached per process for STOREFRONT_CACHE_SECONDS:
the widget asks on every page view, the merchant changes these rarely, and a change shows
within that many seconds. What is the shopper's own (balance, tier, progress, which rewards they
can claim, their codes) is read fresh on every request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from loyalty.core.memo import ProcessMemo
from loyalty.earning.actions import action_claim_key, action_local_day, active_action_rules
from loyalty.earning.models import ActionKind, EarnRule
from loyalty.ledger.models import LedgerEntry
from loyalty.members.freshness import VERSION_TTL, member_version_key
from loyalty.members.models import Member, MemberStatus
from loyalty.referrals.selectors import offer_from, referral_link, referral_program
from loyalty.rewards.models import Reward
from loyalty.rewards.selectors import recent_redemptions, rewards_active, rewards_for_member
from loyalty.shops.models import Program, Shop
from loyalty.tiers.models import Tier
from loyalty.tiers.selectors import TierLadder, member_tier_progress
from storefront_widget.models import WidgetSettings
from storefront_widget.selectors import widget_look, widget_program_name


def ways_to_earn(*, shop: Shop, program: Program, now: datetime | None = None) -> list[dict]:
    """The live rules, in the shopper's terms: orders first, then campaigns and milestones,
    then actions."""
    now = now or timezone.now()
    per_unit = program.points_per_currency_unit.normalize()
    ways = [
        {
            "kind": "order",
            "name": f"{per_unit:f} {program.points_name} per {shop.currency} spent",
            "points": int(per_unit) if per_unit == int(per_unit) else float(per_unit),
        }
    ]
    rules = EarnRule.objects.filter(shop=shop, enabled=True).filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
    )
    for rule in rules.exclude(effect="exclude").order_by("kind", "pk"):
        way = {"kind": rule.kind, "name": rule.name, "points": rule.points}
        if rule.effect == "multiply":
            way["multiplier"] = float(rule.multiplier)
        ways.append(way)
    for rule in active_action_rules(shop=shop, now=now).order_by("pk"):
        way = {"kind": "action", "action": rule.action, "name": rule.name, "points": rule.points}
        if rule.key:
            way["key"] = rule.key
        way[_RULE] = (rule.pk, rule.cap)  # for `claimable`; never sent
        ways.append(way)
    return ways


# Actions a shopper claims from the widget (POST /apps/setia/api/actions): a social network
# followed or shared is self-declared; a birthday is claimable while none is on file; the
# newsletter subscribes the customer at the store (claimable while this period's claim is not).
SHOPPER_ACTIONS = (
    ActionKind.BIRTHDAY,
    ActionKind.NEWSLETTER,
    ActionKind.SOCIAL_FOLLOW,
    ActionKind.SOCIAL_SHARE,
)
_BY_CLAIM_KEY = (ActionKind.NEWSLETTER, ActionKind.SOCIAL_FOLLOW, ActionKind.SOCIAL_SHARE)
_RULE = "_rule"


def _public(ways: list[dict]) -> list[dict]:
    return [{k: v for k, v in way.items() if k != _RULE} for way in ways]


def _claimable_ways(
    *, shop: Shop, member: Member | None, ways: list[dict], now: datetime | None
) -> list[dict]:
    """The ways to earn for a signed-in shopper: each action way with `claimable`. At most one
    query (this period's claims, by the ledger's unique key), none when nothing is claimable."""
    keys: dict[int, str] = {}
    if member is not None:
        day = action_local_day(shop=shop, now=now or timezone.now())
        for way in ways:
            if way.get("action") in _BY_CLAIM_KEY:
                pk, cap = way[_RULE]
                keys[pk] = action_claim_key(rule_id=pk, cap=cap, member_id=member.pk, day=day)
    claimed: set[str] = set()
    if keys:
        claimed = set(
            LedgerEntry.objects.filter(shop=shop, idempotency_key__in=keys.values()).values_list(
                "idempotency_key", flat=True
            )
        )
    answer = []
    for way, public in zip(ways, _public(ways), strict=True):
        if way["kind"] == "action":
            if member is None or way["action"] not in SHOPPER_ACTIONS:
                public["claimable"] = False
            elif way["action"] == ActionKind.BIRTHDAY:
                public["claimable"] = member.birthday_month is None
            else:
                public["claimable"] = keys[way[_RULE][0]] not in claimed
        answer.append(public)
    return answer


@dataclass(frozen=True)
class Catalogue:
    program: dict
    widget: dict  # the merchant's look (storefront_widget.selectors.widget_look)
    ways_to_earn: list[dict]
    rewards: tuple[Reward, ...]
    tiers: list[dict]  # the visible ladder, lowest first
    tiers_by_id: dict[int, Tier]  # every tier, hidden ones too
    ladder: TierLadder
    program_settings: Program
    # The friend's offer and the referrer's points while referrals are on ({} when off).
    referral_offer: dict = field(default_factory=dict)
    # What the catalogue was built from, the same in every process that read the same rows:
    # a cached answer is used only with the catalogue it was built with.
    fingerprint: str = ""


def _fingerprint(*rows) -> str:
    digest = hashlib.sha256()
    for row in rows:
        values = [(f.attname, getattr(row, f.attname)) for f in row._meta.concrete_fields]
        digest.update(repr((type(row).__name__, values)).encode())
    return digest.hexdigest()[:16]


def _build_catalogue(shop: Shop, now: datetime) -> Catalogue:
    # The widget's look comes along with the program (one query; none saved: the defaults).
    program = Program.objects.select_related("shop__widget_settings").get(shop=shop)
    look = getattr(program.shop, "widget_settings", None) or WidgetSettings(shop=shop)
    program.shop = shop
    tiers = list(Tier.objects.filter(shop=shop).order_by("threshold", "pk"))
    rewards = tuple(rewards_active(shop=shop, now=now))
    ways = ways_to_earn(shop=shop, program=program, now=now)
    referral = offer_from(referral_program(shop=shop), shop.currency)
    return Catalogue(
        program={
            "name": widget_program_name(settings=look, program=program),
            "points_name": program.points_name,
        },
        widget=widget_look(settings=look),
        ways_to_earn=ways,
        rewards=rewards,
        tiers=[
            {
                "name": tier.name,
                "threshold": int(tier.threshold)
                if tier.threshold == int(tier.threshold)
                else str(tier.threshold),
                "multiplier": f"{tier.multiplier.normalize():f}",
                "perks": list(tier.perks),
            }
            for tier in tiers
            if not tier.hidden
        ],
        tiers_by_id={tier.pk: tier for tier in tiers},
        ladder=TierLadder(tuple(tier for tier in tiers if not tier.hidden)),
        program_settings=program,
        referral_offer=referral,
        # The look as served, not its row: a shop without saved settings gets a fresh
        # default row (with a random secret) on every build.
        fingerprint=_fingerprint(program, *tiers, *rewards)
        + hashlib.sha256(repr((ways, widget_look(settings=look), referral)).encode()).hexdigest()[
            :8
        ],
    )


logger = logging.getLogger(__name__)

_catalogues = ProcessMemo()


def storefront_catalogue(*, shop: Shop, now: datetime | None = None) -> Catalogue:
    ttl = settings.STOREFRONT_CACHE_SECONDS
    if ttl <= 0 or now is not None:
        return _build_catalogue(shop, now or timezone.now())
    catalogue = _catalogues.get(shop.pk)
    if catalogue is None:
        catalogue = _build_catalogue(shop, timezone.now())
        _catalogues.put(shop.pk, catalogue, seconds=ttl)
    return catalogue


def storefront_catalogue_forget(*, shop: Shop | None = None) -> None:
    """Drop this process's cached catalogue (of one shop, or all)."""
    _catalogues.forget(shop.pk if shop is not None else None)


# The shopper's own row, on every widget request: one plain statement, only the columns the
# answer needs (the rest load on access, as deferred fields do), and the tier from the catalogue.
_MEMBER_SQL = (
    "SELECT id, shop_id, platform_customer_id, status, points_balance, points_pending, "
    "lifetime_earned, lifetime_spent, tier_id, tier_metric, tier_metric_at, birthday_month "
    "FROM members_member WHERE shop_id = %s AND platform_customer_id = %s AND status = %s"
)


def _member(shop: Shop, platform_customer_id: str, catalogue: Catalogue) -> Member | None:
    rows = Member.objects.raw(_MEMBER_SQL, [shop.pk, platform_customer_id, MemberStatus.ACTIVE])
    member = next(iter(rows), None)
    if member is not None:
        member.shop = shop
        tier = catalogue.tiers_by_id.get(member.tier_id) if member.tier_id else None
        if tier is not None or member.tier_id is None:
            member.tier = tier  # else a tier newer than the cached catalogue: loaded on access
    return member


def storefront_state(
    *, shop: Shop, platform_customer_id: str | None, now: datetime | None = None
) -> dict:
    catalogue = storefront_catalogue(shop=shop, now=now)
    member = None
    customer = None
    if platform_customer_id:
        member = _member(shop, platform_customer_id, catalogue)
        progress = {"tier": None, "next_tier": None}
        if member is not None and (catalogue.tiers or member.tier_id):
            progress = member_tier_progress(
                member=member,
                now=now,
                ladder=catalogue.ladder,
                program=catalogue.program_settings,
            )
        customer = {
            "id": platform_customer_id,
            "points": {
                "balance": member.points_balance if member else 0,
                "pending": member.points_pending if member else 0,
                "lifetime_earned": member.lifetime_earned if member else 0,
            },
            "tier": progress["tier"],
            "next_tier": progress["next_tier"],
            "recent_redemptions": (
                recent_redemptions(member=member, rewards=catalogue.rewards) if member else []
            ),
            **(
                {"referral": {"url": referral_link(shop=shop, member_id=member.pk), **offer}}
                if member is not None and (offer := catalogue.referral_offer)
                else {}
            ),
        }
    offer = rewards_for_member(
        shop=shop,
        member=member,
        now=now,
        rewards=catalogue.rewards,
        signed_in=bool(platform_customer_id),
    )
    rewards = [{**item, "available": True} for item in offer["available"]]
    rewards += [{**item, "available": False} for item in offer["locked"]]
    return {
        "program": catalogue.program,
        "widget": catalogue.widget,
        "customer": customer,
        "rewards": rewards,
        "ways_to_earn": (
            _claimable_ways(shop=shop, member=member, ways=catalogue.ways_to_earn, now=now)
            if platform_customer_id
            else _public(catalogue.ways_to_earn)
        ),
        "tiers": catalogue.tiers,
    }


# --- the answer as bytes, cached -----------------------------------------------------------

_guest_answers = ProcessMemo()


def storefront_state_json(*, shop: Shop, platform_customer_id: str | None) -> bytes:
    """`storefront_state` as JSON bytes, cached: the widget asks on every page a shopper views.

    A signed-in shopper's answer is kept in the shared cache with the member's version
    (`loyalty.members.freshness`) for STOREFRONT_CACHE_SECONDS, and used only while that
    version holds: any change to their points, tier, codes or enrolment moves it, so the next
    page shows the change. A guest's answer is the shop's alone, kept per process like the
    catalogue. Either is used only with the catalogue it was built from (its fingerprint), so
    a merchant's change shows as soon as the catalogue does. Without a working cache, every
    answer is computed."""
    ttl = settings.STOREFRONT_CACHE_SECONDS
    if ttl <= 0 or (platform_customer_id and not settings.STOREFRONT_MEMBER_CACHE):
        return _encoded(storefront_state(shop=shop, platform_customer_id=platform_customer_id))
    catalogue = storefront_catalogue(shop=shop).fingerprint
    if not platform_customer_id:
        cached = _guest_answers.get(shop.pk)
        if cached is not None and cached[0] == catalogue:
            return cached[1]
        body = _encoded(storefront_state(shop=shop, platform_customer_id=None))
        _guest_answers.put(shop.pk, (catalogue, body), seconds=ttl)
        return body
    version_key = member_version_key(shop_id=shop.pk, platform_customer_id=platform_customer_id)
    answer_key = f"storefront-state:{shop.pk}:{platform_customer_id}"
    try:
        found = cache.get_many([version_key, answer_key])
        version = found.get(version_key)
        cached = found.get(answer_key)
        if version is not None and cached is not None and cached[:2] == (version, catalogue):
            return cached[2]
        if version is None:  # first sight since the cache was emptied: start a version
            cache.add(version_key, secrets.token_hex(8), timeout=VERSION_TTL)
            version = cache.get(version_key)
    except Exception:  # the cache is down: answer from the database
        logger.warning("storefront state cache unavailable", exc_info=True)
        return _encoded(storefront_state(shop=shop, platform_customer_id=platform_customer_id))
    body = _encoded(storefront_state(shop=shop, platform_customer_id=platform_customer_id))
    if version is not None:
        try:
            cache.set(answer_key, (version, catalogue, body), timeout=ttl)
        except Exception:
            logger.warning("storefront state cache unavailable", exc_info=True)
    return body


def storefront_state_forget(*, shop: Shop | None = None) -> None:
    """Drop this process's cached guest answers (of one shop, or all)."""
    _guest_answers.forget(shop.pk if shop is not None else None)


def _encoded(answer: dict) -> bytes:
    return json.dumps(answer, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
