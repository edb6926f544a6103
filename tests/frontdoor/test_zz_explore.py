import schemathesis, time
from hypothesis import HealthCheck, given, settings, Phase
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.checks import not_a_server_error
from api.policy import ROLES
import os
N = int(os.environ.get("EXPLORE_N", "60"))

def test_explore(shared_stack):
    stack = shared_stack
    schema = schemathesis.openapi.from_url(f"{stack.base}/openapi.json")
    hdr = stack.bearer("it.fuzz", *ROLES)
    out = open("/tmp/w20-explore.txt", "w")
    for result in schema.get_all_operations():
        op = result.ok()
        t0 = time.time()
        @given(case=op.as_strategy())
        @settings(max_examples=N, deadline=None, derandomize=False, database=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def fuzz(case):
            try:
                resp = case.call(base_url=stack.base, timeout=20, headers=hdr)
            except Exception as e:
                out.write(f"EXC {op.label}: {type(e).__name__} {e} body={str(case.body)[:300]} q={case.query}\n"); out.flush(); return
            if resp.status_code >= 500:
                out.write(f"5XX {op.label}: {resp.status_code} {resp.text[:200]} body={str(case.body)[:400]} q={case.query} p={case.path_parameters} h={ {k:v for k,v in (case.headers or {}).items()} }\n"); out.flush()
        try:
            fuzz()
        except BaseException as e:
            out.write(f"ERR {op.label}: {type(e).__name__} {str(e)[:300]}\n")
        out.write(f"DONE {op.label} {time.time()-t0:.1f}s\n"); out.flush()
