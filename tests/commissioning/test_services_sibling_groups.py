from __future__ import annotations

import pytest

from commissioning.services import referrals, sibling_groups
from rcc.errors import Conflict, FieldErrors, NotFound
from tests.commissioning.world import child_details, referral_details


def make_referral(session, council, reference):
    referral = referrals.create_referral(session, council, child_details(reference), referral_details())
    session.flush()
    return referral


def test_placing_apart_needs_a_reason(session, region):
    with pytest.raises(FieldErrors) as refused:
        sibling_groups.create_sibling_group(session, region.councils[0], "Family A", "apart", "  ")
    assert "plan_reason" in refused.value.errors
    group = sibling_groups.create_sibling_group(session, region.councils[0], "Family A", "apart", " Court plan ")
    assert (group.plan, group.plan_reason) == ("apart", "Court plan")


def test_the_plan_is_one_of_three_words_and_a_name_is_required(session, region):
    group = sibling_groups.create_sibling_group(session, region.councils[0], "Family B", "together_if_possible")
    assert (group.plan, group.plan_reason) == ("together_if_possible", None)
    with pytest.raises(FieldErrors) as refused:
        sibling_groups.create_sibling_group(session, region.councils[0], "Family B", "keep_together")
    assert "plan" in refused.value.errors
    with pytest.raises(FieldErrors) as refused:
        sibling_groups.create_sibling_group(session, region.councils[0], " ", "together")
    assert "name" in refused.value.errors


def test_the_database_refuses_apart_without_a_reason(session, region):
    import sqlalchemy.exc

    group = sibling_groups.create_sibling_group(session, region.councils[0], "Family D", "together")
    session.flush()
    group.plan = "apart"
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        session.flush()
    session.rollback()


def test_links_referrals_of_the_same_council_only(session, region):
    group = sibling_groups.create_sibling_group(session, region.councils[0], "Family C", "together")
    session.flush()
    ours = make_referral(session, region.councils[0], "S-1")
    theirs = make_referral(session, region.councils[1], "S-2")
    sibling_groups.add_to_group(session, group, ours)
    assert [r.id for r in sibling_groups.members(session, group)] == [ours.id]
    with pytest.raises(NotFound):
        sibling_groups.add_to_group(session, group, theirs)


def test_a_child_is_in_one_group_at_a_time(session, region):
    first = sibling_groups.create_sibling_group(session, region.councils[0], "One", "together")
    second = sibling_groups.create_sibling_group(session, region.councils[0], "Two", "together")
    session.flush()
    referral = make_referral(session, region.councils[0], "S-3")
    sibling_groups.add_to_group(session, first, referral)
    with pytest.raises(Conflict, match="already in another sibling group"):
        sibling_groups.add_to_group(session, second, referral)
    sibling_groups.remove_from_group(session, first, referral)
    sibling_groups.add_to_group(session, second, referral)
    assert referral.sibling_group_id == second.id


def test_membership_and_plan_are_fixed_once_a_home_is_offered(session, region):
    group = sibling_groups.create_sibling_group(session, region.councils[0], "Family D", "together")
    session.flush()
    offered = make_referral(session, region.councils[0], "S-4")
    sibling_groups.add_to_group(session, group, offered)
    for step in (referrals.submit_referral, referrals.start_matching, referrals.mark_offered):
        step(session, offered)
    late = make_referral(session, region.councils[0], "S-5")
    with pytest.raises(Conflict, match="already been offered"):
        sibling_groups.add_to_group(session, group, late)
    with pytest.raises(Conflict):
        sibling_groups.remove_from_group(session, group, offered)
    with pytest.raises(Conflict):
        sibling_groups.update_sibling_group(session, group, "Family D", "apart", "Changed plan")


def test_a_group_with_children_cannot_be_deleted(session, region):
    group = sibling_groups.create_sibling_group(session, region.councils[0], "Family E", "together")
    session.flush()
    sibling_groups.add_to_group(session, group, make_referral(session, region.councils[0], "S-6"))
    with pytest.raises(Conflict):
        sibling_groups.delete_sibling_group(session, group)
