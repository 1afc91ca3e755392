"""Storefront benchmark (`make bench-storefront`, part of `make bench`): what a shopper's page
costs Setia, on gunicorn with PostgreSQL, under production-shaped settings.

1. `state`: `GET /shopify/proxy/api/state`, signed as Shopify's app proxy signs it, for a
   logged-in member with 1,000 ledger entries (3 tiers, 3 rewards), beside the bare Django
   view on the same server in the same run: requests per second, p50/p99 and the ratio.
   Target: state at least 0.6 of the bare view's rate, p99 under 20 ms.
2. Redemption: 20 shoppers (20 members) redeeming at the same time through
   `POST /shopify/proxy/api/redeem`, each a discount code created at the local Shopify
   stand-in (its own process, real HTTP): p50/p99 per redemption, and afterwards every
   redemption issued exactly once (codes at the stand-in = issued redemptions) and
   `ledger_audit` clean.

Figures, not assertions: the exit status is 1 only when the benchmark itself broke or a
correctness check failed. BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS,
BENCH_WORKERS as in webhook_intake.py; BENCH_SHOPPERS (20), BENCH_REDEMPTIONS_PER_SHOPPER (10);
BENCH_PARTS (state,redemption) to run one part only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: `python tests/benchmarks/storefront.py`
    sys.path.insert(0, str(ROOT))

from tests.benchmarks import webhook_intake as intake  # noqa: E402
from tests.benchmarks.webhook_intake import BenchError, say  # noqa: E402

SHOP = "setia-bench.myshopify.com"
STATE_PATH = "/shopify/proxy/api/state"
REDEEM_PATH = "/shopify/proxy/api/redeem"
BARE_PATH = intake.BARE_PATH
MEMBER_CUSTOMER_ID = "7001000001"
LEDGER_ENTRIES = 1000
TARGET_RATIO = 0.6
TARGET_P99_MS = 20.0
REQUEST_TIMEOUT = 10.0
LIGHT_CONNECTIONS = 2  # a second run, below saturation: latency without queueing
REDEEM_CUSTOMER_BASE = 7002000000


def proxy_query(secret: str, customer_id: str) -> str:
    """The query Shopify's app proxy adds, signed: sorted `k=v`, no separator, hex HMAC."""
    params = {
        "shop": SHOP,
        "logged_in_customer_id": customer_id,
        "path_prefix": "/apps/setia",
        "timestamp": str(int(time.time())),
    }
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urllib.parse.urlencode(params)


# --- seeding ---------------------------------------------------------------------------------

SEED_STATE = """
from datetime import timedelta
from django.utils import timezone
from loyalty.ledger.services import ledger_credit, ledger_debit
from loyalty.members.services import member_get_or_create
from loyalty.shops.models import Shop
from loyalty.shops.services import shop_get_or_create

shop, _ = shop_get_or_create(domain={shop!r}, name="Setia Bench", currency="MYR")
Shop.objects.filter(pk=shop.pk).update(installed_at=timezone.now())
member, _ = member_get_or_create(
    shop=shop, platform_customer_id={customer!r}, email="b@example.com"
)
start = timezone.now() - timedelta(days=400)
for n in range({entries}):
    when = start + timedelta(hours=n * 9)
    if n % 10 < 7:
        ledger_credit(member=member, points=50, idempotency_key=f"seed:{{n}}",
                      source_type="order", source_id=str(n), reason="Seed order", now=when)
    else:
        ledger_debit(member=member, points=20, idempotency_key=f"seed:{{n}}",
                     source_type="seed", reason="Seed redemption", now=when)
from loyalty.rewards.models import Reward
from loyalty.tiers.services import tier_create, tier_evaluate

Reward.objects.create(shop=shop, name="10 off", kind="amount_off", points_cost=1000, value=10)
Reward.objects.create(shop=shop, name="Free shipping", kind="free_shipping", points_cost=800)
tier_create(shop=shop, name="Bronze", threshold=0, perks=["Birthday gift"])
tier_create(shop=shop, name="Silver", threshold=20000, multiplier="1.5", perks=["Early access"])
tier_create(shop=shop, name="Gold", threshold=100000, multiplier="2", perks=["Free shipping"])
tier_evaluate(member=member)
member.refresh_from_db()
print("SEEDED", member.ledger_entries.count(), member.points_balance)
"""


