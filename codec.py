"""Personal data never reaches the Temporal server in clear text (issue 11): a `PayloadCodec` encrypts
every payload with AES-256-GCM. The key id travels in the payload's metadata, so keys rotate: the
first configured key encrypts, every configured key decrypts. Payloads written before encryption was
switched on (and the stored test histories) pass through unchanged.

`make_data_converter` is the one factory the worker, the API, the scripts and the tests' clients use."""
from __future__ import annotations

import base64
import dataclasses
import os
from typing import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


def parse_keys(spec: str) -> dict[str, bytes]:
    """'k2=base64,k1=base64' → ordered {key id: 32-byte key}; the first is the one that encrypts."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition("=")
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_")
        if not key_id or len(key) != 32:
            raise ValueError(f"PAYLOAD_ENCRYPTION_KEYS: {key_id or '?'} must be keyid=base64 of 32 bytes")
        keys[key_id] = key
    return keys


def new_key_spec(key_id: str = "k1") -> str:
    return f"{key_id}={base64.urlsafe_b64encode(os.urandom(32)).decode()}"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("EncryptionCodec needs at least one key")
        self.key_id = next(iter(keys))
        self.ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.encode_sync(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.decode_sync(payloads)

    def encode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        cipher = self.ciphers[self.key_id]
        out = []
        for payload in payloads:
            nonce = os.urandom(12)
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
                               data=nonce + cipher.encrypt(nonce, payload.SerializeToString(), None)))
        return out

    def decode_sync(self, payloads: Iterable[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)  # written before encryption was switched on
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self.ciphers.get(key_id)
            if cipher is None:
                raise ValueError(f"payload encrypted with unknown key {key_id!r} (PAYLOAD_ENCRYPTION_KEYS)")
            try:
                plain = cipher.decrypt(payload.data[:12], payload.data[12:], None)
            except InvalidTag as error:  # AES-GCM authenticates: an altered payload is refused
                raise ValueError(f"payload does not decrypt with key {key_id!r}: altered or wrong key") from error
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out


def codec_from(keys_spec: str | None) -> EncryptionCodec | None:
    return EncryptionCodec(parse_keys(keys_spec)) if keys_spec else None


def make_data_converter(keys_spec: str | None) -> DataConverter:
    """pydantic_data_converter, with the encryption codec when keys are configured."""
    codec = codec_from(keys_spec)
    return pydantic_data_converter if codec is None else dataclasses.replace(pydantic_data_converter,
                                                                               payload_codec=codec)


def settings_keys(settings) -> str | None:  # noqa: ANN001 (config.Settings)
    secret = settings.payload_encryption_keys
    return secret.get_secret_value() if secret is not None else None


_ENCRYPTED_JSON = base64.b64encode(ENCODING).decode()


def decrypt_history_json(node: object, codec: EncryptionCodec | None) -> object:
    """A history in proto JSON (WorkflowHistory.to_json) with every encrypted payload decrypted, for
    authorised readers: the auditors' history view and export bundle, which then replay without keys."""
    from google.protobuf import json_format

    if codec is None:
        return node
    if isinstance(node, dict):
        metadata = node.get("metadata")
        if isinstance(metadata, dict) and metadata.get("encoding") == _ENCRYPTED_JSON and "data" in node:
            [decoded] = codec.decode_sync([json_format.ParseDict(node, Payload())])
            return json_format.MessageToDict(decoded)
        return {key: decrypt_history_json(value, codec) for key, value in node.items()}
    if isinstance(node, list):
        return [decrypt_history_json(value, codec) for value in node]
    return node
