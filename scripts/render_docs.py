"""`make docs`: the generated parts of docs/tickets.md (the state diagrams and the TK-7 responsibility table)
and of docs/security.md (the roles and the access policy of api.policy).

`make docs` rewrites them in place; tests/tickets/test_ticket_docs.py and tests/api/test_access_policy.py fail
when a document and the code disagree.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from domain.service_requests import SERVICE_REQUEST
from domain.support_matters import responsibility_table_markdown
from domain.tickets import TICKET

DOC = Path(__file__).resolve().parents[1] / "docs" / "tickets.md"
SECURITY_DOC = DOC.with_name("security.md")


def generated_blocks() -> dict[str, str]:
    return {
        "ticket-states": f"```mermaid\n{TICKET.mermaid()}\n```",
        "service-request-states": f"```mermaid\n{SERVICE_REQUEST.mermaid()}\n```",
        "tk7-table": responsibility_table_markdown(),
    }


def security_blocks() -> dict[str, str]:
    from api.policy import event_table_markdown, policy_table_markdown, role_table_markdown

    return {"roles": role_table_markdown(), "policy": policy_table_markdown(), "events": event_table_markdown()}


def render(text: str, blocks: dict[str, str] | None = None) -> str:
    """`text` with every `<!-- generated:NAME -->…<!-- /generated:NAME -->` block refreshed."""
    for name, body in (generated_blocks() if blocks is None else blocks).items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"the document has no generated block {name!r}")
        text = pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main() -> int:
    for doc, blocks in ((DOC, None), (SECURITY_DOC, security_blocks())):
        before = doc.read_text(encoding="utf-8")
        after = render(before, blocks)
        if after != before:
            doc.write_text(after, encoding="utf-8")
            print(f"updated {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
