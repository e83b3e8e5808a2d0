"""template.yaml keeps the promises the code relies on: routes, least privilege, a safe table."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.sandbox.template import Resolver, TemplateError, functions, load_template
from tests.unit.fakes import load_handler

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS = {"FrontendUrl": "https://app.example.com", "SgidClientId": "client"}
OIDC = {"OidcIssuer": "https://op.example", "OidcClientId": "oidc-client"}
FUNCTIONS = [name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::Function"]
ROLES = {f"{name}Role": name for name in FUNCTIONS}
"""The role SAM makes for each function (``<Function>Role``), which the KMS key policies name."""
PHYSICAL = {
    name: {"Ref": f"ref-{name}", "Arn": f"arn:aws:kms:ap-southeast-1:1:key/{name}"} for name in [*RESOURCES, *ROLES]
}
ROOT_ARN = "arn:aws:iam::123456789012:root"  # the Resolver's account


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def created_keys(resolver: Resolver) -> dict[str, dict[str, Any]]:
    """The KMS keys the stack creates with these parameters: logical id -> resolved properties."""
    keys = {name: resource for name, resource in RESOURCES.items() if resource["Type"] == "AWS::KMS::Key"}
    return {
        name: resolver.resolve(key["Properties"])
        for name, key in keys.items()
        if "Condition" not in key or resolver.condition(key["Condition"])
    }


def grants(function: str, parameters: dict[str, str]) -> dict[str, set[str]]:
    """Action -> resources the function may use them on, with the template's conditions applied, for a site hosted
    elsewhere (FrontendUrl); tests/unit/infra/test_site_hosting.py covers what same-site hosting adds. Its role's
    IAM policies, and the key policies of the keys the stack creates where they name its role (a created key's use
    is granted there alone)."""
    resolver = Resolver(TEMPLATE, {"SiteHosting": "None", **parameters}, PHYSICAL)
    policies = resolver.resolve(RESOURCES[function]["Properties"].get("Policies", []))
    allowed: dict[str, set[str]] = {}
    for policy in policies:
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            assert statement["Resource"] != "*"
            for action in as_list(statement["Action"]):
                allowed.setdefault(action, set()).update(as_list(statement["Resource"]))
    role = PHYSICAL[f"{function}Role"]["Arn"]
    for key, properties in created_keys(resolver).items():
        for statement in properties["KeyPolicy"]["Statement"]:
            if role in as_list(statement["Principal"]["AWS"]):
                assert statement["Effect"] == "Allow"
                for action in as_list(statement["Action"]):
                    allowed.setdefault(action, set()).add(PHYSICAL[key]["Arn"])
    return allowed


def test_each_route_of_the_contract_goes_to_its_function() -> None:
    resolver = Resolver(TEMPLATE, PARAMETERS, PHYSICAL)
    routes = {route.key: spec.logical_id for spec in functions(TEMPLATE, resolver) for route in spec.routes}
    assert routes == {
        "GET /auth/{provider}/login": "LoginFunction",
        "GET /auth/{provider}/callback": "CallbackFunction",
        "GET /api/me": "SessionFunction",
        "POST /auth/logout": "SessionFunction",
        "GET /api/providers": "SessionFunction",
        "OPTIONS /api/me": "SessionFunction",
        "OPTIONS /auth/logout": "SessionFunction",
        "OPTIONS /api/providers": "SessionFunction",
        "GET /.well-known/jwks.json": "JwksFunction",
        "GET /.well-known/jwks/{provider}": "JwksFunction",
        "GET /api/openapi.json": "OpenApiFunction",
    }


def test_the_session_handler_serves_exactly_its_template_routes() -> None:
    module = load_handler("session")
    events = RESOURCES["SessionFunction"]["Properties"]["Events"].values()
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events}
    assert set(module.ROUTES) == {f"{method} {path}" for method, path in routes if method != "OPTIONS"}
    # Every data route, and nothing else, has its CORS preflight (answered by web.serve_api).
    assert {path for method, path in routes if method == "OPTIONS"} == {path for _, path in routes if _ != "OPTIONS"}


def test_functions_get_only_the_aws_actions_they_use() -> None:
    table, session_key = {PHYSICAL["Table"]["Arn"]}, {PHYSICAL["SessionKey"]["Arn"]}
    assert "Policies" not in RESOURCES["OpenApiFunction"]["Properties"]  # a static document: no AWS access at all
    assert grants("LoginFunction", PARAMETERS) == {
        "dynamodb:PutItem": table,
        "dynamodb:DeleteItem": table,  # also the session a new login ends
        "kms:Decrypt": session_key,  # opens that session's refresh token to revoke it
    }
    oidc_login = grants("LoginFunction", {**PARAMETERS, **OIDC})
    assert oidc_login["secretsmanager:GetSecretValue"] == {"ref-OidcClientSecret"}  # revocation authenticates
    assert grants("SessionFunction", PARAMETERS) == {
        "dynamodb:GetItem": table,
        "dynamodb:DeleteItem": table,
        "dynamodb:UpdateItem": table,  # the single-flight refresh lease
        "kms:Decrypt": session_key,  # opens a session's sealed refresh token
        "kms:Encrypt": session_key,  # seals the rotated one
    }


@pytest.mark.parametrize(
    ("parameters", "secrets", "keys"),
    [
        (PARAMETERS, {"ref-SgidClientSecret"}, {"SgidDecryptionKey"}),
        ({**OIDC, "FrontendUrl": "https://app.example.com"}, {"ref-OidcClientSecret"}, set()),
        ({**PARAMETERS, **OIDC}, {"ref-SgidClientSecret", "ref-OidcClientSecret"}, {"SgidDecryptionKey"}),
    ],
)
def test_the_callback_reaches_only_the_secrets_and_keys_of_configured_providers(
    parameters: dict[str, str], secrets: set[str], keys: set[str]
) -> None:
    allowed = grants("CallbackFunction", parameters)
    key_arns = {PHYSICAL[key]["Arn"] for key in keys}
    assert allowed["dynamodb:DeleteItem"] == allowed["dynamodb:PutItem"] == {PHYSICAL["Table"]["Arn"]}
    assert allowed["secretsmanager:GetSecretValue"] == secrets  # a KMS key is no secret
    assert allowed.get("kms:Decrypt", set()) == key_arns
    assert allowed["kms:Encrypt"] == {PHYSICAL["SessionKey"]["Arn"]}  # seals refresh tokens
    assert set(allowed) <= {
        "dynamodb:DeleteItem", "dynamodb:PutItem", "kms:Decrypt", "kms:Encrypt", "secretsmanager:GetSecretValue"
    }  # fmt: skip


def test_the_table_is_on_demand_encrypted_recoverable_and_expires_items() -> None:
    table = RESOURCES["Table"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_the_sgid_key_is_an_rsa_decryption_key_that_survives_stack_deletion() -> None:
    key = RESOURCES["SgidDecryptionKey"]
    assert key["Properties"]["KeySpec"] == "RSA_2048"
    assert key["Properties"]["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert key["DeletionPolicy"] == "Retain"


def providers_json(parameters: dict[str, str]) -> list[Any]:
    environment = functions(TEMPLATE, Resolver(TEMPLATE, parameters, PHYSICAL))[0].environment
    parsed: list[Any] = json.loads(environment["GATEWAY_PROVIDERS"])
    return parsed


@pytest.mark.parametrize("key_arn", ["", "arn:aws:secretsmanager:ap-southeast-1:1:secret:my-pem"])
def test_provider_configuration_resolves_to_valid_json_with_references_only(key_arn: str) -> None:
    parameters = {**PARAMETERS, "SgidDecryptionKeyArn": key_arn, "SgidScopes": "openid myinfo.name myinfo.sex"}
    [sgid, oidc, singpass, singpass_myinfo, corppass, corppass_mib, myinfo_v3, myinfo_v4, oauth2] = providers_json(
        parameters
    )
    assert (corppass, corppass_mib) == (None, None)  # switched off: no client id
    assert myinfo_v4 is None
    assert myinfo_v3 is None  # switched off: no client id
    assert oidc is None  # switched off: no issuer
    assert oauth2 is None  # switched off: no client id
    assert singpass is None  # switched off: no client id
    assert singpass_myinfo is None
    assert sgid["scopes"] == ["openid", "myinfo.name", "myinfo.sex"]
    assert sgid["client_secret_arn"] == "ref-SgidClientSecret"
    assert sgid["decryption_key_arn"] == (key_arn or PHYSICAL["SgidDecryptionKey"]["Arn"])


def test_an_oidc_only_deployment_configures_just_that_provider() -> None:
    [sgid, oidc, singpass, *_] = providers_json(
        {"FrontendUrl": "https://app.example.com", **OIDC, "OidcScopes": "openid email"}
    )
    assert sgid is None
    assert singpass is None
    assert oidc == {
        "id": "oidc",
        "type": "oidc",
        "name": "OIDC",
        "issuer": "https://op.example",
        "client_id": "oidc-client",
        "client_secret_arn": "ref-OidcClientSecret",
        "client_auth": "client_secret_basic",
        "scopes": ["openid", "email"],
    }


SINGPASS = {"FrontendUrl": "https://app.example.com", "SingpassClientId": "sp-client", "SingpassScopes": "openid name"}


def test_a_singpass_deployment_creates_its_keys_and_references_them() -> None:
    [sgid, oidc, singpass, singpass_myinfo, *_] = providers_json(SINGPASS)
    assert (sgid, oidc, singpass_myinfo) == (None, None, None)
    assert singpass == {
        "id": "sp",
        "type": "singpass",
        "name": "Singpass",
        "issuer": "https://id.singpass.gov.sg/fapi",
        "client_id": "sp-client",
        "app": "login",
        "authentication_context_type": "APP_AUTHENTICATION_DEFAULT",
        "signing_key_arn": PHYSICAL["SingpassSigningKey"]["Arn"],
        "additional_signing_key_arns": [],
        "decryption_key_arn": PHYSICAL["SingpassDecryptionKey"]["Arn"],
        "additional_decryption_key_arns": [],
        "scopes": ["openid", "name"],
    }
    assert RESOURCES["SingpassSigningKey"]["Properties"]["KeySpec"] == "ECC_NIST_P256"
    assert RESOURCES["SingpassSigningKey"]["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    assert RESOURCES["SingpassDecryptionKey"]["Properties"]["KeyUsage"] == "KEY_AGREEMENT"


SINGPASS_MYINFO = {**SINGPASS, "SingpassMyinfoClientId": "sp-myinfo-client"}


def test_a_second_singpass_app_is_a_myinfo_app_with_the_first_apps_issuer_and_keys() -> None:
    [_, _, singpass, singpass_myinfo, *_] = providers_json(
        {**SINGPASS_MYINFO, "SingpassIssuer": "https://stg-id.singpass.gov.sg/fapi"}
    )
    assert singpass_myinfo == {
        "id": "sp-data",
        "type": "singpass",
        "name": "Singpass Myinfo",
        "issuer": "https://stg-id.singpass.gov.sg/fapi",
        "client_id": "sp-myinfo-client",
        "app": "myinfo",  # and no authentication context, which Singpass refuses from a Myinfo app
        "signing_key_arn": PHYSICAL["SingpassSigningKey"]["Arn"],
        "additional_signing_key_arns": [],
        "decryption_key_arn": PHYSICAL["SingpassDecryptionKey"]["Arn"],
        "additional_decryption_key_arns": [],
        "scopes": ["openid", "uinfin", "name"],
    }
    assert singpass["id"] == "sp"
    assert singpass["issuer"] == singpass_myinfo["issuer"]
    # The same keys, so no function is granted anything more than for the first app alone.
    for function in ("LoginFunction", "CallbackFunction", "SessionFunction", "JwksFunction"):
        assert grants(function, SINGPASS_MYINFO) == grants(function, SINGPASS)


def test_the_myinfo_app_takes_its_own_id_and_scopes_and_shares_the_keys_being_rotated() -> None:
    keys = [f"arn:aws:kms:ap-southeast-1:1:key/{name}" for name in ("sig", "sig-next", "enc", "enc-next")]
    parameters = {
        **SINGPASS_MYINFO,
        "SingpassMyinfoProviderId": "data",
        "SingpassMyinfoScopes": "openid uinfin regadd cpfbalances.oa",
        "SingpassSigningKeyArn": keys[0],
        "SingpassAdditionalSigningKeyArns": keys[1],
        "SingpassDecryptionKeyArn": keys[2],
        "SingpassAdditionalDecryptionKeyArns": keys[3],
    }
    [_, _, _, singpass_myinfo, *_] = providers_json(parameters)
    assert singpass_myinfo["id"] == "data"
    assert singpass_myinfo["scopes"] == ["openid", "uinfin", "regadd", "cpfbalances.oa"]
    assert singpass_myinfo["signing_key_arn"] == keys[0]
    assert singpass_myinfo["additional_signing_key_arns"] == [keys[1]]
    assert singpass_myinfo["decryption_key_arn"] == keys[2]
    assert singpass_myinfo["additional_decryption_key_arns"] == [keys[3]]
    with pytest.raises(TemplateError, match="SingpassMyinfoProviderId"):
        Resolver(TEMPLATE, {"SiteHosting": "None", **SINGPASS_MYINFO, "SingpassMyinfoProviderId": "Sp_Data"}, PHYSICAL)


def test_a_myinfo_app_without_the_first_singpass_app_configures_nothing() -> None:
    [_, _, singpass, singpass_myinfo, *_] = providers_json({**PARAMETERS, "SingpassMyinfoClientId": "sp-myinfo"})
    assert (singpass, singpass_myinfo) == (None, None)  # and the SingpassMyinfoAppNeedsSingpassApp rule refuses it


def test_singpass_keys_are_reachable_only_for_their_one_operation() -> None:
    signing, decryption = PHYSICAL["SingpassSigningKey"]["Arn"], PHYSICAL["SingpassDecryptionKey"]["Arn"]
    login, callback = grants("LoginFunction", SINGPASS), grants("CallbackFunction", SINGPASS)
    assert login["kms:Sign"] == {signing}  # the pushed authorization request is signed at login
    assert callback["kms:Sign"] == {signing}
    assert callback["kms:DeriveSharedSecret"] == {decryption}
    assert "kms:Decrypt" not in callback
    assert grants("JwksFunction", SINGPASS)["kms:GetPublicKey"] == {signing, decryption}
    assert grants("JwksFunction", PARAMETERS) == {}  # without Singpass it reads no key at all


def test_singpass_keys_being_rotated_are_published_accepted_and_granted() -> None:
    keys = [f"arn:aws:kms:ap-southeast-1:1:key/{name}" for name in ("sig", "sig-next", "enc", "enc-next", "enc-old")]
    parameters = {
        **SINGPASS,
        "SingpassSigningKeyArn": keys[0],
        "SingpassAdditionalSigningKeyArns": keys[1],
        "SingpassDecryptionKeyArn": keys[2],
        "SingpassAdditionalDecryptionKeyArns": f"{keys[3]},{keys[4]}",
    }
    [_, _, singpass, *_] = providers_json(parameters)
    assert singpass["signing_key_arn"] == keys[0]
    assert singpass["additional_signing_key_arns"] == [keys[1]]
    assert singpass["decryption_key_arn"] == keys[2]
    assert singpass["additional_decryption_key_arns"] == keys[3:]
    for function in ("LoginFunction", "CallbackFunction", "SessionFunction"):
        assert grants(function, parameters)["kms:Sign"] == {keys[0]}  # an additional key never signs
    for function in ("CallbackFunction", "SessionFunction"):  # a refresh may bring a new encrypted ID token
        assert grants(function, parameters)["kms:DeriveSharedSecret"] == set(keys[2:])
    assert grants("JwksFunction", parameters)["kms:GetPublicKey"] == set(keys)


CORPPASS = {"FrontendUrl": "https://app.example.com", "CorppassClientId": "cp-client"}
CORPPASS_MIB = {**CORPPASS, "CorppassMyinfoBusinessClientId": "cp-mib-client"}


def test_a_corppass_deployment_creates_its_keys_and_references_them() -> None:
    [sgid, oidc, singpass, singpass_myinfo, corppass, corppass_mib, myinfo_v3, myinfo_v4, oauth2] = providers_json(
        CORPPASS
    )
    assert (sgid, oidc, singpass, singpass_myinfo, corppass_mib, myinfo_v3, myinfo_v4, oauth2) == (None,) * 8
    assert corppass == {
        "id": "cp",  # no "corppass" in its callback path: the portal is reported to refuse it
        "type": "corppass",
        "name": "Corppass",
        "issuer": "https://id.corppass.gov.sg",  # no /fapi suffix
        "client_id": "cp-client",
        "app": "login",
        "authentication_context_type": "APP_AUTHENTICATION_DEFAULT",
        "signing_key_arn": PHYSICAL["CorppassSigningKey"]["Arn"],
        "additional_signing_key_arns": [],
        "decryption_key_arn": PHYSICAL["CorppassDecryptionKey"]["Arn"],
        "additional_decryption_key_arns": [],
        "scopes": ["openid", "entity.identity", "user.identity", "user.name", "authinfo"],
    }
    for key, usage in (("CorppassSigningKey", "SIGN_VERIFY"), ("CorppassDecryptionKey", "KEY_AGREEMENT")):
        assert RESOURCES[key]["Properties"]["KeySpec"] == "ECC_NIST_P256"
        assert RESOURCES[key]["Properties"]["KeyUsage"] == usage
        assert RESOURCES[key]["DeletionPolicy"] == "Retain"
        assert RESOURCES[key]["Condition"] == f"Create{key}"


def test_a_corppass_login_app_sends_its_context_and_a_myinfo_business_first_app_none() -> None:
    parameters = {
        **CORPPASS,
        "CorppassIssuer": "https://stg-id.corppass.gov.sg",
        "CorppassProviderId": "biz",
        "CorppassScopes": "openid entity.identity entity.basic_profile.name user.identity user.name tpauthinfo",
        "CorppassAuthenticationContextMessage": "Filing GST 2026",
    }
    [*_, corppass, _, _, _, _] = providers_json(parameters)
    assert corppass["id"] == "biz"
    assert corppass["issuer"] == "https://stg-id.corppass.gov.sg"
    assert corppass["authentication_context_type"] == "APP_AUTHENTICATION_DEFAULT"
    assert corppass["authentication_context_message"] == "Filing GST 2026"
    assert corppass["scopes"][-1] == "tpauthinfo"
    [*_, business, _, _, _, _] = providers_json({**parameters, "CorppassApp": "MyinfoBusiness"})
    assert business["app"] == "myinfo-business"
    assert not {"authentication_context_type", "authentication_context_message"} & set(business)
    for value in ("APP authentication", "app_authentication_default"):
        with pytest.raises(TemplateError, match="CorppassAuthenticationContextType"):
            Resolver(TEMPLATE, {"SiteHosting": "None", **CORPPASS, "CorppassAuthenticationContextType": value})
    with pytest.raises(TemplateError, match="CorppassAuthenticationContextMessage"):
        Resolver(TEMPLATE, {"SiteHosting": "None", **CORPPASS, "CorppassAuthenticationContextMessage": "Pay $5"})


def test_a_second_corppass_app_is_a_myinfo_business_app_with_the_first_apps_issuer_and_keys() -> None:
    [*_, corppass, corppass_mib, _, _, _] = providers_json(CORPPASS_MIB)
    assert corppass_mib == {
        "id": "cp-data",
        "type": "corppass",
        "name": "Myinfo Business",
        "issuer": "https://id.corppass.gov.sg",
        "client_id": "cp-mib-client",
        "app": "myinfo-business",  # and no authentication context, which Corppass refuses from such an app
        "signing_key_arn": PHYSICAL["CorppassSigningKey"]["Arn"],
        "additional_signing_key_arns": [],
        "decryption_key_arn": PHYSICAL["CorppassDecryptionKey"]["Arn"],
        "additional_decryption_key_arns": [],
        "scopes": [
            "openid", "entity.identity", "entity.basic_profile.name", "user.uinfin", "user.name", "corppass.email"
        ],
    }  # fmt: skip
    assert corppass["id"] == "cp"
    for function in ("LoginFunction", "CallbackFunction", "SessionFunction", "JwksFunction"):
        assert grants(function, CORPPASS_MIB) == grants(function, CORPPASS)  # the same keys, nothing more
    [*_, alone, without_first, _, _, _] = providers_json({**PARAMETERS, "CorppassMyinfoBusinessClientId": "cp-mib"})
    assert (alone, without_first) == (None, None)  # and CorppassMyinfoBusinessAppNeedsCorppassApp refuses it


def test_corppass_keys_are_granted_exactly_as_singpass_keys_are() -> None:
    signing, decryption = PHYSICAL["CorppassSigningKey"]["Arn"], PHYSICAL["CorppassDecryptionKey"]["Arn"]
    login, callback = grants("LoginFunction", CORPPASS), grants("CallbackFunction", CORPPASS)
    assert login["kms:Sign"] == {signing}  # the pushed authorization request is signed at login
    assert callback["kms:Sign"] == {signing}
    assert callback["kms:DeriveSharedSecret"] == {decryption}
    assert "kms:Decrypt" not in callback
    assert grants("SessionFunction", CORPPASS)["kms:DeriveSharedSecret"] == {decryption}
    assert grants("JwksFunction", CORPPASS)["kms:GetPublicKey"] == {signing, decryption}
    # Each function gets the same actions on the Corppass keys as on the Singpass keys, and both sets together.
    as_singpass = {signing: PHYSICAL["SingpassSigningKey"]["Arn"], decryption: PHYSICAL["SingpassDecryptionKey"]["Arn"]}
    both = {**SINGPASS, **CORPPASS}
    for function in ("LoginFunction", "CallbackFunction", "SessionFunction", "JwksFunction"):
        renamed = {
            action: {as_singpass.get(resource, resource) for resource in resources}
            for action, resources in grants(function, CORPPASS).items()
        }
        assert renamed == grants(function, SINGPASS)
        singpass_keys = {PHYSICAL["SingpassSigningKey"]["Arn"], PHYSICAL["SingpassDecryptionKey"]["Arn"]}
        for action, resources in grants(function, both).items():
            assert resources - singpass_keys == grants(function, CORPPASS).get(action, set())


def test_corppass_keys_being_rotated_are_published_accepted_and_granted() -> None:
    keys = [f"arn:aws:kms:ap-southeast-1:1:key/{name}" for name in ("sig", "sig-next", "enc", "enc-next", "enc-old")]
    parameters = {
        **CORPPASS_MIB,
        "CorppassSigningKeyArn": keys[0],
        "CorppassAdditionalSigningKeyArns": keys[1],
        "CorppassDecryptionKeyArn": keys[2],
        "CorppassAdditionalDecryptionKeyArns": f"{keys[3]},{keys[4]}",
    }
    [*_, corppass, corppass_mib, _, _, _] = providers_json(parameters)
    for app in (corppass, corppass_mib):
        assert app["signing_key_arn"] == keys[0]
        assert app["additional_signing_key_arns"] == [keys[1]]
        assert app["decryption_key_arn"] == keys[2]
        assert app["additional_decryption_key_arns"] == keys[3:]
    for function in ("LoginFunction", "CallbackFunction", "SessionFunction"):
        assert grants(function, parameters)["kms:Sign"] == {keys[0]}  # an additional key never signs
    for function in ("CallbackFunction", "SessionFunction"):
        assert grants(function, parameters)["kms:DeriveSharedSecret"] == set(keys[2:])
    assert grants("JwksFunction", parameters)["kms:GetPublicKey"] == set(keys)
    resolver = Resolver(TEMPLATE, {"SiteHosting": "None", **parameters}, PHYSICAL)
    assert not resolver.condition("CreateCorppassSigningKey")  # brought keys: the stack creates none
    assert not resolver.condition("CreateCorppassDecryptionKey")


MYINFO_V3 = {
    "FrontendUrl": "https://app.example.com",
    "MyInfoV3ClientId": "STG-CLIENT",
    "MyInfoV3Environment": "test",
    "MyInfoV3Certificates": "MIIBcert1,MIIBcert2",
    "MyInfoV3Attributes": "uinfin,name,regadd",
}


def test_a_myinfo_v3_deployment_uses_one_stack_pem_for_signing_and_decryption() -> None:
    [*_, myinfo_v3, _, _] = providers_json(MYINFO_V3)
    assert myinfo_v3 == {
        "id": "myinfo-v3",
        "type": "myinfo-v3",
        "name": "MyInfo",
        "environment": "test",
        "api_url": None,
        "client_id": "STG-CLIENT",
        "client_secret_arn": "ref-MyInfoV3ClientSecret",
        "signing_key_arn": "ref-MyInfoV3PrivateKey",
        "decryption_key_arn": "ref-MyInfoV3PrivateKey",
        "myinfo_certificates": ["MIIBcert1", "MIIBcert2"],
        "attributes": ["uinfin", "name", "regadd"],
        "purpose": "To verify your identity",
    }
    assert RESOURCES["MyInfoV3PrivateKey"]["Type"] == "AWS::SecretsManager::Secret"
    assert RESOURCES["MyInfoV3PrivateKey"]["DeletionPolicy"] == "Retain"


def test_myinfo_v3_keys_can_be_brought_separately_and_the_sandbox_needs_no_certificate() -> None:
    signing, decryption = "arn:aws:kms:ap-southeast-1:1:key/sign", "arn:aws:kms:ap-southeast-1:1:key/decrypt"
    parameters = {
        **MYINFO_V3,
        "MyInfoV3SigningKeyArn": signing,
        "MyInfoV3DecryptionKeyArn": decryption,
        "MyInfoV3Environment": "sandbox",
        "MyInfoV3Certificates": "",
        "MyInfoV3ApiUrl": "https://myinfo.example/gov/v3",
    }
    [*_, myinfo_v3, _, _] = providers_json(parameters)
    assert (myinfo_v3["signing_key_arn"], myinfo_v3["decryption_key_arn"]) == (signing, decryption)
    assert (myinfo_v3["myinfo_certificates"], myinfo_v3["api_url"]) == (None, "https://myinfo.example/gov/v3")
    callback = grants("CallbackFunction", parameters)
    assert callback["kms:Sign"] == {signing}
    assert callback["kms:Decrypt"] == {decryption}


def test_myinfo_v3_secrets_are_reachable_by_the_callback_alone() -> None:
    secret, key = "ref-MyInfoV3ClientSecret", "ref-MyInfoV3PrivateKey"
    callback = grants("CallbackFunction", MYINFO_V3)
    assert callback["secretsmanager:GetSecretValue"] == {secret, key}
    assert grants("LoginFunction", MYINFO_V3) == grants("LoginFunction", PARAMETERS)  # authorise is unsigned
    assert grants("SessionFunction", MYINFO_V3) == grants("SessionFunction", PARAMETERS)  # no refresh
    assert grants("JwksFunction", MYINFO_V3) == {}


MYINFO_V4 = {
    "FrontendUrl": "https://app.example.com",
    "MyInfoV4ClientId": "STG2-CLIENT",
    "MyInfoV4Environment": "test",
    "MyInfoV4PurposeId": "demo",
    "MyInfoV4Scopes": "uinfin name",
}


def test_a_stack_deployed_with_the_old_myinfo_v4_id_keeps_it() -> None:
    [*_, myinfo_v4, _] = providers_json({**MYINFO_V4, "MyInfoV4ProviderId": "myinfo-v4"})
    assert myinfo_v4["id"] == "myinfo-v4"


def test_a_myinfo_v4_deployment_creates_its_ec_keys_and_references_them() -> None:
    [*_, myinfo_v4, _] = providers_json(MYINFO_V4)
    signing, decryption = PHYSICAL["MyInfoV4SigningKey"]["Arn"], PHYSICAL["MyInfoV4DecryptionKey"]["Arn"]
    assert myinfo_v4 == {
        "id": "mi-v4",  # no "myinfo" in its callback path: Singpass's portal is reported to refuse it
        "type": "myinfo-v4",
        "name": "MyInfo v4",
        "environment": "test",
        "api_url": None,
        "authorise_jwks_url": None,
        "myinfo_jwks_url": None,
        "client_id": "STG2-CLIENT",
        "purpose_id": "demo",
        "signing_key_arn": signing,
        "additional_signing_key_arns": [],
        "decryption_key_arns": [decryption],
        "scopes": ["uinfin", "name"],
    }
    assert RESOURCES["MyInfoV4SigningKey"]["Properties"]["KeySpec"] == "ECC_NIST_P256"
    assert RESOURCES["MyInfoV4SigningKey"]["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    assert RESOURCES["MyInfoV4DecryptionKey"]["Properties"]["KeyUsage"] == "KEY_AGREEMENT"
    callback = grants("CallbackFunction", MYINFO_V4)
    assert callback["kms:Sign"] == {signing}
    assert callback["kms:DeriveSharedSecret"] == {decryption}
    assert grants("JwksFunction", MYINFO_V4)["kms:GetPublicKey"] == {signing, decryption}
    assert grants("LoginFunction", MYINFO_V4) == grants("LoginFunction", PARAMETERS)


def test_myinfo_v4_keys_being_rotated_are_published_accepted_and_granted() -> None:
    keys = [f"arn:aws:kms:ap-southeast-1:1:key/{name}" for name in ("sig", "sig-next", "enc", "enc-next", "enc-old")]
    parameters = {
        **MYINFO_V4,
        "MyInfoV4SigningKeyArn": keys[0],
        "MyInfoV4AdditionalSigningKeyArns": keys[1],
        "MyInfoV4DecryptionKeyArn": keys[2],
        "MyInfoV4AdditionalDecryptionKeyArns": f"{keys[3]},{keys[4]}",
    }
    [*_, myinfo_v4, _] = providers_json(parameters)
    assert myinfo_v4["signing_key_arn"] == keys[0]
    assert myinfo_v4["additional_signing_key_arns"] == [keys[1]]
    assert myinfo_v4["decryption_key_arns"] == keys[2:]
    assert grants("CallbackFunction", parameters)["kms:DeriveSharedSecret"] == set(keys[2:])
    assert grants("JwksFunction", parameters)["kms:GetPublicKey"] == set(keys)


ADDITIONAL_KEY_PARAMETERS = [
    "SingpassAdditionalSigningKeyArns",
    "SingpassAdditionalDecryptionKeyArns",
    "CorppassAdditionalSigningKeyArns",
    "CorppassAdditionalDecryptionKeyArns",
    "MyInfoV4AdditionalSigningKeyArns",
    "MyInfoV4AdditionalDecryptionKeyArns",
]
NEXT_KEY, OLD_KEY = "arn:aws:kms:ap-southeast-1:1:key/next", "arn:aws:secretsmanager:ap-southeast-1:1:secret:old-AbC"


@pytest.mark.parametrize("parameter", ADDITIONAL_KEY_PARAMETERS)
@pytest.mark.parametrize("value", ["", NEXT_KEY, f"{NEXT_KEY},{OLD_KEY}"])
def test_additional_keys_are_comma_separated_arns(parameter: str, value: str) -> None:
    resolver = Resolver(TEMPLATE, {"SiteHosting": "None", **PARAMETERS, parameter: value}, PHYSICAL)
    assert resolver.resolve({"Ref": parameter}) == value


@pytest.mark.parametrize("parameter", ADDITIONAL_KEY_PARAMETERS)
@pytest.mark.parametrize(
    "value",
    [
        f"{NEXT_KEY}, {OLD_KEY}",
        f"{NEXT_KEY} ,{OLD_KEY}",
        f"{NEXT_KEY},,{OLD_KEY}",
        f"{NEXT_KEY},",
        f'{NEXT_KEY}"',
        "key/next",
    ],
)
def test_a_malformed_key_list_is_refused_before_it_breaks_logins_and_policies(parameter: str, value: str) -> None:
    """A space after a comma would reach the gateway as " arn:…" (refused at cold start) and IAM as a bad resource;
    an empty item or a quote would break the provider JSON the template builds."""
    with pytest.raises(TemplateError, match=f"{parameter}: .*comma-separated ARNs, no spaces"):
        Resolver(TEMPLATE, {"SiteHosting": "None", **PARAMETERS, parameter: value}, PHYSICAL)


OAUTH2 = {
    "FrontendUrl": "https://app.example.com", "OAuth2ClientId": "oauth2-client",
    "OAuth2AuthorizationEndpoint": "https://git.example/login/oauth/authorize",
    "OAuth2TokenEndpoint": "https://git.example/login/oauth/access_token",
    "OAuth2UserEndpoint": "https://api.git.example/user", "OAuth2Identity": "user_endpoint", "OAuth2SubjectClaim": "id",
    "OAuth2Pkce": "false",
}  # fmt: skip


def test_a_user_endpoint_oauth2_deployment_leaves_unset_parameters_null() -> None:
    [*others, oauth2] = providers_json(OAUTH2)

    assert others == [None] * 8
    assert oauth2 == {
        "id": "oauth2", "type": "oauth2", "name": "OAuth 2.0", "issuer": None, "client_id": "oauth2-client",
        "client_secret_arn": "ref-OAuth2ClientSecret", "client_auth": "client_secret_basic", "metadata": False,
        "pkce": False, "authorization_endpoint": "https://git.example/login/oauth/authorize",
        "token_endpoint": "https://git.example/login/oauth/access_token", "jwks_uri": None,
        "introspection_endpoint": None, "revocation_endpoint": None, "user_endpoint": "https://api.git.example/user",
        "identity": "user_endpoint", "subject_claim": "id", "scopes": None, "access_token_audience": None,
        "permissions_claim": "permissions",
    }  # fmt: skip


def test_a_metadata_oauth2_deployment_is_a_configuration_the_gateway_accepts() -> None:
    """What the template writes must pass the gateway's own start-up checks (null as "not set" included)."""
    from singpass_gateway.providers.oauth2 import parse_config
    from singpass_gateway.settings import ProviderSettings

    parameters = {
        "FrontendUrl": "https://app.example.com", "OAuth2ClientId": "oauth2-client", "OAuth2ProviderId": "sso",
        "OAuth2Issuer": "https://sso.example/tenant", "OAuth2Metadata": "true", "OAuth2Scopes": "orders:read profile",
        "OAuth2AccessTokenAudience": "https://api.example", "OAuth2ClientAuth": "client_secret_post",
    }  # fmt: skip
    [*_, entry] = providers_json(parameters)
    secret_arn = "arn:aws:secretsmanager:ap-southeast-1:1:secret:oauth2"  # what Ref gives for the secret
    options = {name: value for name, value in entry.items() if name not in ("id", "type", "name")}
    options["client_secret_arn"] = secret_arn

    config = parse_config(ProviderSettings(id=entry["id"], type=entry["type"], name=entry["name"], options=options))

    assert (config.issuer, config.endpoints, config.scopes) == (
        "https://sso.example/tenant",
        None,
        ("orders:read", "profile"),
    )
    assert (config.identity.audience, config.client.method, config.pkce) == (
        "https://api.example",
        "client_secret_post",
        True,
    )
    for user_endpoint_only in (OAUTH2,):
        [*_, user] = providers_json(user_endpoint_only)
        rest = {name: value for name, value in user.items() if name not in ("id", "type", "name")}
        rest["client_secret_arn"] = secret_arn
        assert parse_config(ProviderSettings(id="oauth2", type="oauth2", name="x", options=rest)).user_endpoint


