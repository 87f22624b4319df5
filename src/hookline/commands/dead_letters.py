"""`hookline dead-letters`: tasks that failed for good — list, show, replay, discard; one tenant at a time."""

from __future__ import annotations

import json

import click

from hookline.commands.listing import TENANT_HELP, echo_columns, echo_newest, find, shorten, utc
from hookline.models import DeadLetterStatus
from hookline.services import dead_letters, replay

COLUMNS = [("id", ">5"), ("tenant", "<20"), ("task", "<42"), ("reason", "<17"), ("status", "<9"), ("att", ">3"),
           ("last_failed_at", "<20"), ("error", "")]


@click.group("dead-letters")
def dead_letters_group() -> None:
    """Tasks whose retries ran out, that failed for good, or that kept killing their worker."""


@dead_letters_group.command("list")
@click.option("--tenant", "slug", help=TENANT_HELP)
@click.option("--status", type=click.Choice([status.value for status in DeadLetterStatus]),
              help="Only this status (default: every status).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def dead_letters_list(slug: str | None, status: str | None, limit: int) -> None:
    """The most recently failed first."""
    echo_newest(slug, lambda session, tenant_id: dead_letters.recent(session, tenant_id, status=status, limit=limit),
                "last_failed_at", limit=limit, columns=COLUMNS, noun="dead letters",
                cells=lambda tenant, letter: (letter.id, tenant.slug, letter.task, letter.reason, letter.status,
                                              letter.attempts, utc(letter.last_failed_at), shorten(letter.error)))


@dead_letters_group.command("show")
@click.argument("letter_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--tenant", "slug", help=TENANT_HELP)
def dead_letters_show(letter_id: int, slug: str | None) -> None:
    """Every column of dead letter ID; its arguments as stored (secret-looking values masked)."""
    tenant, letter = find(slug, letter_id, dead_letters.get, "dead letter")
    echo_columns(tenant, letter, skip=("kwargs", "traceback", "error"), width=17)
    click.echo(f"{'error:':<17}{letter.error}")
    click.echo("kwargs:")
    click.echo(json.dumps(letter.kwargs, indent=2, ensure_ascii=False))
    click.echo("traceback:")
    click.echo(letter.traceback or "-")


@dead_letters_group.command("replay")
@click.argument("letter_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--tenant", "slug", help=TENANT_HELP)
def dead_letters_replay(letter_id: int, slug: str | None) -> None:
    """Publish the task of dead letter ID again with its arguments, and mark the row replayed.

    An inbox event the task worked on is set back to pending first, so the task takes it anew.
    """
    tenant, letter = find(slug, letter_id, dead_letters.get, "dead letter")
    try:
        replay.replay_dead_letter(tenant.id, letter)
    except (replay.ReplayRefused, replay.Unpublished) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"dead letter {letter_id} ({tenant.slug}): {letter.task} published again, marked replayed")


@dead_letters_group.command("discard")
@click.argument("letter_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--tenant", "slug", help=TENANT_HELP)
def dead_letters_discard(letter_id: int, slug: str | None) -> None:
    """Mark dead letter ID discarded: looked at, needs no further work (the row is kept)."""
    tenant, letter = find(slug, letter_id, dead_letters.get, "dead letter")
    try:
        replay.discard_dead_letter(tenant.id, letter)
    except replay.ReplayRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"dead letter {letter_id} ({tenant.slug}): discarded")

