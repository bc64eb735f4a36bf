"""schemathesis hooks for scripts/fuzz.sh: valid credentials for every family.

Each call gets the credentials its operation's `security` names in /openapi.json:
- Daily Activity: x-app-key, a unique x-request-id, the bearer token of the level the operation
  asks for (client token from Verify, user token from Login, refresh token, access token) and
  x-user-token; the chain is built once and rebuilt whenever an answer says a token is dead
  (the fuzzer itself calls Logout, Reset Password and friends).
- Codelayer: the session `key` from system/auth goes into the JSON body.
- Authorize API: `deviceID` + `token` go into the JSON body.
Verify gets a valid signature for its request id most of the time, so the fuzzer reaches past it.

Settings come from the environment fuzz.sh exports (FUZZ_BASE, FUZZ_APP_KEY, ...).
"""

import hashlib
import hmac
import os
import threading
import time
import uuid

import requests
import schemathesis

BASE = os.environ["FUZZ_BASE"]
APP_KEY = os.environ["FUZZ_APP_KEY"]
PRIVATE_KEY = os.environ["FUZZ_PRIVATE_KEY"]
USER = os.environ["FUZZ_USER"]
PASSWORD = os.environ["FUZZ_PASSWORD"]
LICENCE = os.environ["FUZZ_LICENCE"]
IMEI = os.environ["FUZZ_IMEI"]
AUTH_DEVICE = os.environ.get("FUZZ_AUTH_DEVICE", "FUZZ-DEVICE-0001")

_lock = threading.Lock()
_creds = {}
_http = requests.Session()


def _rid():
    return "fuzz-" + uuid.uuid4().hex


def _sign(rid, ts):
    return hmac.new(PRIVATE_KEY.encode(), f"{rid}\n{ts}".encode(), hashlib.sha256).hexdigest()


def _da(method, path, token=None, body=None, user_token=None):
    rid = _rid()
    h = {"x-app-key": APP_KEY, "x-request-id": rid, "content-type": "application/json"}
    if token:
        h["authorization"] = f"Bearer {token}"
    if user_token:
        h["x-user-token"] = user_token
    r = _http.request(method, BASE + path, headers=h, json=body, timeout=30)
    r.raise_for_status()
    return r.json()["data"]


def _daily_chain():
    rid = _rid()
    ts = int(time.time())
    r = _http.post(
        BASE + "/daily/v1/authorize/verify",
        headers={"x-app-key": APP_KEY, "x-request-id": rid},
        json={"timestamp": ts, "signature": _sign(rid, ts)},
        timeout=30,
    )
    r.raise_for_status()
    client = r.json()["data"]["client_token"]
    login = _da("POST", "/daily/v1/user/login", client,
                {"username": USER, "password": PASSWORD, "device_id": "fuzz-handheld"})
    user = login["user_token"]
    refresh = _da("GET", "/daily/v1/authorize/refresh-token", user)["refresh_token"]
    access = _da("GET", "/daily/v1/authorize/access-token", refresh)["access_token"]
    return {"clientToken": client, "userTokenBearer": user, "refreshToken": refresh,
            "accessToken": access, "userToken": user}


def _codelayer_key():
    r = _http.post(BASE + "/codelayer/system/auth", json={
        "key": LICENCE, "username": USER, "password": PASSWORD, "imei": IMEI, "ver": "1.0.0.0"},
        timeout=30).json()
    assert r.get("e") == 200, r
    return r["key"]


def _authorize_token():
    r = _http.post(BASE + "/api/users/authorize", json={
        "username": USER, "password": PASSWORD, "notificationCenterType": "none",
        "deviceType": "fuzz", "appVersion": "1", "OSVersion": "1", "deviceID": AUTH_DEVICE,
        "notifToken": "", "timezoneOffset": 420, "timezoneName": "Asia/Jakarta",
        "buildVersion": "PROD", "hierarchylogin": False}, timeout=30)
    r.raise_for_status()
    return r.json()["message"]["token"]


def _get(kind):
    with _lock:
        if kind not in _creds:
            if kind == "daily":
                _creds[kind] = _daily_chain()
            elif kind == "codelayer":
                _creds[kind] = _codelayer_key()
            else:
                _creds[kind] = _authorize_token()
        return _creds[kind]


def _forget(kind):
    with _lock:
        _creds.pop(kind, None)


def _schemes(case):
    sec = case.operation.definition.raw.get("security") or []
    return set(k for req in sec for k in req)


def _probe(case):
    """(location, name) of the parameter a coverage case leaves out on purpose, if any."""
    meta = getattr(case, "meta", None)
    data = getattr(getattr(meta, "phase", None), "data", None)
    scenario = str(getattr(data, "scenario", "")).lower()
    if "missing" in scenario and getattr(data, "parameter", None):
        return str(getattr(data, "parameter_location", "")).lower(), data.parameter.lower()
    return None


