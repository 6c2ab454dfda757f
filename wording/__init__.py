"""How a reply is put for each channel: the per-channel renderers.

`speech` makes text speakable for the phone line and the web's Listen button (units in words,
ranges, dates in clinic time zones); `sms` fits text into SMS segments and numbers the choices.
Presentation only: the rules a reply follows are `portal_core`'s, and what a channel remembers
between turns is `channel_state`'s.
"""
