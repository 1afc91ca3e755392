"""The checkout UI extension (storefront_widget/extensions/setia-checkout/): its pinned packages
install, and its build check (build-check.mjs: esbuild bundles src/Checkout.jsx as Shopify CLI
does, TypeScript checks it against @shopify/ui-extensions' declarations for its target) passes,
with a bundle that calls Setia's checkout endpoints; and the check does fail on a broken source.
Nothing here runs the extension inside a Shopify checkout."""

import fcntl
import json
import re
import shutil
import subprocess
import tomllib

import pytest
from django.urls import resolve

from tests.storefront_widget.bundle import SOURCES

EXTENSION = SOURCES / "extensions" / "setia-checkout"
LOCALES = EXTENSION / "locales"
CHECKOUT = "src/Checkout.jsx"


def _installed_matches_lockfile() -> bool:
    """npm's record of what node_modules holds (node_modules/.package-lock.json, written by
    `npm ci`) has every package of the lockfile at its version: compared by content, so a fresh
    clone's file times do not matter, and by versions only, which every npm writes alike."""
    hidden = EXTENSION / "node_modules" / ".package-lock.json"
    if not hidden.exists():
        return False
    wanted = json.loads((EXTENSION / "package-lock.json").read_text())["packages"]
    installed = json.loads(hidden.read_text())["packages"]
    return {path: package.get("version") for path, package in installed.items()} == {
        path: package.get("version") for path, package in wanted.items() if path
    }


@pytest.fixture(scope="module")
def node():
    """Node, with the extension's packages installed by `npm ci` when missing or stale (a few
    seconds, then nothing on re-runs), and esbuild from the widget's packages (`make widget`)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node and npm are needed for the checkout extension's build check")
    if not (SOURCES / "node_modules" / "esbuild").exists():
        pytest.fail("esbuild comes with the widget's npm packages: run `make widget`")
    with open(EXTENSION / "package-lock.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time if test processes run at once
        if not _installed_matches_lockfile():
            done = subprocess.run(  # noqa: S603 - npm with fixed arguments, no shell
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=EXTENSION,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert _installed_matches_lockfile()
    return node


def build_check(node, extension, outdir):
    done = subprocess.run(  # noqa: S603 - node and our own script, no shell
        [node, str(EXTENSION / "build-check.mjs"), str(extension), "--outdir", str(outdir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def broken_copy(tmp_path, changes):
    """The extension's sources in tmp_path with Checkout.jsx changed (each (old, new) pair, every
    occurrence), and its installed packages linked in."""
    copy = tmp_path / "setia-checkout"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / "node_modules").symlink_to(EXTENSION / "node_modules", target_is_directory=True)
    source = copy / CHECKOUT
    text = source.read_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    source.write_text(text)
    return copy


def test_the_extension_builds_and_calls_setias_checkout_endpoints(node, tmp_path):
    code, stdout, stderr = build_check(node, EXTENSION, tmp_path)

    assert code == 0, stderr
    result = json.loads(stdout)
    bundle = (tmp_path / "Checkout.js").read_text()
    assert result["bytes"] == len(bundle.encode())
    assert result["gzipped"] <= 64 * 1024  # Shopify's limit for a UI extension's bundle
    assert "/storefront/api/checkout/state" in bundle
    assert "/storefront/api/checkout/redeem" in bundle
    # The real APIs of the target, called on the global `shopify`, survive bundling.
    for api in ("sessionToken.get()", "applyDiscountCodeChange(", "i18n.translate", "settings"):
        assert api in bundle, api
    assert "addDiscountCode" in bundle
    assert "Authorization" in bundle


REACT_ERA_BANNER = [
    (
        'import { render } from "preact";',
        'import { render } from "preact";\n'
        'import { Banner } from "@shopify/ui-extensions/checkout";',
    ),
    ('<s-banner tone="critical">{error}</s-banner>', '<Banner status="critical">{error}</Banner>'),
]
BROKEN = {
    # A 2025-07 (React-era) component: 2026-07 has web components and exports no Banner.
    "missing-component-import": (REACT_ERA_BANNER, 'No matching export in "'),
    "syntax-error": ([("<s-section heading", "<s-section < heading")], "ERROR"),
    "unknown-web-component": (
        [("s-stack", "s-blockstack")],
        "'s-blockstack' does not exist on type 'JSX.IntrinsicElements'",
    ),
    # React-era onPress where s-button has onClick.
    "unknown-property": (
        [('variant="secondary"', 'variant="secondary" onPress={() => null}')],
        "Property 'onPress' does not exist",
    ),
    "unknown-discount-change": (
        [('type: "addDiscountCode"', 'type: "addCode"')],
        "Type '\"addCode\"' is not assignable",
    ),
}


@pytest.mark.parametrize("broken", BROKEN)
def test_the_build_check_fails_on_a_broken_source(node, tmp_path, broken):
    changes, expected = BROKEN[broken]
    copy = broken_copy(tmp_path / "src", changes)

    code, _, stderr = build_check(node, copy, tmp_path / "out")

    assert code == 1
    assert expected in stderr


def test_the_extension_renders_in_checkout_with_network_access():
    config = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())
    (extension,) = config["extensions"]
    package = json.loads((EXTENSION / "package.json").read_text())

    assert extension["type"] == "ui_extension"
    assert extension["targeting"] == [
        {"target": "purchase.checkout.block.render", "module": "./" + CHECKOUT}
    ]
    assert extension["capabilities"]["network_access"] is True
    # The API version and the package release line agree (2026-07 and 2026.7.x), pinned exactly.
    year, month = config["api_version"].split("-")
    assert package["dependencies"]["@shopify/ui-extensions"].startswith(f"{year}.{int(month)}.")
    versions = {**package["dependencies"], **package["devDependencies"]}
    assert all(v[0].isdigit() for v in versions.values()), versions


def test_it_calls_endpoints_that_exist():
    source = (EXTENSION / CHECKOUT).read_text()

    assert "callSetia(`/storefront/api/checkout/state?" in source
    assert 'callSetia("/storefront/api/checkout/redeem"' in source
    assert resolve("/storefront/api/checkout/state").url_name == "checkout-state"
    assert resolve("/storefront/api/checkout/redeem").url_name == "checkout-redeem"


def test_every_language_has_every_text_the_source_uses():
    default = json.loads((LOCALES / "en.default.json").read_text())
    used = set(re.findall(r"\bt\(\"(\w+)\"", (EXTENSION / CHECKOUT).read_text()))

    assert used and used <= default.keys()
    for locale in ("ms", "ar", "th"):
        translated = json.loads((LOCALES / f"{locale}.json").read_text())
        assert translated.keys() == default.keys(), locale
