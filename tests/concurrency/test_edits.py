"""Lost updates (issue 14, defects 5 and 9): two people editing one record, and approving a report
while it is edited. The second save is refused with what changed; the first is kept; nothing is a 500.

The races run in threads that each read the record, wait at a barrier, then save at the same moment:
50 tries on PostgreSQL, 5 on SQLite (which runs writers one at a time anyway).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Child, Home, Referral, SiblingGroup, Vacancy
from commissioning.services import referrals, sibling_groups, supply
from contracts.models import Tender
from contracts.services import tenders
from cost_transparency.models import CostRecord, CostSettings, Publication
from cost_transparency.services import cost_records, high_cost_review, publications
from rcc.audit import Actor, set_actor
from rcc.db import session_factory
from rcc.roles import Role
from rcc.tenancy import TenantScope, set_scope
from rcc.versions import EditConflict, save_edit
from tests.commissioning.world import child_details, home_details, referral_details
from tests.contracts.helpers import NOW, tender_details
from tests.cost_transparency.conftest import TODAY, add_cost, add_home, add_placement, add_provider
from tests.factories import make_region

CONFLICT_MESSAGE = "Someone else changed this referral while you were editing it"


@pytest.fixture
def region(app, setup_session):
    return make_region(setup_session, "V", ("Coventry", "Warwickshire"))


@pytest.fixture
def tries(is_postgres: bool) -> int:
    return 50 if is_postgres else 5


def _act(session: Any, user: Any) -> Any:
    set_actor(session, Actor(user.id, user.organisation_id, user.rcc_id))
    return session


def _draft_referral(setup_session: Any, region: Any, reference: str = "LOST-1") -> Referral:
    _act(setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    referral = referrals.create_referral(setup_session, region.councils[0], child_details(reference),
                                         referral_details(child_wishes="First wishes"))
    setup_session.commit()
    return referral


# Through the pages and the API --------------------------------------------------------------

def _form_of(response: Any) -> dict[str, Any]:
    """What the browser would send back from the referral form as it was shown."""
    assert response.status_code == 200, response.status_code
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    form = next(f for f in page.select("form[method=post]") if f.select_one("[name=child_wishes]"))
    data: dict[str, Any] = {}
    for field in form.select("input, textarea, select"):
        name = field.get("name")
        if not name:
            continue
        if field.name == "textarea":
            data[name] = field.get_text()
        elif field.name == "select":
            chosen = field.select_one("option[selected]")
            data[name] = chosen.get("value", "") if chosen else ""
        elif field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data.setdefault(name, []).append(field.get("value", "y"))
        else:
            data[name] = field.get("value", "")
    return data


def test_two_officers_edit_one_referral_through_the_pages_and_the_second_save_is_refused(
        region, setup_session, signed_in_client):
    referral = _draft_referral(setup_session, region)
    first = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    second = signed_in_client(region.people[Role.COUNCIL_ADMIN])
    edit = f"/referrals/{referral.id}/edit"
    first_form, second_form = _form_of(first.get(edit)), _form_of(second.get(edit))
    assert first_form["row_version"] == second_form["row_version"] == "1"

    saved = first.post(edit, data={**first_form, "child_wishes": "Live near my brother"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:1000]
    refused = second.post(edit, data={**second_form, "child_wishes": "Keep my school", "max_distance_miles": "15"})

    assert refused.status_code == 200
    page = BeautifulSoup(refused.get_data(as_text=True), "html.parser")
    summary = [a.get_text(" ", strip=True) for a in page.select(".govuk-error-summary a")]
    assert summary[0].startswith(CONFLICT_MESSAGE)
    wishes = next(text for text in summary if "Live near my brother" in text)
    assert "their value is Live near my brother, yours is Keep my school" in wishes
    assert page.title.get_text().startswith("Error:")
    setup_session.expire_all()
    kept = setup_session.get(Referral, referral.id)
    assert kept.child_wishes == "Live near my brother" and kept.max_distance_miles is None
    assert kept.row_version == 2

    # The form now carries the current version: saving again is a deliberate choice to replace theirs.
    again = _form_of(refused)
    assert again["row_version"] == "2" and again["child_wishes"].strip() == "Keep my school"
    assert second.post(edit, data=again).status_code == 302
    setup_session.expire_all()
    assert setup_session.get(Referral, referral.id).child_wishes == "Keep my school"


def _token(setup_session: Any, user: Any) -> dict[str, str]:
    from rcc import users  # noqa: PLC0415

    _made, secret = users.create_api_token(setup_session, user, "versions test")
    setup_session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_two_clients_edit_one_referral_through_the_api_and_the_second_is_refused(app, region, setup_session):
    referral = _draft_referral(setup_session, region)
    client = app.test_client()
    first = _token(setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    second = _token(setup_session, region.people[Role.COUNCIL_ADMIN])
    url = f"/api/v1/referrals/{referral.id}"
    read_first, read_second = client.get(url, headers=first), client.get(url, headers=second)
    assert read_first.headers["ETag"] == read_second.headers["ETag"] == '"1"'
    body = {"max_distance_miles": 20}  # fields left out keep their values

    saved = client.put(url, json={**body, "child_wishes": "Live near my brother"},
                       headers={**first, "If-Match": read_first.headers["ETag"]})
    assert saved.status_code == 200, saved.get_json()
    assert saved.headers["ETag"] == '"2"' and saved.get_json()["row_version"] == 2

    refused = client.put(url, json={**body, "child_wishes": "Keep my school"},
                         headers={**second, "If-Match": read_second.headers["ETag"]})
    assert refused.status_code == 412
    answer = refused.get_json()
    assert answer["message"].startswith(CONFLICT_MESSAGE) and answer["current_version"] == 2
    assert refused.headers["ETag"] == '"2"'
    assert {"field": "child_wishes", "theirs": "Live near my brother", "yours": "Keep my school"} in answer["changes"]
    in_body = client.put(url, json={**body, "child_wishes": "Keep my school", "row_version": 1}, headers=second)
    assert in_body.status_code == 409 and in_body.get_json()["current_version"] == 2
    assert client.get(url, headers=first).get_json()["child_wishes"] == "Live near my brother"

    assert client.put(url, json={**body, "child_wishes": "Keep my school"},
                      headers={**second, "If-Match": '"2"'}).status_code == 200


# Racing threads --------------------------------------------------------------------------------

def _race(owner_engine: Any, actor: Any, *moves: Callable[[Any], Callable[[], Any]]) -> list[Any]:
    """Each move reads in its own session, then all write at the same moment. Returns what each
    move's write returned, or the exception it raised."""
    barrier = threading.Barrier(len(moves))
    outcomes: list[Any] = [None] * len(moves)

    def run(index: int, move: Callable[[Any], Callable[[], Any]]) -> None:
        with session_factory(owner_engine)() as session:
            set_scope(session, TenantScope.system())
            _act(session, actor)
            write = move(session)  # reads what the person saw
            barrier.wait(timeout=30)
            try:
                outcomes[index] = write()
                session.commit()
            except Exception as error:  # noqa: BLE001 - the outcome is what is checked
                session.rollback()
                outcomes[index] = error

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(moves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _one_winner(outcomes: list[Any]) -> int:
    """Exactly one write succeeded and every other was refused as an edit conflict (never a crash)."""
    unexpected = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, EditConflict)]
    assert unexpected == [], unexpected
    winners = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
    assert len(winners) == 1, outcomes
    return winners[0]


