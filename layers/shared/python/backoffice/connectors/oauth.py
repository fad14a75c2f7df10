"""OAuth 2.0 access tokens of the adapters, and the JWT signing of the JWT-bearer flows.

Tokens are fetched on first use and cached per adapter (``TokenCache``); ``client_credentials_token`` is the client
credentials grant; ``sign_jwt`` signs the assertions of Salesforce's JWT bearer flow and NetSuite's machine-to-machine
flow (RS256 and PS256 through PyJWT and ``cryptography``, imported only when a JWT flow is used).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from backoffice.connectors.http import (
    ConnectorAuthFailed,
    ConnectorHttp,
    HttpResponse,
    error_for_status,
    tagged,
)


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float | None = None  # epoch seconds; None: valid until the system says otherwise
    extras: Mapping[str, str] = field(default_factory=dict)  # e.g. Salesforce's instance_url


class TokenCache:
    """One access token per adapter, fetched on first use, refreshed when it expires or the system refuses it."""

    def __init__(
        self,
        fetch: Callable[[], AccessToken],
        *,
        clock: Callable[[], float] = time.time,
        skew_seconds: float = 60,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._skew = skew_seconds
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self) -> AccessToken:
        with self._lock:
            token = self._token
            if token is None or (
                token.expires_at is not None and token.expires_at - self._skew <= self._clock()
            ):
                token = self._fetch()
                self._token = token
                self.fetches += 1
            return token

    def invalidate(self, stale: AccessToken) -> None:
        """Drop ``stale`` (refused by the system); a token another thread already refreshed stays."""
        with self._lock:
            if self._token is stale:
                self._token = None


def token_from_response(
    response: HttpResponse, *, system: str, clock: Callable[[], float] = time.time
) -> AccessToken:
    """An OAuth 2.0 token response (RFC 6749 5.1) as an ``AccessToken``; an error response (5.2) raises."""
    body = response.json()
    if response.status >= 500 or response.status == 429:
        raise error_for_status(response, system=system, operation="oauth.token")
    if response.status != 200 or not isinstance(body, dict) or not body.get("access_token"):
        code = (
            str(body.get("error"))
            if isinstance(body, dict) and body.get("error")
            else f"HTTP {response.status}"
        )
        raise tagged(ConnectorAuthFailed(f"{system}: token request refused ({code})"), system)
    expires_in = body.get("expires_in")
    expires_at = clock() + float(expires_in) if expires_in not in (None, "") else None
    extras = {k: str(v) for k, v in body.items() if k not in ("access_token", "refresh_token", "id_token")}
    return AccessToken(str(body["access_token"]), expires_at, extras)


def client_credentials_token(
    http: ConnectorHttp,
    token_url: str,
    *,
    client_id: str,
    client_secret: str,
    scope: str | None = None,
    basic_auth: bool = False,
    clock: Callable[[], float] = time.time,
) -> AccessToken:
    """OAuth 2.0 client credentials grant (RFC 6749 4.4), the secret in the body or as HTTP Basic."""
    form = {"grant_type": "client_credentials"}
    headers = {"Accept": "application/json"}
    if basic_auth:
        pair = f"{client_id}:{client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form.update(client_id=client_id, client_secret=client_secret)
    if scope:
        form["scope"] = scope
    response = http.request("POST", token_url, operation="oauth.token", headers=headers, form=form)
    return token_from_response(response, system=http.system, clock=clock)


JwtAlgorithm = Literal["RS256", "PS256"]


def sign_jwt(
    claims: Mapping[str, Any],
    private_key_pem: str,
    algorithm: JwtAlgorithm,
    header: Mapping[str, str] | None = None,
) -> str:
    """A compact JWS (RFC 7515) of ``claims`` signed by PyJWT with an RSA key: RS256 (PKCS#1 v1.5) or PS256 (PSS,
    salt length = digest length, as RFC 7518 3.5 requires). ``header`` adds to ``alg`` and ``typ`` (a ``kid``)."""
    # Imported here: only the JWT flows need them, and the sandbox must run without them.
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    # Loaded here rather than by PyJWT so that another kind of key is refused by name, whatever the algorithm.
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    return jwt.encode(dict(claims), key, algorithm=algorithm, headers=dict(header) if header else None)
