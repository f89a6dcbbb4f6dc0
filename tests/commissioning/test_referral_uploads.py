"""A referral CSV is checked and saved in the background: progress shown, all rows or none,
a dead job shown as stopped, and no job left waiting when the job queue cannot be reached."""

from __future__ import annotations

import io
from datetime import date, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import func, select

from commissioning.models import Referral, ReferralUpload
from commissioning.services import imports
from rcc.models import utcnow
from rcc.roles import Role


def _rows(count: int, start: int = 0) -> bytes:
    header, example = imports.referral_template_csv().splitlines()[:2]
    needed = (date.today() + timedelta(days=30)).isoformat()
    rows = [example.replace("ABC-1234", f"UP-{start + n}").replace("2027-03-27", needed).replace(",Family A,yes,", ",,,")
            for n in range(count)]
    return "\n".join([header, *rows]).encode()


def _post(client, content: bytes, **extra):  # type: ignore[no-untyped-def]
    return client.post("/referrals/upload", data={"file": (io.BytesIO(content), "referrals.csv"), **extra},
                       content_type="multipart/form-data")


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(BeautifulSoup(response.data, "html.parser").get_text(" ").split())


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_an_upload_reports_its_progress_and_saves_every_row(app, region, setup_session, signed_in_client,
                                                            monkeypatch):
    seen: list[int] = []
    real = imports._note_progress
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(imports, "_note_progress", lambda *args: (seen.append(args[-1]), real(*args)))
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    response = _post(officer, _rows(5), submit_now="y")
    assert response.status_code == 302
    page = _text(officer.get(response.headers["Location"]))
    assert "5 referrals submitted" in page
    assert seen == [2, 4, 5]  # the last: every row checked, saving starts
    upload = setup_session.scalars(select(ReferralUpload)).one()
    assert (upload.status, upload.rows_checked, upload.rows_total, upload.referrals_created) == ("done", 5, 5, 5)
    assert upload.content is None  # the file describes children: not kept once it is done
    assert _count(setup_session, Referral) == 5


def test_the_page_states_the_row_limit_and_refuses_a_file_over_it(app, region, setup_session, signed_in_client,
                                                                 monkeypatch):
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert "50,000 referrals" in _text(officer.get("/referrals/upload"))
    monkeypatch.setattr(imports, "MAX_REFERRAL_ROWS", 3)
    page = _text(_post(officer, _rows(4)))
    assert "The file has 4 referrals; the most in one file is 3" in page
    assert _count(setup_session, ReferralUpload) == 0 and _count(setup_session, Referral) == 0


def test_a_failure_while_saving_saves_nothing_and_says_so(app, region, setup_session, signed_in_client, monkeypatch):
    def fail_part_way(session, council, items, submit, today=None):  # type: ignore[no-untyped-def]
        real(session, council, items[:1], submit, today)
        raise RuntimeError("the database went away")

    real = imports.referral_service.create_referrals_in_bulk
    monkeypatch.setattr(imports.referral_service, "create_referrals_in_bulk", fail_part_way)
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    page = _text(officer.get(_post(officer, _rows(3)).headers["Location"]))
    assert "failed unexpectedly, so nothing was saved" in page
    assert _count(setup_session, Referral) == 0
    assert setup_session.scalars(select(ReferralUpload)).one().status == "failed"


def test_an_upload_whose_job_died_is_shown_as_stopped(app, region, setup_session, signed_in_client):
    council = region.councils[0]
    upload = ReferralUpload(rcc_id=council.rcc_id, council_id=council.id, status="checking", rows_total=10,
                            content=b"reference\nSTOPPED-1\n",
                            rows_checked=4, heartbeat_at=utcnow() - imports.UPLOAD_STOPPED_AFTER - timedelta(seconds=1))
    setup_session.add(upload)
    setup_session.commit()
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    page = _text(officer.get(f"/referrals/uploads/{upload.id}"))
    assert "The upload stopped before it finished. Nothing was saved." in page
    assert "refreshes itself" not in page
    setup_session.expire_all()
    stopped = setup_session.get(ReferralUpload, upload.id)
    assert (stopped.status, stopped.content) == ("failed", None)  # and the children's file is not kept


def test_with_the_job_queue_down_nothing_is_left_waiting(app, region, setup_session, signed_in_client):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    response = _post(officer, _rows(2))
    assert response.status_code == 302
    page = _text(officer.get(response.headers["Location"]))
    assert "not answering, so nothing was started" in page
    upload = setup_session.scalars(select(ReferralUpload)).one()
    assert upload.status == "failed" and upload.content is None
    assert _count(setup_session, Referral) == 0


def test_the_job_runs_once_even_if_started_twice(app, region, setup_session, signed_in_client):
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    _post(officer, _rows(2))
    upload = setup_session.scalars(select(ReferralUpload)).one()
    imports.run_referral_upload(app.extensions["rcc_sessions"], int(upload.id or 0), upload.rcc_id,
                                upload.council_id, None)
    assert _count(setup_session, Referral) == 2
