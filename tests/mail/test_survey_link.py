"""Rule TK-6 by mail (issue 21): the survey mail carries a personal, signed, single-use link that answers the
two questions without signing in; expired (410), reused (409), forged or altered (404) links are refused; the link carries no personal data."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from activities.mail import MailActivities
from db.ticket_models import SurveyAnswer, Ticket
from mail.survey_link import InvalidLink, make_token, read_token
from tests.mail.test_mail_delivery import AT, outbox, person

NUMBER = "T2026-00042"


def closed_ticket(sessions, survey: bool = True) -> None:
    with sessions.begin() as s:
        s.add(Ticket(number=NUMBER, workflow_id=f"ticket-{NUMBER}", unit_id="TR-KS", municipality="tranemo",
                     reporter_ref="E5001", title="Skrivaren", line="first_line", state="closed", on_call=False,
                     breached=False, survey_selected=survey, reported_at=AT, updated_at=AT, closed_at=AT))


@pytest.fixture
async def anonymous(api):
    """The same app, called without any token (a browser following the mail's link)."""
    async with httpx.AsyncClient(transport=api._transport, base_url="http://ramflow.test/api/v1") as http:
        yield http


def token(settings, expires: datetime | None = None, number: str = NUMBER, secret: str | None = None) -> str:
    return make_token(secret or settings.survey_link_secret.get_secret_value(), number,
                      expires or datetime.now(timezone.utc) + timedelta(days=1))


async def test_tk6_survey_mail_link_answers_without_signing_in_once(api, anonymous, sessions, settings, smtp):
    person(sessions)
    closed_ticket(sessions)
    outbox_id = outbox(sessions, topic="survey", data={"number": NUMBER, "title": "Skrivaren"}, key="survey-1")
    await MailActivities(None, sessions, settings).deliver(outbox_id)
    text = smtp.recorder.accepted[0].get_body(("plain",)).get_content()
    link = next(word for word in text.split() if "/api/v1/survey/" in word)
    assert "E5001" not in URLSafeSerializer("any").loads_unsafe(link.rsplit("/", 1)[1])[1].values()
    assert link.startswith("https://ramflow.tranemo-ulricehamn.example/api/v1/survey/")
    path = "/survey/" + link.rsplit("/", 1)[1]
    form = await anonymous.get(path)
    assert form.status_code == 200 and NUMBER in form.text
    assert "tillfredsställande" in form.text and 'name="treatment"' in form.text  # the two questions (TK-6)
    answered = await anonymous.post(path, data={"solved_satisfactorily": "true", "treatment": "4"})
    assert answered.status_code == 201, answered.text
    with sessions() as s:
        answer = s.get(SurveyAnswer, NUMBER)
    assert (answer.solved_satisfactorily, answer.treatment) == (True, 4)
    reused = await anonymous.post(path, data={"solved_satisfactorily": "false", "treatment": "1"})
    assert reused.status_code == 409 and "redan besvarad" in reused.text
    assert (await anonymous.get(path)).status_code == 409
    with sessions() as s:
        assert s.get(SurveyAnswer, NUMBER).treatment == 4  # the reuse changed nothing


async def test_tk6_expired_survey_link_is_refused_410(anonymous, sessions, settings):
    closed_ticket(sessions)
    path = f"/survey/{token(settings, expires=datetime.now(timezone.utc) - timedelta(seconds=1))}"
    assert (await anonymous.get(path)).status_code == 410
    refused = await anonymous.post(path, data={"solved_satisfactorily": "true", "treatment": "5"})
    assert refused.status_code == 410 and "gått ut" in refused.text
    with sessions() as s:
        assert s.get(SurveyAnswer, NUMBER) is None


@pytest.mark.parametrize("forge", ["secret", "altered", "no-such-ticket"])
async def test_tk6_forged_survey_link_is_refused_404(anonymous, sessions, settings, forge):
    closed_ticket(sessions)
    good = token(settings)
    bad = {"secret": token(settings, secret="someone-elses-key"),
           "altered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
           "no-such-ticket": token(settings, number="T2026-99999")}[forge]
    refused = await anonymous.post(f"/survey/{bad}", data={"solved_satisfactorily": "true", "treatment": "5"})
    assert refused.status_code == 404 and "inte giltig" in refused.text
    with sessions() as s:
        assert s.get(SurveyAnswer, NUMBER) is None


async def test_tk6_link_of_a_ticket_not_drawn_is_refused_409(anonymous, sessions, settings):
    closed_ticket(sessions, survey=False)
    refused = await anonymous.post(f"/survey/{token(settings)}", data={"solved_satisfactorily": "true",
                                                                       "treatment": "5"})
    assert refused.status_code == 409


async def test_tk6_bad_answer_is_422_naming_the_field(anonymous, sessions, settings):
    closed_ticket(sessions)
    refused = await anonymous.post(f"/survey/{token(settings)}", data={"solved_satisfactorily": "true",
                                                                       "treatment": "9"})
    assert refused.status_code == 422 and "treatment" in refused.text


def test_tk6_survey_token_round_trip_and_expiry_with_an_injected_clock():
    now = datetime(2026, 3, 10, tzinfo=timezone.utc)
    signed = make_token("k", NUMBER, now + timedelta(days=14))
    assert read_token("k", signed, now + timedelta(days=13)) == NUMBER
    with pytest.raises(InvalidLink, match="expired"):
        read_token("k", signed, now + timedelta(days=14))
    with pytest.raises(InvalidLink, match="signature"):
        read_token("other", signed, now)
