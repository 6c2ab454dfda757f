"""Custom actions for Genesis Assist, split by concern; `rasa run actions --actions bot.actions`.

Importing the modules registers their actions with rasa-sdk; `outage.guard_all()` then makes
each of them answer a database outage politely (see `bot/actions/outage.py`).
"""

from bot.actions import (  # noqa: F401
    account,
    appointments,
    asking,
    follow_up,
    help,
    medications,
    messages,
    outage,
    records,
    safety,
    task_form,
)

outage.guard_all()
