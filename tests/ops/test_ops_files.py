"""Issue 13: the Grafana dashboard and the Prometheus rules parse, query only metrics that a live API and
worker expose, and the rules pass `promtool check rules` and their own `promtool test rules` unit tests."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import move_a_ticket_and_a_device, scrape
from tests.ops.failing_workflow import FailingTaskWorkflow

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
ALERTS = OPS / "prometheus" / "alerts.yml"
ALERT_TESTS = OPS / "prometheus" / "alerts.test.yml"
DASHBOARDS = sorted((OPS / "grafana" / "dashboards").glob("*.json"))
# Series Prometheus makes itself for every target (not in any /metrics).
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                "offset", "inf", "nan", "le"}
REQUIRED_ALERTS = {"RamflowWorkflowTaskScheduleToStartHigh", "RamflowWorkflowTaskFailing", "RamflowOutboxBacklogGrowing",
                   "RamflowBillingRunFailed", "RamflowIntefunktionDeadlineBreached"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (enough PromQL for our rules and panels)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors, $__rate_interval
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\$\w+", "", text)
    names = set()
    for match in re.finditer(r"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*", text):  # not the unit of `5m`
        name, rest = match.group(0), text[match.end():].lstrip()
        if rest.startswith("(") or name.lower() in PROMQL_WORDS:
            continue  # a function or a keyword
        names.add(name)
    return names


def test_metric_names_reads_names_not_functions_labels_or_keywords():
    expr = ('histogram_quantile(0.95, sum by (le, route) (rate(ramflow_http_request_duration_seconds_bucket'
            '{status=~"5.."}[$__rate_interval]))) > 2 and ramflow_outbox_unsent offset 5m')
    assert metric_names(expr) == {"ramflow_http_request_duration_seconds_bucket", "ramflow_outbox_unsent"}


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                queries.append((f"{path.name}: {panel['title']}", target["expr"]))
    return queries


def test_alert_rules_cover_the_issue_and_dashboard_has_its_panels():
    rules = alert_rules()
    assert REQUIRED_ALERTS <= {r["alert"] for r in rules}
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"} and rule["annotations"]["summary"]
    assert DASHBOARDS, "no Grafana dashboard in ops/grafana/dashboards"
    titles = {title.split(": ", 1)[1] for title, _ in dashboard_queries()}
    for wanted in ("Open tickets per line", "Intefunktion: at risk and breached", "Renewals due within 30 / 90 days",
                   "Latency p95 by route", "Workflow task schedule-to-start p95 (task-queue lag)"):
        assert wanted in titles
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


@pytest.fixture
async def live_metric_names(ops_api, ops_env) -> set[str]:
    """Every sample name the API and a worker expose after a ticket and a device moved and a workflow task
    failed (the failure counter exists only once something failed)."""
    from temporalio.worker import Worker

    await move_a_ticket_and_a_device(ops_api)
    async with Worker(ops_env.env.client, task_queue="ops-failing-names", workflows=[FailingTaskWorkflow]):
        await ops_env.env.client.start_workflow(FailingTaskWorkflow.run, id="ops-failing-names",
                                                task_queue="ops-failing-names")
        for _ in range(100):
            worker_text = await scrape(ops_env.metrics_url)
            if "temporal_workflow_task_execution_failed_total{" in worker_text:
                break
            await asyncio.sleep(0.1)
    api_text = (await ops_api.get("/metrics")).text
    return {sample.name for text in (api_text, worker_text)
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_dashboard_and_alerts_query_only_metrics_the_api_and_worker_expose(live_metric_names):
    queries = [(f"alert {r['alert']}", r["expr"]) for r in alert_rules()] + dashboard_queries()
    assert len(queries) > 20
    unknown = {(where, name) for where, expr in queries for name in metric_names(expr)
               if name not in live_metric_names | SYNTHETIC}
    assert not unknown, sorted(unknown)


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus); .ci/run installs it")
    return found


def test_alert_rules_pass_promtool_check_rules():
    result = subprocess.run([promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_their_promtool_unit_tests():
    result = subprocess.run([promtool(), "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname:\s*(\w+)", ALERT_TESTS.read_text()))
    assert {r["alert"] for r in alert_rules()} <= tested, "every alert has a unit test"


async def test_operations_doc_names_live_metrics_and_every_alert(live_metric_names):
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text[text.index("## Operations"):]
    named = set(re.findall(r"`((?:ramflow|temporal)_[a-z_]+)", section))
    assert len(named) >= 15
    missing = {n for n in named if not any(live == n or live.startswith(n + "_") for live in live_metric_names)}
    assert not missing, sorted(missing)
    assert {r["alert"] for r in alert_rules()} == set(re.findall(r"`(Ramflow\w+)`", section))
