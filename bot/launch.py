"""Start the Rasa server or the action server the only way they may run: checked and closed.

    python -m bot.launch actions [--host 127.0.0.1] [--port 5055]
    python -m bot.launch rasa --model models/genesis.tar.gz [--host 127.0.0.1] [--port 5005]

Why not `rasa run` and `rasa run actions` directly:
- rasa-sdk 3.6 listens on every interface with no authentication, answers errors with the
  request body (a tracker full of health information) and has no option to change either. Ours
  binds loopback by default and refuses any request without the `X-Genesis-Action-Token` header
  that Rasa sends (`bot/endpoints.yml`), compared in constant time.
- `rasa run --enable-api` without `--auth-token` lets any local process or web page read
  trackers and replace the model. Ours always passes a token (`RASA_API_TOKEN`; a random one
  nobody knows when unset in development, which closes the API) and CORS only for the
  configured origins. The token goes to Rasa inside this process, never on a command line that
  `ps` would show.
- Both refuse to start outside development on a missing or weak secret
  (`portal_core.config.check_startup`).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from portal_core.config import PROJECT_ROOT, StartupError, check_startup, environment

log = logging.getLogger("bot.launch")

ACTION_TOKEN_HEADER = "X-Genesis-Action-Token"
DEFAULT_ACTION_URL = "http://127.0.0.1:5055/webhook"
DEFAULT_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")
# Larger than any message a channel accepts (they cut at bot.channels.limits), far below
# Sanic's 100 MB default: a huge body is refused before anyone parses it.
MAX_REQUEST_BYTES = 256 * 1024
TWILIO_CHANNELS = ("bot.channels.twilio_sms", "bot.channels.twilio_voice")


def cors_origins() -> list[str]:
    """`GENESIS_CORS_ORIGINS` (space or comma separated); the portal page's own by default."""
    raw = os.environ.get("GENESIS_CORS_ORIGINS", "")
    origins = [o for o in raw.replace(",", " ").split() if o]
    if "*" in origins:
        raise StartupError("GENESIS_CORS_ORIGINS may not contain '*': name the portal's origins")
    return origins or list(DEFAULT_ORIGINS)


def _check(required: tuple[str, ...], *, twilio: bool = False) -> None:
    for problem in check_startup(required, twilio=twilio):
        log.warning("development start-up with a weak configuration: %s", problem)


# --- Action server ------------------------------------------------------------------------


def action_app(token: str | None) -> Any:
    """rasa-sdk's app for `bot.actions`, closed to anyone without the token."""
    from rasa_sdk.endpoint import create_app
    from sanic import response
    from sanic.request import Request

    app = create_app("bot.actions", cors_origins=None)
    expected = (token or "").encode()

    @app.middleware("request")
    async def require_token(request: Request) -> Any:
        if request.path == "/health":
            return None
        given = (request.headers.get(ACTION_TOKEN_HEADER) or "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("refused an action-server request to %s without the token", request.path)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.exception(Exception)
    async def no_details(request: Request, exception: Exception) -> Any:
        # rasa-sdk's own handler echoes the request body (the tracker) into the response.
        log.error("action server error on %s", request.path, exc_info=exception)
        return response.json({"error": "internal error"}, status=500)

    return app


def run_actions(host: str, port: int) -> None:
    _check(("PORTAL_JWT_SECRET", "GENESIS_ACTION_TOKEN"))
    token = (os.environ.get("GENESIS_ACTION_TOKEN") or "").strip() or None
    if token is None:
        log.error("GENESIS_ACTION_TOKEN is not set: the action server refuses every request")
    from rasa_sdk import utils

    app = action_app(token)
    log.info("action server on http://%s:%s (token required)", host, port)
    app.run(host, port, workers=utils.number_of_sanic_workers(), access_log=False)


# --- Rasa server --------------------------------------------------------------------------


def uses_twilio(credentials: Path) -> bool:
    text = credentials.read_text() if credentials.exists() else ""
    return any(f"{module}." in text for module in TWILIO_CHANNELS)


def rasa_argv(args: argparse.Namespace, token: str) -> list[str]:
    return [
        "rasa",
        "run",
        "--enable-api",
        # One argument: a random token may begin with "-", which argparse would read as a flag.
        f"--auth-token={token}",
        "--cors",
        *cors_origins(),
        "--model",
        args.model,
        "--endpoints",
        args.endpoints,
        "--credentials",
        args.credentials,
        "--interface",
        args.host,
        "--port",
        str(args.port),
    ]


def run_rasa(args: argparse.Namespace) -> None:
    _check(
        ("PORTAL_JWT_SECRET", "GENESIS_ACTION_TOKEN", "RASA_API_TOKEN"),
        twilio=uses_twilio(Path(args.credentials)),
    )
    token = (os.environ.get("RASA_API_TOKEN") or "").strip() or secrets.token_urlsafe(32)
    # What bot/endpoints.yml reads: the action server's address and the header it requires.
    os.environ.setdefault("GENESIS_ACTION_URL", DEFAULT_ACTION_URL)
    os.environ.setdefault("GENESIS_ACTION_TOKEN", "")
    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(MAX_REQUEST_BYTES))
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    import rasa.__main__

    from bot import rasa_speedups

    rasa_speedups.apply()
    sys.argv = rasa_argv(args, token)
    rasa.__main__.main()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.launch", description=__doc__)
    sub = parser.add_subparsers(dest="server", required=True)
    actions = sub.add_parser("actions", help="the action server (bot/actions)")
    actions.add_argument("--host", default=os.environ.get("ACTIONS_HOST", "127.0.0.1"))
    actions.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", 5055)))
    rasa = sub.add_parser("rasa", help="the Rasa server: channels and the HTTP API")
    rasa.add_argument("--model", default="models/genesis.tar.gz")
    rasa.add_argument("--host", default=os.environ.get("RASA_HOST", "127.0.0.1"))
    rasa.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    rasa.add_argument(
        "--endpoints", default=os.environ.get("GENESIS_ENDPOINTS_FILE", "bot/endpoints.yml")
    )
    rasa.add_argument("--credentials", default="bot/credentials.yml")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse(sys.argv[1:] if argv is None else argv)
    os.chdir(PROJECT_ROOT)
    try:
        environment()
        if args.server == "actions":
            run_actions(args.host, args.port)
        else:
            run_rasa(args)
    except StartupError as error:
        log.error("%s", error)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
