"""Command line of a campaign's invitations (issue 19): `flask campaigns invite`, `remind`, `tracking`.

They join the `campaigns` group (app/admin/commands_campaigns.py); the e-mails and SMS they queue are sent
by `flask outbox run`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.admin.commands_campaigns import campaigns_cli
from app.services.invitations import (
    campaign_by_code,
    campaign_tracking,
    letters_pdf,
    queue_invitations,
    queue_reminders,
)


def _campaign(code: str):
    campaign = campaign_by_code(code)
    if campaign is None:
        raise click.ClickException(f"no campaign {code!r}")
    if campaign.status != "drawn":
        raise click.ClickException(f"campaign {code} is {campaign.status}, not drawn: nothing to send")
    return campaign


def _write_letters(campaign, out: str | None, reminders: bool) -> None:
    if out is None:
        click.echo("post: give --out FILE.pdf to print the letters")
        return
    pdf, pages = letters_pdf(campaign, reminders=reminders)
    if pages:
        Path(out).write_bytes(pdf)
    click.echo(f"post={pages}" + (f" letters in {out}" if pages else " (no letter to print)"))


@campaigns_cli.command("invite")
@click.argument("code")
@click.option("--channel", type=click.Choice(["email", "sms", "post"]), default=None,
              help="Only this channel (default: e-mail and SMS, and post when --out is given).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Where to write the letters' PDF.")
def invite(code: str, channel: str | None, out: str | None):
    """Invite the sampled dossiers not invited yet: e-mails and SMS go to the outbox, letters to a PDF.
    The same dossier always gets the same code, so letters can be printed again."""
    campaign = _campaign(code)
    if channel in (None, "email", "sms"):
        counts = queue_invitations(campaign, channel)
        click.echo(" ".join(f"{name}={count}" for name, count in counts.items()) + " queued")
    if channel == "post" or (channel is None and out):
        _write_letters(campaign, out, reminders=False)


@campaigns_cli.command("remind")
@click.argument("code")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the reminder letters' PDF (post).")
def remind(code: str, out: str | None):
    """Remind who was invited more than reminder_days ago and has not answered nor declined (never twice
    within reminder_days); the count and time of each reminder are kept."""
    campaign = _campaign(code)
    counts = queue_reminders(campaign)
    click.echo(" ".join(f"{name}={count}" for name, count in counts.items()) + " reminders queued")
    if out:
        _write_letters(campaign, out, reminders=True)


@campaigns_cli.command("tracking")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def tracking(code: str, as_json: bool):
    """Per stratum: sampled, invited, delivered, bounced, opened, answered, refused, not contacted, and
    the AAPOR response rate RR1 (answered over sampled)."""
    campaign = campaign_by_code(code)
    if campaign is None:
        raise click.ClickException(f"no campaign {code!r}")
    strata, total = campaign_tracking(campaign)
    if as_json:
        click.echo(json.dumps({"campaign": campaign.code, "strata": [s.as_dict() for s in strata],
                               "total": total.as_dict()}, ensure_ascii=False, indent=2))
        return
    columns = ("sampled", "invited", "delivered", "bounced", "opened", "answered", "refused", "not_contacted")
    click.echo("stratum\t" + "\t".join(columns) + "\tRR1")
    for row in [*strata, total]:
        rate = "-" if row.rr1 is None else f"{100 * row.rr1:.1f}%"
        click.echo("\t".join([row.key or "TOTAL", *(str(getattr(row, c)) for c in columns), rate]))
