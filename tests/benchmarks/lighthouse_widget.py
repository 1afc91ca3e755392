"""Widget benchmark (`make bench-widget`, not in the test suite): Lighthouse (npm `lighthouse`,
installed by the make target under var/lighthouse) driving Debian's Chromium on the stand-in's
demo product page, with the widget (the theme extension's launcher and product block, a signed-in
member with a balance) and without it (`widget=0`), mobile emulation and simulated throttling as
Lighthouse's defaults. Prints the performance score, total blocking time, cumulative layout shift
and bytes of script for both, and the differences (target: at most 1 point lost, no layout shift
from the widget).

The app runs as `manage.py devserver` (DEBUG, a throwaway SQLite database under var/), which
installs the demo shop through the stand-in's OAuth flow. BENCH_LIGHTHOUSE_RUNS (3): runs per
page, the median of each figure is printed. Figures, not assertions: the exit status is 1 only
when the benchmark itself broke."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
LIGHTHOUSE = ROOT / "var" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOP = "setia-demo.myshopify.com"
CUSTOMER = "7204561001"  # devserver's demo customer
RUNS = int(os.environ.get("BENCH_LIGHTHOUSE_RUNS", "3"))
TARGET_SCORE_DROP = 1
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage"


class BenchError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, *, seconds: float, ok=lambda r: r.status_code == 200) -> httpx.Response:
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=5)
            if ok(last):
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise BenchError(f"{url} not ready after {seconds:.0f} s: {last}")


def lighthouse(url: str, out: Path) -> dict:
    done = subprocess.run(  # noqa: S603 - our pinned lighthouse, no shell
        [
            str(LIGHTHOUSE),
            url,
            "--only-categories=performance",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-path={CHROMIUM}",
            f"--chrome-flags={CHROME_FLAGS}",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        raise BenchError(f"lighthouse failed on {url}: {done.stderr[-2000:]}")
    report = json.loads(out.read_text())
    audits = report["audits"]
    scripts = [
        item
        for item in audits["resource-summary"]["details"]["items"]
        if item["resourceType"] == "script"
    ]
    requests = audits["network-requests"]["details"]["items"]
    return {
        "score": report["categories"]["performance"]["score"] * 100,
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "script_bytes": scripts[0]["transferSize"] if scripts else 0,
        "script_files": [
            r["url"].rsplit("/", 1)[-1] for r in requests if r["resourceType"] == "Script"
        ],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
    }


def median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> int:
    if not LIGHTHOUSE.exists():
        raise BenchError(f"{LIGHTHOUSE} is missing: run `make bench-widget`")
    if not Path(CHROMIUM).exists():
        raise BenchError("Chromium is missing: apt-get install chromium")
    work = Path(tempfile.mkdtemp(prefix="bench-widget-", dir=ROOT / "var"))
    app_port, standin_port = free_port(), free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "STOREFRONT_CACHE_SECONDS": "30",
    }
    subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(  # noqa: S603
        [
            PYTHON,
            "manage.py",
            "devserver",
            "--addrport",
            f"127.0.0.1:{app_port}",
            "--standin-port",
            str(standin_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=(work / "devserver.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        origin = f"http://127.0.0.1:{standin_port}"
        state = f"{origin}/apps/setia/api/state?shop={SHOP}&customer={CUSTOMER}"
        wait_for(state, seconds=120)
        # A balance to show: the demo customer places one order first.
        product = f"{origin}/storefront?shop={SHOP}&customer={CUSTOMER}"
        with httpx.Client(timeout=30) as browser:
            browser.get(product)
            browser.post(f"{origin}/storefront/cart")
            browser.post(f"{origin}/storefront/checkout")
        balance = httpx.get(state, timeout=10).json()["customer"]["points"]["balance"]
        say(f"demo member {CUSTOMER}: {balance} points; Lighthouse {RUNS} run(s) per page")
        results = {}
        for name, url in (("without widget", f"{product}&widget=0"), ("with widget", product)):
            runs = []
            for n in range(RUNS):
                # The page sets the storefront session cookie; each Lighthouse run is a fresh
                # profile, and the URL names the customer, as a signed-in shopper's page would.
                runs.append(lighthouse(url, work / f"{name.replace(' ', '-')}-{n}.json"))
            results[name] = runs
        print_table(results)
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def say(text: str) -> None:
    print(text, flush=True)


def print_table(results: dict[str, list[dict]]) -> None:
    rows = [
        ("performance score", "score", "{:.0f}"),
        ("total blocking time (ms)", "tbt_ms", "{:.0f}"),
        ("cumulative layout shift", "cls", "{:.4f}"),
        ("largest contentful paint (ms)", "lcp_ms", "{:.0f}"),
        ("script bytes (transferred)", "script_bytes", "{:.0f}"),
    ]
    without, with_ = results["without widget"], results["with widget"]
    say("")
    say(f"{'median of runs':32}{'without widget':>16}{'with widget':>16}{'difference':>14}")
    for label, key, fmt in rows:
        a, b = median(without, key), median(with_, key)
        say(f"{label:32}{fmt.format(a):>16}{fmt.format(b):>16}{fmt.format(b - a):>14}")
    say(f"scripts with the widget: {', '.join(with_[0]['script_files'])}")
    drop = median(without, "score") - median(with_, "score")
    cls = median(with_, "cls") - median(without, "cls")
    score_verdict = "met" if drop <= TARGET_SCORE_DROP else "MISSED"
    cls_verdict = "met" if cls <= 0 else "MISSED"
    say(f"target: score drop <= {TARGET_SCORE_DROP}: {score_verdict} ({drop:.0f})")
    say(f"target: no layout shift from the widget: {cls_verdict} ({cls:.4f})")
    say(f"scores per run: without {[r['score'] for r in without]}")
    say(f"                with    {[r['score'] for r in with_]}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench-widget: {exc}", file=sys.stderr)
        sys.exit(1)
