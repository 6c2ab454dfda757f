"""The wording catalogue: every id used exists, every id is used, and the facts cannot drift.

Ids are found in the code with `ast`: the first argument of a `render("...")` call, and any string
constant shaped like an id in one of the catalogue's namespaces (`sign_in.cac` kept in a table and
rendered later); in portal_core, the ids its errors are raised with (`key=`) and their classes'
`default_key`. Rasa responses can't render from the catalogue (YAML text), so they are checked to
state the catalogue's facts verbatim.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from portal_core import errors, identity, scheduling
from portal_core.config import PROJECT_ROOT, Settings
from portal_core.models.records import REPORT_KINDS
from understanding.when import When
from wording import catalogue
from wording.catalogue import (
    FACTS,
    MESSAGES,
    RULE_FACTS,
    asked_days,
    render,
    rule_facts,
    say_error,
    variables,
)

# Where catalogue ids may be used (the catalogue itself excluded).
USERS = ("bot", "channel_state", "portal_core", "understanding", "web", "wording")
ID_SHAPE = re.compile(r"^[a-z_]+(?:\.[a-z0-9_]+)+$")
NAMESPACES = frozenset(key.split(".")[0] for key in MESSAGES)


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in USERS:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if path.name == "catalogue.py" and path.parent.name == "wording":
                continue
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _render_calls(tree: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        first = node.args[0] if node.args else None
        if name == "render" and isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield node


def _error_keys(tree: ast.Module) -> Iterator[ast.Constant]:
    """The domain's message ids: `key="..."` given to an error (either of `key="a" if x else
    "b"`) and an error class's `default_key = "..."` (portal_core's other strings, such as a
    constraint's `appointments.slot_id`, are not ids)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "key":
            given: ast.AST = node.value
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "default_key" for target in node.targets
        ):
            given = node.value
        else:
            continue
        for part in ast.walk(given):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                yield part


def _ids_in_code() -> dict[str, list[str]]:
    """Every id-shaped string constant in a catalogue namespace -> where it is."""
    found: dict[str, list[str]] = {}
    for path, tree in _sources():
        domain = path.relative_to(PROJECT_ROOT).parts[0] in ("portal_core", "understanding")
        for node in _error_keys(tree) if domain else ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ID_SHAPE.match(node.value)
                and node.value.split(".")[0] in NAMESPACES
            ):
                where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                found.setdefault(node.value, []).append(where)
    return found


def test_the_scan_finds_the_code() -> None:
    """A moved package would make the two tests below pass by finding nothing."""
    assert len(_ids_in_code()) > 20


def test_every_id_the_code_uses_exists() -> None:
    unknown = {key: where for key, where in _ids_in_code().items() if key not in MESSAGES}
    assert not unknown, f"ids used but not in wording/catalogue.py: {unknown}"


def test_every_id_in_the_catalogue_is_used() -> None:
    unused = sorted(MESSAGES.keys() - _ids_in_code().keys())
    assert not unused, f"ids in wording/catalogue.py that nothing uses: {unused}"


def test_every_render_call_gives_the_variables_its_message_names() -> None:
    wrong = []
    for path, tree in _sources():
        for call in _render_calls(tree):
            key = call.args[0].value  # type: ignore[attr-defined]
            if key not in MESSAGES or any(kw.arg is None for kw in call.keywords):
                continue  # unknown ids fail above; **values can't be checked here
            given = {kw.arg for kw in call.keywords} - {"settings"}
            if given != variables(key):
                where = f"{path.relative_to(PROJECT_ROOT)}:{call.lineno}"
                wrong.append(
                    f"{where} {key}: gives {sorted(given)}, needs {sorted(variables(key))}"
                )
    assert not wrong, "\n".join(wrong)


def test_every_error_raised_with_a_message_id_gives_the_data_its_message_names() -> None:
    """`say_error` renders with the error's data: a missing value would only fail when a patient
    hit that refusal. (Data built elsewhere than in the call can't be checked here.)"""
    wrong, checked = [], 0
    for path, tree in _sources():
        if path.relative_to(PROJECT_ROOT).parts[0] != "portal_core":
            continue
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            given_key = next((kw.value for kw in call.keywords if kw.arg == "key"), None)
            data = next((kw.value for kw in call.keywords if kw.arg == "data"), None)
            if given_key is None or not (data is None or isinstance(data, ast.Dict)):
                continue
            given = {k.value for k in data.keys if isinstance(k, ast.Constant)} if data else set()
            keys = [
                part.value
                for part in ast.walk(given_key)
                if isinstance(part, ast.Constant) and part.value in MESSAGES
            ]
            checked += len(keys)
            wrong.extend(
                f"{path.relative_to(PROJECT_ROOT)}:{call.lineno} {key}: gives {sorted(given)}, "
                f"needs {sorted(variables(key))}"
                for key in keys
                if given != variables(key)
            )
    assert checked > 40  # the scan found the raises
    assert not wrong, "\n".join(wrong)


def test_an_error_class_s_own_message_needs_no_data() -> None:
    """A class's `default_key` is said when it is raised bare, so it may name only facts."""
    seen = [errors.PortalError]
    for cls in seen:
        seen.extend(sub for sub in cls.__subclasses__() if sub not in seen)
    needy = {c.__qualname__: sorted(variables(c.default_key)) for c in seen}
    assert not {name: needs for name, needs in needy.items() if needs}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_renders_on_every_channel(key: str) -> None:
    values = {name: date(2026, 12, 4) for name in variables(key)}
    for channel in catalogue.CHANNELS:
        text = render(key, channel, settings=Settings(), **values)
        assert text.strip() and "{" not in text, (key, channel, text)


def test_a_wording_for_a_channel_falls_back_to_the_text() -> None:
    assert render("ask.dob", "sms") == render("ask.dob", "web") == MESSAGES["ask.dob"].text
    assert render("ask.dob", "voice") == MESSAGES["ask.dob"].voice
    with pytest.raises(ValueError):
        render("ask.dob", "fax")
    with pytest.raises(KeyError):
        render("no.such_message")


# --- Facts, once --------------------------------------------------------------------------------


def test_the_reply_window_follows_the_configured_rule() -> None:
    assert "within three business days" in render("message.sent", **_sent())
    five = Settings(message_reply_business_days=5)
    assert "within five business days" in render("message.sent", settings=five, **_sent())
    assert "within five business days" in render("ask.message_body_nurse", settings=five)


def test_the_search_window_is_the_scheduling_rule() -> None:
    assert scheduling.DEFAULT_WINDOW_DAYS == 28
    assert rule_facts(Settings())["search_window"] == "four weeks"
    assert "in the next four weeks" in render("booking.none_in_window", kind="x", clinic="y")


def test_the_booking_horizon_is_the_scheduling_rule() -> None:
    assert scheduling.MAX_AHEAD_DAYS == 180
    assert rule_facts(Settings())["booking_horizon"] == "six months"


# --- The domain's errors, said ------------------------------------------------------------------


def test_a_domain_error_with_a_message_id_is_said_from_the_catalogue_with_its_data() -> None:
    error = errors.InvalidInput(key="scheduling.limit", data={"most": 20})
    assert say_error(error) == "I can show between 1 and 20 times at once."
    assert error.user_message is None  # no sentence of its own
    assert "scheduling.limit" in str(error) and "20" in str(error)  # for logs: id and data
    # A subclass with its own details carries a message id just the same.
    refused = errors.RefillNotAllowed(
        key="scheduling.limit", data={"most": 3}, renewal_possible=True
    )
    assert say_error(refused) == "I can show between 1 and 3 times at once."
    assert refused.renewal_possible
    window = errors.InvalidInput(key="scheduling.too_far_ahead")
    assert say_error(window, "sms") == (
        "I can only look about six months ahead. Could you pick earlier days?"
    )


def test_a_domain_error_raised_without_a_message_id_says_its_class_message() -> None:
    assert say_error(errors.SlotUnavailable()) == (
        "Sorry, that appointment time is no longer available."
    )
    assert say_error(errors.SlotUnavailable(), "sms") == render("error.slot_unavailable", "sms")
    assert say_error(errors.InvalidInput()) == render(errors.InvalidInput.default_key)
    assert say_error(errors.PatientNotFound()) == (
        "Sorry, I couldn't find a patient record that matches."
    )  # a subclass's own words, not its base's
    assert say_error(errors.Unavailable("db down")) == (
        "Sorry, I can't reach our records right now, so nothing was changed. "
        "Please try again shortly."
    )
    assert "db down" in str(errors.Unavailable("db down"))


def test_an_error_for_operators_says_its_own_sentence() -> None:
    """The database-roles report and the seed command raise with sentences for operators."""
    assert say_error(errors.InvalidInput("Pick a role name.")) == "Pick a role name."

    class ForOperators(errors.Conflict):
        default_message = "The demo data is already there."

    assert say_error(ForOperators()) == "The demo data is already there."
    # A message id wins over a sentence of the class's.
    assert say_error(ForOperators(key="scheduling.limit", data={"most": 2})) == (
        "I can show between 1 and 2 times at once."
    )


def test_every_error_class_names_a_message_of_the_catalogue() -> None:
    """`default_key`s are class attributes a subclass inherits: each must exist (the scan
    above finds those written in portal_core; this catches any made up elsewhere)."""
    seen = [errors.PortalError]
    for cls in seen:
        seen.extend(sub for sub in cls.__subclasses__() if sub not in seen)
    assert len(seen) > 30
    missing = {c.__qualname__: c.default_key for c in seen if c.default_key not in MESSAGES}
    assert not missing, missing
    assert errors.Unavailable.default_key in MESSAGES


def test_the_indefinite_article_follows_the_sound_of_the_first_letter() -> None:
    assert catalogue.with_article("intake") == "an intake"
    assert catalogue.with_article("wellness exam") == "a wellness exam"
    assert catalogue.with_article("Orthopedic consult") == "an Orthopedic consult"


def test_a_message_id_the_catalogue_lacks_is_a_bug_not_a_silence() -> None:
    with pytest.raises(KeyError):
        say_error(errors.InvalidInput(key="scheduling.no_such_message"))


def test_rule_facts_are_named_once() -> None:
    assert not RULE_FACTS & FACTS.keys()


def _sent() -> dict[str, object]:
    return {"recipient": "Dr Kim", "reply_due_on": date(2026, 12, 4)}


def _responses() -> dict[str, list[str]]:
    """Every Rasa response's texts, by name, from the domain and the response files."""
    texts: dict[str, list[str]] = {}
    files = [PROJECT_ROOT / "bot" / "domain.yml", *(PROJECT_ROOT / "bot" / "data").rglob("*.yml")]
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variants in (data.get("responses") or {}).items():
            texts.setdefault(name, []).extend(v.get("text", "") for v in variants)
    return texts


def _said_by(name: str) -> str:
    return " ".join(_responses()[name])


def test_rasa_responses_state_the_catalogues_phone_numbers() -> None:
    """Rasa responses are literal text: each number they give must be the catalogue's."""
    gsc = FACTS["global_service_center"]
    nurse_number, option = FACTS["nurse_advice_line"].split(", option ")
    assert gsc in _said_by("utter_faq/global_service_center")
    assert gsc in _said_by("utter_faq/overseas_support")
    assert gsc in _said_by("utter_out_of_scope")
    for name in ("utter_faq/message_response_time", "utter_faq/nurse_advice_line"):
        assert nurse_number in _said_by(name) and f"option {option}" in _said_by(name), name
    # No response gives a toll-free number the catalogue doesn't know.
    known = {gsc, nurse_number}
    for name, texts in _responses().items():
        for number in re.findall(r"1-800-\d{3}-\d{4}", " ".join(texts)):
            assert number in known, (name, number)


def test_rasa_responses_state_the_catalogues_windows() -> None:
    days = Settings().message_reply_business_days
    assert f"within {days} business days" in _said_by("utter_faq/message_response_time")
    renewal = FACTS["renewal_business_days"]
    assert renewal == "three"
    assert "can take up to 3 business days" in _said_by("utter_faq/refill_time")


def test_the_domains_refusals_state_the_catalogues_numbers() -> None:
    gsc = FACTS["global_service_center"]
    assert gsc in say_error(errors.LockedOut())
    assert gsc in say_error(
        identity.PhoneLocked(datetime(2026, 12, 1, 10), datetime(2026, 12, 1, 9))
    )
    assert gsc in say_error(errors.VerificationFailed(key="identity.cannot_confirm"))


def test_contact_details_are_changed_in_deers_not_here() -> None:
    """(Moved from tests/portal_core/test_people.py: the portal has no service that changes
    them, so what the assistant says is this Rasa response.)"""
    text = _said_by("utter_update_contact_info")
    for needed in ("DEERS", "milConnect", "ID card office", "updated there"):
        assert needed in text


def test_the_sms_help_names_the_service_the_service_center_and_how_to_stop() -> None:
    """(Moved from tests/channel_state/test_opt_out.py with the wording.)"""
    help_text = render("sms.help", "sms")
    assert "Genesis Assist" in help_text
    assert "1-800-600-9332" in help_text
    assert "Reply STOP to opt out" in help_text


def test_every_kind_of_report_is_named_as_before() -> None:
    """A report's line starts with its kind in words (the domain carries only the code)."""
    named = {kind: catalogue.record_kind(kind) for kind in (*REPORT_KINDS, "lab")}
    assert named == {
        "radiology": "radiology report",
        "pathology": "pathology report",
        "clinical_note": "visit note",
        "lab": "lab results",
    }


@pytest.mark.parametrize(
    ("start", "end", "part", "said"),
    [
        (date(2026, 12, 1), date(2026, 12, 1), None, "Tuesday, December 1"),
        (date(2026, 12, 1), date(2026, 12, 1), "morning", "Tuesday, December 1 in the morning"),
        (date(2026, 11, 30), date(2026, 12, 4), None, "between November 30 and December 4"),
        (
            date(2026, 11, 30),
            date(2026, 12, 4),
            "afternoon",
            "between November 30 and December 4 in the afternoon",
        ),
    ],
)
def test_the_days_a_patient_asked_for_are_repeated_as_before(
    start: date, end: date, part: str | None, said: str
) -> None:
    """What understanding.when.When.describe() said before the wording moved here."""
    assert asked_days(When(start, end, part)) == said