def seed_state(env: dict[str, str]) -> tuple[int, int]:
    script = SEED_STATE.format(shop=SHOP, customer=MEMBER_CUSTOMER_ID, entries=LEDGER_ENTRIES)
    out = intake.manage(env, "shell", "-c", script)
    match = re.search(r"SEEDED (\d+) (\d+)", out)
    if not match:
        raise BenchError(f"seeding printed no result:\n{out}")
    return int(match.group(1)), int(match.group(2))


# --- load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_get(url: str, connections: int, seconds: int) -> Result:
    command = ["wrk", "--threads", "1", "--connections", str(connections)]
    command += ["--duration", f"{seconds}s", "--timeout", "10s", "--latency", url]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, capture_output=True, text=True, timeout=seconds + 60
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk ran over {seconds + 60} s") from exc
    out = done.stdout
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{out}{done.stderr}")
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, flags=re.M))
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))
    duration = re.search(r"requests in ([\d.]+)(ms|s|m)", out)
    seconds_taken = float(duration.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[duration.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Result(
        requests=requests,
        seconds=seconds_taken,
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        errors=sum(int(x) for x in errors.groups()) if errors else 0,
    )


async def _python_get(url: str, connections: int, seconds: int) -> Result:
    import httpx

    latencies: list[float] = []
    counts = {"non2xx": 0, "errors": 0}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as client:
        deadline = time.monotonic() + seconds

        async def connection() -> None:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                latencies.append(time.perf_counter() - start)
                if not 200 <= response.status_code < 300:
                    counts["non2xx"] += 1

        started = time.monotonic()
        await asyncio.gather(*(connection() for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return Result(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=intake.percentile(latencies, 50) * 1000,
        p99_ms=intake.percentile(latencies, 99) * 1000,
        non2xx=counts["non2xx"],
        errors=counts["errors"],
    )


def load_get(config: intake.Config, url: str, seconds: int) -> Result:
    if config.loadgen == "wrk":
        return wrk_get(url, config.connections, seconds)
    return asyncio.run(_python_get(url, config.connections, seconds))


def measure_get(config: intake.Config, base_url: str, path: str, secret: str) -> Result:
    def url() -> str:  # signed afresh for each run: the proxy refuses stale timestamps
        return f"{base_url}{path}?{proxy_query(secret, MEMBER_CUSTOMER_ID)}"

    if config.warmup_seconds:
        load_get(config, url(), config.warmup_seconds)
    return load_get(config, url(), config.seconds)


def check_state(base_url: str, secret: str) -> dict:
    url = f"{base_url}{STATE_PATH}?{proxy_query(secret, MEMBER_CUSTOMER_ID)}"
    import httpx

    response = httpx.get(url, timeout=REQUEST_TIMEOUT)
    if response.status_code != 200:
        raise BenchError(f"state answered {response.status_code}: {response.text[:300]}")
    answer = response.json()
    if (answer.get("customer") or {}).get("id") != MEMBER_CUSTOMER_ID:
        raise BenchError(f"state did not answer for the member: {answer}")
    return answer


# --- redemption ------------------------------------------------------------------------------

SEED_REDEMPTION = """
from loyalty.ledger.services import ledger_credit
from loyalty.members.services import member_get_or_create
from loyalty.platforms.shopify.install import install_with_code
from loyalty.rewards.models import Reward

shop = install_with_code(shop_domain={shop!r}, code={code!r})
for n in range({shoppers}):
    member, _ = member_get_or_create(
        shop=shop, platform_customer_id=str({base} + n), email=f"s{{n}}@example.com"
    )
    ledger_credit(member=member, points=1_000_000, idempotency_key=f"bench:{{n}}",
                  source_type="order", reason="Seed")
reward = Reward.objects.get(shop=shop, is_default=True)
print("SEEDED", reward.pk, reward.points_cost)
"""


@dataclass(frozen=True)
class Redemptions:
    latencies_ms: list[float]
    statuses: dict[int, int]
    seconds: float


async def _redeem_load(
    base_url: str, secret: str, reward_id: int, shoppers: int, per_shopper: int
) -> Redemptions:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=shoppers, max_keepalive_connections=shoppers)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def shopper(n: int) -> None:
            customer = str(REDEEM_CUSTOMER_BASE + n)
            for k in range(per_shopper):
                url = f"{base_url}{REDEEM_PATH}?{proxy_query(secret, customer)}"
                body = {"reward_id": reward_id, "idempotency_key": f"bench-{n}-{k}"}
                start = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append((time.perf_counter() - start) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(shopper(n) for n in range(shoppers)))
        elapsed = time.perf_counter() - started
    return Redemptions(sorted(latencies), statuses, elapsed)


def standin_process(config: intake.Config, workdir: Path):
    port = intake.free_port()
    log = open(workdir / "standin.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [
            str(intake.BIN / "python"),
            "-m",
            "loyalty.platforms.shopify.standin",
            "--port",
            str(port),
            "--api-key",
            "setia-bench-api-key",
            "--api-secret",
            config.api_secret,
            "--shop",
            SHOP,
            "--currency",
            "MYR",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    origin = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{origin}/_standin/health", timeout=1).status_code == 200:
                return process, origin
        except httpx.HTTPError:
            time.sleep(0.1)
    intake.stop(process)
    raise BenchError(f"the stand-in did not start:\n{intake.log_tail(workdir / 'standin.log')}")


def bench_redemption(config: intake.Config, workdir: Path) -> bool:
    import httpx

    shoppers = intake.env_int("BENCH_SHOPPERS", 20, 1, 200)
    per_shopper = intake.env_int("BENCH_REDEMPTIONS_PER_SHOPPER", 10, 1, 1000)
    process, origin = standin_process(config, workdir)
    try:
        env = {
            **intake.server_env(config),
            "SHOPIFY_API_ORIGIN": origin,
            "REWARDS_RATE_LIMIT": str(per_shopper + 1),
        }
        say(f"recreating database {config.database}")
        intake.reset_database(config)
        intake.manage(env, "migrate", "--noinput")
        for n in range(shoppers):
            httpx.post(
                f"{origin}/_standin/shops/{SHOP}/customers",
                json={"customer_id": REDEEM_CUSTOMER_BASE + n, "email": f"s{n}@example.com"},
                timeout=5,
            ).raise_for_status()
        code = httpx.post(f"{origin}/_standin/codes", json={"shop": SHOP}, timeout=5).json()["code"]
        say(f"installing the shop through the stand-in; {shoppers} members with points")
        out = intake.manage(
            env,
            "shell",
            "-c",
            SEED_REDEMPTION.format(
                shop=SHOP, code=code, shoppers=shoppers, base=REDEEM_CUSTOMER_BASE
            ),
        )
        match = re.search(r"SEEDED (\d+) (\d+)", out)
        if not match:
            raise BenchError(f"seeding printed no result:\n{out}")
        reward_id = int(match.group(1))
        say(f"starting {intake.server_shape(config)}")
        with intake.gunicorn(config, env, workdir) as server:
            say(f"{shoppers} shoppers redeeming {per_shopper} times each, all at once")
            result = asyncio.run(
                _redeem_load(server.base_url, config.api_secret, reward_id, shoppers, per_shopper)
            )
        shop_state = httpx.get(f"{origin}/_standin/shops/{SHOP}", timeout=10).json()
        codes = len(shop_state.get("discounts", []))
        audit = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(intake.BIN / "python"), "manage.py", "ledger_audit"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        with intake.pg_connect(config.database) as conn:
            issued = conn.execute(
                "SELECT count(*) FROM rewards_redemption WHERE status = 'issued'"
            ).fetchone()[0]
    finally:
        intake.stop(process)

    ok_answers = result.statuses.get(200, 0)
    total = sum(result.statuses.values())
    print()
    print(f"Setia redemption benchmark ({os.cpu_count()} CPUs, loopback only)")
    print(
        f"  server: {intake.server_shape(config)}; the Shopify stand-in in its own process "
        "(real HTTP, cost-based throttling on)"
    )
    print(f"  load:   {shoppers} shoppers at once, {per_shopper} redemptions each, in sequence")
    print()
    print(f"{'redemptions':>12}{'seconds':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    print(
        f"{total:>12}{result.seconds:>9.1f}{total / result.seconds:>8.1f}"
        f"{intake.percentile(result.latencies_ms, 50):>9.1f}"
        f"{intake.percentile(result.latencies_ms, 99):>9.1f}  {result.statuses}"
    )
    exact = ok_answers == issued == codes
    print(
        f"answered 200 = {ok_answers}, issued redemptions = {issued}, codes at the stand-in = "
        f"{codes}: {'PASS' if exact else 'FAIL'}"
    )
    print(f"ledger_audit: {'clean' if audit.returncode == 0 else 'FAIL'}")
    if audit.returncode != 0:
        print(audit.stdout[-2000:], audit.stderr[-2000:])
    return exact and audit.returncode == 0


# --- the run ---------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, Result]]) -> None:
    header = f"{'endpoint':<36}{'requests':>10}{'rps':>10}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'non-2xx':>9}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for name, r in rows:
        print(
            f"{name:<36}{r.requests:>10}{r.rps:>10.1f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.non2xx:>9}{r.errors:>8}"
        )


STATE_CACHE_URL = "redis://127.0.0.1:6379/13"  # a Redis database of its own, emptied first


def bench_state(config: intake.Config, workdir: Path) -> bool:
    # As production runs: a shared cache (CACHE_URL) for the members' cached answers.
    env = {**intake.server_env(config), "CACHE_URL": STATE_CACHE_URL}
    import redis

    redis.Redis.from_url(STATE_CACHE_URL).flushdb()
    say(f"recreating database {config.database}")
    pg_version = intake.reset_database(config)
    say("migrating (manage.py migrate)")
    intake.manage(env, "migrate", "--noinput")
    say(f"seeding a member with {LEDGER_ENTRIES} ledger entries")
    entries, balance = seed_state(env)
    say(f"starting {intake.server_shape(config)}")
    with intake.gunicorn(config, env, workdir) as server:
        answer = check_state(server.base_url, config.api_secret)
        timing = f"{config.warmup_seconds} s warm-up, then {config.seconds} s measured"
        say(f"bare view: {timing}")
        bare = measure_get(config, server.base_url, BARE_PATH, config.api_secret)
        say(f"state: {timing}")
        state = measure_get(config, server.base_url, STATE_PATH, config.api_secret)
        light = dataclasses.replace(config, connections=LIGHT_CONNECTIONS)
        say(f"state at {LIGHT_CONNECTIONS} connections (latency below saturation): {timing}")
        state_light = measure_get(light, server.base_url, STATE_PATH, config.api_secret)
    # The same member with their answer's cache off: what a shopper's first page view costs.
    uncached_env = {**env, "STOREFRONT_MEMBER_CACHE": "0"}
    with intake.gunicorn(config, uncached_env, workdir) as server:
        say(f"state, member cache off (every view computed): {timing}")
        uncached = measure_get(config, server.base_url, STATE_PATH, config.api_secret)
    generator = "wrk, 1 thread" if config.loadgen == "wrk" else "Python asyncio+httpx"
    print()
    print(f"Setia storefront state benchmark ({os.cpu_count()} CPUs, loopback only)")
    print(
        f"  server: {intake.server_shape(config)}; PostgreSQL {pg_version.split()[0]}; "
        f"load: {generator}, {config.connections} connections"
    )
    print(
        f"  member: {entries} ledger entries, balance {balance}; answer "
        f"{len(json.dumps(answer))} bytes; tier {answer['customer']['tier']['name']}, "
        f"{len(answer['rewards'])} rewards, {len(answer['tiers'])} tiers"
    )
    print()
    print_table(
        [
            (f"bare   {BARE_PATH} ({config.connections})", bare),
            (f"state  ({config.connections} connections)", state),
            (f"state  ({LIGHT_CONNECTIONS} connections)", state_light),
            (f"state, member cache off ({config.connections})", uncached),
        ]
    )
    print(
        "  state: a member's answer cached at their version (CACHE_URL, Redis); member cache "
        "off: their part computed on every view (a first view)"
    )
    print()
    ratio = state.rps / bare.rps if bare.rps else 0.0
    print(
        f"state/bare rps ratio = {ratio:.2f} (target >= {TARGET_RATIO}): "
        f"{intake.verdict(ratio >= TARGET_RATIO)}"
    )
    for label, result in ((config.connections, state), (LIGHT_CONNECTIONS, state_light)):
        print(
            f"state p99 at {label} connections = {result.p99_ms:.1f} ms "
            f"(target < {TARGET_P99_MS:.0f} ms): {intake.verdict(result.p99_ms < TARGET_P99_MS)}"
        )
    if state.non2xx or state.errors:
        print(f"  WARNING: state had {state.non2xx} non-2xx answers and {state.errors} errors")
    return state.non2xx == 0 and state_light.non2xx == 0


def main() -> int:
    # Its own database, so it never drops one the intake benchmark is using.
    os.environ.setdefault("BENCH_DATABASE", "setia_bench_storefront")
    config = intake.load_config()

    parts = {p.strip() for p in os.environ.get("BENCH_PARTS", "state,redemption").split(",")}

    def run(workdir: Path) -> bool:
        ok = True
        if "state" in parts:
            ok = bench_state(config, workdir) and ok
            print()
        if "redemption" in parts:
            ok = bench_redemption(config, workdir) and ok
        return ok

    return intake.run_main(prefix="setia-bench-storefront-", run=run, purge=lambda: None)


if __name__ == "__main__":
    sys.exit(main())
