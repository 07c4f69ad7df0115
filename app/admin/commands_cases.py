"""Command line of cases (issue 18): the outbox worker and the purge of contact details."""

from __future__ import annotations

import click

from app.services.cases import purge_contacts, run_worker


@click.group("outbox")
def outbox_cli():
    """Send the notifications waiting in the outbox (e-mail, webhooks)."""


@outbox_cli.command("run")
@click.option("--once", is_flag=True, help="One pass (queue overdue notices, send what is due), then exit.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between passes.")
def outbox_run(once: bool, interval: float):
    """Drain the outbox: each message is sent at least once, with the same Message-ID or Idempotency-Key
    on every attempt; a server that is down delays it, never drops it."""
    run_worker(once=once, interval=interval, echo=click.echo)


@click.group("cases")
def cases_cli():
    """Cases: housekeeping of citizens' personal data."""


@cases_cli.command("purge")
@click.option("--months", type=int, default=None,
              help="Override CASE_CONTACT_RETENTION_MONTHS (months after closing).")
def cases_purge(months: int | None):
    """Close answered cases past their reopening window; delete contact details of cases closed more than
    CASE_CONTACT_RETENTION_MONTHS ago."""
    result = purge_contacts(months=months)
    click.echo(f"closed={result.closed} contacts_deleted={result.contacts} "
               f"messages_cleared={result.messages}")
