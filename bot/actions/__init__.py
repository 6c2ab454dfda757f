"""Custom actions for Genesis Assist, split by concern; `rasa run actions --actions bot.actions`.

Importing the modules registers their actions with rasa-sdk.
"""

from bot.actions import (  # noqa: F401
    account,
    appointments,
    asking,
    follow_up,
    help,
    medications,
    messages,
    records,
    safety,
    task_form,
)
