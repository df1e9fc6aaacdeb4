"""CDS clients authenticate with EHR-signed JWTs (CDS Hooks 2.0, "Trusting CDS Clients").

Every case goes over HTTP against an app whose trusted-clients file is written here, with
synthetic keys made for the test run. Each refusal must be a 401 problem document that
quotes no key or token, and must be in the audit log with its reason.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import audit
from backstory.web.app import create_app
from backstory.web.settings import Settings, SettingsError, settings_from_env

from .cds_clients import (
    EHR_B,
    EHR_Z,
    JKU_A,
    SUB_B,
    Keys,
    claims,
    hmac_with_public_key,
    make_keys,
    sign,
    unsigned,
    write_clients,
)
from .conftest import Clock, World
from .test_web_cds import OS, PV, hook

BASE = "http://testserver"


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def settings(tmp_path: Path, keys: Keys) -> Settings:
    """The web fixtures' settings, with the synthetic EHRs trusted."""
    return Settings(
        environment="development",
        secret_key="test-secret-" + "x" * 40,
        cds_clients_file=str(write_clients(tmp_path, keys)),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events(world: World, action: str | None = None) -> list[audit.AuditEvent]:
    found = world.db.transaction(lambda conn: audit.events(conn))
    return [e for e in found if action is None or e.action == action]


def call(world: World, token: str, path: str = PV) -> Any:
    return TestClient(world.app).post(path, json=hook("p01-cauda-equina"), headers=bearer(token))


# -- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_a_signed_jwt_is_accepted_and_audited(
    world: World, keys: Keys, clock: Clock, alg: str
) -> None:
    key, kid = (keys.ec, "ec-1") if alg == "ES384" else (keys.rsa, "rsa-1")
    token = sign(claims(BASE + PV, clock.now.timestamp()), key, kid, alg)
    r = call(world, token)
    assert r.status_code == 200, r.text
    assert r.json()["cards"][0]["indicator"] == "critical"
    hooked = events(world, "cds.hook")[-1]
    assert hooked.actor == "cds:ehr-a" and hooked.record_type == "clinic"
    assert hooked.record_id == world.admin_a.clinic_id
    assert not any("ehr-1" in json.dumps(e.to_dict()) for e in events(world))


def test_feedback_with_a_jwt_names_the_feedback_endpoint(
    world: World, keys: Keys, clock: Clock
) -> None:
    now = clock.now.timestamp()
    fb = {"feedback": [{"card": "7c1d9a2e-1111-4a55-8b4d-1e3a0c9d7b61", "outcome": "accepted"}]}
    c = TestClient(world.app)
    wrong = sign(claims(BASE + OS, now), keys.ec, "ec-1")
    assert c.post(f"{OS}/feedback", json=fb, headers=bearer(wrong)).status_code == 401
    right = sign(claims(f"{BASE}{OS}/feedback", now), keys.ec, "ec-1")
    assert c.post(f"{OS}/feedback", json=fb, headers=bearer(right)).status_code == 200
    assert events(world, "cds.feedback")[-1].actor == "cds:ehr-a"


def test_aud_may_be_a_list_and_a_configured_jku_is_accepted(
    world: World, keys: Keys, clock: Clock
) -> None:
    token = sign(claims([BASE + PV], clock.now.timestamp()), keys.ec, "ec-1", jku=JKU_A)
    assert call(world, token).status_code == 200


def test_small_clock_skew_is_allowed(world: World, keys: Keys, clock: Clock) -> None:
    now = clock.now.timestamp()
    late = sign(claims(BASE + PV, now, iat=int(now) - 270, exp=int(now) - 30), keys.ec, "ec-1")
    early = sign(claims(BASE + PV, now, iat=int(now) + 30, exp=int(now) + 300), keys.ec, "ec-1")
    assert call(world, late).status_code == 200
    assert call(world, early).status_code == 200


def test_keys_from_a_jwks_file_and_an_allowed_sub(world: World, keys: Keys, clock: Clock) -> None:
    token = sign(claims(BASE + PV, clock.now.timestamp(), iss=EHR_B, sub=SUB_B), keys.ec_b, "b-1")
    assert call(world, token).status_code == 200
    hooked = events(world, "cds.hook")[-1]
    assert hooked.actor == "cds:ehr-b" and hooked.record_id == world.admin_b.clinic_id


# -- refused ------------------------------------------------------------------------------------

Make = Callable[[Keys, float], str]


def _ec(**changes: Any) -> Make:
    return lambda k, now: sign(claims(BASE + PV, now, **changes), k.ec, "ec-1")


