"""What the browser tests do on the portal page: sign in, chat, wait for answers, run axe."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.bot.stack import ROOT

OUTPUT = ROOT / "test-output" / "web"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ANSWER_MS = 60_000  # a turn on this shared 2-core machine, first turns included
# Headless Chromium has speechSynthesis but no voices: record what would have been said.
SPEECH_STUB = """
window.__spoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = function (utterance) { window.__spoken.push(utterance.text); };
  window.speechSynthesis.cancel = function () {};
}
"""


def sign_in(page: Page, url: str, identity: str) -> None:
    """Open the portal and sign in as a demo identity (`rivera-sponsor`, ...); wait for chat."""
    if not page.url.startswith(url):
        page.goto(url)
    expect(page.locator(f'#identity option[value="{identity}"]')).to_be_attached()
    page.select_option("#identity", identity)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account")).to_be_visible()
    expect(page.locator("#chat-input")).to_be_enabled(timeout=ANSWER_MS)


def bot_messages(page: Page) -> Locator:
    return page.locator('#chat-log [data-sender="bot"]')


def say(page: Page, text: str) -> Locator:
    """Type and send a message; returns the first bot message of the answer, once it's all in."""
    before = bot_messages(page).count()
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    expect(bot_messages(page)).not_to_have_count(before, timeout=ANSWER_MS)
    settle(page)
    return bot_messages(page).nth(before)


def settle(page: Page, quiet_seconds: float = 2.0) -> None:
    """Wait until no bot message has arrived for a while: a turn's replies come one by one."""
    deadline = time.monotonic() + ANSWER_MS / 1000
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_count = bot_messages(page).count()
        if now_count != count:
            count, since = now_count, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        page.wait_for_timeout(200)


def wait_for_bot(page: Page, count: int) -> None:
    expect(bot_messages(page)).to_have_count(count, timeout=ANSWER_MS)


def log_text(page: Page) -> str:
    return page.locator("#chat-log").inner_text()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA rules on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]


def assert_no_axe_violations(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe on {where}:\n{json.dumps(violations, indent=2)}"


def decoded_claims(token: str) -> dict[str, Any]:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
