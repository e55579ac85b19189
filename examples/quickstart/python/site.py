"""A site that signs staff in through Staff MFA: OpenID Connect's authorization code flow with
PKCE, with Authlib. Register the site first:
    mfa-admin client add --client-id wiki --redirect-uri http://localhost:3000/callback
then run it with what that printed:
    ISSUER=https://mfa.example.org CLIENT_ID=wiki CLIENT_SECRET=... python site.py
and open http://localhost:3000/login. (Against a local stack, which speaks plain http, also set
AUTHLIB_INSECURE_TRANSPORT=1.)
"""

import json
import os
import secrets
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

ISSUER = os.environ["ISSUER"]
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
SITE_URL = os.environ.get("SITE_URL", "http://localhost:3000")

metadata = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
assert metadata["issuer"] == ISSUER, "the issuer must be exactly the address configured"
keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())

# Sign-ins under way, by state. A real site keeps these in its own session instead.
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
            verifier = secrets.token_urlsafe(48)
            nonce = secrets.token_urlsafe(16)
            to, state = oauth().create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
            pending[state] = (verifier, nonce)
            self.send_response(302)
            self.send_header("Location", to)
            self.end_headers()
        elif url.path == "/callback":
            try:
                state = parse_qs(url.query).get("state", [""])[0]
                if state not in pending:
                    raise ValueError("this sign-in was not started here, or was finished already")
                verifier, nonce = pending.pop(state)
                token = oauth().fetch_token(
                    metadata["token_endpoint"],
                    authorization_response=SITE_URL + self.path,
                    state=state,
                    code_verifier=verifier,
                )
                # The ID token's signature, issuer, audience, expiry and nonce.
                claims = jwt.decode(
                    token["id_token"],
                    keys,
                    claims_cls=CodeIDToken,
                    claims_options={"iss": {"essential": True, "value": ISSUER}},
                    claims_params={"nonce": nonce, "client_id": CLIENT_ID},
                )
                claims.validate()
                userinfo = requests.get(
                    metadata["userinfo_endpoint"],
                    headers={"Authorization": f"Bearer {token['access_token']}"},
                    timeout=10,
                ).json()
                # Who signed in (`sub`, `preferred_username`), how (`amr`), when.
                self.answer(200, "application/json", json.dumps({"claims": dict(claims), "userinfo": userinfo}, indent=2))
            except Exception as e:  # noqa: BLE001 - the page says why the sign-in failed
                self.answer(400, "text/plain", f"Sign-in failed: {e}")
        else:
            self.answer(404, "text/plain", "Not found")

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