REFUSALS: dict[str, tuple[Make, str]] = {
    "wrong aud": (_ec(aud=BASE + OS), "jwt.audience"),
    "aud of another host": (_ec(aud="https://elsewhere.example.org/cds-services"), "jwt.audience"),
    "no aud": (_ec(aud=None), "jwt.missing-aud"),
    "expired": (
        lambda k, now: sign(
            claims(BASE + PV, now, iat=int(now) - 400, exp=int(now) - 100), k.ec, "ec-1"
        ),
        "jwt.expired",
    ),
    "exp too far after iat": (
        lambda k, now: sign(claims(BASE + PV, now, exp=int(now) + 301), k.ec, "ec-1"),
        "jwt.lifetime",
    ),
    "no exp": (_ec(exp=None), "jwt.missing-exp"),
    "no iat": (_ec(iat=None), "jwt.missing-iat"),
    "issued in the future": (
        lambda k, now: sign(
            claims(BASE + PV, now, iat=int(now) + 120, exp=int(now) + 300), k.ec, "ec-1"
        ),
        "jwt.not-yet-valid",
    ),
    "missing jti": (_ec(jti=None), "jwt.missing-jti"),
    "jti not a string": (_ec(jti=12345), "jwt.malformed"),
    "unknown iss": (_ec(iss="https://evil.example.org/"), "jwt.issuer"),
    "no iss": (_ec(iss=None), "jwt.issuer"),
    "unknown kid": (
        lambda k, now: sign(claims(BASE + PV, now), k.ec, "ec-9"),
        "jwt.kid",
    ),
    "no kid": (
        lambda k, now: sign(claims(BASE + PV, now), k.ec, ""),
        "jwt.kid",
    ),
    "kid of another issuer": (
        lambda k, now: sign(claims(BASE + PV, now), k.ec_b, "b-1"),
        "jwt.kid",
    ),
    "signed by the wrong key": (
        lambda k, now: sign(claims(BASE + PV, now), k.stranger, "ec-1"),
        "jwt.signature",
    ),
    "alg none": (
        lambda k, now: unsigned(claims(BASE + PV, now), "ec-1"),
        "jwt.algorithm",
    ),
    "HS256 with the public key as secret": (
        lambda k, now: hmac_with_public_key(claims(BASE + PV, now), "ec-1", k.public_pem(k.ec)),
        "jwt.algorithm",
    ),
    "HS256 with the RSA public key as secret": (
        lambda k, now: hmac_with_public_key(claims(BASE + PV, now), "rsa-1", k.public_pem(k.rsa)),
        "jwt.algorithm",
    ),
    "ES256": (
        lambda k, now: sign(claims(BASE + PV, now), ec_p256(), "ec-1", "ES256"),
        "jwt.algorithm",
    ),
    "RS256 with the RSA key": (
        lambda k, now: sign(claims(BASE + PV, now), k.rsa, "rsa-1", "RS256"),
        "jwt.algorithm",
    ),
    "RS384 naming the EC key": (
        lambda k, now: sign(claims(BASE + PV, now), k.rsa, "ec-1", "RS384"),
        "jwt.algorithm",
    ),
    "unconfigured jku": (
        lambda k, now: sign(
            claims(BASE + PV, now), k.ec, "ec-1", jku="https://evil.example.org/jwks.json"
        ),
        "jwt.jku",
    ),
    "sub not allowed": (
        lambda k, now: sign(claims(BASE + PV, now, iss=EHR_B, sub="other"), k.ec_b, "b-1"),
        "jwt.sub",
    ),
    "sub missing where one is required": (
        lambda k, now: sign(claims(BASE + PV, now, iss=EHR_B), k.ec_b, "b-1"),
        "jwt.sub",
    ),
    "clinic not set up": (
        lambda k, now: sign(claims(BASE + PV, now, iss=EHR_Z), k.stranger, "z-1"),
        "jwt.clinic",
    ),
    "typ not JWT": (
        lambda k, now: sign(claims(BASE + PV, now), k.ec, "ec-1", typ="at+jwt"),
        "jwt.malformed",
    ),
    "not base64": (lambda k, now: "not.a.jwt", "jwt.malformed"),
}


def ec_p256() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_jwts(world: World, keys: Keys, clock: Clock, case: str) -> None:
    make, reason = REFUSALS[case]
    token = make(keys, clock.now.timestamp())
    r = call(world, token)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    problem = r.json()
    assert problem["status"] == 401 and problem["detail"].startswith("The CDS client's JWT")
    for secret in (token, *_key_material(keys)):
        assert secret not in r.text
    refused = events(world, "cds.refused")
    assert refused and refused[-1].detail["reason"] == reason, refused[-1].detail
    assert refused[-1].actor == "anonymous"
    assert not events(world, "cds.hook")


def _key_material(keys: Keys) -> list[str]:
    out = []
    for kid, key in (("ec-1", keys.ec), ("rsa-1", keys.rsa), ("b-1", keys.ec_b)):
        jwk = keys.jwk(kid, key)
        out += [str(jwk[m]) for m in ("x", "y", "n") if m in jwk]
    return out


