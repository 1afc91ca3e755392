"""Importing a Smile.io file in headless Chromium, inside the stand-in's Shopify admin frame:
upload, check the columns, read the dry run, apply, download the members export. Screenshots of
each step go to test-artifacts/imports/."""

from pathlib import Path

import pytest
from django.test import override_settings

from loyalty.members.models import Member
from loyalty.shops.models import Shop
from tests.imports.conftest import FIXTURES, member_with
from tests.platforms.shopify.test_admin_browser import (  # noqa: F401 - fixtures
    SHOP,
    admin_frame,
    browser,
    installed,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "imports"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_merchant_imports_a_smile_file_and_exports_the_members(browser, installed):  # noqa: F811
    shop = Shop.objects.get(domain=SHOP)
    siti = member_with(shop, email="Siti.Aminah@example.com", points=10)
    member_with(shop, email="john.tan@example.com")
    with override_settings(DEBUG=True):
        page, frame = admin_frame(browser, installed)
        page.set_viewport_size({"width": 1280, "height": 900})

        frame.get_by_role("link", name="Import and export").click()
        frame.wait_for_selector("#imports-upload")
        shot(page, "1-landing")
        frame.set_input_files("input[type=file]", str(FIXTURES / "smile_points.csv"))
        frame.get_by_role("button", name="Upload and check").click()
        frame.wait_for_selector("#imports-mapping")
        detected = frame.inner_text(".banner.info")
        shot(page, "2-mapping")
        # No mode chosen: the browser asks for one first (the server refuses it too: view tests).
        mode_required = frame.eval_on_selector(
            "#imports-mode input[type=radio]", "el => el.required && !el.form.checkValidity()"
        )
        frame.get_by_label("Add them to the members' current balances").check()
        frame.get_by_role("button", name="Show what will change").click()
        frame.wait_for_selector("#imports-dry-run")
        dry_run = frame.inner_text("#imports-dry-run")
        shot(page, "3-dry-run")
        balance_before_apply = Member.objects.get(pk=siti.pk).points_balance
        frame.get_by_role("button", name="Apply the import").click()
        frame.wait_for_selector("#imports-result")
        result = frame.inner_text("#imports-result")
        shot(page, "4-result")
        frame.get_by_role("link", name="Import and export").first.click()
        frame.wait_for_selector("#imports-export")
        with page.expect_download() as download:
            frame.get_by_role("link", name="Members (CSV)").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
        page.close()

    siti.refresh_from_db()
    assert "Smile.io" in detected
    assert mode_required is True
    assert "10 → 1210 (+1200)" in dry_run
    assert balance_before_apply == 10
    assert siti.points_balance == 1210
    assert "Rows not applied" in result
    assert exported.splitlines()[0].startswith("email,first_name,last_name,customer_id")
    assert "Siti.Aminah@example.com,Aisyah,Rahman" in exported
    assert "john.tan@example.com" in exported
