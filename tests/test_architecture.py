"""The layers' rules, read from the source (AST: nothing is imported): workflows call only activities the
worker registers, run exactly the steps stored histories ran locally as local activities, and the pure
layers import no database, activity or API code. Each failure names the file, the line and the name."""
from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "workflows" / "histories"
WORKER = ROOT / "worker.py"
CALLS_BY_NAME = {"run_activity", "execute_activity", "execute_local_activity", "start_activity", "start_local_activity"}
# The local activities the stored histories ran (plus the neutral notify that replaced equipment.notify):
# switching a step between local and remote changes the commands a workflow sends, and replay breaks.
LOCAL_STEPS = frozenset({
    "equipment.register_order", "equipment.mirror_transition", "equipment.change_cost_bearer",
    "equipment.notify", "equipment.replacement_model", "outbox.notify",
    "tickets.register", "tickets.mirror_transition", "tickets.charge",
    "service_requests.register", "service_requests.mirror_transition",
})


def sources(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "migrations" not in p.parts)


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def imports(path: Path) -> list[tuple[str, str]]:
    """(where, module) of every import in the file, also those inside functions and `with` blocks."""
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found += [(where(path, node), alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((where(path, node), node.module))
    return found


def offending_imports(layer: str, forbidden: set[str]) -> list[str]:
    return [f"{at} imports {module}" for path in sources(layer) for at, module in imports(path)
            if module.split(".")[0] in forbidden]


def string_arg(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def declared_steps() -> dict[str, tuple[str, str, bool]]:
    """Constant → (activity name, where, local) of every `NAME = Step("...", local=...)` in workflows/."""
    steps = {}
    for path in sources("workflows"):
        for node in ast.walk(tree(path)):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and called_name(node.value) == "Step" and isinstance(node.targets[0], ast.Name)):
                name = string_arg(node.value)
                local = any(k.arg == "local" and isinstance(k.value, ast.Constant) and k.value.value is True
                            for k in node.value.keywords)
                assert name is not None, f"{where(path, node)}: a Step's name is a string literal"
                steps[node.targets[0].id] = (name, where(path, node), local)
    return steps


def called_activities() -> list[tuple[str, str]]:
    """(where, activity name) of every activity a workflow calls: its declared steps and the names it
    passes as literals to run_activity / execute_activity."""
    called = [(at, name) for name, at, _ in declared_steps().values()]
    for path in sources("workflows"):
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Call) and called_name(node) in CALLS_BY_NAME and string_arg(node):
                called.append((where(path, node), string_arg(node)))
    return called


def activity_methods() -> dict[tuple[str, str], str]:
    """(class, method) → registered activity name of every activity implemented in activities/."""
    steps = {const: name for const, (name, _, _) in declared_steps().items()}
    found = {}
    for path in sources("activities"):
        for cls in (n for n in ast.walk(tree(path)) if isinstance(n, ast.ClassDef)):
            for fn in (n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
                for deco in fn.decorator_list:
                    if isinstance(deco, ast.Call) and called_name(deco) == "defn":  # @activity.defn(name="...")
                        name = next((k.value.value for k in deco.keywords if k.arg == "name"), fn.name)
                    elif isinstance(deco, ast.Attribute) and deco.attr == "defn" and isinstance(deco.value, ast.Name):
                        name = steps.get(deco.value.id)  # @STEP.defn
                    else:
                        continue
                    assert name, f"{where(path, fn)}: {deco.value.id}.defn names no step declared in workflows/"
                    found[(cls.name, fn.name)] = name
    return found


def listed_by_all(cls_name: str) -> set[str]:
    """The methods a class's `all()` returns (`[self.a, self.b, ...]`)."""
    for path in sources("activities"):
        for cls in (n for n in ast.walk(tree(path)) if isinstance(n, ast.ClassDef) and n.name == cls_name):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "all":
                    return {n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)
                            and isinstance(n.value, ast.Name) and n.value.id == "self"}
    return set()


def registered_by_worker() -> set[str]:
    """Activity names the worker registers: `Cls(...).all()` and `Cls(...).method` in worker.py."""
    methods = activity_methods()
    registered = set()
    for node in ast.walk(tree(WORKER)):
        built = node.value if isinstance(node, ast.Attribute) else None
        if isinstance(built, ast.Call) and isinstance(built.func, ast.Name):
            cls = built.func.id
            chosen = listed_by_all(cls) if node.attr == "all" else {node.attr}
            registered |= {name for (c, m), name in methods.items() if c == cls and m in chosen}
    return registered


def test_every_activity_a_workflow_calls_is_registered_by_the_worker():
    registered = registered_by_worker()
    missing = [f"{at} calls {name!r}, which the worker does not register" for at, name in called_activities()
               if name not in registered]
    assert not missing, "\n".join(missing)


def test_local_steps_are_exactly_those_stored_histories_ran_locally():
    declared = {name for name, _, local in declared_steps().values() if local}
    assert declared == LOCAL_STEPS, (f"local steps changed: added {sorted(declared - LOCAL_STEPS)}, "
                                     f"removed {sorted(LOCAL_STEPS - declared)}")
    for path in sorted(HISTORIES.glob("*.json")):
        for event in json.loads(path.read_text())["events"]:
            marker = event.get("markerRecordedEventAttributes", {})
            if marker.get("markerName") == "core_local_activity":
                data = marker["details"]["data"]["payloads"][0]["data"]
                name = json.loads(base64.b64decode(data))["activity_type"]
                assert name in declared, f"{path.name}: {name!r} ran as a local activity; its Step is not local"
            scheduled = event.get("activityTaskScheduledEventAttributes")
            if scheduled:
                name = scheduled["activityType"]["name"]
                assert name not in declared, f"{path.name}: {name!r} ran as an activity; its Step is local"


@pytest.mark.parametrize("layer", ["domain", "workflows"])
def test_domain_and_workflows_import_no_database_activities_or_api(layer: str):
    offending = offending_imports(layer, {"sqlalchemy", "db", "activities", "api"})
    assert not offending, "\n".join(offending)


def test_api_imports_no_activities():
    offending = offending_imports("api", {"activities"})
    assert not offending, "\n".join(offending)


def test_console_imports_no_activities_or_workflows():
    offending = offending_imports("console", {"activities", "workflows"})
    assert not offending, "\n".join(offending)
