"""``make dev``: run the whole sandbox on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .console import banner, persona_table, progress_line
from .personas import mockpass_personas
from .stack import ROOT, SandboxOptions, ServiceStarted, ServiceStartError, run_sandbox

LOG_DIR = ROOT / ".sandbox-logs"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="default 3000 ($PORT)")
    parser.add_argument(
        "--key-backend",
        choices=("kms", "pem"),
        default="kms",
        help="where sgID's and MyInfo v3's keys and Singpass's signing key live",
    )
    parser.add_argument("--log-dir", type=Path, default=LOG_DIR, help=f"the services' logs (default {LOG_DIR})")
    parser.add_argument("--personas", action="store_true", help="list every persona to log in as, and exit")
    args = parser.parse_args()
    if args.personas:
        print(persona_table(mockpass_personas()), end="")
        return
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # Ctrl-C, kill, closed terminal
        signal.signal(signal_number, lambda *_: stop.set())
    print("Starting the sandbox's services (about half a minute) ...", flush=True)
    began = time.monotonic()
    options = SandboxOptions(port=args.port, key_backend=args.key_backend, progress=_print, log_dir=args.log_dir)
    try:
        with run_sandbox(options) as sandbox:
            print(f"  All up in {time.monotonic() - began:.1f} s.", flush=True)
            print(banner(sandbox), flush=True)
            stop.wait()
            print("\nStopping ...", flush=True)
    except ServiceStartError as error:
        sys.exit(f"  ✗ {error}")


def _print(event: ServiceStarted) -> None:
    print(progress_line(event), flush=True)


if __name__ == "__main__":
    main()
