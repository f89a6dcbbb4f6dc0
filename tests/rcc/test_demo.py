"""The demo region: real councils, and every demo login reaches its role's home page."""

from bs4 import BeautifulSoup
from flask import current_app

from rcc.demo import DEMO_PASSWORD, build_demo
from rcc.geography import local_authority_named
from rcc.roles import Role
from tests.conftest import sign_in


def test_demo_region_has_twenty_real_councils_and_every_role_signs_in(app, setup_session, demo_region):
    region = demo_region  # built by build_demo once for the run (tests/demo_snapshot.py)
    assert len(region.councils) == 20
    for council in region.councils:
        real = local_authority_named(council.name)
        assert real is not None and (council.ons_code, council.dfe_code) == (real.ons_code, real.dfe_code)
        assert real.region == "North West"
    assert {Role(p.roles[0]) for p in region.people} == set(Role)

    for person in region.people:
        client = sign_in(app.test_client(), person, DEMO_PASSWORD)
        page = BeautifulSoup(client.get("/").data, "html.parser")
        assert page.h1.text.strip() == Role(person.roles[0]).label
        assert person.name in page.header.text


def test_demo_refuses_to_run_twice(app, setup_session, demo_region):
    import pytest

    with app.app_context(), pytest.raises(RuntimeError, match="already has an RCC"):
        build_demo(setup_session, current_app)


def test_the_demo_command_builds_through_the_apps_own_connection(app, setup_session):
    """`flask demo` as an RCC runs it: on PostgreSQL as the non-owner role, under row-level security."""
    from sqlalchemy import func, select

    from rcc.models import Organisation

    app.config["RCC_ENV"] = "development"  # `make run` sets it; the command refuses anything else
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo region ready" in result.output
    assert setup_session.scalar(select(func.count()).select_from(Organisation)
                                .where(Organisation.kind == "council")) == 20


def test_the_demo_command_refuses_unless_in_development(app, setup_session):
    """The demo publishes its passwords and 2FA keys: `flask demo` in production or testing builds nothing."""
    from sqlalchemy import func, select

    from rcc.models import Organisation

    for environment in ("production", "testing"):
        app.config["RCC_ENV"] = environment
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code != 0
        assert "only with RCC_ENV=development" in result.output and f"RCC_ENV={environment}" in result.output
    assert setup_session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_every_demo_provider_with_free_places_has_a_manager_who_signs_in(app, setup_session, demo_region):
    from sqlalchemy import select

    from commissioning.models import Vacancy

    region = demo_region
    with_places = set(setup_session.scalars(select(Vacancy.provider_id).where(Vacancy.places_free > 0)))
    managers = {p.organisation_id: p for p in [*region.people, *region.provider_managers]
                if p.roles == [Role.PROVIDER_MANAGER.value]}
    assert len(with_places) > 1 and with_places <= set(managers)
    someone = managers[sorted(with_places)[-1]]
    page = BeautifulSoup(sign_in(app.test_client(), someone, DEMO_PASSWORD).get("/").data, "html.parser")
    assert page.h1.text.strip() == "Provider manager"
