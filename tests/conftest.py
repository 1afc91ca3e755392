import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.fixture
def worker_queue():
    """A real Celery worker on the real broker, consuming a queue of its own, against the
    test database. Yields the queue name."""
    if not settings.TEST_CELERY_BROKER_URL:
        pytest.skip("needs a Celery broker: set CELERY_BROKER_URL=redis://... (.ci/run does)")
    queue = f"setia-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.TEST_CELERY_BROKER_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
    }
    worker = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield queue
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output[-4000:])  # shown when the test fails


@pytest.fixture
def tasks_to_worker(worker_queue):
    """Send `.delay()` calls to the real worker instead of running them in-process."""
    from config.celery_app import app

    saved = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = worker_queue
    try:
        yield worker_queue
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = saved


@pytest.fixture
def shopify_standin():
    """A running Shopify stand-in holding the shop `tests.platforms.shopify.helpers.SHOP`, with
    every server-to-Shopify call of the app pointed at it (real HTTP)."""
    from django.test import override_settings

    from loyalty.platforms.shopify.standin import StandIn
    from tests.platforms.shopify.helpers import SHOP

    with StandIn(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET) as running:
        running.add_shop(
            SHOP, name="Aisyah Batik", currency="MYR", iana_timezone="Asia/Kuala_Lumpur"
        )
        with override_settings(SHOPIFY_API_ORIGIN=running.origin):
            yield running


@pytest.fixture
def shopify_shop(shopify_standin, db):
    """The stand-in's shop installed in Setia through the authorization-code grant (expiring
    offline token, default program, webhook subscriptions)."""
    from loyalty.platforms.shopify.install import install_with_code
    from tests.platforms.shopify.helpers import SHOP

    return install_with_code(shop_domain=SHOP, code=shopify_standin.issue_code(SHOP))


@pytest.fixture(autouse=True)
def _process_state_forgotten():
    """What this process remembers between requests (which shops' storefronts it recorded, its
    own memory cache) is forgotten per test: ids are reused from one test to the next."""
    from django.core.cache import cache

    from loyalty.shops.services import shop_storefront_seen_forget

    shop_storefront_seen_forget()
    cache.clear()
