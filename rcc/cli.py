"""Command line: `rcc COMMAND` or `flask --app wsgi COMMAND`."""

from __future__ import annotations

import secrets
import time

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.engine import make_url

from rcc import users
from rcc.db import Session, make_engine, session_factory, transaction
from rcc.demo import DEMO_PASSWORD, build_demo, create_rcc_for_region, demo_totp_secret
from rcc.errors import ServiceError
from rcc.migration_support import create_login_roles, upgrade_database
from rcc.models import Organisation, User
from rcc.tenancy import TenantScope, set_scope


def register(app: Flask) -> None:
    for command in (upgrade_db, create_db_roles, create_rcc, create_user, demo, code, tick):
        app.cli.add_command(command)


def system_session() -> Session:
    """A session for the platform's trusted commands: it logs in with SYSTEM_DATABASE_URL (a member of
    rcc_system on PostgreSQL; the web's own login cannot act with system scope) and acts as the system."""
    if "rcc_system_sessions" not in current_app.extensions:
        engine = make_engine(current_app.config["SYSTEM_DATABASE_URL"])
        current_app.extensions["rcc_system_engine"] = engine
        current_app.extensions["rcc_system_sessions"] = session_factory(engine)
    session: Session = current_app.extensions["rcc_system_sessions"]()
    set_scope(session, TenantScope.system())
    return session


@click.command("upgrade-db")
@with_appcontext
def upgrade_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    upgrade_database(current_app.config["MIGRATION_DATABASE_URL"])
    click.echo("Database is up to date.")


@click.command("create-db-roles")
@with_appcontext
@click.option("--web-role", default="rcc_web", show_default=True,
              help="The login role for DATABASE_URL (the web and the workers)")
@click.option("--platform-role", default="rcc_platform", show_default=True,
              help="The login role for SYSTEM_DATABASE_URL (these trusted commands)")
def create_db_roles(web_role: str, platform_role: str) -> None:
    """On PostgreSQL, once per server after `upgrade-db`: make the app's two login roles.

    Runs with MIGRATION_DATABASE_URL (the owner, allowed to create roles). A role made now gets a
    new random password, printed once in the URL to use; an existing role keeps its password.
    """
    url = make_url(current_app.config["MIGRATION_DATABASE_URL"])
    if not url.drivername.startswith("postgres"):
        raise click.ClickException("Database roles are a PostgreSQL matter; SQLite needs none.")
    passwords = {web_role: secrets.token_urlsafe(24), platform_role: secrets.token_urlsafe(24)}
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            made = create_login_roles(connection, web_role, platform_role, passwords)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.dispose()
    for role, setting in ((web_role, "DATABASE_URL"), (platform_role, "SYSTEM_DATABASE_URL")):
        if role in made:
            login = url.set(username=role, password=passwords[role]).render_as_string(hide_password=False)
            click.echo(f"Made {role}. Set {setting}={login}")
        else:
            click.echo(f"{role} already exists; it keeps its password. Its memberships are set right.")


@click.command("create-rcc")
@with_appcontext
@click.option("--region", required=True, help="English region whose councils join, e.g. 'West Midlands'")
@click.option("--councils", default=20, show_default=True, help="How many of the region's councils join (20 at most)")
def create_rcc(region: str, councils: int) -> None:
    """Create an RCC with the region's councils (their real ONS and DfE codes)."""
    with system_session() as session:
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
    with system_session() as session:
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
    with system_session() as session:
        with transaction(session):
            region = build_demo(session, current_app)
        people = list(region.people) + list(region.provider_managers)
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
    with system_session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"No one has the email address {email}")
        try:
            click.echo(users.current_code(user))
        except ServiceError as error:
            raise click.ClickException(error.message) from error


@click.command("tick")
@with_appcontext
@click.option("--now", "at", default=None, help="Act as if it were this UTC time (ISO 8601), for testing")
def tick(at: str | None) -> None:
    """Act on every deadline that has passed (run it every minute: README, "Operating it")."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from rcc.ticks import run_tick  # noqa: PLC0415

    try:
        now = datetime.fromisoformat(at).replace(tzinfo=UTC) if at else datetime.now(UTC)
    except ValueError as error:
        raise click.ClickException(f"--now must be a date and time like 2027-03-01T09:00, not {at!r}") from error
    system_session().close()  # makes the trusted commands' session factory
    done = run_tick(current_app, current_app.extensions["rcc_system_sessions"], now)
    click.echo(", ".join(f"{name}: {count}" for name, count in done.items()) or "Nothing to do.")
    if any(count < 0 for count in done.values()):
        raise click.ClickException("A task failed; the log says why. The next tick tries again.")


def main() -> None:
    from rcc.app import create_app  # noqa: PLC0415

    FlaskGroup(create_app=lambda: create_app())()
