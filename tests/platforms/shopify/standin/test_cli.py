"""``python -m loyalty.platforms.shopify.standin`` runs in the foreground and stops on SIGTERM."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[4]


def test_cli_serves_until_sigterm():
    # given the stand-in started as its own process on a free port, with a shop
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "loyalty.platforms.shopify.standin", "--port", "0",
            "--api-key", "k", "--api-secret", "s", "--shop", "demo-shop.myshopify.com",
            "--currency", "MYR",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        ready, _, _ = select.select([process.stdout], [], [], 15)  # bounded wait for startup
        assert ready, "the stand-in did not start within 15 s"
        line = process.stdout.readline()  # the first line names the origin
        origin = line.strip().rsplit(" ", 1)[-1]

        # when another process uses the control API
        shops = httpx.get(f"{origin}/_standin/shops", timeout=5).json()["shops"]

        # then the seeded shop is there, and SIGTERM stops the process cleanly
        assert line.startswith("Shopify stand-in listening on http://127.0.0.1:")
        assert [(s["domain"], s["currency"]) for s in shops] == [("demo-shop.myshopify.com", "MYR")]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
