import pytest

from loyalty.members.models import Member
from loyalty.members.services import member_get_or_create
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_member_get_or_create_enrols_once_per_shop():
    shop = ShopFactory()
    other_shop = ShopFactory()

    first, created = member_get_or_create(
        shop=shop, platform_customer_id="42", email=" a@example.com "
    )
    again, created_again = member_get_or_create(shop=shop, platform_customer_id=42)
    elsewhere, created_elsewhere = member_get_or_create(shop=other_shop, platform_customer_id="42")

    assert (created, created_again, created_elsewhere) == (True, False, True)
    assert again.pk == first.pk
    assert elsewhere.pk != first.pk
    assert first.email == "a@example.com"
    assert Member.objects.filter(shop=shop).count() == 1
    assert (
        first.points_balance,
        first.points_pending,
        first.lifetime_earned,
        first.lifetime_spent,
    ) == (0, 0, 0, 0)
