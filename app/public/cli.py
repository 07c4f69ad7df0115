"""`flask public receipt-code`: issue a receipt code for one dossier (for the one-stop system)."""

from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import select

from app.extensions import db
from app.models import ServicePoint
from app.public import bp
from app.services.collect import issue_receipt_code
from app.services.registry import public_base_url


@bp.cli.command("receipt-code")
@click.argument("counter_code")
@click.argument("dossier_id")
@click.option("--days", type=click.IntRange(1, 366), default=None,
              help="Days the code stays valid (default RECEIPT_CODE_TTL_DAYS, 30).")
@click.option("--svg", "svg_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the QR code to print on the receipt, as SVG.")
def receipt_code(counter_code, dossier_id, days, svg_path):
    """Print the signed one-time rating address for DOSSIER_ID received at COUNTER_CODE."""
    counter = db.session.scalar(select(ServicePoint).where(ServicePoint.code == counter_code))
    if counter is None or not counter.active:
        raise click.ClickException(f"no active counter with code {counter_code!r}")
    try:
        code = issue_receipt_code(counter, dossier_id, timedelta(days=days) if days else None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    url = f"{public_base_url()}/r/{code}"
    if svg_path:
        import qrcode
        import qrcode.image.svg

        qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(svg_path)
    click.echo(url)
