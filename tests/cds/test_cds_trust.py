"""The trusted CDS clients file and JWT checks, without a web app (keys made per test run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from backstory.cds.trust import (
    LEEWAY_SECONDS,
    Refused,
    ReplayCache,
    TrustConfigError,
    TrustedClients,
    load_trusted_clients,
    looks_like_jwt,
    trusted_clients,
    verify,
)

ISS = "https://ehr.example.org/"
AUD = "https://backstory.example.org/cds-services/backstory-patient-view"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def public_jwk(private: Any, kid: str = "k1", **extra: Any) -> dict[str, Any]:
    public = private.public_key()
    algo: Any = ECAlgorithm if isinstance(public, ec.EllipticCurvePublicKey) else RSAAlgorithm
    return {**algo.to_jwk(public, as_dict=True), "kid": kid, **extra}


def config(*keys: dict[str, Any], **entry: Any) -> dict[str, Any]:
    client = {"name": "ehr", "iss": ISS, "clinic": "Clinic A", "jwks": {"keys": list(keys)}}
    client.update(entry)
    return {"clients": [{k: v for k, v in client.items() if v is not None}]}


def clients(ec_key: ec.EllipticCurvePrivateKey, **entry: Any) -> TrustedClients:
    return trusted_clients(config(public_jwk(ec_key), **entry))


def token(key: Any, kid: str = "k1", **changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        "jti": "j-1",
    }
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, "ES384", headers={"kid": kid}
    )


def test_a_valid_file_in_yaml_or_json(tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey) -> None:
    data = config(public_jwk(ec_key, alg="ES384", use="sig"), sub=["client-1"])
    for name, text in (("c.yaml", yaml.safe_dump(data)), ("c.json", json.dumps(data))):
        (tmp_path / name).write_text(text)
        loaded = load_trusted_clients(tmp_path / name)
        client = loaded.by_iss(ISS)
        assert client is not None and client.name == "ehr" and client.clinic == "Clinic A"
        assert client.keys["k1"].alg == "ES384" and client.subs == {"client-1"}


def test_a_jwks_file_is_read_relative_to_the_clients_file(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ehr.json").write_text(json.dumps({"keys": [public_jwk(ec_key)]}))
    data = config(jwks=None, jwks_file="keys/ehr.json")
    (tmp_path / "clients.yaml").write_text(yaml.safe_dump(data))
    loaded = load_trusted_clients(tmp_path / "clients.yaml")
    assert set(loaded.clients[ISS].keys) == {"k1"}


def _bad(ec_key: ec.EllipticCurvePrivateKey) -> dict[str, tuple[Any, str]]:
    good = public_jwk(ec_key)
    private = {**ECAlgorithm.to_jwk(ec_key, as_dict=True), "kid": "k1"}
    p256 = public_jwk(ec.generate_private_key(ec.SECP256R1()))
    small_rsa = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    return {
        "not a mapping": ([1, 2], "clients"),
        "no clients": ({}, "clients"),
        "unknown field": (config(good, colour="red"), "colour"),
        "bad name": (config(good, name="two words"), "name"),
        "no clinic": (config(good, clinic=None), "clinic"),
        "private key": (config(private), "private"),
        "secret key": (config({"kty": "oct", "k": "c2VjcmV0", "kid": "k1"}), "private"),
        "P-256": (config(p256), "P-384"),
        "small RSA": (config(small_rsa), "2048"),
        "alg mismatch": (config(public_jwk(ec_key, alg="RS384")), "ES384 only"),
        "HS alg on a key": (config(public_jwk(ec_key, alg="HS256")), "ES384 only"),
        "use enc": (config(public_jwk(ec_key, use="enc")), "sig"),
        "no kid": (config({k: v for k, v in good.items() if k != "kid"}), "kid"),
        "duplicate kid": (config(good, good), "two keys"),
        "no keys": (config(), "non-empty"),
        "both jwks and file": (config(good, jwks_file="x.json"), "exactly one"),
        "jku not https": (config(good, jku=["http://ehr.example.org/jwks"]), "https"),
        "empty sub list": (config(good, sub=[]), "sub"),
        "duplicate iss": (
            {"clients": config(good)["clients"] + config(good, name="ehr-2")["clients"]},
            "two clients have iss",
        ),
    }


def test_unusable_files_are_refused_with_a_reason(ec_key: ec.EllipticCurvePrivateKey) -> None:
    for case, (data, words) in _bad(ec_key).items():
        with pytest.raises(TrustConfigError, match=words):
            trusted_clients(data)
        assert case  # each case is named for the reader


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(TrustConfigError, match="cannot read"):
        load_trusted_clients(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("clients: [")
    with pytest.raises(TrustConfigError, match="not valid YAML"):
        load_trusted_clients(tmp_path / "bad.yaml")


def test_verify_accepts_a_good_token(ec_key: ec.EllipticCurvePrivateKey) -> None:
    ok = verify(token(ec_key, sub="s"), clients(ec_key), AUD, NOW, ReplayCache())
    assert ok.client.name == "ehr" and ok.jti == "j-1" and ok.sub == "s"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": "soon"}, "malformed"),
        ({"nbf": NOW + 2 * LEEWAY_SECONDS}, "not-yet-valid"),
        ({"exp": int(NOW) - 1, "iat": int(NOW) - 200}, None),  # within the skew: accepted
        ({"exp": int(NOW) - LEEWAY_SECONDS - 1, "iat": int(NOW) - 200}, "expired"),
        ({"jti": "x" * 300}, "missing-jti"),
        ({"jti": ""}, "missing-jti"),
    ],
)
def test_verify_claims(
    ec_key: ec.EllipticCurvePrivateKey, changes: dict[str, Any], reason: str | None
) -> None:
    tok = token(ec_key, **changes)
    if reason is None:
        verify(tok, clients(ec_key), AUD, NOW, ReplayCache())
        return
    with pytest.raises(Refused) as refused:
        verify(tok, clients(ec_key), AUD, NOW, ReplayCache())
    assert refused.value.reason == reason and refused.value.client == "ehr"


def test_oversized_and_non_jwt_values(ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(Refused, match="too long"):
        verify("a." + "b" * 9000 + ".c", clients(ec_key), AUD, NOW, ReplayCache())
    assert looks_like_jwt(token(ec_key)) and not looks_like_jwt("bst_abc-DEF_123")


def test_replay_cache_remembers_until_expiry_and_never_forgets_when_full() -> None:
    cache = ReplayCache(limit=2)
    assert cache.add("ehr", "a", until=100, now=0) == "new"
    assert cache.add("ehr", "a", until=100, now=50) == "seen"
    assert cache.add("other", "a", until=100, now=50) == "new"  # per client
    assert cache.add("ehr", "b", until=100, now=50) == "full"
    assert cache.add("ehr", "b", until=300, now=150) == "new"  # expired entries purged
    assert cache.add("ehr", "a", until=300, now=150) == "new"  # its token had expired


def test_the_replay_cache_full_is_refused_not_forgotten(
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    trusted, cache = clients(ec_key), ReplayCache(limit=1)
    verify(token(ec_key, jti="one"), trusted, AUD, NOW, cache)
    with pytest.raises(Refused) as busy:
        verify(token(ec_key, jti="two"), trusted, AUD, NOW, cache)
    assert busy.value.reason == "busy"
    with pytest.raises(Refused) as again:
        verify(token(ec_key, jti="one"), trusted, AUD, NOW, cache)
    assert again.value.reason == "replayed"
