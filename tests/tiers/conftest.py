from unittest import mock

import pytest


@pytest.fixture
def no_store_sync():
    """Tier changes enqueue a store sync after commit; where the sync is not what is tested, it
    is only counted (test_sync.py sends it to the stand-in)."""
    with mock.patch("loyalty.tiers.services._enqueue_sync") as enqueue:
        yield enqueue
