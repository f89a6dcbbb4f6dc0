"""The command line sets up an RCC and its people without touching the database by hand."""

from sqlalchemy import select

from rcc.models import Organisation, User


def test_create_rcc_then_invite_its_admin(app, setup_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-rcc", "--region", "West Midlands", "--councils", "5"])
    assert result.exit_code == 0, result.output
    assert "with 5 councils" in result.output
    rcc = setup_session.scalar(select(Organisation).where(Organisation.kind == "rcc"))
    councils = setup_session.scalars(select(Organisation).where(Organisation.kind == "council")).all()
    assert len(councils) == 5 and all(c.rcc_id == rcc.id and c.dfe_code for c in councils)

    result = runner.invoke(args=["create-user", "--organisation-id", str(rcc.id), "--email", "boss@example.org",
                                 "--name", "The Boss", "--role", "rcc_admin"])
    assert result.exit_code == 0, result.output
    assert "/invite/" in result.output
    assert setup_session.scalar(select(User).where(User.email == "boss@example.org")).roles == ["rcc_admin"]


def test_cli_errors_are_clear_and_change_nothing(app, setup_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-rcc", "--region", "Atlantis"])
    assert result.exit_code != 0 and "No English region is called 'Atlantis'" in result.output
    result = runner.invoke(args=["create-user", "--organisation-id", "999", "--email", "a@example.org",
                                 "--name", "A", "--role", "rcc_admin"])
    assert result.exit_code != 0 and "No organisation has id 999" in result.output
    assert setup_session.scalars(select(Organisation)).all() == []


def test_code_prints_a_demo_users_current_security_code(app, setup_session):
    import pyotp

    from rcc.roles import Role
    from tests.factories import make_region

    officer = make_region(setup_session, "A", ("Coventry", "Warwickshire")).people[Role.COUNCIL_PLACEMENT_OFFICER]
    result = app.test_cli_runner().invoke(args=["code", officer.email])
    assert pyotp.TOTP(officer.totp_secret).verify(result.output.strip(), valid_window=1)
