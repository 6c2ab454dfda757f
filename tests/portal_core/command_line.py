"""Running `python -m portal_core.cli` the way `make db` and a deployment run it.

One place for how a test starts the command line (environment, working directory, timeout), so
the tests of its commands differ only in what they ask and check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from portal_core.config import PROJECT_ROOT


def run_cli(
    url: str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line against the database at `url`, with `env` added to the environment."""
    full_env = {
        **os.environ,
        "PORTAL_DATABASE_URL": url,
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "portal_core.cli", *args],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
