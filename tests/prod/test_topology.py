"""The production topology works as designed: stateless replicas, one front door, nothing else."""

from __future__ import annotations

import aiohttp

from bot.tracker_store import REDACTED
from ops.clients import SMS_PATH, sms_form
from tests.prod.conftest import Prod

NOT_FOR_PATIENTS = ("Traceback", "Exception", "sqlalchemy", "psycopg2", "redis.exceptions")


def test_one_conversation_can_hop_between_replicas_turn_by_turn(prod: Prod) -> None:
    """Each turn at the other replica's own port: the SQL tracker store carries the form, the
    portal database the numbered choices, and the refill is filed once."""
    (patient,) = prod.new_patients(1)

    async def scenario() -> list[str]:
        async with aiohttp.ClientSession() as session:
            one = prod.patients(session, prod.replica_url(0))
            two = prod.patients(session, prod.replica_url(1))
            said = []
            for client, text in (
                (one, "refill my lisinopril"),
                (two, patient.dob_typed),
                (one, patient.last4),
                (two, "1"),
                (one, "yes"),
            ):
                reply = await client.sms(patient.phone, text)
                assert reply.status == 200, reply.body
                said.append(reply.text)
            return said

    said = prod.run(scenario())
    assert "date of birth" in said[0]
    assert "last four digits" in said[1]
    assert "verified" in said[2] and "Pick it up at" in said[2]
    assert said[3].startswith("Request a refill of lisinopril")
    assert said[4].startswith("Done. Refill request number")
    assert prod.refills(patient.id) == 1
    conversation = f"sms:{patient.phone}"
    texts = prod.user_texts(conversation)
    # What proved who the texter is never reaches the tracker database (bot/tracker_store.py).
    assert texts[-5:] == ["refill my lisinopril", REDACTED, REDACTED, texts[-2], "yes"]
    assert texts[-2].startswith("/")  # "1" arrived as the choice's payload
    assert prod.portal_proxy.connections > 0 and prod.redis_proxy.connections > 0


def test_the_front_door_serves_the_channels_and_nothing_else(prod: Prod) -> None:
    async def scenario() -> list[tuple[int, str]]:
        async with aiohttp.ClientSession() as session:
            front = prod.layout.front_url
            results = []
            form = sms_form("+13025550999", "hello", "SM" + "0" * 32)
            forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
            for method, path, kwargs in (
                ("POST", SMS_PATH, {"data": form, "headers": forged}),
                ("POST", SMS_PATH, {"data": form}),
                ("GET", "/conversations/sms:+12545550101/tracker", {}),
                ("POST", "/model/parse", {"json": {"text": "hi"}}),
                ("GET", "/status", {}),
                ("GET", "/health", {}),
            ):
                async with session.request(method, front + path, **kwargs) as response:
                    results.append((response.status, await response.text()))
            return results

    forged, unsigned, tracker, parse, status, health = prod.run(scenario())
    assert forged[0] == 403 and unsigned[0] == 403  # checked by the channel behind nginx
    assert tracker[0] == 404 and parse[0] == 404 and status[0] == 404  # the API is not public
    assert health == (200, "ok\n")
    for _, body in (forged, unsigned, tracker, parse, status):
        assert not any(word in body for word in NOT_FOR_PATIENTS)
