"""The portal page's chat in a real browser (Debian's Chromium) against the real running stack.

Every conversation is judged by its outcome: the table shows the patient's stored results, the
words read aloud are the phone's words for them, the slot booked in the database is the one
whose button was pressed, another patient's token never reaches the first one's conversation.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.actions.records import MAX_LISTED, lab_line
from portal_core import records
from portal_core.actors import Actor
from portal_core.clock import utcnow
from portal_core.database import Database
from portal_core.models import Appointment, Patient, Slot
from tests.bot.stack import ROOT, Stack, free_port
from tests.web.helpers import (
    ANSWER_MS,
    SPEECH_STUB,
    assert_no_axe_violations,
    bot_messages,
    decoded_claims,
    log_text,
    normalize,
    say,
    settle,
    sign_in,
    wait_for_bot,
)
from wording import speech
from wording.catalogue import result_flag

pytestmark = pytest.mark.slow

RESULTS_HEADING = "Your most recent lab results, newest first:"


def patient(portal: Database, first: str, last: str) -> Patient:
    with portal.transaction() as session:
        row = session.scalars(
            select(Patient).where(Patient.first_name == first, Patient.last_name == last)
        ).one()
        session.expunge(row)
        return row


def ask_for_results(page: Page) -> None:
    """'Show my lab results', answering 'who is this for?' with 'me' if it is asked."""
    first = say(page, "Show my lab results")
    if page.locator("#chat-log table").count() == 0:
        assert "who" in first.inner_text().lower(), first.inner_text()
        first.get_by_role("button", name=re.compile(r"^(Me|Myself|Marcus)", re.I)).first.click()
        settle(page)
    expect(page.locator("#chat-log table")).to_be_visible(timeout=ANSWER_MS)


def chat_token(page: Page, web: str) -> str:
    """A fresh chat token for the page's sign-in, asked of the portal as the page asks."""
    reply = page.request.post(f"{web}/api/token", data={}, headers={"Origin": web})
    assert reply.ok, reply.text()
    return str(reply.json()["token"])


# ---- sign in, results, Listen ------------------------------------------------------------


def test_results_are_a_table_and_listen_reads_what_the_phone_says(
    speech_page: Page, portal_web: str, portal: Database, output_dir: Path
) -> None:
    page = speech_page
    sign_in(page, portal_web, "rivera-sponsor")
    expect(page.locator("#account-name")).to_have_text("Marcus Rivera")
    ask_for_results(page)

    marcus = patient(portal, "Marcus", "Rivera")
    labs = records.lab_results(
        portal, Actor(marcus.id, "web"), marcus.id, limit=MAX_LISTED, now=utcnow()
    )
    rows = page.locator("#chat-log table tbody tr")
    expect(rows).to_have_count(len(labs))
    for row, lab in zip(rows.all(), labs, strict=True):
        cells = normalize(row.inner_text())
        assert lab.test_name in cells and lab.value in cells, cells
        if lab.reference_range:
            assert lab.reference_range in cells
        assert result_flag(lab.flag).lower() in cells.lower()
        if not lab.reviewed:
            assert "Not yet reviewed by your care team" in cells
    assert any(not lab.reviewed for lab in labs)  # the seeded CMP: the note must show

    # Listen: the speech the phone line gives for the same lines, through speechSynthesis.
    rows.first.get_by_role("button", name=f"Listen to {labs[0].test_name}").click()
    spoken = page.evaluate("window.__spoken")
    assert spoken == [speech.speak(lab_line(labs[0]))]
    assert not re.search(r"\d", spoken[0]) and "mg/dL" not in spoken[0]
    page.get_by_role("button", name="Listen to all results").click()
    whole = RESULTS_HEADING + "\n" + "\n".join(f"- {lab_line(lab)}" for lab in labs)
    assert page.evaluate("window.__spoken")[-1] == speech.speak(whole)

    page.screenshot(path=str(output_dir / "results-desktop.png"))


# ---- booking with the buttons ------------------------------------------------------------


