"""Default deny: every route says who may use it, so routes added later are covered too."""

from rcc.permissions import declared_access, signed_in

# Routes anyone may use: signing in and public information. Anything else public must be added
# here on purpose, with a reason in review.
EXPECTED_PUBLIC = {
    "auth.sign_in", "auth.two_factor", "auth.set_up_two_factor", "auth.sign_out", "auth.accept_invite", "auth.open_invite",
    "home.index", "home.health", "home.accessibility", "home.privacy", "static", "api-docs.openapi_json",
    # Forgot password (no account enumeration, throttled) and a provider asking to join by its Ofsted URN.
    "onboarding.forgot_password", "onboarding.open_reset", "onboarding.reset_password",
    "provider_onboarding.ask_to_join",
}


def test_every_route_declares_who_may_use_it(app):
    undeclared = [
        f"{rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
        if not declared_access(app, rule.endpoint, rule.methods - {"HEAD", "OPTIONS"})
        or any(a is None for a in declared_access(app, rule.endpoint, rule.methods - {"HEAD", "OPTIONS"}))
    ]
    assert undeclared == []


def test_public_routes_are_only_the_expected_ones(app):
    public = {
        rule.endpoint for rule in app.url_map.iter_rules()
        if any(a is not None and "public" in a for a in declared_access(app, rule.endpoint))
    }
    static_files = {endpoint for endpoint in public if endpoint.endswith(".static")}
    assert public - static_files <= EXPECTED_PUBLIC | _published_report_endpoints(app), public - EXPECTED_PUBLIC


def _published_report_endpoints(app):
    """Published cost reports are public by design (cost_transparency's public blueprint)."""
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("public_reports.")}


def test_a_route_without_a_declaration_is_refused_at_run_time(app):
    @app.route("/forgotten")
    def forgotten():
        return "leaked"

    response = app.test_client().get("/forgotten")
    assert response.status_code == 404
    assert "leaked" not in response.get_data(as_text=True)


def test_signed_in_routes_send_anonymous_people_to_sign_in(app):
    @app.route("/members-only")
    @signed_in
    def members_only():
        return "secret"

    response = app.test_client().get("/members-only")
    assert response.status_code == 302
    assert "/sign-in?next=" in response.headers["Location"]
