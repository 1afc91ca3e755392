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


def test_member_sync_customer_writes_only_what_changed(django_assert_num_queries):
    from loyalty.core.events import CustomerData
    from loyalty.members.services import member_sync_customer
    from tests.factories import MemberFactory

    member = MemberFactory(
        platform_customer_id="42", email="a@example.com", first_name="Aisyah", last_name="Rahman"
    )
    same = CustomerData(platform_customer_id="42", email="a@example.com", first_name="Aisyah")
    moved = CustomerData(platform_customer_id="42", email="new@example.com", last_name="")

    with django_assert_num_queries(1):  # the read; nothing to write
        member_sync_customer(shop=member.shop, customer=same)
    member_sync_customer(shop=member.shop, customer=moved)

    member.refresh_from_db()
    assert (member.email, member.first_name, member.last_name) == (
        "new@example.com",
        "Aisyah",
        "Rahman",
    )
