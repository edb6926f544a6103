"""A second step before a consequential action (issue 23): renewing now, reporting a theft, giving notice,
accepting a buyout (a salary deduction, EQ-11) and rejecting at a board. Without JavaScript: the first POST
answers a page that explains what happens, whose form posts the same fields again with `confirmed=yes`."""
from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

CONFIRM_EVENTS = frozenset({"renew_now", "report_stolen", "give_notice", "accept_buyout", "reject", "board_reject",
                            "steering_reject", "committee_reject", "forum_reject", "strategist_reject"})
KEPT_OUT = ("csrf", "confirmed", "do")


def needs_confirmation(form: dict[str, str]) -> bool:
    return form.get("event") in CONFIRM_EVENTS and form.get("confirmed") != "yes"


def confirm_page(ui, request: Request, session, form: dict[str, str], action: str, back: str,  # noqa: ANN001
                 **context) -> Response:
    """The confirmation page: what the action does, then 'Ja, …' (the same form again) or back."""
    fields = {k: v for k, v in form.items() if k not in KEPT_OUT}
    return ui.render(request, "confirm.html", session, event=form["event"], fields=fields, action=action,
                     back=back, **context)
