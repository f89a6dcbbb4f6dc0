"""The SSDA903 page: the pair of files imported in the background with progress, every problem listed and
nothing saved, no UPN kept even while waiting, the year's episodes downloaded (an audited read), and no
other council's or provider's view of them."""

from __future__ import annotations

import csv
import io

from bs4 import BeautifulSoup
from sqlalchemy import func, select

from commissioning import ssda903_generate
from commissioning.models import CareEpisode, LookedAfterChild, Ssda903Upload
from commissioning.services import ssda903
from commissioning.ssda903_files import EPISODE_COLUMNS, read_episodes
from rcc.audit import AuditAction, AuditEvent
from rcc.roles import Role


def _files(year: int = 2025, children: int = 30) -> tuple[bytes, bytes]:
    kids = ssda903_generate.timelines("Coventry", "331", year - 1, year, children, seed=7)
    return ssda903_generate.year_files(kids, year)


def _post(client, header: bytes | None, episodes: bytes | None, year: str = ""):  # type: ignore[no-untyped-def]
    data: dict = {"year": year}
    if header is not None:
        data["header"] = (io.BytesIO(header), "header.csv")
    if episodes is not None:
        data["episodes"] = (io.BytesIO(episodes), "episodes.csv")
    return client.post("/ssda903", data=data, content_type="multipart/form-data")


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(BeautifulSoup(response.data, "html.parser").get_text(" ").split())


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_a_return_is_imported_in_the_background_and_downloaded(app, region, setup_session, signed_in_client,
                                                             monkeypatch):
    kept: list[bytes] = []
    real = ssda903.run_upload

    def watching(make_session, upload_id, *args):  # type: ignore[no-untyped-def]
        with make_session() as s:
            from rcc.tenancy import TenantScope, set_scope  # noqa: PLC0415
            # As the council (its arguments: rcc_id, council_id): on PostgreSQL the app's role cannot claim
            # the system scope, so that read saw no row.
            set_scope(s, TenantScope.for_organisation("council", args[1], args[0]))
            kept.append(s.get(Ssda903Upload, upload_id).header_content)
        real(make_session, upload_id, *args)

    monkeypatch.setattr(ssda903, "run_upload", watching)
    header, episodes = _files()
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    response = _post(officer, header, episodes, "2024-25")
    assert response.status_code == 302
    page = _text(officer.get(response.headers["Location"]))
    assert "2024-25 imported" in page
    upns = {row["UPN"] for row in csv.DictReader(io.StringIO(header.decode()))}
    assert kept and not any(upn.encode() in kept[0] for upn in upns)  # never stored, not even while waiting
    upload = setup_session.scalars(select(Ssda903Upload)).one()
    assert upload.status == "done" and upload.header_content is None and upload.episodes_content is None
    assert _count(setup_session, LookedAfterChild) == upload.children > 0
    assert _count(setup_session, CareEpisode) == upload.episodes == len(read_episodes(episodes))
    assert "2024-25" in _text(officer.get("/ssda903"))
    download = officer.get("/ssda903/episodes.csv?year=2025")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert read_episodes(download.data) == read_episodes(episodes)
    assert setup_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == AuditAction.SSDA903_EXPORTED.value)) >= 1


def test_a_faulty_return_lists_every_problem_and_saves_nothing(app, region, setup_session, signed_in_client):
    header, episodes = _files()
    bad = episodes.replace(b",U4,", b",Q9,", 1)
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    response = _post(officer, header, bad, "2025")
    page = _text(officer.get(response.headers["Location"]))
    assert "PLACE (episodes)" in page and "'Q9' is not a 903 code" in page and "Nothing was saved" in page
    assert _count(setup_session, CareEpisode) == 0 and _count(setup_session, LookedAfterChild) == 0


def test_a_missing_file_of_the_pair_or_a_wrong_year_is_named_on_the_form(app, region, signed_in_client):
    header, _ = _files()
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    response = _post(officer, header, None, "twenty")
    assert response.status_code == 400
    page = _text(response)
    assert "Choose the episodes file" in page and "Enter the year the return ends" in page


def test_a_file_that_is_not_utf8_csv_is_refused_at_once(app, region, signed_in_client):
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    response = _post(officer, b"\xff\xfe\x00C\x00H\x00I", b"\x89PNG\r\n")
    assert response.status_code == 400 and "not UTF-8" in _text(response)


def test_another_council_and_a_provider_cannot_see_a_councils_return(app, region, setup_session,
                                                                    signed_in_client):
    header, episodes = _files()
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    location = _post(officer, header, episodes, "2025").headers["Location"]
    other = signed_in_client(region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert other.get(location).status_code == 404
    theirs = other.get("/ssda903/episodes.csv?year=2025")
    assert theirs.status_code == 200 and theirs.data.decode().strip().splitlines() == [",".join(EPISODE_COLUMNS)]
    provider = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    assert provider.get("/ssda903/episodes.csv?year=2025").status_code in (403, 404)
    assert provider.get(location).status_code in (403, 404)


def test_the_api_imports_a_year_and_exports_it_as_903_fields(app, region, setup_session):
    from tests.commissioning.test_api_commissioning import token_client  # noqa: PLC0415

    header, episodes = _files()
    client, headers = token_client(app, setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    started = client.post("/api/v1/ssda903/imports", json={"header_csv": header.decode(),
                                                           "episodes_csv": episodes.decode(), "year": 2025},
                          headers=headers)
    assert started.status_code == 202, started.get_json()
    done = client.get(f"/api/v1/ssda903/imports/{started.get_json()['id']}", headers=headers).get_json()
    assert (done["status"], done["year"], done["episodes"]) == ("done", 2025, len(read_episodes(episodes)))
    exported = client.get("/api/v1/ssda903/episodes?year=2025", headers=headers).get_json()
    assert exported.get("label") == "2024-25", exported
    assert [[e[c] for c in EPISODE_COLUMNS] for e in exported["episodes"]] == \
        [row.split(",") for row in episodes.decode().strip().splitlines()[1:]]
    bad = client.post("/api/v1/ssda903/imports", json={"header_csv": "A,B\n1,2\n", "episodes_csv": "x"},
                      headers=headers)
    assert bad.status_code == 400 and "missing these columns" in bad.get_json()["message"]
    failed = client.post("/api/v1/ssda903/imports", json={"header_csv": header.decode(), "year": 2025,
                                                          "episodes_csv": episodes.decode().replace(",U4,", ",Q9,")},
                         headers=headers).get_json()
    result = client.get(f"/api/v1/ssda903/imports/{failed['id']}", headers=headers).get_json()
    assert result["status"] == "failed" and {p["field"] for p in result["problems"]} == {"PLACE (episodes)"}
    other, other_headers = token_client(app, setup_session, region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert other.get(f"/api/v1/ssda903/imports/{failed['id']}", headers=other_headers).status_code == 404
