"""The package's one command line, ``python -m singpass_gateway``: its parser, and the exit status of a run.

Expected failures (a wrong key, missing credentials, an unreadable PEM) are one ``error:`` line on stderr and the
error's exit status (1; 2 for ``keys check`` when it could not look); argparse's usage errors are 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import GatewayError
from .certificates import certificate
from .check import CHECK_DESCRIPTION, EXIT_STATUSES, check
from .check_targets import CHECKED_PROVIDERS
from .errors import KeyToolError
from .kms_keys import create, jwks, public_key
from .pem_secrets import store_pem, tag_public_key_command
from .roles import PROVIDERS
from .rotation import rotation_plan


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: its own exit status (``keys check``), else 0, or the failure's, or 2 for bad usage."""
    arguments = _parser().parse_args(argv)
    try:
        status: int | None = arguments.run(arguments)
        sys.stdout.flush()  # here, so that a reader gone away (`| head`) is caught below, not at exit
    except KeyToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_status
    except GatewayError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # leaves nothing to flush at exit
        return 1
    return status or 0


def print_openapi(arguments: argparse.Namespace) -> None:
    """Not a key command: the package has one command line, and this parser is it."""
    from ..contract import print_document

    print_document()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m singpass_gateway", description="singpass-gateway operator tools")
    groups = parser.add_subparsers(title="command groups", required=True)
    openapi = groups.add_parser("openapi", help="print the HTTP contract as an OpenAPI 3.1 document (contract.py)")
    openapi.set_defaults(run=print_openapi)
    keys = groups.add_parser("keys", help="create, publish, certify, store, rotate and check the gateway's keys")
    commands = keys.add_subparsers(title="commands", required=True)

    command = commands.add_parser("create", help="create a KMS key of the spec a provider needs; prints its ARN")
    command.add_argument("--provider", required=True, choices=PROVIDERS)
    command.add_argument("--use", required=True, choices=("sig", "enc"))
    command.add_argument("--alias", help="also name it alias/ALIAS")
    command.set_defaults(run=create)

    command = commands.add_parser("jwks", help="print the client JWKS the gateway publishes for these keys")
    command.add_argument("keys", nargs="+", metavar="KEY_ARN", help="KMS key ARNs or Secrets Manager PEM secret ARNs")
    command.add_argument("--use", choices=("sig", "enc"), help="the use of PEM keys (KMS keys: from their KeyUsage)")
    command.set_defaults(run=jwks)

    command = commands.add_parser("public-key", help="print a key's public half as PEM (to register with sgID)")
    command.add_argument("key", metavar="KEY_ARN")
    command.set_defaults(run=public_key)

    command = commands.add_parser("certificate", help="print a self-signed certificate or CSR for MyInfo v3")
    command.add_argument("key", metavar="KEY_ARN", help="an RSA SIGN_VERIFY KMS key ARN or an RSA PEM secret ARN")
    command.add_argument("--subject", required=True, help='openssl style, e.g. "/CN=app.example.com/O=Example/C=SG"')
    command.add_argument("--csr", action="store_true", help="a certificate signing request for a CA instead")
    command.add_argument("--days", type=int, default=730, help="validity of the self-signed certificate (730)")
    command.set_defaults(run=certificate)

    command = commands.add_parser("store-pem", help="check a PEM private key and put it into a secret")
    command.add_argument("secret_arn", metavar="SECRET_ARN")
    command.add_argument("pem_file", metavar="PEM_FILE")
    command.add_argument("--provider", required=True, choices=PROVIDERS, help="decides the key type it must have")
    command.set_defaults(run=store_pem)

    command = commands.add_parser(
        "tag-public-key", help="put a PEM secret's public half into its tags, where its JWKS is published from"
    )
    command.add_argument("secret_arn", metavar="SECRET_ARN")
    command.set_defaults(run=tag_public_key_command)

    command = commands.add_parser("rotation-plan", help="print the steps and sam deploy commands of a key rotation")
    command.add_argument("--provider", required=True, choices=PROVIDERS)
    command.add_argument("--use", required=True, choices=("sig", "enc"))
    command.add_argument("--current", required=True, metavar="KEY_ARN", help="the key in use now")
    command.add_argument("--next", required=True, metavar="KEY_ARN", help="the key to rotate to (keys create)")
    command.add_argument("--stack-name", help="the stack to deploy (default: samconfig.toml's)")
    command.set_defaults(run=rotation_plan)

    _add_check(commands)
    return parser


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "check",
        help="check that the published JWKS lists exactly the configured keys (exit 0 match, 1 mismatch, 2 unread)",
        description=CHECK_DESCRIPTION,
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--stack-name", help="read the JWKS URLs and key ARNs from this deployed stack")
    command.add_argument("--region", help="the region of the stack and keys (default: AWS_DEFAULT_REGION's)")
    command.add_argument("--provider", choices=CHECKED_PROVIDERS, help="the provider whose JWKS --jwks-url is")
    command.add_argument("--jwks-url", help="the JWKS URL registered with the provider (https; http on localhost)")
    command.add_argument(
        "--signing-key", dest="signing_keys", action="append", metavar="KEY_ARN",
        help="the signing key in use; repeat for the additional ones published for a rotation",
    )  # fmt: skip
    command.add_argument(
        "--decryption-key", dest="decryption_keys", action="append", metavar="KEY_ARN",
        help="the decryption key; repeat for the additional ones published and accepted",
    )  # fmt: skip
    command.set_defaults(run=check)
