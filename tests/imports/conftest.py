from pathlib import Path

import pytest

from loyalty.imports import services
from loyalty.ledger.services import ledger_credit
from tests.factories import MemberFactory

FIXTURES = Path(__file__).parent / "fixtures"
ACTOR = "staff:42"


def read_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def member_with(shop, *, email: str, points: int = 0, customer_id: str | None = None, **fields):
    extra = {"platform_customer_id": customer_id} if customer_id else {}
    member = MemberFactory(shop=shop, email=email, **extra, **fields)
    if points:
        ledger_credit(
            member=member, points=points, idempotency_key=f"seed:{member.pk}", source_type="test"
        )
    member.refresh_from_db()
    return member


def configured(shop, data: bytes, *, mode: str, filename="export.csv", tier_map=None, **kw):
    job = services.import_job_create(shop=shop, actor=ACTOR, filename=filename, data=data)
    return services.import_job_configure(
        job=job,
        actor=ACTOR,
        source=kw.get("source", job.source),
        has_header=kw.get("has_header", job.has_header),
        mapping=kw.get("mapping", job.mapping),
        mode=mode,
        tier_map=tier_map or {},
    )


@pytest.fixture
def shop(shopify_shop):
    """The shop installed from the Shopify stand-in: emails no member has are looked up in its
    customers over real HTTP (it has none unless a test adds them)."""
    return shopify_shop
