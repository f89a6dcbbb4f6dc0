"""Publications: draft → approved → published, immutable once released; corrections are new versions;
the public reader returns only published, aggregated snapshots."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from cost_transparency.services import publications
from rcc.errors import Conflict, FieldErrors, NotFound
from tests.cost_transparency.conftest import TODAY


def _draft(session, region):
    return publications.create_draft(session, region.rcc, "Unit costs", TODAY - timedelta(days=364), TODAY, None,
                                     TODAY)


def _published(session, region):
    draft = _draft(session, region)
    publications.approve(session, draft, None)
    publications.publish(session, draft, None)
    session.commit()
    return draft


def test_a_draft_holds_suppressed_aggregates_and_no_child_level_rows(session, region, costed):
    draft = _draft(session, region)
    snapshot = draft.snapshot
    by_type = snapshot["sections"][0]["table"]["rows"]
    homes = next(r for r in by_type if r["label"] == "Children's home")
    assert homes["cells"][0]["text"] == "12"
    assert homes["cells"][1]["value"] == 615_000  # median of the twelve: (6,100 + 6,200) / 2
    by_council = snapshot["sections"][1]["table"]["rows"]
    assert [r["label"] for r in by_council] == ["Coventry", "Warwickshire", "All councils"]
    for section in snapshot["sections"]:
        for row in section["table"]["rows"]:
            for cell in row["cells"]:
                assert cell["value"] is None or not (0 < cell["value"] < 5), (section["key"], row, cell)
    text_of_snapshot = str(snapshot)
    assert "CH-" not in text_of_snapshot and "placement_id" not in text_of_snapshot
    assert "QUARTILE.INC" in " ".join(snapshot["methods"])


def test_each_step_of_the_lifecycle_and_nothing_out_of_order(session, region, costed):
    draft = _draft(session, region)
    with pytest.raises(Conflict):
        publications.publish(session, draft, None)
    publications.approve(session, draft, None)
    with pytest.raises(Conflict):
        publications.update_draft(session, draft, "New title", draft.period_start, draft.period_end)
    with pytest.raises(Conflict):
        publications.rebuild_draft(session, draft)
    publications.publish(session, draft, None)
    assert draft.status == "published" and draft.published_at is not None


@pytest.mark.parametrize("change", ["update", "rebuild", "approve", "publish", "delete"])
def test_a_published_version_cannot_be_changed_by_the_services(session, region, costed, change):
    published = _published(session, region)
    actions = {
        "update": lambda: publications.update_draft(session, published, "X", published.period_start,
                                                    published.period_end),
        "rebuild": lambda: publications.rebuild_draft(session, published),
        "approve": lambda: publications.approve(session, published, None),
        "publish": lambda: publications.publish(session, published, None),
        "delete": lambda: publications.delete_draft(session, published),
    }
    with pytest.raises(Conflict):
        actions[change]()


def test_a_correction_is_a_new_version_that_names_what_changed(session, region, costed):
    published = _published(session, region)
    with pytest.raises(FieldErrors):
        publications.correct(session, published, "  ", None)
    correction = publications.correct(session, published, "Warwickshire's costs were double-counted", None)
    assert (correction.slug, correction.version, correction.status) == (published.slug, 2, "draft")
    with pytest.raises(Conflict):
        publications.correct(session, published, "again", None)  # one correction in progress at a time
    publications.approve(session, correction, None)
    publications.publish(session, correction, None)
    session.commit()
    latest = publications.published_report(session, published.slug)
    assert latest.version == 2 and latest.changes == "Warwickshire's costs were double-counted"
    assert [v.version for v in latest.versions] == [2, 1]
    first = publications.published_report(session, published.slug, 1)
    assert first.snapshot == published.snapshot and not first.is_latest


def test_the_public_reader_sees_only_published_versions(session, region, costed):
    draft = _draft(session, region)
    session.commit()
    with pytest.raises(NotFound):
        publications.published_report(session, draft.slug)
    assert publications.published_index(session) == []
    publications.approve(session, draft, None)
    publications.publish(session, draft, None)
    session.commit()
    [summary] = publications.published_index(session)
    assert summary.slug == draft.slug and summary.publisher == region.rcc.name


def test_bad_periods_are_refused_field_by_field(session, region):
    with pytest.raises(FieldErrors) as error:
        publications.create_draft(session, region.rcc, "", TODAY, TODAY - timedelta(days=1), None, TODAY)
    assert set(error.value.errors) == {"title", "period_end"}


def test_the_database_refuses_to_change_a_published_version_on_postgresql(session, region, costed, is_postgres,
                                                                          owner_engine):
    if not is_postgres:
        pytest.skip("the trigger is PostgreSQL's; SQLite relies on the services")
    published = _published(session, region)
    # The owner sees every row (the app's login role cannot claim system scope): the trigger still refuses.
    with owner_engine.connect() as connection:
        with pytest.raises(Exception, match="published and cannot be changed"):
            connection.execute(text("UPDATE cost_publication SET title = 'tampered' WHERE id = :id"),
                               {"id": published.id})
        connection.rollback()
        with pytest.raises(Exception, match="cannot be deleted"):
            connection.execute(text("DELETE FROM cost_publication WHERE id = :id"), {"id": published.id})
        connection.rollback()
