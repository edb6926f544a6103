"""Recompute every audit hash chain and name the first broken link (issue 11); compare every chain with the
newest signed checkpoint in AUDIT_ANCHOR_DIR (issue 20: truncation, deletion, rechaining), or write one.

    python -m scripts.verify_audit [DATABASE_URL]            exit 0: intact, 1: a chain is broken
    python -m scripts.verify_audit --anchor [DATABASE_URL]   write a signed checkpoint now (needs AUDIT_ANCHOR_KEY)
"""
from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from config import get_settings
    from db.audit_anchor import AnchorStore
    from db.audit_chain import verify
    from db.session import make_sessionmaker

    anchor = "--anchor" in argv
    argv = [arg for arg in argv if arg != "--anchor"]
    settings = get_settings()
    url = argv[0] if argv else settings.database_url
    store = AnchorStore.from_settings(settings)
    if anchor and store is None:
        print("AUDIT_ANCHOR_KEY is unset: no checkpoint can be signed", file=sys.stderr)
        return 2
    with make_sessionmaker(url)() as session:
        if anchor:
            print(store.write(session))
            return 0
        report = verify(session, store)
    print(json.dumps(report, indent=2, default=str))
    if not report["intact"]:
        for link in report["broken"]:
            row = f" row {link['id']}" if link.get("id") is not None else ""
            print(f"BROKEN {link['chain']} {link.get('key')}{row}: {link['problem']}", file=sys.stderr)
    return 0 if report["intact"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