def test_the_oauth2_client_secret_is_reachable_by_the_functions_that_authenticate_to_the_server_alone() -> None:
    """The callback (code exchange), the session function (refresh, logout's revocation) and the login function
    (revoking the refresh token of the session a new login ends); never the JWKS or OpenAPI function."""
    secret = "ref-OAuth2ClientSecret"

    holders = {
        function
        for function, resource in RESOURCES.items()
        if "Policies" in resource.get("Properties", {})
        and secret in grants(function, OAUTH2).get("secretsmanager:GetSecretValue", set())
    }

    assert holders == {"LoginFunction", "CallbackFunction", "SessionFunction"}
    assert secret not in grants("CallbackFunction", PARAMETERS).get("secretsmanager:GetSecretValue", set())


# -- issue 16, items 2 and 9: abuse and cost controls, key policies, access logs ---------------------------

EVERY_KEY = {**PARAMETERS, **SINGPASS, **CORPPASS, **MYINFO_V4}
"""sgID, Singpass, Corppass and MyInfo v4 with no key brought: the stack creates every KMS key it can."""
KEY_ADMINISTRATION = {
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
}  # fmt: skip
KEY_USE = (
    "kms:Sign",
    "kms:Decrypt",
    "kms:DeriveSharedSecret",
    "kms:GenerateDataKey",
    "kms:Encrypt",
    "kms:ReEncryptFrom",
)
SIGNING = {"LoginFunctionRole": {"kms:Sign"}, "CallbackFunctionRole": {"kms:Sign"}, "SessionFunctionRole": {"kms:Sign"}}
DECRYPTION = {"CallbackFunctionRole": {"kms:DeriveSharedSecret"}, "SessionFunctionRole": {"kms:DeriveSharedSecret"}}
PUBLISHED = {"JwksFunctionRole": {"kms:GetPublicKey"}}
KEY_USERS = {
    "SessionKey": {
        "CallbackFunctionRole": {"kms:Encrypt"},
        "SessionFunctionRole": {"kms:Decrypt", "kms:Encrypt"},
        "LoginFunctionRole": {"kms:Decrypt"},  # opens the grant of the session a new login ends, to revoke it
    },
    "SgidDecryptionKey": {"CallbackFunctionRole": {"kms:Decrypt"}},
    "SingpassSigningKey": {**SIGNING, **PUBLISHED},
    "SingpassDecryptionKey": {**DECRYPTION, **PUBLISHED},
    "CorppassSigningKey": {**SIGNING, **PUBLISHED},
    "CorppassDecryptionKey": {**DECRYPTION, **PUBLISHED},
    "MyInfoV4SigningKey": {"CallbackFunctionRole": {"kms:Sign"}, **PUBLISHED},
    "MyInfoV4DecryptionKey": {"CallbackFunctionRole": {"kms:DeriveSharedSecret"}, **PUBLISHED},
}
"""Who may use each key the stack creates, for what: exactly the operations each function's code performs."""


