from loyalty.members.models import Member
from loyalty.shops.models import Shop


def member_get(*, shop: Shop, platform_customer_id: str) -> Member | None:
    return Member.objects.filter(shop=shop, platform_customer_id=str(platform_customer_id)).first()
