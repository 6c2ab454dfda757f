"""Train the real model once (cached by the hash of its inputs) and run the real servers.

Used by the bot's and the web page's integration tests: a seeded SQLite portal, the rasa-sdk
action server, the Rasa server with its channels (REST, Twilio, the portal's socket.io) and, when
the browser tests ask for it, the portal page (`python -m web`), all on loopback ports chosen at
run time. The Rasa server accepts socket.io connections only from the portal page's origin.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.run import wait_serving
from portal_core.database import Database
from portal_core.seed import seed

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODEL_CACHE = ROOT / "var" / "test-models"
TRAIN_INPUTS = [
    ROOT / "config.yml",
    ROOT / "bot" / "domain.yml",
    ROOT / "bot" / "data",
    ROOT / "bot" / "components",
]
# What `rasa train` learns from and `rasa data validate` checks: the same files, named once.
TRAINING_DATA = ("--config", "config.yml", "--domain", "bot/domain.yml", "--data", "bot/data")
TWILIO_TEST_TOKEN = "test-twilio-auth-token"
TWILIO_TEST_PUBLIC_URL = "https://assist.example.test"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for base in TRAIN_INPUTS:
        files = sorted(base.rglob("*.yml")) + sorted(base.glob("*.py")) if base.is_dir() else [base]
        for path in files:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_secrets() -> None:
    """Random secrets for this process and the servers it starts, unless already set (the test
    suite's conftest sets them; `make bench` and other scripts get them here)."""
    for name in ("PORTAL_JWT_SECRET", "GENESIS_ACTION_TOKEN", "RASA_API_TOKEN"):
        if not os.environ.get(name):
            os.environ[name] = secrets.token_urlsafe(48)


def base_env() -> dict[str, str]:
    ensure_secrets()
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="3",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        # The Twilio channels refuse everything without a token; tests sign with this one,
        # against a public URL unlike the loopback one (as behind a proxy).
        TWILIO_AUTH_TOKEN=TWILIO_TEST_TOKEN,
        TWILIO_PUBLIC_BASE_URL=TWILIO_TEST_PUBLIC_URL,
        # The longest a Twilio turn may take before "try again" (the channel's own cap): the
        # tests judge what the assistant says, on a two-core machine that may be busy.
        TWILIO_REPLY_TIMEOUT_SECONDS="12",
    )
    return env


