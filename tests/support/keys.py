"""Signing keys generated for the tests, and GoHighLevel-style signatures made with them."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa


@lru_cache(maxsize=1)
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@lru_cache(maxsize=1)
def ed25519_private() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def rsa_public_pem() -> str:
    return _pem(rsa_private().public_key())


def ed25519_public_pem() -> str:
    return _pem(ed25519_private().public_key())


def rsa_signature(body: bytes) -> str:
    """`x-wh-signature`: base64 RSA-SHA256 (PKCS#1 v1.5)."""
    return base64.b64encode(rsa_private().sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def ed25519_signature(body: bytes) -> str:
    """`x-ghl-signature`: base64 Ed25519."""
    return base64.b64encode(ed25519_private().sign(body)).decode()
