"""Rule TK-6 by mail (issue 21): the survey answered through the personal link in the mail, without signing
in. The signed token (mail/survey_link.py) names the ticket and the reporter and expires; it is single use
because a ticket's survey is answered once. The answer is recorded as `POST /tickets/{number}/survey` does.
Public routes (api/policy.py): the token is the credential."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from api.deps import SessionDep, SessionFactoryDep, SettingsDep
from api.routes.tickets import SurveyAnswerRequest, record_survey_answer
from db.ticket_models import SurveyAnswer, Ticket
from domain.tickets import SURVEY_QUESTIONS
from mail.render import TEMPLATES
from mail.survey_link import InvalidLink, read_token

router = APIRouter(tags=["survey link"])
PAGES = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
# a forged or altered link is "not found" (404): 401/403 are the access policy's answers, and this route is public
HTML_ERRORS = {404: "Länken är inte giltig. / The link is not valid.",
               410: "Länken har gått ut. / The link has expired.",
               409: "Enkäten är redan besvarad. / The survey is already answered."}


def page(status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(PAGES.get_template("survey_page.html").render(questions=SURVEY_QUESTIONS, **context),
                        status_code=status)


def now() -> datetime:
    return datetime.now(timezone.utc)


def _ticket_of(token: str, session, settings) -> str:  # noqa: ANN001
    """The ticket a valid link answers; 404 forged or altered, 410 expired, 409 answered or not drawn."""
    try:
        number = read_token(settings.survey_link_secret.get_secret_value(), token, now())
    except InvalidLink as error:
        raise HTTPException(410 if "expired" in str(error) else 404, str(error)) from None
    if session.get(Ticket, number) is None:
        raise HTTPException(404, "token: no such ticket")
    if session.get(SurveyAnswer, number) is not None:
        raise HTTPException(409, f"rule TK-6: the survey of ticket {number} is already answered")
    return number


@router.get("/survey/{token}", response_class=HTMLResponse, responses={404: {}, 409: {}, 410: {}})
def survey_form(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The two questions as a form (Swedish and English)."""
    try:
        number = _ticket_of(token, session, settings)
    except HTTPException as error:
        return page(error.status_code, refusal=HTML_ERRORS.get(error.status_code, error.detail))
    return page(number=number)


@router.post("/survey/{token}", response_class=HTMLResponse, status_code=201,
             openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                 "type": "object", "required": ["solved_satisfactorily", "treatment"],
                 "properties": {"solved_satisfactorily": {"type": "boolean"},
                                "treatment": {"type": "integer", "minimum": 1, "maximum": 5},
                                "comment": {"type": "string", "maxLength": 2000}}}}}}},
             responses={404: {}, 409: {}, 410: {}, 422: {}})
async def survey_answer(token: str, request: Request, sessions: SessionFactoryDep,
                        settings: SettingsDep) -> HTMLResponse:
    """Rule TK-6: the answer (the page's form), once; the link cannot answer again."""
    # the form is read from the cached body: the API's body checks (api.errors) have read the stream already
    fields = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    try:
        answer = SurveyAnswerRequest.model_validate({**fields, "comment": fields.get("comment") or None})
    except ValidationError as error:
        first = error.errors()[0]
        raise HTTPException(422, f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}") from None
    try:
        number = await run_in_threadpool(_record, token, sessions, settings, answer)
    except HTTPException as error:
        return page(error.status_code, refusal=HTML_ERRORS.get(error.status_code, error.detail))
    return page(201, done=True, number=number)


def _record(token: str, sessions: sessionmaker[Session], settings,  # noqa: ANN001
            answer: SurveyAnswerRequest) -> str:
    """In a worker thread: the session is opened here, never held across the async handler's awaits."""
    with sessions() as session:
        number = _ticket_of(token, session, settings)
        record_survey_answer(session, number, answer)
        return number
