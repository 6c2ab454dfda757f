"""Understanding: what a patient's words mean, as ids and values the domain can act on.

Everything that reads free text lives here (one normaliser, one table of number words, people
and relations, dates and times, choices from a list); `portal_core` keeps the rules and the
queries. This package may read `portal_core`'s views; `portal_core` calls it only where a
service itself takes free text.
"""
