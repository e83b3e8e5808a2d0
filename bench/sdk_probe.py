"""The official sgID Python SDK (PyPI ``sgid-client``) finishing logins, for the CPU comparison.

Runs in its own virtualenv (the SDK pins an older ``requests``). Reads JSON on stdin: the SDK's settings and
a list of authorization codes; does what the gateway's callback does for each (token exchange, ID-token check,
userinfo decryption) and prints the CPU and wall seconds of each login as JSON.
"""

import json
import sys
import time

from sgid_client import SgidClient


def main() -> None:
    job = json.load(sys.stdin)
    client = SgidClient(
        client_id=job["client_id"],
        client_secret=job["client_secret"],
        private_key=job["private_key"],
        redirect_uri=job["redirect_uri"],
        hostname=job["hostname"],
    )
    cpu_seconds, wall_seconds, fields = [], [], 0
    for login in job["logins"]:
        wall, cpu = time.perf_counter(), time.process_time()
        tokens = client.callback(code=login["code"], code_verifier=login["verifier"], nonce=login["nonce"])
        info = client.userinfo(sub=tokens.sub, access_token=tokens.access_token)
        cpu_seconds.append(time.process_time() - cpu)
        wall_seconds.append(time.perf_counter() - wall)
        fields = len(info.data)
    print(json.dumps({"cpu_seconds": cpu_seconds, "wall_seconds": wall_seconds, "fields": fields}))


if __name__ == "__main__":
    main()
