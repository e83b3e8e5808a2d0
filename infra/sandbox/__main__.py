"""``make dev``: run the whole sandbox on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from .stack import SANDBOX_PERSONA, SandboxOptions, run_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="default 3000 ($PORT)")
    parser.add_argument(
        "--key-backend", choices=("kms", "pem"), default="kms", help="where sgID's and MyInfo v3's keys live"
    )
    args = parser.parse_args()
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # Ctrl-C, kill, closed terminal
        signal.signal(signal_number, lambda *_: stop.set())
    print("Starting DynamoDB Local, moto (KMS, Secrets Manager), MockPass and the local API ...", flush=True)
    with run_sandbox(SandboxOptions(port=args.port, key_backend=args.key_backend)) as sandbox:
        print(
            f"\n  Demo frontend and API:  {sandbox.url}\n"
            f"  MockPass (sgID):        {sandbox.mockpass_url}\n"
            f"  oidc-provider (OIDC):   {sandbox.oidc_url}\n"
            f"  FAPI 2.0 (Singpass):    {sandbox.fapi_url}\n"
            f"  MockPass (MyInfo v3):   {sandbox.myinfo_v3_url}\n"
            f"  MyInfo v4 emulator:     {sandbox.myinfo_v4_url}\n"
            f"  DynamoDB Local:         {sandbox.dynamodb_url}  (table {sandbox.table_name})\n"
            f"  moto (KMS, Secrets):    {sandbox.moto_url}\n\n"
            f'Open {sandbox.url} and click "Log in with Singpass app (sgID)"; in MockPass pick a persona,\n'
            f'e.g. "{SANDBOX_PERSONA} [MyInfo]". "Log in with MyInfo" adds MyInfo\'s consent page (press Submit);\n'
            f'"Log in with Singpass" and "Log in with OIDC" take any password. Ctrl-C stops everything.\n',
            flush=True,
        )
        stop.wait()
        print("\nStopping ...", flush=True)


if __name__ == "__main__":
    main()