def trained_model() -> Path:
    """The model for the current config, domain and data; trained only when they changed.

    Trained into a private folder and renamed into place, so several checkouts sharing the
    cache (or two test runs at once) never read a half-written archive.
    """
    target = MODEL_CACHE / f"{_fingerprint()}.tar.gz"
    if target.exists():
        return target
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=MODEL_CACHE, prefix="training-") as scratch:
        subprocess.run(
            [
                str(VENV_BIN / "rasa"),
                "train",
                *TRAINING_DATA,
                "--out",
                scratch,
                "--fixed-model-name",
                target.name.removesuffix(".tar.gz"),
                "--quiet",
            ],  # fmt: skip
            cwd=ROOT,
            env=base_env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        os.replace(Path(scratch) / target.name, target)
    return target


def live_database(stack: Stack) -> Path:
    """The running servers' SQLite portal, which the replaying tests reset between runs."""
    assert stack.database_url.startswith("sqlite:///"), "resetting the portal needs SQLite"
    return Path(stack.database_url.removeprefix("sqlite:///"))


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: safe with WAL files and with the servers connected to `target`."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@contextmanager
def seeded_portal(stack: Stack, folder: Path) -> Iterator[Path]:
    """A freshly seeded portal in `folder` to copy over the live one before each run; the live
    one is put back as it was afterwards."""
    pristine, saved = folder / "pristine.db", folder / "saved.db"
    database = Database(f"sqlite:///{pristine}")
    database.create_schema()
    seed(database)
    database.dispose()
    live = live_database(stack)
    copy_database(live, saved)
    yield pristine
    copy_database(saved, live)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    rasa_url: str
    actions_url: str
    database_url: str
    web_port: int  # where `running_web` serves the page; the only origin the chat accepts
    log_dir: Path
    api_token: str = field(default_factory=lambda: os.environ.get("RASA_API_TOKEN", ""))

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def api(self, path: str) -> str:
        """An HTTP API URL with the token the launcher gave Rasa (401 without it)."""
        sep = "&" if "?" in path else "?"
        return f"{self.rasa_url}{path}{sep}{urllib.parse.urlencode({'token': self.api_token})}"

    def tracker(self, conversation_id: str) -> dict[str, Any]:
        quoted = urllib.parse.quote(conversation_id, safe=":+")
        with urllib.request.urlopen(self.api(f"/conversations/{quoted}/tracker"), timeout=30) as r:
            return json.loads(r.read())

    def forget(self, conversation_id: str) -> None:
        """Empty a conversation's tracker (a phone number's SMS conversation is reused)."""
        quoted = urllib.parse.quote(conversation_id, safe=":+")
        request = urllib.request.Request(
            self.api(f"/conversations/{quoted}/tracker/events"),
            data=b"[]",
            headers={"Content-Type": "application/json"},
            method="PUT",
        )
        with urllib.request.urlopen(request, timeout=30):
            pass

    def say(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One turn through the REST channel; the bot's messages in order."""
        body = json.dumps({"sender": sender, "message": text, "metadata": metadata or {}})
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def parse(self, text: str) -> dict[str, Any]:
        request = urllib.request.Request(
            self.api("/model/parse"),
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


@contextmanager
def running_stack(model: Path, database_url: str, log_dir: Path) -> Iterator[Stack]:
    """Action server and Rasa server on free loopback ports; both stopped afterwards."""
    env = base_env()
    env["PORTAL_DATABASE_URL"] = database_url
    actions_port, rasa_port, web_port = free_port(), free_port(), free_port()
    env["GENESIS_ACTION_URL"] = f"http://127.0.0.1:{actions_port}/webhook"
    env["GENESIS_CORS_ORIGINS"] = f"http://127.0.0.1:{web_port}"  # the page's, for the socket
    log_dir.mkdir(parents=True, exist_ok=True)
    launch = [str(VENV_BIN / "python"), "-m", "bot.launch"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with open(log_dir / "actions.log", "wb") as actions_log:
            processes.append(
                subprocess.Popen(
                    [*launch, "actions", "--port", str(actions_port)],
                    cwd=ROOT,
                    env=env,
                    stdout=actions_log,
                    stderr=subprocess.STDOUT,
                )
            )
        with open(log_dir / "rasa.log", "wb") as rasa_log:
            processes.append(
                subprocess.Popen(
                    [*launch, "rasa", "--model", str(model), "--port", str(rasa_port)],
                    cwd=ROOT,
                    env=env,
                    stdout=rasa_log,
                    stderr=subprocess.STDOUT,
                )
            )
        token = env["RASA_API_TOKEN"]
        wait_serving(f"http://127.0.0.1:{actions_port}/health", processes[0], 60)
        wait_serving(f"http://127.0.0.1:{rasa_port}/status?token={token}", processes[1], 600)
        stack = Stack(
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            actions_url=f"http://127.0.0.1:{actions_port}",
            database_url=database_url,
            web_port=web_port,
            log_dir=log_dir,
            api_token=token,
        )
        # The first turn traces the encoder's TensorFlow graph and opens the databases: seconds
        # on a busy machine, which a test of a Twilio channel (12 s to answer) must not pay.
        stack.say("warm-up", "hello")
        yield stack
    finally:
        _stop(processes)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def running_web(stack: Stack, **settings: str) -> Iterator[str]:
    """The portal page (`python -m web`) on the stack's web port, talking to its Rasa server.

    `settings` are extra environment variables (e.g. PORTAL_WEB_TOKEN_MINUTES="1").
    """
    env = base_env()
    env.update(
        PORTAL_DATABASE_URL=stack.database_url,
        PORTAL_WEB_HOST="127.0.0.1",
        PORTAL_WEB_PORT=str(stack.web_port),
        PORTAL_CHAT_URL=stack.rasa_url,
        **settings,
    )
    with open(stack.log_dir / "web.log", "ab") as web_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "web"],
            cwd=ROOT,
            env=env,
            stdout=web_log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_serving(f"{stack.web_url}/health", process, 60)
        yield stack.web_url
    finally:
        _stop([process])