@pytest.mark.parametrize("administrator", ["", "arn:aws:iam::123456789012:role/key-administrators"])
def test_key_administrators_manage_the_stacks_keys_and_only_the_functions_use_them(administrator: str) -> None:
    resolver = Resolver(TEMPLATE, {"SiteHosting": "None", **EVERY_KEY, "KeyAdministratorArn": administrator}, PHYSICAL)
    keys = created_keys(resolver)
    role_names = {PHYSICAL[role]["Arn"]: role for role in ROLES}

    assert set(keys) == set(KEY_USERS)
    for name, properties in keys.items():
        statements = properties["KeyPolicy"]["Statement"]
        assert all(statement["Effect"] == "Allow" and statement["Resource"] == "*" for statement in statements)
        [admin] = [statement for statement in statements if statement["Sid"] == "KeyAdministrators"]
        assert admin["Principal"] == {"AWS": administrator or ROOT_ARN}  # the account, through IAM, by default
        assert set(admin["Action"]) == KEY_ADMINISTRATION
        assert any(fnmatch.fnmatchcase("kms:PutKeyPolicy", action) for action in admin["Action"])  # no lock-out
        for use in KEY_USE:  # neither the account nor an administrator may use a key
            assert not any(fnmatch.fnmatchcase(use, action) for action in admin["Action"]), (name, use)
        users: dict[str, set[str]] = {}
        for statement in statements:
            if statement is admin:
                continue
            for principal in as_list(statement["Principal"]["AWS"]):
                assert principal in role_names, (name, principal)  # never the root, never an administrator
                users.setdefault(role_names[principal], set()).update(as_list(statement["Action"]))
        assert users == KEY_USERS[name], name


