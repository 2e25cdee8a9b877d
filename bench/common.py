"""What the benchmarks share: percentiles, and waiting for a process to be ready.

Benchmarks run as scripts (`python bench/x.py`), so this is imported as `common`."""

import time
import urllib.request


def percentile(values, fraction):
    """The value at `fraction` (0–1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def wait_ready(port: int, timeout: float = 90, path: str = "/health/ready") -> None:
    """Until http://127.0.0.1:`port``path` answers 200; SystemExit after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the process on port {port} did not become ready (see bench/out/*.log)")
