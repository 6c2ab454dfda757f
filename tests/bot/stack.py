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
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODEL_CACHE = ROOT / "var" / "test-models"
TRAIN_INPUTS = [
    ROOT / "config.yml",
    ROOT / "bot" / "domain.yml",
    ROOT / "bot" / "data",
    ROOT / "bot" / "components",
]
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


def base_env() -> dict[str, str]:
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
    )
    return env


def trained_model() -> Path:
    """The model for the current config, domain and data; trained only when they changed."""
    target = MODEL_CACHE / f"{_fingerprint()}.tar.gz"
    if target.exists():
        return target
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(VENV_BIN / "rasa"),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "bot/domain.yml",
            "--data",
            "bot/data",
            "--out",
            str(MODEL_CACHE),
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
            "--quiet",
        ],  # fmt: skip
        cwd=ROOT,
        env=base_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}: {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {seconds} s")


@dataclass
class Stack:
    rasa_url: str
    actions_url: str
    database_url: str
    web_port: int  # where `portal_web` serves the page; the only origin the chat accepts
    log_dir: Path

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

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
            f"{self.rasa_url}/model/parse",
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
    env["PORTAL_WEB_ORIGINS"] = f"http://127.0.0.1:{web_port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    endpoints = log_dir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n')
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with open(log_dir / "actions.log", "wb") as actions_log:
            processes.append(
                subprocess.Popen(
                    [
                        str(VENV_BIN / "rasa"),
                        "run",
                        "actions",
                        "--actions",
                        "bot.actions",
                        "--port",
                        str(actions_port),
                    ],  # fmt: skip
                    cwd=ROOT,
                    env=env,
                    stdout=actions_log,
                    stderr=subprocess.STDOUT,
                )
            )
        with open(log_dir / "rasa.log", "wb") as rasa_log:
            processes.append(
                subprocess.Popen(
                    [
                        str(VENV_BIN / "rasa"),
                        "run",
                        "--enable-api",
                        "--model",
                        str(model),
                        "--endpoints",
                        str(endpoints),
                        "--credentials",
                        "bot/credentials.yml",
                        "--interface",
                        "127.0.0.1",
                        "--port",
                        str(rasa_port),
                    ],  # fmt: skip
                    cwd=ROOT,
                    env=env,
                    stdout=rasa_log,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_for(f"http://127.0.0.1:{actions_port}/health", processes[0], 60)
        _wait_for(f"http://127.0.0.1:{rasa_port}/status", processes[1], 420)  # shared, loaded CI
        yield Stack(
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            actions_url=f"http://127.0.0.1:{actions_port}",
            database_url=database_url,
            web_port=web_port,
            log_dir=log_dir,
        )
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
        _wait_for(f"{stack.web_url}/health", process, 60)
        yield stack.web_url
    finally:
        _stop([process])