def test_no_function_role_names_a_key_the_stack_creates_in_its_own_policies() -> None:
    """The key policies alone grant a created key's use: IAM cannot (the root is delegated administration only), and
    a role whose policy named the key would make a cycle with the key policy that names the role."""
    resolver = Resolver(TEMPLATE, {"SiteHosting": "None", **EVERY_KEY}, PHYSICAL)
    key_arns = {PHYSICAL[name]["Arn"] for name in created_keys(resolver)}
    for function in FUNCTIONS:
        for policy in resolver.resolve(RESOURCES[function]["Properties"].get("Policies", [])):
            for statement in policy["Statement"]:
                assert not key_arns & set(as_list(statement["Resource"])), function
                assert "kms:*" not in as_list(statement["Action"])


PEM_SIGNING = "arn:aws:secretsmanager:ap-southeast-1:1:secret:singpass-signing-AbCdEf"
PEM_DECRYPTION = "arn:aws:secretsmanager:ap-southeast-1:1:secret:singpass-decryption-AbCdEf"


@pytest.mark.parametrize(
    "parameters",
    [
        SINGPASS,
        {**SINGPASS, "SingpassSigningKeyArn": PEM_SIGNING, "SingpassDecryptionKeyArn": PEM_DECRYPTION},
        {**CORPPASS, "CorppassSigningKeyArn": PEM_SIGNING, "CorppassAdditionalDecryptionKeyArns": PEM_DECRYPTION},
        {**MYINFO_V4, "MyInfoV4SigningKeyArn": PEM_SIGNING, "MyInfoV4AdditionalSigningKeyArns": PEM_DECRYPTION},
    ],
)
def test_the_jwks_function_reads_no_private_key_only_public_halves(parameters: dict[str, str]) -> None:
    jwks = grants("JwksFunction", parameters)
    brought = {arn for arn in (PEM_SIGNING, PEM_DECRYPTION) if arn in parameters.values()}

    assert "secretsmanager:GetSecretValue" not in jwks
    assert set(jwks) <= {"kms:GetPublicKey", "secretsmanager:DescribeSecret"}
    assert jwks.get("secretsmanager:DescribeSecret", set()) >= brought  # the public half in the PEM secret's tags
    environments = {
        spec.logical_id: spec.environment for spec in functions(TEMPLATE, Resolver(TEMPLATE, parameters, PHYSICAL))
    }
    assert environments.pop("JwksFunction")["GATEWAY_PUBLIC_KEYS_ONLY"] == "true"
    assert not [name for name, environment in environments.items() if "GATEWAY_PUBLIC_KEYS_ONLY" in environment]


