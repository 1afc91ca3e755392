from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.core.events import CustomerData
from loyalty.members.freshness import member_changed
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import Shop


def member_get_or_create(
    *,
    shop: Shop,
    platform_customer_id: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> tuple[Member, bool]:
    """Enrol a customer once: insert and catch the unique conflict, never check first."""
    try:
        with transaction.atomic():
            member = Member.objects.create(
                shop=shop,
                platform_customer_id=str(platform_customer_id),
                email=email.strip(),
                first_name=first_name,
                last_name=last_name,
            )
            member_changed(shop_id=shop.pk, platform_customer_id=member.platform_customer_id)
            return member, True
    except IntegrityError:
        return Member.objects.get(shop=shop, platform_customer_id=str(platform_customer_id)), False


def member_lock(*, member_id: int) -> Member:
    """Lock the member's row until the transaction ends (ordered by pk, as every member lock)."""
    return Member.objects.select_for_update(of=("self",)).order_by("pk").get(pk=member_id)


def member_sync_customer(*, shop: Shop, customer: CustomerData) -> Member | None:
    """Keep an enrolled member's contact details in step with the store. Enrolment itself is
    the earning rules' decision; a redacted member is never brought back."""
    member = Member.objects.filter(
        shop=shop, platform_customer_id=customer.platform_customer_id
    ).first()
    if member is None or member.status == MemberStatus.REDACTED:
        return None
    changed = member_details_changed(member=member, customer=customer)
    if changed:  # most orders repeat what we know: no write, no row lock held for nothing
        for name, value in changed.items():
            setattr(member, name, value)
        member.save(update_fields=[*changed, "updated_at"])
    return member


def member_details_changed(*, member: Member, customer: CustomerData) -> dict[str, str]:
    """The contact details the customer's data would change on the member (not applied). A
    payload without a value (an order without the customer's email) clears nothing."""
    details = {
        "email": customer.email.strip() or member.email,
        "first_name": customer.first_name or member.first_name,
        "last_name": customer.last_name or member.last_name,
    }
    return {name: value for name, value in details.items() if getattr(member, name) != value}


def redacted_customer_id(*, shop: Shop, platform_customer_id: str) -> str:
    """A stable stand-in for a redacted customer's id: no way back to the id, but the same
    customer maps to the same value, so a late event cannot re-create their profile."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{shop.pk}:{platform_customer_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"redacted:{digest[:40]}"


def member_redact(*, shop: Shop, platform_customer_id: str) -> Member | None:
    """Erase a member's personal data; the ledger and counters stay, anonymous."""
    member = Member.objects.filter(shop=shop, platform_customer_id=platform_customer_id).first()
    if member is None:
        return None
    member_changed(shop_id=shop.pk, platform_customer_id=platform_customer_id)
    member.platform_customer_id = redacted_customer_id(
        shop=shop, platform_customer_id=platform_customer_id
    )
    member.email = member.first_name = member.last_name = ""
    member.birthday_day = member.birthday_month = member.birthday_year = None
    member.status = MemberStatus.REDACTED
    # Only what redaction changes: the counters of this copy may be stale by now (the ledger
    # writes them under the member's lock), and a full save would put the old values back.
    member.save(
        update_fields=[
            "platform_customer_id",
            "email",
            "first_name",
            "last_name",
            "birthday_day",
            "birthday_month",
            "birthday_year",
            "status",
            "updated_at",
        ]
    )
    return member


class BirthdayAlreadySet(Exception):
    code = "birthday_already_set"
    message = "Your birthday is already on file; ask the store to change it."


def member_set_birthday(
    *, member: Member, month: int, day: int, year: int | None = None
) -> tuple[Member, bool]:
    """Record a member's birthday once: a shopper cannot move it to earn birthday points again.
    Returns (member, True) when recorded, (member, False) when the same date was already on
    file; raises BirthdayAlreadySet for another date. The check and the write are one
    statement, so two requests at once cannot both set it."""
    with transaction.atomic():
        updated = (
            Member.objects.filter(
                pk=member.pk, birthday_month__isnull=True, birthday_day__isnull=True
            )
            .exclude(status=MemberStatus.REDACTED)
            .update(
                birthday_month=month,
                birthday_day=day,
                birthday_year=year,
                updated_at=timezone.now(),
            )
        )
        if updated:
            member_changed(shop_id=member.shop_id, platform_customer_id=member.platform_customer_id)
    member.refresh_from_db(fields=["birthday_month", "birthday_day", "birthday_year"])
    if updated:
        return member, True
    if (member.birthday_month, member.birthday_day) == (month, day) and (
        year is None or member.birthday_year in (None, year)
    ):
        return member, False
    raise BirthdayAlreadySet(BirthdayAlreadySet.message)
