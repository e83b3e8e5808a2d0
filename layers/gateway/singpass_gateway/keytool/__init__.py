"""Key management for operators: ``python -m singpass_gateway keys <command>``.

Setting keys up by hand (openssl, the aws CLI, a kid worked out separately) fails late: a key of the wrong
KeySpec, a 1024-bit RSA key or a kid that differs from the gateway's only shows up as a refused login. These
commands create keys of exactly the spec each provider needs, print the client JWKS through the gateway's own
``published_jwk`` (so every kid is the one the deployed gateway publishes), sign MyInfo v3 certificates through
the key interface (inside KMS for a KMS key), check PEMs before they reach Secrets Manager, print key rotations as
the ``sam deploy`` commands to run, and check that the JWKS each provider fetches publishes exactly the configured
keys. (Its parser is the package's one command line, so it also offers ``openapi``, which prints the HTTP
contract of contract.py.)

One concern per module: ``cli`` (parser, exit status), ``roles`` (what each provider needs of each key),
``kms_keys`` (create, jwks, public-key), ``certificates`` (MyInfo v3), ``pem_secrets`` (store-pem, tag-public-key),
``rotation`` (rotation-plan), and ``keys check`` in ``check`` (the command), ``check_targets`` (what to check: the
command line or a stack), ``live_jwks`` (fetching a JWKS as a provider does) and ``jwks_comparison`` (the findings);
``key_loading``, ``aws_calls``, ``console`` and ``errors`` serve them all.

No Lambda handler imports this package, and it imports boto3, cryptography and requests only inside commands.
"""

from .cli import main
from .roles import KEY_ROLES, KeyRole

__all__ = ["KEY_ROLES", "KeyRole", "main"]
