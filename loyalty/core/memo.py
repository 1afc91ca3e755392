"""A small per-process memory with expiry, for reads every storefront request makes."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any


class ProcessMemo:
    """Values kept in this process's memory for a given number of seconds. Each process has
    its own: use it only where a value a little stale (at most its age) is acceptable."""

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        kept = self._values.get(key)
        return kept[1] if kept is not None and kept[0] > time.monotonic() else None

    def put(self, key: Hashable, value: Any, *, seconds: float) -> None:
        with self._lock:
            self._values[key] = (time.monotonic() + seconds, value)

    def forget(self, key: Hashable | None = None) -> None:
        """Forget `key`, or everything."""
        with self._lock:
            if key is None:
                self._values.clear()
            else:
                self._values.pop(key, None)