def test_booking_with_the_buttons_books_the_slot_that_was_pressed(
    page: Page, portal_web: str, portal: Database
) -> None:
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(str(frame))))
    sign_in(page, portal_web, "rivera-spouse")
    elena = patient(portal, "Elena", "Rivera")
    assert "When would you like" in say(page, "Book a wellness exam for me").inner_text()
    offer = say(page, "next week")
    slots = offer.get_by_role("button").filter(has_not_text="None of these")
    assert slots.count() >= 2, offer.inner_text()
    chosen = slots.last  # not simply the first: the one pressed must be the one booked
    title = chosen.inner_text().strip()
    before = bot_messages(page).count()
    chosen.click()
    wait_for_bot(page, before + 1)
    expect(page.locator('#chat-log [data-sender="user"]').last).to_contain_text(title)
    question = bot_messages(page).nth(before)
    expect(question).to_contain_text(title)
    slot_id = int(re.findall(r'\\"choice\\": \\"(\d+)\\"', "".join(sent))[-1])

    before = bot_messages(page).count()
    question.get_by_role("button", name="Yes").click()
    wait_for_bot(page, before + 1)
    expect(bot_messages(page).nth(before)).to_contain_text("You're booked")

    with portal.transaction() as session:
        booked = session.scalars(
            select(Appointment).where(
                Appointment.patient_id == elena.id, Appointment.status == "booked"
            )
        ).all()
        assert slot_id in {a.slot_id for a in booked}
        appointment = next(a for a in booked if a.slot_id == slot_id)
        assert appointment.channel == "web" and appointment.booked_by_id == elena.id
        assert session.get(Slot, slot_id) is not None
    # The choices of the finished question can't be pressed again.
    expect(question.get_by_role("button", name="Yes")).to_be_disabled()


# ---- the emergency banner -----------------------------------------------------------------


TYPING_WATCH = """() => {
  window.__typingShown = false;
  const typing = document.getElementById("chat-typing");
  new MutationObserver(() => { if (!typing.hidden) { window.__typingShown = true; } })
    .observe(typing, {attributes: true, attributeFilter: ["hidden"]});
}"""


def test_an_emergency_gets_a_banner_with_tap_to_call(page: Page, portal_web: str) -> None:
    sign_in(page, portal_web, "torres")
    page.evaluate(TYPING_WATCH)
    say(page, "I have crushing chest pain and can't breathe")
    # The typing indicator showed while the assistant worked, and went away with its answer.
    assert page.evaluate("window.__typingShown") is True
    expect(page.locator("#chat-typing")).to_be_hidden()
    banner = page.get_by_role("alert").filter(has_text="911")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Call 911 now")
    call = banner.get_by_role("link", name="Call 911")
    expect(call).to_have_attribute("href", "tel:911")
    box = call.bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44

    say(page, "I want to kill myself")
    crisis = page.locator('[data-emergency="crisis"]')
    expect(crisis).to_be_visible()
    expect(crisis.get_by_role("link", name=re.compile("988"))).to_have_attribute("href", "tel:988")
    expect(crisis.get_by_role("link", name="Text 838255")).to_have_attribute("href", "sms:838255")
    # The page-wide notice is there from the start.
    expect(page.locator(".notice")).to_contain_text("This assistant is automated")


# ---- reload, sign-out ---------------------------------------------------------------------


def test_a_reload_keeps_the_conversation_and_its_place(page: Page, portal_web: str) -> None:
    sign_in(page, portal_web, "rivera-spouse")
    assert "When would you like" in say(page, "Book a wellness exam for me").inner_text()
    before = normalize(log_text(page))

    page.reload()
    expect(page.locator("#account-name")).to_have_text("Elena Rivera")
    expect(bot_messages(page)).to_have_count(1, timeout=ANSWER_MS)
    assert normalize(log_text(page)) == before
    # The form is still waiting for a day: the conversation went on where it was.
    offer = say(page, "next week in the afternoon")
    expect(offer.get_by_role("button", name="None of these")).to_be_visible()


def test_after_sign_out_nothing_of_the_conversation_is_shown(page: Page, portal_web: str) -> None:
    sign_in(page, portal_web, "rivera-sponsor")
    ask_for_results(page)
    first_result = page.locator("#chat-log tbody th").first.inner_text().splitlines()[0]
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#chat-log > *")).to_have_count(0)
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    page.reload()
    expect(page.locator("#sign-in")).to_be_visible()
    page.wait_for_timeout(1500)  # time for any (wrong) replay to arrive
    expect(page.locator("#chat-log > *")).to_have_count(0)
    assert first_result not in page.locator("body").inner_text()
    expect(page.locator("#account")).to_be_hidden()

    sign_in(page, portal_web, "rivera-spouse")  # the next person on the same browser
    page.wait_for_timeout(1500)
    expect(page.locator("#chat-log > *")).to_have_count(0)
    assert "lab results" not in log_text(page).lower()
    assert first_result not in page.locator("body").inner_text()


