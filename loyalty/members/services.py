from django.db import IntegrityError, transaction

from loyalty.members.models import Member
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
            return member, True
    except IntegrityError:
        return Member.objects.get(shop=shop, platform_customer_id=str(platform_customer_id)), False
