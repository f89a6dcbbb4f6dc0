"""CSV import of cost records: every row is checked, and a bad row means nothing is written."""

import pytest
from sqlalchemy import select

from cost_transparency.models import CostRecord
from cost_transparency.services import imports
from tests.cost_transparency.conftest import add_home, add_placement, add_provider

HEADER = ",".join(imports.COLUMNS)


@pytest.fixture
def placement(session, region):
    home = add_home(session, region, add_provider(session, region, "Acme Care"))
    return add_placement(session, region, region.councils[0], home, 6000)


def _reference(session, placement):
    from commissioning.models import Child

    return session.get(Child, placement.child_id).reference


def test_a_good_file_creates_every_record(session, region, placement):
    ref, start = _reference(session, placement), placement.start_date.isoformat()
    data = (f"{HEADER}\n{ref},{start},{start},,\"£5,800.50\",650,0,0,300,0,enhanced,Night staffing\n").encode()
    made = imports.import_cost_records(session, region.councils[0], data, None)
    assert len(made) == 1
    assert made[0].core_weekly == 580_050 and made[0].additional_support_weekly == 65_000
    assert made[0].nhs_contribution_weekly == 30_000 and made[0].need_band == "enhanced"
    assert made[0].source == "import"


def test_row_errors_name_row_and_column_and_nothing_is_written(session, region, placement):
    ref, start = _reference(session, placement), placement.start_date.isoformat()
    data = (f"{HEADER}\n"
            f"{ref},{start},{start},2020-01-01,5800,0,0,0,0,0,standard,\n"   # row 2: good on its own
            f"{ref},{start},31/02/2026,,abc,0,0,0,0,0,severe,\n"            # row 3: three problems
            f"NOPE,{start},{start},,100,0,0,0,0,0,standard,\n").encode()     # row 4: unknown child
    with pytest.raises(imports.ImportRejected) as error:
        imports.import_cost_records(session, region.councils[0], data, None)
    problems = {(p.row, p.column) for p in error.value.problems}
    assert {(3, "start_date"), (3, "core_weekly"), (3, "need_band"), (4, "child_reference")} <= problems
    assert (2, "end_date") in problems  # ends before it starts
    assert session.scalars(select(CostRecord)).first() is None


def test_another_councils_placement_cannot_be_imported(session, region, placement):
    ref, start = _reference(session, placement), placement.start_date.isoformat()
    data = f"{HEADER}\n{ref},{start},{start},,5800,0,0,0,0,0,standard,\n".encode()
    with pytest.raises(imports.ImportRejected) as error:
        imports.import_cost_records(session, region.councils[1], data, None)
    assert error.value.problems[0].column == "child_reference"


def test_missing_columns_and_empty_files_are_refused_whole(session, region):
    with pytest.raises(imports.ImportRejected, match="missing these columns"):
        imports.import_cost_records(session, region.councils[0], b"child_reference\nX\n", None)
    with pytest.raises(imports.ImportRejected, match="empty"):
        imports.import_cost_records(session, region.councils[0], b"", None)
