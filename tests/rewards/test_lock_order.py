"""On PostgreSQL, with real threads: an order using a code and the settling of that code's
redemption take the member's row before the redemption's, so they never deadlock."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.rewards.services import redemption_expire, redemption_mark_used, reward_redeem
from loyalty.shops.models import Program
from tests.factories import MemberFactory, RewardFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_an_order_using_a_code_while_the_code_expires_neither_deadlocks_nor_refunds(gateway):
    # given an issued code past its end, in a program that returns expired codes' points
    member = MemberFactory()
    ledger_credit(member=member, points=1200, idempotency_key="seed", source_type="test")
    Program.objects.filter(shop=member.shop).update(return_points_for_expired_codes=True)
    reward = RewardFactory(shop=member.shop)
    issued = reward_redeem(member=member, reward=reward, idempotency_key="tap").redemption
    Redemption.objects.filter(pk=issued.pk).update(expires_at=timezone.now() - timedelta(days=2))
    marked = threading.Event()
    errors = []

    def order_webhook():  # as process_delivery runs handle_event: one transaction
        try:
            with transaction.atomic():
                redemption_mark_used(shop=member.shop, discount_codes=[issued.code], order_id="9")
                marked.set()
                time.sleep(0.5)  # the expiry below starts meanwhile
                ledger_credit(
                    member=member, points=40, idempotency_key="order:9", source_type="order"
                )
        except Exception as exc:
            marked.set()
            errors.append(exc)
        finally:
            connection.close()

    def expiry_task():
        try:
            marked.wait(timeout=10)
            redemption_expire(redemption=issued)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    # when both run at once
    threads = [threading.Thread(target=order_webhook), threading.Thread(target=expiry_task)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then neither failed, the code is used and its points stay spent
    assert errors == []
    issued.refresh_from_db()
    assert (issued.status, issued.order_id, issued.refund_entry_id) == (
        RedemptionStatus.USED,
        "9",
        None,
    )
    member.refresh_from_db()
    assert member.points_balance == 740
    assert ledger_audit_members(members=[member]) == []
