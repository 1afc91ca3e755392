"""The widget settings page (/app/widget/): the form, its validation, the audit row, the other
shop's settings untouched, and the look served in the storefront's `state` answer."""

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from loyalty.audit.models import AuditEntry
from storefront_widget.models import WidgetSettings
from storefront_widget.state import storefront_catalogue_forget, storefront_state
from tests.factories import ShopFactory
from tests.merchant_admin.helpers import admin_get, admin_post

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

URL = "/app/widget/"


def installed_shop(domain):
    return ShopFactory(
        domain=domain,
        access_token="shpat_x",
        refresh_token="shprt_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
        currency="MYR",
    )


@pytest.fixture
def shop():
    return installed_shop("aisyah-batik.myshopify.com")


@pytest.fixture
def other_shop():
    return installed_shop("other-batik.myshopify.com")


@pytest.fixture(autouse=True)
def fresh_catalogue():
    storefront_catalogue_forget()
    yield
    storefront_catalogue_forget()


def valid_form(**changes):
    data = {
        "program_name": "Kelab Batik",
        "primary_color": "#AA3300",
        "text_color": "#111111",
        "background_color": "#fffaf0",
        "position": "bottom-left",
        "label": "Mata saya",
        "s_ms_title": "Ganjaran Batik",
        "s_ar_points": "{n} نقاط",
        "s_en_next": "Only {n} to {name}!",
    }
    data.update(changes)
    return data


def test_the_landing_page_has_its_url_name_and_shows_the_form_and_the_real_widget(client, shop):
    response = admin_get(client, URL, shop)

    assert reverse("admin-widget") == URL
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="primary_color"' in page and 'value="#1f4f46"' in page
    assert 'name="s_th_redeem"' in page and 'placeholder="แลก"' in page
    assert "<setia-launcher" in page
    assert "/static/setia/setia-launcher.js" in page
    assert "/static/merchant_admin/widget.js" in page
    sample = json.loads(
        page.split('<script id="widget-sample-state" type="application/json">')[1].split(
            "</script>"
        )[0]
    )
    assert sample["customer"]["points"]["balance"] == 1250
    assert sample["widget"]["primary_color"] == "#1f4f46"


def test_a_valid_post_saves_the_look_audits_it_and_redirects(client, shop):
    response = admin_post(client, URL, shop, valid_form(), user_id="77")

    assert response.status_code == 303
    assert response["Location"] == "/app/widget/?saved=1"
    saved = WidgetSettings.objects.get(shop=shop)
    assert saved.program_name == "Kelab Batik"
    assert saved.primary_color == "#aa3300"
    assert saved.text_color == "#111111"
    assert saved.background_color == "#fffaf0"
    assert saved.position == "bottom-left"
    assert saved.label == "Mata saya"
    assert saved.strings == {
        "en": {"next": "Only {n} to {name}!"},
        "ms": {"title": "Ganjaran Batik"},
        "ar": {"points": "{n} نقاط"},
    }
    entry = AuditEntry.objects.get(shop=shop)
    assert entry.actor == "staff:77"
    assert entry.action == "widget.update"
    assert entry.target_id == str(saved.pk)
    assert entry.before == {
        "program_name": "",
        "primary_color": "#1f4f46",
        "text_color": "#1c1c1c",
        "background_color": "#ffffff",
        "position": "bottom-right",
        "label": "",
        "strings": {},
    }
    assert entry.after["primary_color"] == "#aa3300"
    assert "widget_secret" not in entry.after


def test_saving_the_same_look_twice_writes_one_audit_row(client, shop):
    admin_post(client, URL, shop, valid_form())
    response = admin_post(client, URL, shop, valid_form())

    assert response.status_code == 303
    assert AuditEntry.objects.filter(shop=shop, action="widget.update").count() == 1


def test_the_saved_look_is_shown_in_the_form(client, shop):
    admin_post(client, URL, shop, valid_form())

    page = admin_get(client, URL + "?saved=1", shop).content.decode()

    assert 'value="#aa3300"' in page
    assert 'value="Ganjaran Batik"' in page
    assert 'value="bottom-left" required id="id_position_1" checked' in page
    assert "Widget settings saved." in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("primary_color", "red", "Enter a colour as #rrggbb"),
        ("text_color", "#12345", "Enter a colour as #rrggbb"),
        ("background_color", "#gggggg", "Enter a colour as #rrggbb"),
        ("label", "x" * 31, "at most 30 characters"),
        ("position", "top-left", "Select a valid choice"),
        ("s_en_points", "points", "Keep exactly these placeholders: {n}."),
        ("s_ms_next", "{n} lagi ke {tier}", "Keep exactly these placeholders: {n}, {name}."),
        ("s_th_title", "รางวัล {n}", "This text takes no placeholders in braces."),
        ("s_en_title", "x" * 201, "at most 200 characters"),
    ],
)
def test_an_invalid_post_is_400_with_the_message_and_changes_nothing(
    client, shop, field, value, message
):
    response = admin_post(client, URL, shop, valid_form(**{field: value}))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WidgetSettings.objects.filter(shop=shop).exists()
    assert not AuditEntry.objects.filter(shop=shop).exists()


