"""Command line: `rcc COMMAND` or `flask --app wsgi COMMAND`."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from rcc import users
from rcc.db import transaction
from rcc.demo import DEMO_PASSWORD, build_demo, create_rcc_for_region, demo_totp_secret
from rcc.errors import ServiceError
from rcc.migration_support import upgrade_database
from rcc.models import Organisation, User
from rcc.tenancy import TenantScope, set_scope


def register(app: Flask) -> None:
    for command in (upgrade_db, create_rcc, create_user, demo, code):
        app.cli.add_command(command)


def _system_session():  # type: ignore[no-untyped-def]
    session = current_app.extensions["rcc_sessions"]()
    set_scope(session, TenantScope.system())
    return session


@click.command("upgrade-db")
@with_appcontext
def upgrade_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    upgrade_database(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


@click.command("create-rcc")
@with_appcontext
@click.option("--region", required=True, help="English region whose councils join, e.g. 'West Midlands'")
@click.option("--councils", default=20, show_default=True, help="How many of the region's councils join (20 at most)")
def create_rcc(region: str, councils: int) -> None:
    """Create an RCC with the region's councils (their real ONS and DfE codes)."""
    with _system_session() as session:
        try:
            with transaction(session):
                created = create_rcc_for_region(session, region, councils)
        except (ServiceError, ValueError) as error:
            raise click.ClickException(str(getattr(error, "message", error))) from error
    click.echo(f"Created {created.rcc.name} (id {created.rcc.id}) with {len(created.councils)} councils.")


@click.command("create-user")
@with_appcontext
@click.option("--organisation-id", type=int, required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, required=True)
def create_user(organisation_id: int, email: str, name: str, roles: tuple[str, ...]) -> None:
    """Invite a person to an organisation and print their one-time invite link path."""
    with _system_session() as session:
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            raise click.ClickException(f"No organisation has id {organisation_id}")
        try:
            with transaction(session):
                user, token = users.invite_user(session, organisation, email, name, list(roles))
        except ServiceError as error:
            raise click.ClickException(error.message) from error
    click.echo(f"Invited {user.email}. Their one-time link: /invite/{token}")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Build the demo region on an empty database and print the demo sign-ins (development only)."""
    if current_app.config["RCC_ENV"] != "development":
        raise click.ClickException(
            f"The demo publishes its passwords and security keys, so it runs only with RCC_ENV=development "
            f"(this is RCC_ENV={current_app.config['RCC_ENV']}).")
    started = time.perf_counter()
    with _system_session() as session:
        with transaction(session):
            region = build_demo(session, current_app)
        people = list(region.people)
        organisations = {o.id: o.name for o in session.scalars(select(Organisation))}
    click.echo(f"\nDemo region ready in {time.perf_counter() - started:.1f} s: {region.rcc.name}, "
               f"{len(region.councils)} councils, {len(region.providers)} providers.\n")
    click.echo(f"Every demo account's password: {DEMO_PASSWORD}")
    click.echo("Security codes: `make code EMAIL=...` (or `rcc code EMAIL`) prints the current one.\n")
    for person in people:
        click.echo(f"  {person.role_labels[0]:<27} {person.email:<52} {organisations[person.organisation_id]}"
                   f"{'  (2FA key ' + demo_totp_secret(person.email) + ')' if person.totp_secret else ''}")
    click.echo("")


@click.command("code")
@with_appcontext
@click.argument("email")
def code(email: str) -> None:
    """Print a demo user's current two-factor security code."""
    with _system_session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"No one has the email address {email}")
        try:
            click.echo(users.current_code(user))
        except ServiceError as error:
            raise click.ClickException(error.message) from error


def main() -> None:
    from rcc.app import create_app  # noqa: PLC0415

    FlaskGroup(create_app=lambda: create_app())()