def test_when_the_sign_in_ends_the_page_says_so_and_forgets_the_chat(
    page: Page, portal_web: str
) -> None:
    page.clock.install()
    sign_in(page, portal_web, "rivera-sponsor")
    say(page, "hello")
    with page.expect_response(f"{portal_web}/api/token") as refreshed:
        page.clock.run_for(9 * 60 * 1000)  # the token lives 10 minutes: refreshed before then
    assert refreshed.value.ok
    expect(page.locator("#chat-input")).to_be_enabled()

    # The sign-in ends on the server (as when it times out or is ended from elsewhere) while
    # this browser still holds its cookie.
    cookie = next(c for c in page.context.cookies() if c["name"] == "genesis_portal_sign_in")
    elsewhere = urllib.request.Request(
        f"{portal_web}/api/sign-out",
        data=b"{}",
        headers={
            "Content-Type": "application/json",
            "Cookie": f"{cookie['name']}={cookie['value']}",
        },
    )
    with urllib.request.urlopen(elsewhere, timeout=30) as response:
        assert response.status == 200
    with page.expect_response(f"{portal_web}/api/token") as refused:
        page.clock.run_for(9 * 60 * 1000)
    assert refused.value.status == 401
    expect(page.locator("#session-state")).to_contain_text("Your session has ended")
    expect(page.locator("#chat-log > *")).to_have_count(0)
    expect(page.locator("#chat-input")).to_be_disabled()


# ---- binding: another patient, another origin ---------------------------------------------

ATTEMPT = """
async ([url, token, conversation]) => {
  const got = {connected: false, error: null, history: null, replies: [], ended: null};
  const socket = io(url, {transports: ["websocket"], auth: {token}, reconnection: false});
  socket.on("connect", () => {
    got.connected = true;
    socket.emit("session_request", {session_id: conversation});
    socket.emit("user_uttered", {
      message: "Show my lab results", session_id: conversation,
      metadata: {portal_token: "forged", channel: "web", patient_id: 1},
    });
  });
  socket.on("connect_error", (e) => { got.error = String(e && e.message); });
  socket.on("history", (h) => { got.history = h; });
  socket.on("bot_uttered", (m) => { got.replies.push(m); });
  socket.on("session_ended", (m) => { got.ended = m; });
  await new Promise((resolve) => setTimeout(resolve, 12000));
  socket.disconnect();
  return got;
}
"""


def test_another_patients_token_cannot_reach_the_first_patients_conversation(
    browser: Browser, portal_web: str, stack: Stack, portal: Database
) -> None:
    marcus_tab = browser.new_context().new_page()
    sign_in(marcus_tab, portal_web, "rivera-sponsor")
    ask_for_results(marcus_tab)
    marcus = patient(portal, "Marcus", "Rivera")
    token = chat_token(marcus_tab, portal_web)
    conversation = f"web:p{marcus.id}:{decoded_claims(token)['sid']}"
    marcus_log = normalize(log_text(marcus_tab))
    results_before = _tracker_user_texts(stack, conversation)

    elena_tab = browser.new_context().new_page()
    sign_in(elena_tab, portal_web, "rivera-spouse")
    elena_token = chat_token(elena_tab, portal_web)
    got = elena_tab.evaluate(ATTEMPT, [stack.rasa_url, elena_token, conversation])

    assert got["connected"] and got["history"] == [], got
    answer = json.dumps(got["replies"])
    assert "Total cholesterol" not in answer and "Marcus" not in answer  # Elena's own record
    assert _tracker_user_texts(stack, conversation) == results_before
    assert normalize(log_text(marcus_tab)) == marcus_log  # nothing arrived in Marcus's chat

    # A socket can't be switched to another patient either.
    refused = marcus_tab.evaluate(
        """async ([url, token, other]) => {
             const s = io(url, {transports: ["websocket"], auth: {token}, reconnection: false});
             await new Promise((r) => s.on("connect", r));
             const ack = await s.emitWithAck("refresh_token", {token: other});
             s.disconnect();
             return ack;
           }""",
        [stack.rasa_url, token, elena_token],
    )
    assert refused["ok"] is False
    # And a token that isn't the portal's gets no socket at all.
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    got = elena_tab.evaluate(ATTEMPT, [stack.rasa_url, forged, conversation])
    assert not got["connected"] and got["error"], got


def _tracker_user_texts(stack: Stack, conversation: str) -> list[str]:
    return [
        e.get("text") for e in stack.tracker(conversation)["events"] if e.get("event") == "user"
    ]


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    """A page on another origin (another loopback port) that carries the socket.io client."""
    shutil.copy(ROOT / "web/node_modules/socket.io-client/dist/socket.io.min.js", tmp_path)
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><title>elsewhere</title>'
        '<script src="socket.io.min.js"></script></html>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_from_another_origin_cannot_connect(
    page: Page, portal_web: str, stack: Stack, other_origin: str
) -> None:
    sign_in(page, portal_web, "rivera-sponsor")
    token = chat_token(page, portal_web)
    probe = """async ([url, token]) => {
        const s = io(url, {transports: ["websocket"], auth: {token}, reconnection: false});
        const r = await new Promise((resolve) => {
          s.on("connect", () => resolve("connected"));
          s.on("connect_error", (e) => resolve("refused: " + e.message));
          setTimeout(() => resolve("timeout"), 15000);
        });
        s.disconnect();
        return r;
    }"""
    # The same probe with the same valid token: from the portal's origin it connects ...
    assert page.evaluate(probe, [stack.rasa_url, token]) == "connected"
    # ... and from any other origin the chat server refuses the socket.
    page.goto(other_origin)
    assert page.evaluate(probe, [stack.rasa_url, token]).startswith("refused")


