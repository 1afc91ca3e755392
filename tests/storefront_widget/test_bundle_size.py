"""The widget's byte budgets (issue 6): what every storefront page pays for, minified."""

from tests.storefront_widget.bundle import (
    BUILT,
    DYNAMIC_IMPORT,
    built_widget,
    static_closure,
)

LAUNCHER_BUDGET = 10_000
TOTAL_BUDGET = 25_000


def test_the_launcher_with_what_it_imports_up_front_is_at_most_10000_bytes():
    launcher = built_widget()

    up_front = sum(path.stat().st_size for path in static_closure(launcher))

    assert up_front <= LAUNCHER_BUDGET, f"launcher: {up_front} bytes"


def test_everything_together_is_at_most_25000_bytes():
    built_widget()

    total = sum(path.stat().st_size for path in BUILT.glob("*.js"))

    assert total <= TOTAL_BUDGET, f"widget: {total} bytes"


def test_the_panel_is_a_separate_chunk_loaded_on_demand():
    launcher = built_widget()

    lazy = DYNAMIC_IMPORT.findall(launcher.read_text())
    up_front = {path.name for path in static_closure(launcher)}

    assert len(lazy) == 1 and lazy[0].startswith("setia-panel-"), lazy
    assert lazy[0] not in up_front
    assert (BUILT / lazy[0]).exists()
