"""Recompute every audit hash chain and name the first broken link (issue 11).

    python -m scripts.verify_audit [DATABASE_URL]      exit 0: intact, 1: a chain is broken
"""
from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from config import get_settings
    from db.audit_chain import verify
    from db.session import make_sessionmaker

    url = argv[0] if argv else get_settings().database_url
    with make_sessionmaker(url)() as session:
        report = verify(session)
    print(json.dumps(report, indent=2, default=str))
    if not report["intact"]:
        for link in report["broken"]:
            print(f"BROKEN {link['chain']} {link['key']} row {link['id']}: {link['problem']}", file=sys.stderr)
    return 0 if report["intact"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