def test_edit_against_edit_of_a_referral_at_the_same_moment_keeps_exactly_one(
        region, setup_session, owner_engine, tries):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    for attempt in range(tries):
        referral = _draft_referral(setup_session, region, f"RACE-{attempt}")

        def edit(wishes: str, referral_id: int = referral.id) -> Callable[[Any], Callable[[], Any]]:
            def read(session: Any) -> Callable[[], Any]:
                mine = session.get(Referral, referral_id)
                seen = mine.row_version
                child = referrals.child_details_of(session.get(Child, mine.child_id))
                return lambda: referrals.update_referral(session, mine, child, referral_details(child_wishes=wishes),
                                                         seen_version=seen)
            return read

        outcomes = _race(owner_engine, officer, edit("From the first officer"), edit("From the second officer"))
        winner = _one_winner(outcomes)
        setup_session.expire_all()
        kept = setup_session.get(Referral, referral.id)
        assert kept.child_wishes == ("From the first officer", "From the second officer")[winner], attempt
        assert kept.row_version == 2


def test_approving_a_report_while_it_is_edited_never_lets_the_edit_into_the_approved_version(
        region, setup_session, owner_engine, tries):
    commissioner = region.people[Role.RCC_COMMISSIONER]
    _act(setup_session, commissioner)
    for attempt in range(tries):
        draft = publications.create_draft(setup_session, region.rcc, f"Unit costs {attempt}",
                                          TODAY - timedelta(days=364), TODAY, commissioner.id, TODAY)
        setup_session.commit()

        def approve(session: Any, draft_id: int = draft.id) -> Callable[[], Any]:
            mine = session.get(Publication, draft_id)
            seen = mine.row_version
            return lambda: publications.approve(session, mine, commissioner.id, seen_version=seen)

        def edit(session: Any, draft_id: int = draft.id) -> Callable[[], Any]:
            mine = session.get(Publication, draft_id)
            seen = mine.row_version
            return lambda: publications.update_draft(session, mine, "Edited title", mine.period_start,
                                                     mine.period_end, TODAY, seen_version=seen)

        winner = _one_winner(_race(owner_engine, commissioner, approve, edit))
        setup_session.expire_all()
        after = setup_session.get(Publication, draft.id)
        if winner == 0:
            assert (after.status, after.title) == ("approved", f"Unit costs {attempt}"), attempt
            assert after.snapshot == draft.snapshot
        else:
            assert (after.status, after.title) == ("draft", "Edited title"), attempt