@pytest.mark.parametrize(
    ("function", "parameter"),
    [("LoginFunction", "LoginReservedConcurrency"), ("CallbackFunction", "CallbackReservedConcurrency")],
)
def test_the_login_and_callback_functions_can_have_reserved_concurrency(function: str, parameter: str) -> None:
    def reserved(value: str) -> Any:
        resolver = Resolver(TEMPLATE, {"SiteHosting": "None", **PARAMETERS, parameter: value}, PHYSICAL)
        return resolver.resolve(RESOURCES[function]["Properties"].get("ReservedConcurrentExecutions"))

    assert reserved("0") is None  # the default: the account's unreserved pool
    assert reserved("25") == "25"
    assert TEMPLATE["Parameters"][parameter]["Default"] == 0


def test_the_costly_login_start_has_its_own_lower_route_throttle() -> None:
    def api(parameters: dict[str, str]) -> dict[str, Any]:
        settings: dict[str, Any] = Resolver(TEMPLATE, {"SiteHosting": "None", **parameters}, PHYSICAL).resolve(
            RESOURCES["HttpApi"]["Properties"]
        )
        return settings

    login_routes = {
        route.key
        for spec in functions(TEMPLATE, Resolver(TEMPLATE, PARAMETERS, PHYSICAL))
        if spec.logical_id == "LoginFunction"
        for route in spec.routes
    }
    chosen = api({**PARAMETERS, "LoginThrottlingRateLimit": "5", "LoginThrottlingBurstLimit": "9"})
    assert set(chosen["RouteSettings"]) == login_routes == {"GET /auth/{provider}/login"}
    assert chosen["RouteSettings"]["GET /auth/{provider}/login"] == {
        "ThrottlingRateLimit": "5",
        "ThrottlingBurstLimit": "9",
    }
    default = api(PARAMETERS)
    login, stage = default["RouteSettings"]["GET /auth/{provider}/login"], default["DefaultRouteSettings"]
    assert int(login["ThrottlingRateLimit"]) < stage["ThrottlingRateLimit"]
    assert int(login["ThrottlingBurstLimit"]) < stage["ThrottlingBurstLimit"]