def _negative_headers(case):
    meta = getattr(case, "meta", None)
    try:
        from schemathesis.core.parameters import ParameterLocation
        return meta is not None and meta.is_negative_at(ParameterLocation.HEADER)
    except Exception:
        return False


@schemathesis.hook
def before_call(context, case, kwargs):
    schemes = _schemes(case)
    path = case.operation.path
    probe = _probe(case)
    left_out = probe[1] if probe and "header" in probe[0] else None
    # A case probing one missing header gets every other credential right.
    if path.startswith("/daily/") and "wablasSecret" not in schemes:
        headers = case.headers if case.headers is not None else {}
        rid = _rid()
        keep = _negative_headers(case) and probe is None

        def put(name, value, param=True):
            # A header the case leaves out or breaks on purpose stays as generated.
            if name == left_out or (param and keep and name in headers):
                return
            headers[name] = value

        put("x-app-key", APP_KEY)
        put("x-request-id", rid)
        bearer = [s for s in ("clientToken", "userTokenBearer", "refreshToken", "accessToken")
                  if s in schemes]
        if bearer or "userToken" in schemes:
            tokens = _get("daily")
            if bearer:
                put("authorization", "Bearer " + tokens[bearer[0]], param=False)
            if "userToken" in schemes:
                put("x-user-token", tokens["userToken"], param=False)
        rid = headers.get("x-request-id", rid)
        if path == "/daily/v1/authorize/verify" and isinstance(case.body, dict) \
                and uuid.uuid4().int % 4 != 0:
            ts = int(time.time())
            case.body["timestamp"] = ts
            case.body["signature"] = _sign(rid, ts)
        case.headers = headers
    elif "codelayerKey" in schemes and isinstance(case.body, dict):
        case.body["key"] = _get("codelayer")
    elif "authorizeToken" in schemes and isinstance(case.body, dict):
        case.body["token"] = _get("authorize")
        case.body["deviceID"] = AUTH_DEVICE


@schemathesis.hook
def after_call(context, case, response):
    """A dead credential (the fuzzer signed out, reset a password, ...) is rebuilt for the
    next call rather than turning the rest of the run into 401s."""
    path = case.operation.path
    try:
        body = response.json()
    except Exception:
        return
    if not isinstance(body, dict):
        return
    if path.startswith("/daily/") and response.status_code == 401:
        _forget("daily")
    elif path.startswith("/codelayer/") and body.get("e") == 401:
        _forget("codelayer")
    elif path.startswith("/api/") and body.get("status") == "error" \
            and "token" in str(body.get("message", "")).lower():
        _forget("authorize")


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep a failure unless the family's contract says it is no failure:
    - Codelayer refuses inside HTTP 200 with `e` (DESIGN §3.2): an `e` of 4xx IS a rejection;
    - the Codelayer `key` and Authorize `token` travel in the JSON body (their security schemes
      can only say "header"), so a case that leaves out or breaks that *header* is not negative."""
    title = (getattr(failure, "title", "") + " " + str(getattr(failure, "message", ""))).lower()
    path = case.operation.path
    if path.startswith("/iclock/") and response is not None and response.status_code == 503:
        # ADMS: a terminal not (yet) approved, or one already uploading, is told 503 `FAIL: ...`
        # so that it keeps its punches and sends them again (DESIGN §3.6): the protocol's
        # "not now", not a server error.
        if response.text.startswith("FAIL"):
            return False
    if "missing required header" in title and {"codelayerKey", "authorizeToken"} & _schemes(case):
        probe = _probe(case)
        if probe and probe[1] in ("key", "token"):
            return False
    if "undeclared method" in title and path.startswith("/codelayer/"):
        # Codelayer answers a wrong method inside HTTP 200 as e=405 (DESIGN §3.2).
        try:
            return response.json().get("e") != 405
        except Exception:
            return True
    if "schema-violating request accepted" in title or "invalid data should have been rejected" in title:
        if path.startswith("/codelayer/"):
            try:
                if int(response.json().get("e", 200)) >= 400:
                    return False
            except Exception:
                pass
        schemes = _schemes(case)
        if {"codelayerKey", "authorizeToken"} & schemes:
            meta = getattr(case, "meta", None)
            comps = getattr(meta, "components", {}) or {}
            negative = [str(loc).lower() for loc, info in comps.items() if info.mode.is_negative]
            if negative and all("header" in n for n in negative):
                return False
            probe = _probe(case)
            if probe and probe[1] in ("key", "token"):
                return False
    return True