# ---- accessibility, keyboard, narrow screens, screenshots --------------------------------


def test_axe_finds_no_wcag_violations_signed_out_and_in_a_full_conversation(
    speech_page: Page, portal_web: str, output_dir: Path
) -> None:
    page = speech_page
    page.goto(portal_web)
    expect(page.locator('#identity option[value="rivera-sponsor"]')).to_be_attached()
    assert_no_axe_violations(page, "the signed-out page")
    sign_in(page, portal_web, "rivera-sponsor")
    ask_for_results(page)
    say(page, "Book a wellness exam for me")
    say(page, "next week in the morning")
    say(page, "I have crushing chest pain and can't breathe")
    page.evaluate("document.getElementById('chat-log').scrollTop = 0")
    assert_no_axe_violations(page, "a conversation with a table, choices and a banner")
    page.set_viewport_size({"width": 1280, "height": 1500})  # room for the whole conversation
    page.evaluate("document.getElementById('chat-log').scrollTop = 1e6")
    page.screenshot(path=str(output_dir / "portal-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#chat").scroll_into_view_if_needed()
    assert_no_axe_violations(page, "the same at phone width")
    page.locator('#chat-log [data-emergency="medical"]').scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "portal-phone.png"))


FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const top = document.elementFromPoint(x, y);
  return {
    id: el.id, tag: el.tagName, text: (el.innerText || el.value || "").slice(0, 60),
    outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
    visible: box.width > 0 && box.height > 0 && box.top >= 0 && box.bottom <= innerHeight,
    uncovered: !!top && (el === top || el.contains(top)),
  };
}"""


def _focus(page: Page) -> dict[str, Any]:
    return page.evaluate(FOCUS_STYLE)


def _tab_to(page: Page, matches: Any, *, back: bool = False, limit: int = 40) -> dict[str, Any]:
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = _focus(page)
        assert focused["outline"] != "none" and focused["width"] >= 2, focused
        assert focused["visible"] and focused["uncovered"], focused
        if matches(focused):
            return focused
    raise AssertionError("never reached the element by keyboard")


def test_keyboard_alone_signs_in_chats_and_presses_choices(page: Page, portal_web: str) -> None:
    page.goto(portal_web)
    expect(page.locator('#identity option[value="rivera-spouse"]')).to_be_attached()
    first = _tab_to(page, lambda f: True)
    assert first["text"].startswith("Skip to the chat")
    _tab_to(page, lambda f: f["id"] == "identity")
    page.keyboard.type("Elena")  # a select picks the option typed
    _tab_to(page, lambda f: f["text"] == "Sign in")
    page.keyboard.press("Enter")
    expect(page.locator("#chat-input")).to_be_focused(timeout=ANSWER_MS)

    page.keyboard.type("Book a wellness exam for me")
    page.keyboard.press("Enter")
    wait_for_bot(page, 1)
    page.keyboard.type("next week in the morning")
    page.keyboard.press("Enter")
    wait_for_bot(page, 2)
    # From the message box, Shift+Tab reaches the newest choices first.
    choice = _tab_to(
        page, lambda f: f["tag"] == "BUTTON" and f["text"] == "None of these", back=True
    )
    assert choice
    page.keyboard.press("Enter")
    wait_for_bot(page, 3)
    expect(page.locator("#chat-input")).to_be_focused()
    assert "shall i ask" in bot_messages(page).last.inner_text().lower()


def test_the_page_reflows_at_320_px_with_targets_of_at_least_24_px(
    browser: Browser, portal_web: str, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="en-US")
    page = context.new_page()
    page.add_init_script(SPEECH_STUB)
    sign_in(page, portal_web, "rivera-sponsor")
    ask_for_results(page)
    say(page, "I have crushing chest pain and can't breathe")
    time.sleep(0.5)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the page scrolls sideways at 320 px ({width} px wide)"
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('#chat *')]
              .filter((el) => el.getBoundingClientRect().right > innerWidth + 1)
              .map((el) => el.tagName + '.' + el.className)"""
    )
    assert overflowing == []
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, select, textarea, a.call-link')]
              .filter((el) => el.offsetParent !== null)
              .map((el) => [el.innerText || el.id, el.getBoundingClientRect()])
              .filter(([, b]) => b.width < 24 || b.height < 24)
              .map(([name, b]) => `${name}: ${b.width}x${b.height}`)"""
    )
    assert small == []
    page.locator("#chat-log table").scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "results-320px.png"))
    context.close()
