"""The program services: a change and its audit row are written together or not at all."""

import pytest

from loyalty.audit.models import AuditEntry
from loyalty.earning.models import EarnRule
from loyalty.merchant_admin.program import services
from loyalty.rewards.models import Reward
from loyalty.shops.models import Program
from tests.factories import RewardFactory, ShopFactory

pytestmark = pytest.mark.django_db


class AuditDown(Exception):
    pass


@pytest.fixture
def audit_fails(monkeypatch):
    def fail(**kwargs):
        raise AuditDown

    monkeypatch.setattr(services, "audit_record", fail)


def test_a_settings_change_without_its_audit_row_is_not_made(audit_fails):
    shop = ShopFactory()

    with pytest.raises(AuditDown):
        services.program_update(shop=shop, actor="staff:1", changes={"name": "Batik Club"})

    assert Program.objects.get(shop=shop).name == "Rewards"


def test_a_rule_created_without_its_audit_row_is_not_kept(audit_fails):
    shop = ShopFactory()

    with pytest.raises(AuditDown):
        services.earn_rule_create(
            shop=shop, actor="staff:1", values={"name": "x2", "kind": "campaign"}
        )

    assert not EarnRule.objects.filter(shop=shop).exists()


def test_a_rule_deleted_without_its_audit_row_stays(audit_fails):
    shop = ShopFactory()
    rule = EarnRule.objects.create(shop=shop, name="x2", kind="campaign")

    with pytest.raises(AuditDown):
        services.earn_rule_delete(shop=shop, actor="staff:1", rule=rule)

    assert EarnRule.objects.filter(pk=rule.pk).exists()


def test_a_service_never_touches_another_shops_object():
    shop, other = ShopFactory(), ShopFactory()
    theirs = RewardFactory(shop=other)

    with pytest.raises(Reward.DoesNotExist):
        services.reward_set_enabled(shop=shop, actor="staff:1", reward=theirs, enabled=False)

    assert Reward.objects.get(pk=theirs.pk).enabled is True
    assert not AuditEntry.objects.exists()