def test_an_approval_of_a_version_since_edited_is_refused_with_a_plain_message(region, setup_session):
    commissioner = region.people[Role.RCC_COMMISSIONER]
    _act(setup_session, commissioner)
    draft = publications.create_draft(setup_session, region.rcc, "Unit costs", TODAY - timedelta(days=364), TODAY,
                                      commissioner.id, TODAY)
    setup_session.commit()
    seen = draft.row_version
    publications.update_draft(setup_session, draft, "Edited", draft.period_start, draft.period_end, TODAY,
                              seen_version=seen)
    setup_session.commit()
    with pytest.raises(EditConflict, match="while you were approving it"):
        publications.approve(setup_session, draft, commissioner.id, seen_version=seen)
    setup_session.rollback()
    assert setup_session.get(Publication, draft.id).status == "draft"


# Every other record people edit, at the service level -------------------------------------------

def _home(session: Any, region: Any) -> Home:
    _act(session, region.people[Role.PROVIDER_MANAGER])
    home = supply.create_home(session, region.provider, home_details("SC900001", "Oak House"))
    session.flush()
    return home


def _home_edit(session: Any, region: Any) -> tuple[Any, Callable[[Any, str, int], Any]]:
    home = _home(session, region)
    return home, lambda s, text, seen: supply.update_home(
        s, home, replace(supply.home_details_of(home), name=text), seen_version=seen)


def _vacancy_edit(session: Any, region: Any) -> tuple[Any, Callable[[Any, str, int], Any]]:
    home = _home(session, region)
    vacancy = supply.set_vacancy(session, home, 1, TODAY)
    session.flush()
    return vacancy, lambda s, text, seen: supply.set_vacancy(s, home, len(text) % 4, TODAY, seen_version=seen)


