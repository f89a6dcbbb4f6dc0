"""A provider offered a child sees the council's summary for providers and no other free text about
the child: not the child's own words, nor the council's or the RCC's notes. Every page and API
route a provider may open is walked (from the URL map), so a new one is checked too."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from commissioning.models import Placement, Referral
from commissioning.services import referrals, sibling_groups
from matching.models import DONE, WITHDRAWN, MatchingRun, Offer, Proposal
from matching.services.offers import make_offer
from rcc.roles import Role
from rcc.tenancy import TenantScope
from rcc.web import scope_for
from tests.commissioning.world import child_details, referral_details
from tests.factories import make_region
from tests.matching import builders
from tests.tenancy_world import ID_ARGUMENTS, visible
from tests.test_tenancy_matrix import _client_for, _fill_other_arguments, _may_use

SUMMARY = "SUMMARY-FOR-PROVIDERS settled at school"


def _offered_child_with_free_text_everywhere(session, region):
    council = region.councils[0]
    group = sibling_groups.create_sibling_group(session, council, "SECRET-group-name", "apart",
                                                "SECRET-separation-reason")
    session.flush()
    referral = referrals.create_referral(
        session, council, child_details("SECRET-reference", initials="SX"),
        referral_details(child_wishes="SECRET-child-wishes I go to Hillside School, my aunt Jo lives near",
                         provider_summary=SUMMARY, sibling_group_id=group.id,
                         excluded_areas=["Coventry"], out_of_area_reason="SECRET-out-of-area-reason"))
    referrals.submit_referral(session, referral)
    referrals.start_matching(session, referral)
    home = builders.add_home(session, region.provider, "Provider's own home", places_free=2)
    run = MatchingRun(rcc_id=region.rcc.id, organisation_id=region.rcc.id, note="SECRET-run-note", stage=DONE)
    session.add(run)
    session.flush()
    proposal = Proposal(rcc_id=region.rcc.id, council_id=council.id, run_id=run.id, referral_id=referral.id,
                        child_key="C1", home_id=home.id, status="accepted", decision_reason="SECRET-proposal-reason")
    session.add(proposal)
    session.flush()
    offer = make_offer(session, referral, home, proposal.id)
    # An earlier offer of the same child, withdrawn by the RCC with its reason.
    session.add(Offer(rcc_id=region.rcc.id, council_id=council.id, provider_id=region.provider.id, home_id=home.id,
                      referral_id=referral.id, status=WITHDRAWN, weekly_cost=500_000, profile=dict(offer.profile),
                      respond_by=offer.respond_by, decision_reason="SECRET-withdrawal-reason"))
    session.commit()
    return referral, offer


def _provider_urls(app, user, rows):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "auth.sign_out") or not _may_use(
                app, rule, "GET", user):
            continue
        values = {}
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                candidates = [r for r in rows if isinstance(r, ID_ARGUMENTS[name]) and visible(r, scope_for(user))]
                if not candidates:
                    break
                values[name] = candidates[0].id
        else:
            yield rule, rule.build(_fill_other_arguments(rule, values), append_unknown=False)[1]


def test_a_provider_sees_the_summary_and_no_other_free_text_about_the_child(app, setup_session):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    referral, offer = _offered_child_with_free_text_everywhere(setup_session, region)
    provider = region.people[Role.PROVIDER_MANAGER]
    rows = [*setup_session.scalars(select(Offer)), *setup_session.scalars(select(Referral)),
            *setup_session.scalars(select(Placement))]
    assert visible(offer, TenantScope.for_organisation("provider", region.provider.id, region.rcc.id))
    tokens: dict = {}
    page_client, _ = _client_for(app, provider, api=False, tokens=tokens)
    summary_seen_on = set()
    walked = 0
    for rule, url in _provider_urls(app, provider, rows):
        api = rule.rule.startswith("/api/")
        client, headers = _client_for(app, provider, api=True, tokens=tokens) if api else (page_client, {})
        response = client.get(url, headers=headers)
        body = response.get_data().decode("utf-8", "replace")
        walked += 1
        assert "SECRET-" not in body and "Hillside" not in body, f"GET {url} shows the council's free text"
        if SUMMARY in body:
            summary_seen_on.add(rule.endpoint)
    assert walked > 5
    # The summary does reach the provider, on the offer page and through the API.
    assert "matching_provider.provider_offer" in summary_seen_on
    assert any("api" in endpoint for endpoint in summary_seen_on), summary_seen_on


def test_the_council_writes_the_summary_and_sees_it_on_the_check_answers_page(app, setup_session):
    from tests.commissioning.test_views_referrals import STANDARD_ANSWERS
    from tests.conftest import sign_in

    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    client = sign_in(app.test_client(), officer)
    form = {"reference": "NEW-1", "initials": "AB", "birth_month": "4", "birth_year": "2014", "sex": "F",
            "legal_status": "C2", "category_of_need": "N1", "home_postcode": "CV1 2AB", "placement_type":
            "foster_care", "urgency": "planned", "date_needed": "27/3/2027", "child_wishes": "My own words",
            "provider_summary": "x" * 2001, **STANDARD_ANSWERS}
    too_long = client.post("/referrals/new", data=form)
    assert too_long.status_code == 200 and "Summary for providers" in too_long.get_data(as_text=True)
    assert setup_session.scalar(select(Referral)) is None  # nothing half-written
    form["provider_summary"] = "Needs a calm home near her school"
    created = client.post("/referrals/new", data=form)
    assert created.status_code == 302, created.get_data(as_text=True)
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Summary for providers" in page and "Needs a calm home near her school" in page
    assert setup_session.scalar(select(Referral)).provider_summary == "Needs a calm home near her school"
