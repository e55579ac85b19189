"""A site that signs staff in through Staff MFA: OpenID Connect's authorization code flow with
PKCE, with Authlib (and joserfc, Authlib's JOSE library, for the ID token). Register the site:
    mfa-admin client add --client-id wiki --redirect-uri http://localhost:3000/callback
then run it with what that printed:
    ISSUER=https://mfa.example.org CLIENT_ID=wiki CLIENT_SECRET=... python site.py
and open http://localhost:3000/login. (Against a local stack, which speaks plain http, also set
AUTHLIB_INSECURE_TRANSPORT=1.)
"""

import json
import os
import secrets
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

ISSUER = os.environ["ISSUER"]
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
SITE_URL = os.environ.get("SITE_URL", "http://localhost:3000")
LOGIN_SECS = 600


def get_json(url, **kwargs):
    answer = requests.get(url, timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json()


metadata = get_json(f"{ISSUER}/.well-known/openid-configuration")
if metadata["issuer"] != ISSUER:
    raise SystemExit(f"the issuer is {metadata['issuer']!r}: set ISSUER to exactly that")

# The issuer's signing keys, read again when a token names one not seen yet (they rotate every 30
# days), at most once a minute.
keys = {"set": KeySet([]), "read_at": 0.0}


def signing_keys(token):
    kid = token.headers().get("kid")
    if all(k.kid != kid for k in keys["set"]) and time.monotonic() - keys["read_at"] > 60:
        keys["set"] = KeySet.import_key_set(get_json(metadata["jwks_uri"]))
        keys["read_at"] = time.monotonic()
    return keys["set"]


# Sign-ins under way: state -> (code verifier, nonce, started). The browser that started one
# carries its state in a cookie, and only that browser may finish it (no login CSRF).
pending = {}


def oauth():
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid email",
        redirect_uri=f"{SITE_URL}/callback",
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


class Site(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/login":
            now = time.monotonic()
            for state in [s for s, (_, _, at) in pending.items() if now - at > LOGIN_SECS]:
                del pending[state]
            verifier = secrets.token_urlsafe(48)
            nonce = secrets.token_urlsafe(16)
            to, state = oauth().create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
            pending[state] = (verifier, nonce, now)
            secure = "; Secure" if SITE_URL.startswith("https://") else ""
            self.send_response(302)
            self.send_header("Location", to)
            self.send_header(
                "Set-Cookie",
                f"login={state}; HttpOnly; SameSite=Lax; Path=/callback; Max-Age={LOGIN_SECS}{secure}",
            )
            self.end_headers()
        elif url.path == "/callback":
            try:
                self.answer(200, "application/json", json.dumps(self.finish(url), indent=2))
            except Exception as e:  # noqa: BLE001 - the page says why the sign-in failed
                self.answer(400, "text/plain", f"Sign-in failed: {e}")
        else:
            self.answer(404, "text/plain", "Not found")

    def finish(self, url):
        state = parse_qs(url.query).get("state", [""])[0]
        cookie = SimpleCookie(self.headers.get("Cookie", "")).get("login")
        if not state or cookie is None or not secrets.compare_digest(cookie.value, state):
            raise ValueError("this sign-in was not started in this browser")
        if state not in pending:
            raise ValueError("this sign-in has expired, or was finished already")
        verifier, nonce, _ = pending.pop(state)
        tokens = oauth().fetch_token(
            metadata["token_endpoint"],
            authorization_response=SITE_URL + self.path,
            state=state,
            code_verifier=verifier,
        )
        # The ID token: its signature (RS256 only), issuer, audience, expiry and nonce.
        token = jwt.decode(tokens["id_token"], signing_keys, algorithms=["RS256"])
        claims = token.claims
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": CLIENT_ID},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
        ).validate(claims)
        userinfo = get_json(
            metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        if userinfo.get("sub") != claims["sub"]:
            raise ValueError("userinfo is about someone else")
        # Who signed in (`sub`, `preferred_username`), how (`amr`, `acr`), when (`auth_time`).
        return {"claims": claims, "userinfo": userinfo}

    def answer(self, status, content_type, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


site = urlsplit(SITE_URL)
print(f"ready: {SITE_URL}/login", flush=True)
HTTPServer((site.hostname, site.port), Site).serve_forever()