def test_a_replayed_jti_is_refused(world: World, keys: Keys, clock: Clock) -> None:
    token = sign(claims(BASE + PV, clock.now.timestamp()), keys.ec, "ec-1")
    assert call(world, token).status_code == 200
    again = call(world, token)
    assert again.status_code == 401 and "used already" in again.json()["detail"]
    refused = events(world, "cds.refused")[-1]
    assert refused.detail == {"reason": "jwt.replayed", "client": "ehr-a"}
    # the same jti in a freshly signed token is a replay too
    same = claims(BASE + PV, clock.now.timestamp())
    first = sign(same, keys.ec, "ec-1")
    second = sign(same | {"exp": same["exp"] - 1}, keys.ec, "ec-1")
    assert call(world, first).status_code == 200
    assert call(world, second).status_code == 401


def test_a_jwt_opens_no_other_route(world: World, keys: Keys, clock: Clock) -> None:
    """Least privilege: a trusted EHR may call the CDS services, and nothing else."""
    now = clock.now.timestamp()
    c = TestClient(world.app)
    for path in ("/api/v1/patients", f"/api/v1/assessments/{world.assessment_a}/report"):
        token = sign(claims(BASE + path, now), keys.ec, "ec-1")
        assert c.get(path, headers=bearer(token)).status_code == 401
    token = sign(claims(f"{BASE}/patients", now), keys.ec, "ec-1")
    assert c.get("/patients", headers=bearer(token), follow_redirects=False).status_code == 303


def test_refused_tokens_and_missing_credentials_are_audited(world: World) -> None:
    c = TestClient(world.app)
    missing = c.post(PV, json=hook("p01-cauda-equina"))
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert c.post(PV, json=hook("p01-cauda-equina"), headers=bearer("nope")).status_code == 401
    reasons = [e.detail["reason"] for e in events(world, "cds.refused")]
    assert reasons == ["missing", "token.invalid"]
    # an API token still works, audited under its own name
    assert call(world, world.read_token).status_code == 200
    assert events(world, "cds.hook")[-1].actor.startswith("token:")


def test_discovery_stays_public_whatever_the_header(world: World) -> None:
    c = TestClient(world.app)
    for headers in ({}, bearer("not.a.jwt"), bearer("unknown-token")):
        r = c.get("/cds-services", headers=headers)
        assert r.status_code == 200 and len(r.json()["services"]) == 2
    assert not events(world, "cds.refused")


def test_aud_is_the_public_url_when_one_is_configured(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, keys: Keys
) -> None:
    public = "https://backstory.example.org"
    app = create_app(
        dataclasses.replace(settings, public_url=public), world.db, knowledge=kb, clock=clock
    )
    c = TestClient(app)
    now = clock.now.timestamp()
    request_url = sign(claims(BASE + PV, now), keys.ec, "ec-1")
    assert (
        c.post(PV, json=hook("p02-facet-pattern"), headers=bearer(request_url)).status_code == 401
    )
    public_url = sign(claims(public + PV, now), keys.ec, "ec-1")
    assert c.post(PV, json=hook("p02-facet-pattern"), headers=bearer(public_url)).status_code == 200


def test_without_trusted_clients_every_jwt_is_refused(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, keys: Keys
) -> None:
    app = create_app(
        dataclasses.replace(settings, cds_clients_file=None), world.db, knowledge=kb, clock=clock
    )
    token = sign(claims(BASE + PV, clock.now.timestamp()), keys.ec, "ec-1")
    r = TestClient(app).post(PV, json=hook("p01-cauda-equina"), headers=bearer(token))
    assert r.status_code == 401 and "not a trusted CDS client" in r.json()["detail"]


# -- settings -----------------------------------------------------------------------------------


def test_settings_read_the_trusted_clients_file(tmp_path: Path, keys: Keys) -> None:
    path = str(write_clients(tmp_path, keys))
    assert settings_from_env({"BACKSTORY_CDS_CLIENTS": path}).cds_clients_file == path
    assert settings_from_env({}).cds_clients_file is None
    production = {
        "BACKSTORY_ENV": "production",
        "BACKSTORY_SECRET_KEY": "s" * 40,
        "BACKSTORY_CDS_CLIENTS": path,
    }
    with pytest.raises(SettingsError, match="BACKSTORY_PUBLIC_URL"):
        settings_from_env(production)
    ok = settings_from_env(production | {"BACKSTORY_PUBLIC_URL": "https://b.example.org/"})
    assert ok.public_url == "https://b.example.org"


def test_a_broken_trusted_clients_file_stops_the_start(tmp_path: Path, keys: Keys) -> None:
    bad = tmp_path / "clients.yaml"
    bad.write_text("clients:\n  - name: x\n    iss: https://x.example.org/\n")
    with pytest.raises(SettingsError, match="clinic"):
        settings_from_env({"BACKSTORY_CDS_CLIENTS": str(bad)})
    with pytest.raises(SettingsError, match="cannot read"):
        settings_from_env({"BACKSTORY_CDS_CLIENTS": str(tmp_path / "missing.yaml")})
