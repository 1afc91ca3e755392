"""The checkout UI extension's source (storefront_widget/extensions/setia-checkout/): not built
here (its npm packages are Shopify's CLI's business), but its configuration is what Shopify
requires, its JSX parses, it calls the endpoints that exist, and every language has every text."""

import json
import subprocess
import tomllib

import pytest
from django.urls import resolve

from tests.storefront_widget.bundle import SOURCES

EXTENSION = SOURCES / "extensions" / "setia-checkout"


def test_the_extension_renders_in_checkout_with_network_access():
    config = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())
    (extension,) = config["extensions"]

    assert extension["type"] == "ui_extension"
    assert extension["targeting"] == [
        {"target": "purchase.checkout.block.render", "module": "./src/Checkout.jsx"}
    ]
    assert extension["capabilities"]["network_access"] is True
    assert (EXTENSION / extension["targeting"][0]["module"]).exists()
    tsconfig = json.loads((EXTENSION / "tsconfig.json").read_text())
    assert tsconfig["compilerOptions"]["jsxImportSource"] == "preact"


def test_the_source_parses_as_preact_jsx():
    esbuild = SOURCES / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.fail("The widget's npm packages are needed: run `make widget`")

    done = subprocess.run(  # noqa: S603 - the pinned esbuild, no shell
        [
            str(esbuild),
            str(EXTENSION / "src" / "Checkout.jsx"),
            "--jsx=automatic",
            "--jsx-import-source=preact",
            "--log-level=error",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "sessionToken.get()" in done.stdout


def test_it_calls_endpoints_that_exist():
    source = (EXTENSION / "src" / "Checkout.jsx").read_text()

    assert "/storefront/api/checkout/${path}" in source
    assert "callSetia(`state?" in source and 'callSetia("redeem"' in source
    assert resolve("/storefront/api/checkout/state").url_name == "checkout-state"
    assert resolve("/storefront/api/checkout/redeem").url_name == "checkout-redeem"


def test_every_language_has_every_text():
    default = json.loads((EXTENSION / "locales" / "en.default.json").read_text())

    for locale in ("ms", "ar", "th"):
        translated = json.loads((EXTENSION / "locales" / f"{locale}.json").read_text())
        assert translated.keys() == default.keys(), locale
