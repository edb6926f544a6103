"""Issue 11: Temporal never stores personal data in clear text (codec.py); authorised readers decode
through the codec endpoint; keys rotate; histories from before encryption still replay."""
from __future__ import annotations

import base64
import json

import pytest
from temporalio.api.common.v1 import Payload

from codec import EncryptionCodec, make_data_converter, new_key_spec, parse_keys
from domain.equipment import DeviceOrder
from tests.conftest import TEST_PAYLOAD_KEYS

EMPLOYEE = "E5001"
NAME = "Astrid Lindqvist"


def raw_text(history_json: str) -> str:
    """The history as the server stores it, with every payload's bytes spelled out."""
    texts = [history_json]
    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("data"), str):
                texts.append(base64.b64decode(node["data"]).decode("latin-1"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(json.loads(history_json))
    return "\n".join(texts)


async def test_raw_history_on_the_server_has_no_employee_number_or_name(api, client):
    await api.post("/orders", json={"order_number": "ORD-ENC-1", "model_code": "LAT-5450", "unit_id": "TR-KS",
                                    "user_ref": EMPLOYEE})
    answer = await api.post("/service-requests", headers=api.bearer("E1001", "unit-manager", unit="TR-KS"), json={
        "number": "SR-ENC-0001", "unit_id": "TR-KS", "details": {
            "kind": "non_employee_account", "holder": NAME, "organisation": "Konsult AB", "valid_until": "2027-06-30"}})
    assert answer.status_code == 201 and answer.json()["details"]["holder"] == NAME  # decoded for the API
    for workflow_id in ("device-ORD-ENC-1", "request-SR-ENC-0001"):
        raw = raw_text((await client.get_workflow_handle(workflow_id).fetch_history()).to_json())
        assert EMPLOYEE not in raw and NAME not in raw and "E1001" not in raw
        assert base64.b64encode(b"binary/encrypted").decode() in raw  # metadata.encoding

    # the auditors' decoded view, and the codec endpoint the Web UI calls
    history = (await api.get("/audit/processes/device-ORD-ENC-1/history")).json()
    first = history["runs"][0]["history"]["events"][0]["workflowExecutionStartedEventAttributes"]
    assert first["input"]["payloads"][0]["decoded"]["order"]["user_ref"] == EMPLOYEE
    raw = json.loads((await client.get_workflow_handle("device-ORD-ENC-1").fetch_history()).to_json())
    encrypted = raw["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
    decoded = (await api.post("/codec/decode", json=encrypted)).json()
    assert EMPLOYEE in base64.b64decode(decoded["payloads"][0]["data"]).decode()
    tampered = {"payloads": [{**encrypted["payloads"][0], "data": base64.b64encode(b"x" * 40).decode()}]}
    assert (await api.post("/codec/decode", json=tampered)).status_code == 422


async def test_keys_rotate_old_payloads_still_decrypt_and_clear_ones_pass():
    old = parse_keys(TEST_PAYLOAD_KEYS)
    rotated = EncryptionCodec({**parse_keys(new_key_spec("k2")), **old})  # new key first, old kept
    converter = make_data_converter(TEST_PAYLOAD_KEYS)
    [sealed] = await converter.encode([DeviceOrder(order_number="ORD-K-1", model_code="M", unit_id="TR-KS",
                                                   user_ref=EMPLOYEE)])
    assert sealed.metadata["encryption-key-id"] == b"test1"
    [opened] = await rotated.decode([sealed])
    assert EMPLOYEE.encode() in opened.data
    [resealed] = await rotated.encode([opened])
    assert resealed.metadata["encryption-key-id"] == b"k2"
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'"before encryption"')
    assert await rotated.decode([clear]) == [clear]
    with pytest.raises(ValueError, match="unknown key"):
        await EncryptionCodec(parse_keys(new_key_spec("k3"))).decode([sealed])


async def test_web_ui_origin_may_call_the_codec_endpoint(api):
    preflight = await api.options("/codec/decode", headers={
        "Origin": "http://127.0.0.1:8233", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    other = await api.options("/codec/decode", headers={"Origin": "http://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers
