"""The Queues page: the same sources as `hookline status` (broker lists, a worker ping, beat's lock)."""

from __future__ import annotations

from typing import Any

from hookline.config import Settings

PING_SECONDS = 1.0


def queue_overview(settings: Settings) -> dict[str, Any]:
    """Depth and oldest age per queue and bulk lane, the workers that answer a ping, the beat leader."""
    from hookline.commands.status import beat_leader
    from hookline.workers.app import app  # reads the broker URL on import
    from hookline.workers.backlog import queue_states

    overview: dict[str, Any] = {"queues": [], "queue_error": None, "workers": [], "workers_error": None}
    try:
        overview["queues"] = queue_states(app)
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so on the page
        overview["queue_error"] = f"broker unreachable: {exc}"
    try:
        overview["workers"] = sorted(name for answer in app.control.ping(timeout=PING_SECONDS) for name in answer)
    except Exception as exc:  # noqa: BLE001 - the broker is down: say so on the page
        overview["workers_error"] = f"could not ask: {exc}"
    overview["beat_leader"] = beat_leader(settings)
    overview["ping_seconds"] = PING_SECONDS
    return overview