def _sibling_group_edit(session: Any, region: Any) -> tuple[Any, Callable[[Any, str, int], Any]]:
    _act(session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    group = sibling_groups.create_sibling_group(session, region.councils[0], "Family A", "together")
    session.flush()
    return group, lambda s, text, seen: sibling_groups.update_sibling_group(s, group, text, "together", seen_version=seen)


def _tender_edit(session: Any, region: Any) -> tuple[Any, Callable[[Any, str, int], Any]]:
    tender = tenders.create_tender(session, region.rcc.id, tender_details(), None)
    session.flush()
    return tender, lambda s, text, seen: tenders.update_tender(s, tender, tender_details(title=text), NOW,
                                                               seen_version=seen)


def _cost_record_edit(session: Any, region: Any) -> tuple[Any, Callable[[Any, str, int], Any]]:
    _act(session, region.people[Role.RCC_COMMISSIONER])
    provider = add_provider(session, region, "Group V")
    placement = add_placement(session, region, region.councils[0], add_home(session, region, provider), 5000)
    record = add_cost(session, placement)
    return record, lambda s, text, seen: cost_records.update_record(
        s, record, replace(cost_records.details_of(record), notes=text), TODAY, seen_version=seen)


def _report_edit(session: Any, region: Any) -> tuple[Any, Callable[[Any, str, int], Any]]:
    _act(session, region.people[Role.RCC_COMMISSIONER])
    draft = publications.create_draft(session, region.rcc, "Unit costs", TODAY - timedelta(days=364), TODAY, None,
                                      TODAY)
    session.flush()
    return draft, lambda s, text, seen: publications.update_draft(s, draft, text, draft.period_start,
                                                                  draft.period_end, TODAY, seen_version=seen)


def _settings_edit(session: Any, region: Any) -> tuple[Any, Callable[[Any, str, int], Any]]:
    settings = high_cost_review.update_settings(session, region.rcc.id, 9000, 25, None)
    session.flush()
    return settings, lambda s, text, seen: high_cost_review.update_settings(s, region.rcc.id, 9000 + len(text), 25,
                                                                            None, seen_version=seen)


@pytest.mark.parametrize(("thing", "model", "make"), [
    ("home", Home, _home_edit), ("vacancy", Vacancy, _vacancy_edit),
    ("sibling group", SiblingGroup, _sibling_group_edit), ("tender", Tender, _tender_edit),
    ("cost record", CostRecord, _cost_record_edit), ("report", Publication, _report_edit),
    ("setting", CostSettings, _settings_edit),
])
def test_a_save_over_a_version_someone_else_changed_is_refused_and_theirs_kept(
        region, setup_session, owner_engine, thing, model, make):
    record, edit = make(setup_session, region)
    setup_session.commit()
    seen = record.row_version

    edit(setup_session, "Their change", seen)  # the first person saves what they saw
    setup_session.commit()
    theirs = {c.key: getattr(record, c.key) for c in model.__table__.columns}
    assert record.row_version == seen + 1

    with pytest.raises(EditConflict, match=f"Someone else changed this {thing} while you were editing it") as refused:
        edit(setup_session, "My change!", seen)  # the second saves over the version they saw
    setup_session.rollback()
    assert refused.value.current_version == seen + 1 and refused.value.changes
    stored = setup_session.scalars(select(model).where(model.id == record.id)).one()
    assert {c.key: getattr(stored, c.key) for c in model.__table__.columns} == theirs

    # Two sessions read the same version; one saves, then the other: the UPDATE itself refuses.
    with session_factory(owner_engine)() as other:
        set_scope(other, TenantScope.system())
        stale = other.scalars(select(model).where(model.id == record.id)).one()
        edit(setup_session, "Their second change", None)
        setup_session.commit()
        with pytest.raises(EditConflict):
            save_edit(other, thing, None, stale)
