"""Referrals in the background: welcome codes whose store call failed are asked for again."""

from celery import shared_task

from loyalty.referrals.services import referral_claims_settle


@shared_task(ignore_result=True)
def settle_pending_claims() -> dict[str, int]:
    return referral_claims_settle()