ACCESS_LOG_VARIABLES = {
    "$context.requestId", "$context.requestTimeEpoch", "$context.identity.sourceIp", "$context.routeKey",
    "$context.status", "$context.responseLength", "$context.responseLatency", "$context.integrationLatency",
    "$context.integrationStatus", "$context.error.message", "$context.integrationErrorMessage",
}  # fmt: skip
"""What an access log line may hold: none of these can carry a query string (the callback's has the code and state),
a cookie, a header or a path's values."""


def test_api_access_logs_are_optional_kept_for_their_retention_and_carry_no_query_cookie_or_header() -> None:
    off = Resolver(TEMPLATE, {"SiteHosting": "None", **PARAMETERS}, PHYSICAL)
    assert "AccessLogSettings" not in off.resolve(RESOURCES["HttpApi"]["Properties"])
    assert not off.condition(RESOURCES["ApiAccessLogGroup"]["Condition"])

    on = Resolver(
        TEMPLATE,
        {"SiteHosting": "None", **PARAMETERS, "ApiAccessLogs": "Enabled", "ApiAccessLogRetentionDays": "30"},
        PHYSICAL,
    )
    settings = on.resolve(RESOURCES["HttpApi"]["Properties"])["AccessLogSettings"]
    assert on.condition(RESOURCES["ApiAccessLogGroup"]["Condition"])
    assert settings["DestinationArn"] == PHYSICAL["ApiAccessLogGroup"]["Arn"]
    assert on.resolve(RESOURCES["ApiAccessLogGroup"]["Properties"])["RetentionInDays"] == "30"
    line = settings["Format"]
    record = json.loads(line)  # one JSON object a line, as CloudWatch Logs Insights reads it
    assert set(record.values()) <= ACCESS_LOG_VARIABLES
    assert set(re.findall(r"\$[\w.]+", line)) <= ACCESS_LOG_VARIABLES
    for forbidden in ("querystring", "cookie", "header", "authorization", "requestoverride", "context.path", "$input"):
        assert forbidden not in line.lower()
