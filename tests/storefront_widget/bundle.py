"""The built widget (static/setia/, `make widget`) as the tests read it."""

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
BUILT = ROOT / "static" / "setia"
LAUNCHER = BUILT / "setia-launcher.js"
SOURCES = ROOT / "storefront_widget"

STATIC_IMPORT = re.compile(r'(?:^|[;}\s])import\s*(?:[\w*{}\s,$]+from\s*)?"\./([^"]+)"')
DYNAMIC_IMPORT = re.compile(r'import\("\./([^"]+)"\)')


def built_widget() -> Path:
    """The launcher file, failing the test clearly when it is missing or older than a source."""
    if not LAUNCHER.exists():
        pytest.fail(f"{LAUNCHER.relative_to(ROOT)} is missing: build the widget with `make widget`")
    sources = [
        *SOURCES.glob("src/*.ts"),
        *SOURCES.glob("src/*.json"),
        SOURCES / "build.mjs",
        SOURCES / "package-lock.json",
    ]
    stale = [p.name for p in sources if p.stat().st_mtime > LAUNCHER.stat().st_mtime]
    if stale:
        pytest.fail(f"the built widget is older than {', '.join(stale)}: run `make widget`")
    return LAUNCHER


def static_closure(entry: Path) -> list[Path]:
    """The entry and every chunk it imports statically (what a page downloads before first use)."""
    seen: list[Path] = []
    pending = [entry]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        pending += [path.parent / name for name in STATIC_IMPORT.findall(path.read_text())]
    return seen
