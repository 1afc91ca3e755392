"""The theme app extension (storefront_widget/extensions/setia-theme/): Shopify's Theme Check
with its theme-app-extension configuration finds no error, the blocks embed the built widget as
Shopify requires, and every language has every text."""

import json
import re
import shutil
import subprocess
import tomllib

import pytest

from tests.storefront_widget.bundle import BUILT, ROOT, SOURCES, built_widget

EXTENSION = SOURCES / "extensions" / "setia-theme"
LOCALES = EXTENSION / "locales"
SCHEMA_RE = re.compile(r"{%\s*schema\s*%}(.*?){%\s*endschema\s*%}", re.S)


def theme_check(path):
    node = shutil.which("node")
    if node is None or not (SOURCES / "node_modules" / "@shopify" / "theme-check-node").exists():
        pytest.fail("Node and the widget's npm packages are needed: run `make widget`")
    done = subprocess.run(  # noqa: S603 - node and our own script, no shell
        [node, str(SOURCES / "theme-check.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, json.loads(done.stdout or "[]"), done.stderr


def schema(block):
    return json.loads(SCHEMA_RE.search((EXTENSION / "blocks" / block).read_text()).group(1))


def keys(tree, prefix=""):
    out = set()
    for key, value in tree.items():
        out |= keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return out


def test_theme_check_reports_no_error_on_the_extension():
    built_widget()

    code, offenses, stderr = theme_check(EXTENSION)

    assert [o for o in offenses if o["severity"] == "error"] == [], stderr
    assert code == 0


def test_theme_check_does_catch_a_parser_blocking_script(tmp_path):
    built_widget()
    copy = tmp_path / "setia-theme"
    shutil.copytree(EXTENSION, copy)
    launcher = copy / "blocks" / "launcher.liquid"
    tag = ' type="module" defer fetchpriority="low">'
    launcher.write_text(launcher.read_text().replace(tag, ">"))

    code, offenses, _ = theme_check(copy)

    assert code == 1
    assert [(o["check"], o["severity"]) for o in offenses] == [("ParserBlockingScript", "error")]


def test_the_extension_holds_only_what_shopify_accepts_and_the_built_widget():
    built_widget()
    top = {path.name for path in EXTENSION.iterdir()}

    assert top == {"shopify.extension.toml", "assets", "blocks", "locales"}
    assert tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())["type"] == "theme"
    for built in BUILT.glob("*.js"):
        assert (EXTENSION / "assets" / built.name).read_bytes() == built.read_bytes()
    assert {p.name for p in (EXTENSION / "assets").iterdir()} == {
        p.name for p in BUILT.glob("*.js")
    }


def test_the_app_embed_loads_the_launcher_deferred_on_every_page():
    text = (EXTENSION / "blocks" / "launcher.liquid").read_text()

    assert schema("launcher.liquid")["target"] == "body"
    assert "<setia-launcher" in text
    assert (
        """<script src="{{ 'setia-launcher.js' | asset_url }}" type="module" defer"""
        """ fetchpriority="low"></script>"""
    ) in text
    assert 'data-locale="{{ request.locale.iso_code }}"' in text


def test_the_app_blocks_are_for_product_and_account_pages():
    product = schema("product-points.liquid")
    account = schema("account-points.liquid")

    assert (product["target"], product["enabled_on"]) == ("section", {"templates": ["product"]})
    assert (account["target"], account["enabled_on"]) == (
        "section",
        {"templates": ["customers/account"]},
    )
    assert 'data-mode="earn"' in (EXTENSION / "blocks" / "product-points.liquid").read_text()
    assert "{%- if customer -%}" in (EXTENSION / "blocks" / "account-points.liquid").read_text()


@pytest.mark.parametrize("kind", ["", ".schema"])
def test_every_language_has_every_text(kind):
    default = json.loads((LOCALES / f"en.default{kind}.json").read_text())

    for locale in ("ms", "ar", "th"):
        translated = json.loads((LOCALES / f"{locale}{kind}.json").read_text())
        assert keys(translated) == keys(default), locale


def test_shopify_app_toml_points_at_the_extensions():
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())

    assert config["extension_directories"] == ["storefront_widget/extensions/*"]
