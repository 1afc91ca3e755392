"""Where the domain takes in events from the platforms. Each branch calls domain services;
every handler is idempotent and does not depend on the order events arrive in."""

from __future__ import annotations

from loyalty.core.events import (
    AppUninstalled,
    CustomerDataRequest,
    CustomerEvent,
    CustomerRedact,
    DomainEvent,
    OrderEvent,
    RefundEvent,
    ShopRedact,
)
from loyalty.earning import services as earning
from loyalty.earning.actions import action_claim_if_rewarded
from loyalty.earning.batch import order_events_received
from loyalty.earning.models import ActionKind
from loyalty.members.services import member_sync_customer
from loyalty.privacy import services as privacy
from loyalty.rewards.selectors import redemption_codes_open
from loyalty.rewards.services import redemption_mark_used
from loyalty.shops.models import Shop
from loyalty.shops.services import shop_uninstall
from loyalty.tiers.services import (
    tier_evaluate_customer,
    tier_evaluate_order_buyer,
    tiers_in_use,
)


class PlatformRecords:
    """What a platform adapter keeps on its side (raw payloads), for the privacy handlers."""

    def scrub_customer(self, shop: Shop, platform_customer_id: str) -> int:
        return 0

    def delete_shop(self, shop: Shop) -> int:
        return 0


def handle_order_events(events: list[OrderEvent], *, shop: Shop) -> list[str | None]:
    """Apply many order events of one shop at once where that gives the same result as
    `handle_event` one by one (first sightings of members' orders); `None` for the others,
    which the caller hands to `handle_event`. Runs in the caller's transaction."""
    in_use = redemption_codes_open(
        shop=shop, codes=[code for event in events for code in event.order.discount_codes]
    )
    uses_a_code = [
        bool(in_use & {c.strip().upper() for c in event.order.discount_codes if c})
        for event in events
    ]
    batchable = [i for i, event in enumerate(events) if not uses_a_code[i]]
    done = order_events_received(shop=shop, events=[events[i] for i in batchable])
    outcomes: list[str | None] = [None] * len(events)
    for i, outcome in zip(batchable, done, strict=True):
        outcomes[i] = outcome
    if tiers_in_use(shop=shop):
        for i, outcome in enumerate(outcomes):
            if outcome is not None:
                tier_evaluate_order_buyer(shop=shop, order_id=events[i].order.order_id)
    return outcomes


def handle_event(event: DomainEvent, *, shop: Shop, records: PlatformRecords) -> str:
    """Apply one event; returns a short outcome for the delivery's record."""
    match event:
        case OrderEvent():
            if event.order.customer:
                member_sync_customer(shop=shop, customer=event.order.customer)
            if event.order.discount_codes:
                redemption_mark_used(
                    shop=shop,
                    discount_codes=event.order.discount_codes,
                    order_id=event.order.order_id,
                )
            outcome = earning.order_event_received(shop=shop, event=event)
            tier_evaluate_order_buyer(shop=shop, order_id=event.order.order_id)
            return outcome
        case RefundEvent():
            outcome = earning.refund_received(shop=shop, event=event)
            tier_evaluate_order_buyer(shop=shop, order_id=event.order_id)
            return outcome
        case CustomerEvent():
            member = member_sync_customer(shop=shop, customer=event.customer)
            if member and event.customer.accepts_marketing:
                action_claim_if_rewarded(shop=shop, member=member, action=ActionKind.NEWSLETTER)
            claimed = earning.guest_orders_claim(shop=shop, customer=event.customer)
            if member or claimed:
                tier_evaluate_customer(
                    shop=shop, platform_customer_id=event.customer.platform_customer_id
                )
            outcome = "member updated" if member else "not a member"
            return f"{outcome}; {claimed} guest order(s) claimed" if claimed else outcome
        case AppUninstalled():
            applied = shop_uninstall(shop=shop, at=event.occurred_at)
            return "uninstalled" if applied else "stale: reinstalled since"
        case CustomerDataRequest():
            done = privacy.privacy_customer_data_request(
                shop=shop,
                platform_customer_id=event.platform_customer_id,
                source_id=event.source_id,
                received_at=event.occurred_at,
                email=event.email,
            )
            return "export ready" if done else "already handled"
        case CustomerRedact():
            done = privacy.privacy_customer_redact(
                shop=shop,
                platform_customer_id=event.platform_customer_id,
                source_id=event.source_id,
                received_at=event.occurred_at,
                scrub_records=records.scrub_customer,
                order_ids=event.order_ids,
                email=event.email,
            )
            return "customer redacted" if done else "already handled"
        case ShopRedact():
            if shop.is_installed:
                # Sent 48 hours after an uninstall; the merchant has come back since.
                return "ignored: the shop has Setia installed again"
            done = privacy.privacy_shop_redact(
                shop=shop,
                source_id=event.source_id,
                received_at=event.occurred_at,
                delete_records=records.delete_shop,
            )
            return "shop deleted" if done else "already handled"
    raise TypeError(f"No handler for {type(event).__name__}")
