"""The installation's Ed25519 signing key for totals files: created once, kept private (0600)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app


def _key_path() -> Path:
    return Path(current_app.config["TOTALS_SIGNING_KEY"])


def signing_key_pem(create: bool = True) -> tuple[bytes, bool]:
    """The private key (PKCS#8 PEM) and whether it was created now; made on first use when `create`."""
    path = _key_path()
    if path.exists():
        return path.read_bytes(), False
    if not create:
        raise FileNotFoundError(f"no totals signing key at {path}")
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name with 0600 from the start (never readable by others, not even
    # for a moment), then linked in place: a second process creating a key at the same time keeps
    # the first one's, never half a file.
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(partial, path)
    except FileExistsError:
        return path.read_bytes(), False
    finally:
        partial.unlink()
    return pem, True


def public_key_pem(create: bool = True) -> tuple[bytes, bool]:
    """The public key (SubjectPublicKeyInfo PEM) the national office verifies with, and whether the key
    pair was created now."""
    private, created = signing_key_pem(create)
    key = serialization.load_pem_private_key(private, password=None)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return public, created
