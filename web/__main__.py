"""`python -m web`: serve the portal page (PORTAL_WEB_HOST and PORTAL_WEB_PORT, 127.0.0.1:8000)."""

from __future__ import annotations

import logging
import sys

from web.app import SOCKET_IO_CLIENT, create_app
from web.settings import load_web_settings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_web_settings()
    except ValueError as exc:
        print(f"web: {exc}", file=sys.stderr)
        return 2
    if not SOCKET_IO_CLIENT.is_file():
        print("web: the socket.io client is missing; run `make` (npm ci in web/)", file=sys.stderr)
        return 2
    app = create_app(settings)
    print(f"Portal page with the chat widget: http://{settings.host}:{settings.port}/", flush=True)
    app.run(host=settings.host, port=settings.port, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
