"""The end-to-end test stories: against the trained model, and against the running assistant.

`rasa test core --e2e` is what evaluates both halves of the model in Rasa 3.6: it reads the
conversation test files (only those named `test_*.yml`), runs every `user:` text through the NLU
pipeline and compares intent and entities (a retrieval intent such as `faq/refill_time` down to
the ResponseSelector's pick), then asks the policies for every action. Without `--e2e` the texts
are ignored and only the dialogue is checked. Stories whose texts, intents and actions are all
the same are evaluated once, so each story needs its own wording.

Custom actions never run in `rasa test`; the stories' slot and loop events stand in for them. When
a story expects anything but the active form after a user turn, Rasa emulates the form rejecting
that turn (`ActionExecutionRejected`) and then checks the rules, without knowing whether the real
validator would have rejected it: a story claiming that a form swallowed an emergency passes just
as well as the right one. Every story is therefore also replayed through the running servers (the
real validators and actions on a freshly seeded portal): the actions, form (de)activations and
the slot values a story names must be what the assistant actually does.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from sqlalchemy import select

from bot.actions import sealed
from bot.channels import portal_rest
from portal_core import web_tokens
from portal_core.database import Database
from portal_core.models import Patient
from tests.bot.stack import (
    ROOT,
    TRAINING_DATA,
    VENV_BIN,
    Stack,
    base_env,
    copy_database,
    live_database,
    seeded_portal,
)
from tests.bot.twilio_clients import SmsPhone, VoiceCall

STORIES = ROOT / "tests" / "bot" / "stories"
CONCERNS = (
    "appointments",
    "medications",
    "results",
    "messages",
    "help_and_fallback",
    "safety",
    "identity_and_proxy",
)
CHANNELS = {"web", "web-anonymous", "sms", "voice"}


def story_files() -> list[Path]:
    return sorted(STORIES.glob("*.yml"))


def stories() -> list[dict[str, Any]]:
    return [
        story
        for path in story_files()
        for story in (yaml.safe_load(path.read_text()) or {}).get("stories", [])
    ]


def rasa(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "rasa"), *args],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def readable(output: str) -> str:
    """Rasa's output without the progress bars and library deprecation chatter."""
    noise = re.compile(r"Deprecat|declare_namespace|pkg_resources|it/s\]|^\s*$")
    return "\n".join(line for line in output.splitlines() if not noise.search(line))


def test_every_concern_has_its_story_file_in_all_three_styles() -> None:
    names = {path.name for path in story_files()}
    assert names == {f"test_{concern}.yml" for concern in CONCERNS}, (
        "conversation test files must be named test_<concern>.yml, or rasa test --e2e skips them"
    )
    found = stories()
    assert len(found) >= 45
    channels = [str((story.get("metadata") or {}).get("channel")) for story in found]
    assert set(channels) <= CHANNELS, "every story names its channel in `metadata`"
    assert {"web", "sms", "voice"} <= set(channels)
    for story in found:
        steps = story["steps"]
        user_turns = [step for step in steps if "user" in step]
        assert user_turns and all("intent" in step for step in user_turns), story["story"]


@pytest.mark.slow
def test_stories_pass_against_the_trained_model(model: Path, tmp_path: Path) -> None:
    args = ["test", "core", "--e2e", "--model", str(model), "--stories", str(STORIES)]
    args += ["--no-plot", "--out"]
    result = rasa(*args, str(tmp_path / "strict"), "--fail-on-prediction-errors")
    if result.returncode != 0:
        # The strict run stops at the first wrong prediction; a second run writes them all down.
        rasa(*args, str(tmp_path / "all"))
        failed = tmp_path / "all" / "failed_test_stories.yml"
        report = failed.read_text() if failed.exists() else "(no failed_test_stories.yml)"
        pytest.fail(
            f"rasa test failed (exit {result.returncode}).\n\nFailed stories (# predicted: ...):"
            f"\n{report}\n\nOutput:\n{readable(result.stdout + result.stderr)[-6000:]}"
        )
    evaluated = re.search(r"Evaluating (\d+) stories", result.stdout + result.stderr)
    assert evaluated, readable(result.stdout + result.stderr)[-3000:]
    assert int(evaluated.group(1)) == len(stories()), (
        "rasa test evaluated fewer stories than the files hold: a file not named test_*.yml is "
        "skipped, and stories with the same texts, intents and actions are evaluated once"
    )
    failed = (tmp_path / "strict" / "failed_test_stories.yml").read_text()
    assert "None of the test stories failed" in failed, failed


def test_training_data_validates_without_warnings() -> None:
    result = rasa(
        "data",
        "validate",
        "--fail-on-warnings",
        *TRAINING_DATA,
    )
    assert result.returncode == 0, readable(result.stdout + result.stderr)[-6000:]


# ---- the same stories through the running servers --------------------------------------------

ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
NOT_COMPARED = {"action_listen", "action_session_start"}
Step = dict[str, Any]


def replay_params() -> list[Any]:
    return [
        pytest.param(story, id=f"{path.stem.removeprefix('test_')}: {story['story']}")
        for path in story_files()
        for story in (yaml.safe_load(path.read_text()) or {}).get("stories", [])
    ]


