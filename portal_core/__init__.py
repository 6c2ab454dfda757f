"""The patient portal's domain: every rule Genesis Assist follows lives here.

Plain Python on SQLAlchemy; nothing in this package imports Rasa, so the bot, the Twilio
channels and the tests all ask the same code the same questions.
"""
