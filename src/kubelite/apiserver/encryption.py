"""Encryption at rest for Secrets (Kubernetes' EncryptionConfiguration with the aesgcm provider).

Keys live in `<data-dir>/encryption.json`: `{"keys": [{"name": "key2", "secret": "<base64 32 bytes>"},
{"name": "key1", ...}]}`. The first key encrypts every write; every key decrypts, so rotation is:
add a new key first (`kubelite encryption rotate`), restart (the server rewrites every secret with
the new key at start), then drop the old key. Stored values look like
`k8s:enc:aesgcm:v1:<key name>:<12-byte nonce><ciphertext+tag>`; reading the datastore directly
shows no plaintext.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = b"k8s:enc:aesgcm:v1:"


class EncryptionError(Exception):
    pass


@dataclass
class Key:
    name: str
    secret: bytes


class AESGCMTransformer:
    """Encrypts values on the way to storage and decrypts them on the way back."""

    def __init__(self, keys: list[Key]):
        if not keys:
            raise EncryptionError("at least one encryption key is needed")
        self.keys = keys
        self._by_name = {k.name: AESGCM(k.secret) for k in keys}

    @property
    def primary(self) -> str:
        return self.keys[0].name

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> bytes:
        k = self.keys[0]
        nonce = os.urandom(12)
        return PREFIX + k.name.encode() + b":" + nonce + self._by_name[k.name].encrypt(nonce, plaintext, context)

    def decrypt(self, data: bytes, context: bytes = b"") -> tuple[bytes, bool]:
        """(plaintext, stale): stale when not written with the primary key (or not encrypted)."""
        if not data.startswith(PREFIX):
            return data, True  # written before encryption was on
        rest = data[len(PREFIX):]
        name, sep, blob = rest.partition(b":")
        aead = self._by_name.get(name.decode(errors="replace"))
        if not sep or aead is None:
            raise EncryptionError(f"no key named {name.decode(errors='replace')!r} to decrypt this value")
        try:
            return aead.decrypt(blob[:12], blob[12:], context), name.decode() != self.primary
        except Exception as e:  # InvalidTag
            raise EncryptionError("value failed to decrypt (wrong key or corrupted data)") from e


def new_key(name: str) -> dict:
    return {"name": name, "secret": base64.b64encode(secrets.token_bytes(32)).decode()}


def load_or_create(path: Path) -> AESGCMTransformer:
    if not path.exists():
        doc = {"keys": [new_key("key1")]}
        write(path, doc)
    doc = json.loads(path.read_text())
    keys = [Key(k["name"], base64.b64decode(k["secret"])) for k in doc.get("keys") or []]
    for k in keys:
        if len(k.secret) not in (16, 24, 32):
            raise EncryptionError(f"key {k.name}: aesgcm keys must be 16, 24 or 32 bytes")
    return AESGCMTransformer(keys)


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rotate(path: Path) -> str:
    """Add a new primary key (older keys stay for decryption); returns its name."""
    doc = json.loads(path.read_text()) if path.exists() else {"keys": []}
    names = {k["name"] for k in doc["keys"]}
    n = len(doc["keys"]) + 1
    while f"key{n}" in names:
        n += 1
    doc["keys"].insert(0, new_key(f"key{n}"))
    write(path, doc)
    return f"key{n}"


def prune(path: Path) -> list[str]:
    """Drop every key but the primary (after the server has rewritten the secrets)."""
    doc = json.loads(path.read_text())
    dropped = [k["name"] for k in doc["keys"][1:]]
    doc["keys"] = doc["keys"][:1]
    write(path, doc)
    return dropped