@pytest.fixture(scope="module")
def fresh_portal(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A freshly seeded copy of the portal; the running one is put back as it was afterwards."""
    with seeded_portal(stack, tmp_path_factory.mktemp("replay")) as pristine:
        yield pristine


class Speaker(NamedTuple):
    id: int
    phone: str
    born: date
    level: str


def speaker(database_url: str, name: str) -> Speaker:
    first, last = name.split()
    database = Database(database_url)
    try:
        with database.transaction() as session:
            row = session.scalars(
                select(Patient).where(Patient.first_name == first, Patient.last_name == last)
            ).one()
            return Speaker(row.id, str(row.phone), row.date_of_birth, row.assurance_level)
    finally:
        database.dispose()


def web_metadata(who: Speaker, channel: str) -> dict[str, Any]:
    if channel == "web-anonymous":
        return {}
    return {"portal_token": web_tokens.issue_token(who.id, who.level)}


class Replay:
    """One story's conversation on its channel: REST for the web, signed Twilio for SMS and
    voice (the only way a phone identity reaches the assistant)."""

    def __init__(self, stack: Stack, who: Speaker, channel: str) -> None:
        self.stack, self.channel = stack, channel
        self.sms = SmsPhone(stack, who.phone).fresh() if channel == "sms" else None
        self.call = VoiceCall(stack, who.phone).start() if channel == "voice" else None
        self.sender = f"replay-{uuid.uuid4().hex[:12]}"
        self.metadata = web_metadata(who, channel) if channel.startswith("web") else {}

    @property
    def conversation(self) -> str:
        if self.sms is not None:
            return self.sms.conversation
        if self.call is not None:
            return self.call.conversation
        return portal_rest.conversation_id(self.sender, self.metadata.get("portal_token"))

    def say(self, text: str) -> list[str]:
        if self.sms is not None:
            return self.sms.messages(text)
        if self.call is not None:
            return [self.call.say(text)]
        return [str(r.get("text")) for r in self.stack.say(self.sender, text, self.metadata)]


def said_like(original: str, born: date) -> str:
    """The speaker's birth date, written the way the story writes it (the seed moves it daily)."""
    if re.search(r"[a-z]", original, re.IGNORECASE):
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(born.day % 10 if born.day // 10 != 1 else 0, "th")
        return f"{born:%B} {born.day}{suffix} {born.year}".lower()
    if re.match(r"\d\d/\d\d/", original):
        return f"{born:%m/%d/%Y}"
    return f"{born.month}/{born.day}/{born.year}"


def is_right_birth_date(steps: list[Step], index: int) -> bool:
    """A birth date is the speaker's own when verification succeeds before it is asked again."""
    for step in steps[index + 1 :]:
        for slot in step.get("slot_was_set") or []:
            if slot.get("dob") == "verified":
                return True
            if slot.get("requested_slot") == "dob":
                return False
    return False


def story_messages(story: dict[str, Any], born: date | None) -> list[str]:
    messages, requested = [], None
    steps = story["steps"]
    for index, step in enumerate(steps):
        for slot in step.get("slot_was_set") or []:
            requested = slot.get("requested_slot", requested)
        if "user" in step:
            text = ANNOTATION.sub(r"\1", str(step["user"]))
            if requested == "dob" and born and is_right_birth_date(steps, index):
                text = said_like(text, born)
            messages.append(text)
    return messages


def story_turns(steps: list[Step]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """(user turn, action or form activation; the slots set right after it) from a story."""
    turns: list[tuple[str, list[tuple[str, Any]]]] = []
    for step in steps:
        if "user" in step:
            turns.append(("USER", []))
        elif "action" in step:
            turns.append((str(step["action"]), []))
        elif "active_loop" in step:
            turns.append((f"loop:{step['active_loop']}", []))
        for slot in step.get("slot_was_set") or []:
            last_event(turns).extend(slot.items())
    return turns


def last_event(turns: list[tuple[str, list[tuple[str, Any]]]]) -> list[tuple[str, Any]]:
    """The slots of the latest user turn or action: a form's loop events belong to the form."""
    return next(slots for name, slots in reversed(turns) if not name.startswith("loop:"))


def tracker_turns(events: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, Any]]]]:
    turns: list[tuple[str, list[tuple[str, Any]]]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            turns.append(("USER", []))
        elif kind == "action" and event["name"] not in NOT_COMPARED:
            turns.append((str(event["name"]), []))
        elif kind == "active_loop":
            turns.append((f"loop:{event.get('name')}", []))
        elif kind == "slot" and turns:
            last_event(turns).append((event["name"], event["value"]))
    return turns


def same_slot(expected: tuple[str, Any], actual: tuple[str, Any]) -> bool:
    (name, value), (got_name, got_value) = expected, actual
    if name != got_name:
        return False
    if name == "dob" and re.fullmatch(r"\d{4}-\d\d-\d\d", str(value)):
        # The pending date waits sealed (bot/actions/sealed.py): it must open to a date.
        return bool(re.fullmatch(r"\d{4}-\d\d-\d\d", sealed.unseal(got_value) or ""))
    return value == got_value or str(value) == str(got_value)


@pytest.mark.slow
@pytest.mark.parametrize("story", replay_params())
def test_story_is_what_the_running_assistant_does(
    stack: Stack, fresh_portal: Path, story: dict[str, Any]
) -> None:
    copy_database(fresh_portal, live_database(stack))
    who = speaker(stack.database_url, story["metadata"]["speaker"])
    channel = story["metadata"]["channel"]
    born = who.born if channel in ("sms", "voice") else None
    replay = Replay(stack, who, channel)
    transcript = []
    for text in story_messages(story, born):
        replies = replay.say(text)
        transcript.append(f"> {text}")
        transcript += [f"  < {reply[:160]}" for reply in replies]
    events = stack.tracker(replay.conversation)["events"]
    expected, actual = story_turns(story["steps"]), tracker_turns(events)
    conversation = "\n".join(transcript)
    assert [name for name, _ in actual] == [name for name, _ in expected], conversation
    for (name, wanted), (_, got) in zip(expected, actual, strict=True):
        missing = [slot for slot in wanted if not any(same_slot(slot, g) for g in got)]
        assert not missing, f"after {name}: {missing} not in {got}\n{conversation}"