def test_one_shop_never_sees_or_changes_another_shops_look(client, shop, other_shop):
    admin_post(client, URL, other_shop, valid_form(program_name="Other Club", label="Theirs"))

    page = admin_get(client, URL, shop).content.decode()
    admin_post(client, URL, shop, valid_form(primary_color="#000000"))

    assert "Other Club" not in page and "Theirs" not in page
    theirs = WidgetSettings.objects.get(shop=other_shop)
    assert theirs.primary_color == "#aa3300"
    assert theirs.label == "Theirs"
    assert WidgetSettings.objects.get(shop=shop).primary_color == "#000000"
    assert AuditEntry.objects.filter(shop=shop).count() == 1
    assert AuditEntry.objects.filter(shop=other_shop).count() == 1


def test_a_forged_session_token_is_refused_and_changes_nothing(client, shop):
    response = client.post(URL, valid_form(), HTTP_AUTHORIZATION="Bearer not.a.token")

    assert response.status_code == 401
    assert not WidgetSettings.objects.exists()


def test_the_state_answer_carries_the_saved_look_and_program_name(client, shop):
    admin_post(client, URL, shop, valid_form(primary_color="#f5f5f5"))

    state = storefront_state(shop=shop, platform_customer_id=None)

    assert state["program"]["name"] == "Kelab Batik"
    assert state["widget"] == {
        "primary_color": "#f5f5f5",
        "accent_text_color": "#1c1c1c",  # a light primary gets dark text
        "text_color": "#111111",
        "background_color": "#fffaf0",
        "position": "bottom-left",
        "label": "Mata saya",
        "strings": {
            "en": {"next": "Only {n} to {name}!"},
            "ms": {"title": "Ganjaran Batik"},
            "ar": {"points": "{n} نقاط"},
        },
    }


def test_a_shop_that_never_saved_gets_the_default_look(shop):
    state = storefront_state(shop=shop, platform_customer_id=None)

    assert state["program"]["name"] == shop.program.name
    assert state["widget"]["primary_color"] == "#1f4f46"
    assert state["widget"]["accent_text_color"] == "#ffffff"
    assert state["widget"]["position"] == "bottom-right"
    assert state["widget"]["strings"] == {}


def test_a_secret_for_script_tag_stores_is_created_replaced_and_audited(client, shop, other_shop):
    admin_post(client, "/app/widget/secret/", other_shop)
    theirs = WidgetSettings.objects.get(shop=other_shop).widget_secret

    first = admin_post(client, "/app/widget/secret/", shop, user_id="9")
    secret = WidgetSettings.objects.get(shop=shop).widget_secret
    page = admin_get(client, URL, shop).content.decode()
    admin_post(client, "/app/widget/secret/", shop)

    assert first.status_code == 303
    assert first["Location"] == "/app/widget/?secret=new#script-tag"
    assert len(secret) == 64
    assert f'value="{secret}"' in page
    assert theirs not in page
    assert WidgetSettings.objects.get(shop=shop).widget_secret not in (secret, theirs)
    assert WidgetSettings.objects.get(shop=other_shop).widget_secret == theirs
    entries = AuditEntry.objects.filter(shop=shop, action="widget.rotate_secret")
    assert [entry.actor for entry in entries.order_by("pk")] == ["staff:9", "staff:42"]
    assert all(entry.after is None for entry in entries)  # the secret never goes in the log


def test_the_secret_page_takes_only_posts(client, shop):
    response = admin_get(client, "/app/widget/secret/", shop)

    assert response.status_code == 405
    assert not WidgetSettings.objects.filter(shop=shop).exists()


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("ms", ["Warna utama", "Kedudukan pelancar", "Pratonton"]),
        ("ar", ["اللون الأساسي", "موضع زر الفتح", "معاينة"]),
        ("th", ["สีหลัก", "ตำแหน่งปุ่มเปิด", "ตัวอย่าง"]),
    ],
)
def test_the_page_speaks_the_admins_language(client, shop, locale, words):
    page = admin_get(client, f"{URL}?locale={locale}", shop).content.decode()

    for word in words:
        assert word in page
    assert "Primary colour" not in page


def test_an_invalid_colour_is_explained_in_malay(client, shop):
    response = admin_post(client, f"{URL}?locale=ms", shop, valid_form(primary_color="merah"))

    assert response.status_code == 400
    assert "Masukkan warna sebagai #rrggbb" in response.content.decode()
