"""Compare every process's database mirror with its workflow's own log and report drift (issue 11).

    python -m scripts.check_consistency [--all]    exit 0: no drift, 1: drift found
Every process's workflow answers the `view` query, also after it closed; processes beyond the
namespace's retention are skipped (--all lists them as unchecked).
"""
from __future__ import annotations

import asyncio
import json
import sys


async def check(include_closed: bool) -> int:
    from sqlalchemy import distinct, select
    from temporalio.service import RPCError

    from api.consistency import consistency
    from config import get_settings
    from db.audit_queries import trail_union
    from db.session import make_sessionmaker
    from worker import connect

    settings = get_settings()
    sessions = make_sessionmaker(settings.database_url)
    client = await connect(settings)
    t = trail_union()
    with sessions() as s:
        workflow_ids = list(s.scalars(select(distinct(t.c.workflow_id)).order_by(t.c.workflow_id)))
    drifted = 0
    for workflow_id in workflow_ids:
        try:
            report = await consistency(client, sessions, workflow_id)
        except (RPCError, asyncio.TimeoutError) as error:
            if include_closed:
                print(json.dumps({"workflow_id": workflow_id, "unchecked": str(error)}))
            continue
        if not report["consistent"]:
            drifted += 1
            print(json.dumps(report, default=str))
    print(f"{len(workflow_ids)} processes, {drifted} with drift", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(check("--all" in sys.argv[1:])))
