"""`python -m web`: serve the portal page (PORTAL_WEB_HOST and PORTAL_WEB_PORT, 127.0.0.1:8000)."""

from __future__ import annotations

import logging
import sys

from portal_core.config import StartupError, check_startup, environment
from web.app import SOCKET_IO_CLIENT, create_app
from web.settings import load_web_settings

log = logging.getLogger("web")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_web_settings()
        # The page signs chat tokens: like Rasa and the action server (bot/launch.py), it
        # won't start in production on a missing or weak secret, nor with the demo sign-in.
        for problem in check_startup(("PORTAL_JWT_SECRET",)):
            log.warning("development start-up with a weak configuration: %s", problem)
        if environment() == "production" and settings.demo_sign_in:
            raise StartupError("refusing to start in production with PORTAL_DEMO_SIGN_IN on")
    except (ValueError, StartupError) as exc:
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
