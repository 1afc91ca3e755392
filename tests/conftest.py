import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL (row locks and real concurrency): set DATABASE_URL=postgres://... "
        "(.ci/run does)"
    )
    if connection.vendor != "postgresql":
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip_pg)


@pytest.fixture
def member(db):
    from tests.factories import MemberFactory

    return MemberFactory()
