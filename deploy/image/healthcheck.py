"""Container health check: exit 0 when the worker answers 200 on PATH (default /healthz), else 1.

    python3 sentinel-healthcheck.py [/healthz | /readyz]

Standard library only, so it runs on the image's own Python without the venv.
The port is the worker's metrics port, SENTINEL_METRICS_PORT (default 9108).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    port = os.environ.get("SENTINEL_METRICS_PORT", "9108")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        sys.stderr.write(f"{url}: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
