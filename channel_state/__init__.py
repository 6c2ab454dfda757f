"""What the Twilio channels remember between webhook calls, in the portal database.

Webhook deliveries already answered (so a retry gets the same answer), the numbered choices an
SMS or a call last offered and replies that came too late, and who texted STOP. It is state, not
rules: nothing here decides what a patient may see or do (that is `portal_core`), and nothing
here words a reply (that is `wording`). The tables live on `portal_core`'s declarative `Base`
and go through the same `Database`, so one schema, one migration history and one transaction
model serve both; `channel_state.models` must be imported wherever the whole schema is built
(`migrations/env.py`, the tests' and benchmarks' `create_schema`).
"""
