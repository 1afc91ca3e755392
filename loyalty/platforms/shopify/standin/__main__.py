"""Run the stand-in in the foreground until SIGTERM or SIGINT.

    python -m loyalty.platforms.shopify.standin --port 8765 --api-key K --api-secret S \
        --shop demo-shop.myshopify.com
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from .core import StandIn
from .state import DEFAULT_SCOPES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loyalty.platforms.shopify.standin",
        description="Run the local Shopify stand-in until SIGTERM or SIGINT.",
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("SHOPIFY_API_KEY", "test-api-key"))
    parser.add_argument(
        "--api-secret", default=os.environ.get("SHOPIFY_API_SECRET", "test-api-secret")
    )
    parser.add_argument(
        "--shop", action="append", default=[], help="add this shop at start (repeatable)"
    )
    parser.add_argument("--shop-name", default=None)
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--timezone", default="UTC", help="IANA timezone of added shops")
    parser.add_argument("--scopes", default=",".join(DEFAULT_SCOPES))
    parser.add_argument(
        "--refresh-reuse", choices=["reject", "until_replacement_used"], default="reject"
    )
    parser.add_argument("--no-throttle", action="store_true", help="never throttle by cost")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)

    standin = StandIn(
        api_key=args.api_key,
        api_secret=args.api_secret,
        port=args.port,
        scopes=args.scopes,
        refresh_reuse=args.refresh_reuse,
        enforce_throttle=not args.no_throttle,
    )
    for domain in args.shop:
        standin.add_shop(
            domain, name=args.shop_name, currency=args.currency, iana_timezone=args.timezone
        )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    standin.start()
    print(f"Shopify stand-in listening on {standin.origin}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    print("Shopify stand-in stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
