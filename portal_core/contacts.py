"""Contact facts the domain's own refusals name, each once, with its source.

The wording catalogue (`wording/catalogue.py`) reads them from here for every other sentence, so
a number changes in one place; the domain can't import the catalogue (a lower floor), so the
facts live on this floor.
"""

from __future__ import annotations

# Source: portal guide, "Global Service Center": 1-800-600-9332, 24/7.
GLOBAL_SERVICE_CENTER = "1-800-600-9332"
