"""CACHE_URL: Django's cache from the environment, a process's own memory when unset."""

import json

from tests.core.test_settings import run_manage

PRINT_CACHES = (
    "import json; from django.conf import settings; from django.core.cache import cache; "
    "cache.set('probe', 41); cache.incr('probe'); "
    "print(json.dumps({**settings.CACHES['default'], 'probe': cache.get('probe')}))"
)


def cache_settings(**env):
    result = run_manage("shell", "-c", PRINT_CACHES, DEBUG="1", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_cache_url_each_process_has_its_own_memory_cache():
    default = cache_settings()

    assert default["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert (default["KEY_PREFIX"], default["probe"]) == ("setia", 42)
    assert cache_settings(CACHE_URL="")["BACKEND"] == default["BACKEND"]


def test_a_redis_cache_url_gives_a_shared_redis_cache_with_timeouts():
    # Nothing listens on port 9: only the configuration is checked, not the connection.
    result = run_manage(
        "shell",
        "-c",
        "import json; from django.conf import settings; print(json.dumps(settings.CACHES))",
        DEBUG="1",
        CACHE_URL="redis://127.0.0.1:9/1",
    )

    assert result.returncode == 0, result.stderr
    caches = json.loads(result.stdout.strip().splitlines()[-1])
    assert caches == {
        "default": {
            "BACKEND": "loyalty.core.cache.SetiaRedisCache",
            "LOCATION": "redis://127.0.0.1:9/1",
            "KEY_PREFIX": "setia",
            "OPTIONS": {"socket_timeout": 2.0, "socket_connect_timeout": 2.0},
        }
    }


def test_the_redis_cache_works_and_reuses_one_client(monkeypatch):
    """Against the real Redis of the test machine (db 14), when there is one."""
    import redis

    from loyalty.core.cache import SetiaRedisCache

    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        import pytest

        pytest.skip("needs Redis on 127.0.0.1:6379 (.ci/run starts it)")
    cache = SetiaRedisCache(url, {"KEY_PREFIX": "setia-test"})

    cache.set_many({"a": 1, "b": (2, b"x")}, timeout=10)
    cache.add("c", "first", timeout=10)
    cache.add("c", "second", timeout=10)

    assert cache.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": (2, b"x"), "c": "first"}
    assert cache._cache.get_client("a") is cache._cache.get_client("b")
    cache.delete_many(["a", "b", "c"])
