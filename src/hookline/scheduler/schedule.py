"""The whole beat schedule in one place: what runs, when, on which queue.

Empty until the first cron job lands (relay, dunning runs, nightly reports, pruning); beat
already runs in the Procfile so that adding an entry here is all a new job needs.
"""

from typing import Any

beat_schedule: dict[str, dict[str, Any]] = {}
