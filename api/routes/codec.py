"""Codec server (issue 11): Temporal's Web UI and the auditors decode encrypted payloads here, following
Temporal's codec-server protocol (POST {endpoint}/decode with {"payloads": [...]} in proto JSON).
Point the UI at it with its codec endpoint setting: http://<api>/api/v1/codec. Decode only: nothing
is encoded for a caller. Role: auditor (and IT staff who operate the processes)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.deps import ClientDep
from codec import EncryptionCodec

router = APIRouter(prefix="/codec", tags=["audit"])


@router.post("/decode")
def decode(client: ClientDep, body: dict[str, Any] = Body(..., examples=[{"payloads": [
        {"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-key-id": "azE="}, "data": "…"}]}])) -> dict:
    """Decrypt payloads (unencrypted ones come back as they are)."""
    try:
        payloads = json_format.ParseDict(body, Payloads(), ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise HTTPException(422, f"payloads: not Temporal payloads in proto JSON ({error})") from error
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        return json_format.MessageToDict(payloads)
    try:
        decoded = codec.decode_sync(payloads.payloads)
    except ValueError as error:  # unknown key id, or altered ciphertext (AES-GCM authenticates it)
        raise HTTPException(422, f"payloads: {error or 'cannot be decrypted with the configured keys'}") from error
    return json_format.MessageToDict(Payloads(payloads=decoded))
