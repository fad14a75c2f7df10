"""JWT verification for the fakes, written apart from the adapters' signing so that each checks the other."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(
    token: str, public_key_pem: str, algorithms: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWS signed by the key; ``ValueError`` saying what is wrong otherwise."""
    try:
        head_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(_unb64(head_b64))
        claims = json.loads(_unb64(claims_b64))
        signature = _unb64(signature_b64)
    except (ValueError, TypeError) as error:
        raise ValueError(f"malformed JWT: {error}") from None
    algorithm = header.get("alg")
    if algorithm not in algorithms:
        raise ValueError(f"algorithm {algorithm} not accepted")
    key = serialization.load_pem_public_key(public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    pad: padding.AsymmetricPadding
    if algorithm == "RS256":
        pad = padding.PKCS1v15()
    else:
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    try:
        key.verify(signature, f"{head_b64}.{claims_b64}".encode(), pad, hashes.SHA256())
    except InvalidSignature:
        raise ValueError("bad signature") from None
    return header, claims


def new_rsa_key() -> tuple[str, str]:
    """(private key PEM, public key PEM) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
