"""Command line: `flask --app wsgi import-ofsted --rcc-id N [--file PATH]`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from commissioning.services.imports import import_ofsted
from rcc.cli import system_session
from rcc.db import transaction
from rcc.errors import ServiceError
from rcc.models import Organisation


def register(app: Flask) -> None:
    app.cli.add_command(import_ofsted_command)


@click.command("import-ofsted")
@click.option("--rcc-id", type=int, required=True, help="The RCC whose region's homes to import")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="An Ofsted provider list CSV (default: the one shipped in rcc/reference_data)")
def import_ofsted_command(rcc_id: int, path: Path | None) -> None:
    """Import the Ofsted provider list into an RCC's supply register (safe to run again)."""
    with system_session() as session:
        rcc = session.get(Organisation, rcc_id)
        if rcc is None or rcc.kind != "rcc":
            raise click.ClickException(f"No RCC has id {rcc_id}")
        try:
            with transaction(session):
                summary = import_ofsted(session, rcc, path=path)
        except ServiceError as error:
            raise click.ClickException(error.message) from error
    click.echo(f"Rows read: {summary.rows_read}")
    click.echo(f"Homes created: {summary.created}, updated: {summary.updated}, unchanged: {summary.unchanged}")
    click.echo(f"Providers created: {summary.providers_created}")
    click.echo(f"Skipped, outside the region: {summary.outside_region}")
    for reason, count in summary.skip_reasons.most_common():
        click.echo(f"Skipped, {reason}: {count}")
    for note in summary.notes:
        click.echo(note)
