"""Rasa input channels for Twilio SMS and voice, registered by module path in credentials.yml.

`twilio_common` holds what both share (signature check, timeouts, idempotent replies, ids and
metadata); `twilio_sms` and `twilio_voice` hold what differs.
"""
