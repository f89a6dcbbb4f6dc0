"""Command line: `flask --app wsgi import-ofsted --rcc-id N [--file PATH]`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from commissioning.services.imports import import_ofsted
from rcc.cli import system_session
from rcc.db import transaction
from rcc.errors import ServiceError
from rcc.models import Organisation


def register(app: Flask) -> None:
    app.cli.add_command(import_ofsted_command)
    app.cli.add_command(purge_expired_records)


@click.command("purge-expired-records")
@with_appcontext
@click.option("--now", "at", default=None, help="Act as if it were this UTC time (ISO 8601), for testing")
@click.option("--dry-run", is_flag=True, help="Only count the children whose details would be removed")
def purge_expired_records(at: str | None, dry_run: bool) -> None:
    """Remove the identifiable details of children past retention (docs/retention.md); safe to run again."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from flask import current_app  # noqa: PLC0415

    from commissioning.retention import purge_expired  # noqa: PLC0415

    try:
        now = datetime.fromisoformat(at).replace(tzinfo=UTC) if at else datetime.now(UTC)
    except ValueError as error:
        raise click.ClickException(f"--now must be a date and time like 2027-03-01T09:00, not {at!r}") from error
    system_session().close()  # makes the trusted commands' session factory
    try:
        count = purge_expired(current_app.extensions["rcc_system_sessions"], now, dry_run=dry_run)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{'Would remove' if dry_run else 'Removed'} the details of {count} "
               f"{'child' if count == 1 else 'children'} past retention.")


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
