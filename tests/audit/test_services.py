from decimal import Decimal

import pytest

from loyalty.audit.selectors import audit_entries
from loyalty.audit.services import audit_record, audit_snapshot, staff_actor
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_a_change_is_recorded_with_only_the_fields_that_changed():
    shop = ShopFactory()
    program = shop.program
    before = audit_snapshot(instance=program, fields=["name", "points_per_currency_unit"])
    program.name = "Kedai Points"
    after = audit_snapshot(instance=program, fields=["name", "points_per_currency_unit"])

    entry = audit_record(
        shop=shop,
        actor=staff_actor(user_id=42),
        action="program.update",
        target=program,
        before=before,
        after=after,
    )

    assert entry.actor == "staff:42"
    assert entry.target_type == "shops.program"
    assert entry.target_id == str(program.pk)
    assert entry.before == {"name": "Rewards"}
    assert entry.after == {"name": "Kedai Points"}


def test_snapshots_are_json_safe():
    shop = ShopFactory()

    snapshot = audit_snapshot(instance=shop.program, fields=["points_per_currency_unit"])

    assert snapshot == {
        "points_per_currency_unit": str(Decimal(shop.program.points_per_currency_unit))
    }


def test_the_log_of_one_shop_never_shows_another_shops_entries():
    mine, theirs = ShopFactory(), ShopFactory()
    audit_record(shop=mine, actor="system", action="a")
    audit_record(shop=theirs, actor="system", action="b")

    assert [e.action for e in audit_entries(shop=mine)] == ["a"]
