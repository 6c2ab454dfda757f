"""nginx's configuration, rendered from `deploy/nginx.conf.template`.

One template serves every deployment: on loopback (`make run-prod`, tests, the benchmark) the
upstreams are `127.0.0.1:<port>` and every file lives under a run directory; in docker-compose
and Kubernetes they are service names. `{{ name }}` placeholders are filled in; a placeholder
left unfilled, or a value never used, is an error rather than a silently broken file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ops.topology import ROOT, Layout

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
# nginx never benches a replica (max_fails=0): every request tries the replicas in turn
# (proxy_next_upstream), and a refused connection costs well under a millisecond. Benching
# (max_fails=1 fail_timeout=5s) answered "no live upstreams" for five seconds after all the
# action servers had come back from a restart (tests/prod/test_faults.py).
MAX_FAILS = 0
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


@dataclass(frozen=True)
class NginxSite:
    """What differs between deployments: where to listen, the upstreams, where files go."""

    front_listen: str
    actions_listen: str
    rasa_servers: Sequence[str]
    action_servers: Sequence[str]
    run_dir: str
    worker_processes: str = "1"
    access_log: str = "off"
    error_log: str | None = None


def _servers(addresses: Sequence[str]) -> str:
    if not addresses:
        raise ValueError("an upstream needs at least one server")
    return "\n".join(f"        server {address} max_fails={MAX_FAILS};" for address in addresses)


def render(site: NginxSite, template: str | None = None) -> str:
    """The configuration text for `site`."""
    text = TEMPLATE.read_text() if template is None else template
    values = {
        "worker_processes": site.worker_processes,
        "error_log": site.error_log or f"{site.run_dir}/error.log",
        "pid_file": f"{site.run_dir}/nginx.pid",
        "access_log": site.access_log,
        "temp_dir": f"{site.run_dir}/temp",
        "rasa_servers": _servers(site.rasa_servers),
        "action_servers": _servers(site.action_servers),
        "front_listen": site.front_listen,
        "actions_listen": site.actions_listen,
    }
    used = set(PLACEHOLDER.findall(text))
    missing, unused = used - set(values), set(values) - used
    if missing or unused:
        raise ValueError(f"template and values disagree: missing {missing}, unused {unused}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def loopback_site(layout: Layout, run_dir: Path) -> NginxSite:
    """The balancer of a loopback topology: everything on `layout.host`, files in `run_dir`."""
    return NginxSite(
        front_listen=f"{layout.host}:{layout.front}",
        actions_listen=f"{layout.host}:{layout.actions_front}",
        rasa_servers=[f"{layout.host}:{port}" for port in layout.rasa],
        action_servers=[f"{layout.host}:{port}" for port in layout.actions],
        run_dir=str(run_dir),
    )


def write_config(site: NginxSite, run_dir: Path) -> Path:
    """Render `site` into `run_dir/nginx.conf` (and make its temp directory)."""
    (run_dir / "temp").mkdir(parents=True, exist_ok=True)
    path = run_dir / "nginx.conf"
    path.write_text(render(site))
    return path


def binary() -> str | None:
    """The nginx executable (`scripts/install-nginx` installs Debian's), or None."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_PATHS if Path(p).is_file()), None)


def command(config: Path, run_dir: Path) -> list[str]:
    """nginx in the foreground with its files under `run_dir` (no root-owned defaults)."""
    nginx = binary()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed: run scripts/install-nginx (make does)")
    return [nginx, "-p", str(run_dir), "-c", str(config), "-e", "stderr", "-g", "daemon off;"]


def check(config: Path, run_dir: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a rendered configuration."""
    argv = command(config, run_dir)
    return subprocess.run(
        [*argv[:-2], "-t"], capture_output=True, text=True, timeout=30, check=False
    )
