"""``make bench``: measure the gateway on the local sandbox and write bench/results.json and docs/performance.md.

Everything runs on this machine against the same stack as the tests (DynamoDB Local, moto, MockPass,
oidc-provider), so figures are comparable between runs and machines of one kind, not Lambda's own: Lambda's
CPUs are slower, and its network to AWS services is faster than to emulators. Ratios (handler cold start to
the boto3 baseline, gateway CPU to the official SDK's) carry over best.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from singpass_gateway.flows import pkce_challenge

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.server import Invocation
from infra.sandbox.stack import ROOT, SGID_SCOPES, Sandbox, SandboxOptions, run_sandbox

BENCH = ROOT / "bench"
PROVIDERS = ("sgid", "oidc", "oauth2", "sp", "sp-data", "cp", "cp-data")
"""sgID, OIDC, a plain OAuth 2.0 server (a JWT access token, no ID token), Singpass's two kinds of app (sp a
Login app, no userinfo; sp-data a Myinfo app) and Corppass's (cp a Login app asking for authorisations, so with
userinfo; cp-data a Myinfo Business app)."""
KMS_FLOOR = {
    "sp": {"kms.Sign": 2, "kms.DeriveSharedSecret": 1},
    "sp-data": {"kms.Sign": 2, "kms.DeriveSharedSecret": 2},
    "cp": {"kms.Sign": 2, "kms.DeriveSharedSecret": 2},
    "cp-data": {"kms.Sign": 2, "kms.DeriveSharedSecret": 2},
}
"""Singpass's and Corppass's KMS calls per warm login: an assertion for PAR and one for the token; one ECDH
agreement per encrypted answer (the ID token, and userinfo where the app reads it)."""
HANDLERS = {
    "LoginFunction": "GET /auth/sgid/login",
    "CallbackFunction": "GET /auth/sgid/callback",
    "SessionFunction": "GET /api/me",
    "JwksFunction": "GET /.well-known/jwks.json",
}
MEMORY_MB = {"LoginFunction": 256, "CallbackFunction": 512, "SessionFunction": 256, "JwksFunction": 256}
SDK_VENV = ROOT / ".bench" / "sdk-venv"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="cold starts per handler (default 10)")
    parser.add_argument("--logins", type=int, default=20, help="sequential logins per provider (default 20)")
    parser.add_argument("--concurrency", type=int, default=20, help="logins at a time for throughput")
    parser.add_argument("--total", type=int, default=300, help="logins in all for throughput")
    args = parser.parse_args()
    prices = json.loads((BENCH / "prices.json").read_text())
    results: dict[str, Any] = {"machine": _machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _step("size of the built layer and functions (sam build)")
    results["size"] = measure_size()
    options = SandboxOptions(show_login_page=False, count_aws_calls=True, max_workers=8, handler_log=_devnull())
    with run_sandbox(options) as sandbox:
        results["logins"] = {}
        for provider in PROVIDERS:
            _step(f"{args.logins} logins with {provider}: handler CPU, wall and AWS calls")
            results["logins"][provider] = measure_logins(sandbox, provider, args.logins)
        _step(f"cold starts ({args.runs} paired rounds: the boto3 baseline, then each handler in a fresh process)")
        results["cold_start"] = measure_cold_starts(sandbox, args.runs)
        _step(f"throughput: {args.total} sgID logins, {args.concurrency} at a time")
        results["throughput"] = measure_throughput(sandbox, args.concurrency, args.total)
    pem_options = SandboxOptions(show_login_page=False, key_backend="pem", count_aws_calls=True, handler_log=_devnull())
    with run_sandbox(pem_options) as pem_sandbox:
        _step(f"{args.logins} sgID logins with the PEM key backend, and the official sgid-client SDK")
        results["logins"]["sgid (PEM key)"] = measure_logins(pem_sandbox, "sgid", args.logins)
        results["sgid_sdk"] = measure_sgid_sdk(pem_sandbox, args.logins)
    results["cost_per_million_logins"] = {name: cost(data, prices, name) for name, data in results["logins"].items()}
    results["targets"] = check_targets(results)
    results["prices"] = prices
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "docs" / "performance.md").write_text(render(results))
    print(summary(results))


# --------------------------------------------------------------------------------------------- measurements


def measure_size() -> dict[str, float]:
    """Unzipped kilobytes of what ``sam build`` produces for the layer and each function."""
    with tempfile.TemporaryDirectory() as build_dir:
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "sam"), "build", "--build-dir", build_dir],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        )
        return {
            path.name: round(_tree_bytes(path) / 1e3, 1) for path in sorted(Path(build_dir).iterdir()) if path.is_dir()
        }


def measure_cold_starts(sandbox: Sandbox, runs: int) -> dict[str, Any]:
    """Each handler imported by a fresh process that then serves a real first event, against the baseline.

    Rounds are paired: each round runs the baseline and then every handler, and a handler's ratio is the
    median of its per-round ratios, so background load (the emulators share the machine) affects both sides.
    """
    code_dirs = {spec.logical_id: spec.code_dir for spec in sandbox.functions}
    baseline: list[float] = []
    totals: dict[str, list[float]] = {name: [] for name in HANDLERS}
    imports: dict[str, list[float]] = {name: [] for name in HANDLERS}
    ratios: dict[str, list[float]] = {name: [] for name in HANDLERS}
    for _ in range(runs):
        baseline.append(_probe(["baseline"], sandbox.aws_environment, None)["total_wall"])
        for logical_id in HANDLERS:
            event = fresh_event(sandbox, logical_id)
            probe = _probe(["handler", str(code_dirs[logical_id])], sandbox.environment(logical_id), event)
            if probe["status"] not in (200, 204, 302) or "error=" in probe["location"]:
                raise RuntimeError(f"{logical_id}'s first event failed: {probe}")
            totals[logical_id].append(probe["total_wall"])
            imports[logical_id].append(probe["import_wall"])
            ratios[logical_id].append(probe["total_wall"] / baseline[-1])
    results: dict[str, Any] = {"baseline": _spread(baseline)}
    for logical_id, route in HANDLERS.items():
        results[logical_id] = {
            "route": route,
            **_spread(totals[logical_id]),
            "import_median_ms": round(statistics.median(imports[logical_id]) * 1000, 1),
            "ratio_to_baseline": round(statistics.median(ratios[logical_id]), 2),
        }
    return results


def fresh_event(sandbox: Sandbox, logical_id: str) -> dict[str, Any]:
    """A real event for the handler, as API Gateway would send it; for the callback, an unspent login."""
    browser = Browser(sandbox.url)
    if logical_id == "LoginFunction":
        with captured(sandbox, logical_id) as events:
            browser.start_login()
    elif logical_id == "CallbackFunction":
        callback_url = provider_redirect(browser.start_login().headers["Location"])
        with captured(sandbox, logical_id) as events:
            browser.get(callback_url)
    elif logical_id == "SessionFunction":
        browser.login()
        with captured(sandbox, logical_id) as events:
            browser.api("/api/me")
    else:
        with captured(sandbox, logical_id) as events:
            browser.get("/.well-known/jwks.json")
    [event] = events
    return event


@contextlib.contextmanager
def captured(sandbox: Sandbox, logical_id: str) -> Iterator[list[dict[str, Any]]]:
    """Record the events a function would receive instead of running it (so a login stays unspent)."""
    pool, events = sandbox.pools[logical_id], []
    original = pool.invoke

    def capture(event: Any) -> Invocation:
        events.append(dict(event))
        return Invocation({"statusCode": 204}, 0.0, 0.0, cold=False)

    pool.invoke = capture  # type: ignore[method-assign]
    try:
        yield events
    finally:
        pool.invoke = original  # type: ignore[method-assign]


def measure_logins(sandbox: Sandbox, provider: str, count: int) -> dict[str, Any]:
    """Sequential logins (login and callback routes); the first is the provider's cold login in its containers."""
    logins = []
    for _ in range(count):
        mark = len(sandbox.server.invocations)
        callback = Browser(sandbox.url).login(provider=provider)
        if "error=" in callback.headers["Location"]:
            raise RuntimeError(f"a {provider} login failed: {callback.headers['Location']}")
        logins.append(list(sandbox.server.invocations)[mark:])
    cold, warm = logins[0], logins[1:]
    return {
        "handler_cpu_ms": _spread([_sum(login, "cpu_seconds") for login in warm], 1000),
        "handler_wall_ms": _spread([_sum(login, "wall_seconds") for login in warm], 1000),
        "lambda_ms_by_function": _per_function(warm),
        "aws_calls_cold": _calls(cold),
        "aws_calls_warm": _calls_median(warm),
    }


def measure_throughput(sandbox: Sandbox, concurrency: int, total: int) -> dict[str, Any]:
    """Concurrent sgID logins after a warm-up round; the gateway's latency is its two routes as the browser
    saw them."""

    def one_login(_: int) -> tuple[float, bool]:
        browser = Browser(sandbox.url)
        started = time.perf_counter()
        authorize = browser.start_login().headers["Location"]
        login_route = time.perf_counter() - started
        callback_url = provider_redirect(authorize)
        started = time.perf_counter()
        ok = "error=" not in browser.get(callback_url).headers["Location"]
        return login_route + time.perf_counter() - started, ok

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one_login, range(concurrency)))  # containers up first, as a busy service has them
        started = time.perf_counter()
        outcomes = list(pool.map(one_login, range(total)))
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for latency, _ in outcomes)
    return {
        "concurrency": concurrency,
        "logins": total,
        "errors": sum(1 for _, ok in outcomes if not ok),
        "logins_per_second": round(total / elapsed, 1),
        "gateway_latency_p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "gateway_latency_p99_ms": round(_percentile(latencies, 99) * 1000, 1),
    }


def measure_sgid_sdk(sandbox: Sandbox, count: int) -> dict[str, Any]:
    """The official sgid-client finishing ``count`` MockPass logins, in its own virtualenv."""
    [sgid] = [
        p for p in json.loads(sandbox.environment("CallbackFunction")["GATEWAY_PROVIDERS"]) if p and p["id"] == "sgid"
    ]
    secrets_client = sandbox.aws_client("secretsmanager")
    pem = secrets_client.get_secret_value(SecretId=sgid["decryption_key_arn"])["SecretString"]
    redirect_uri = f"{sandbox.url}/auth/sgid/callback"
    logins = [_mockpass_code(sandbox, sgid["client_id"], redirect_uri) for _ in range(count)]
    job = {
        "client_id": sgid["client_id"],
        "client_secret": secrets_client.get_secret_value(SecretId=sgid["client_secret_arn"])["SecretString"],
        "private_key": pem,
        "redirect_uri": redirect_uri,
        "hostname": sandbox.mockpass_url,
        "logins": logins,
    }
    python = SDK_VENV / "bin" / "python"
    done = subprocess.run(
        [str(python), str(BENCH / "sdk_probe.py")], input=json.dumps(job), capture_output=True, text=True, check=True
    )
    measured = json.loads(done.stdout)
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('sgid-client'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return {
        "package": f"sgid-client {version}",
        "cpu_ms": _spread(measured["cpu_seconds"][1:], 1000),
        "wall_ms": _spread(measured["wall_seconds"][1:], 1000),
        "fields_decrypted": measured["fields"],
    }


def _mockpass_code(sandbox: Sandbox, client_id: str, redirect_uri: str) -> dict[str, str]:
    verifier, nonce = secrets.token_urlsafe(64), secrets.token_urlsafe(16)
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SGID_SCOPES,
        "state": "bench", "nonce": nonce, "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    }  # fmt: skip
    answer = requests.get(
        f"{sandbox.mockpass_url}/v2/oauth/authorize?{urlencode(params)}", allow_redirects=False, timeout=10
    )
    return {"code": query(answer.headers["Location"])["code"], "verifier": verifier, "nonce": nonce}


# ----------------------------------------------------------------------------------------------- cost, targets


def cost(login: dict[str, Any], prices: dict[str, Any], provider: str) -> dict[str, float]:
    """USD per million warm logins (login and callback routes; the frontend's /api/me call is not included)."""
    calls = login["aws_calls_warm"]
    lambda_compute = sum(
        math.ceil(ms) / 1000 * MEMORY_MB[function] / 1024 * prices["lambda_arm64_gb_second"] * 1e6
        for function, ms in login["lambda_ms_by_function"].items()
    )
    invocations = len(login["lambda_ms_by_function"])
    writes = sum(n for name, n in calls.items() if name.split(".")[1] in {"PutItem", "DeleteItem", "UpdateItem"})
    reads = sum(n for name, n in calls.items() if name.split(".")[1] in {"GetItem", "Query"})
    kms = {name.split(".")[1]: n for name, n in calls.items() if name.startswith("kms.")}
    kms_usd = sum(n * _kms_price(operation, provider, prices) for operation, n in kms.items()) / 10_000 * 1e6
    secrets_usd = calls.get("secretsmanager.GetSecretValue", 0) * prices["secrets_manager_calls_per_10k"] / 10_000 * 1e6
    parts = {
        "lambda": lambda_compute + invocations * prices["lambda_requests_per_million"],
        "http_api": invocations * prices["http_api_requests_per_million"],
        "dynamodb": writes * prices["dynamodb_write_units_per_million"]
        + reads * prices["dynamodb_read_units_per_million"],
        "kms": kms_usd,
        "secrets_manager": secrets_usd,
    }
    return {**{name: round(value, 2) for name, value in parts.items()}, "total": round(sum(parts.values()), 2)}


def _kms_price(operation: str, provider: str, prices: dict[str, Any]) -> float:
    """sgID's Decrypt uses an RSA 2048 key; Sign and DeriveSharedSecret use ECC keys; Encrypt the session key."""
    if operation in {"Sign", "DeriveSharedSecret", "GetPublicKey"}:
        return float(prices["kms_asymmetric_other_per_10k"])
    if operation == "Decrypt" and provider.startswith("sgid"):
        return float(prices["kms_rsa_2048_per_10k"])
    return float(prices["kms_symmetric_per_10k"])


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    cold, logins = results["cold_start"], results["logins"]
    sgid_warm = logins["sgid"]["aws_calls_warm"]
    ratio = logins["sgid (PEM key)"]["handler_cpu_ms"]["median"] / results["sgid_sdk"]["cpu_ms"]["median"]
    targets = [
        ("login handler cold start ≤ 1.5× baseline", cold["LoginFunction"]["ratio_to_baseline"], 1.5),
        ("data handler cold start ≤ 1.5× baseline", cold["SessionFunction"]["ratio_to_baseline"], 1.5),
        ("callback handler cold start ≤ 2× baseline", cold["CallbackFunction"]["ratio_to_baseline"], 2.0),
        ("CPU per sgID login ≤ 0.2× sgid-client", round(ratio, 3), 0.2),
        ("layer unzipped < 25 MB", round(results["size"].get("GatewayLayer", 0.0) / 1000, 2), 25.0),
    ]
    for provider in PROVIDERS:
        warm = logins[provider]["aws_calls_warm"]
        writes = sum(n for name, n in warm.items() if name.split(".")[1] in {"PutItem", "DeleteItem", "UpdateItem"})
        targets.append((f"{provider}: DynamoDB writes per login ≤ 3", writes, 3))
        targets.append(
            (f"{provider}: Secrets Manager reads per warm login = 0", warm.get("secretsmanager.GetSecretValue", 0), 0)
        )
    targets.append(
        ("sgid: KMS calls per warm login ≤ 1", sum(n for k, n in sgid_warm.items() if k.startswith("kms.")), 1)
    )
    for provider, floor in KMS_FLOOR.items():
        warm = logins[provider]["aws_calls_warm"]
        for call, limit in floor.items():
            targets.append((f"{provider}: {call} per warm login ≤ {limit}", warm.get(call, 0), limit))
    return [
        {"target": name, "measured": value, "limit": limit, "met": value <= limit} for name, value, limit in targets
    ]


# ---------------------------------------------------------------------------------------------------- output


def render(results: dict[str, Any]) -> str:
    template = (ROOT / "docs" / "performance.template.md").read_text()
    logins, cold = results["logins"], results["cold_start"]
    cold_rows = "\n".join(
        f"| {name} | {data['route']} | {data['median']} | {data['min']}–{data['max']} | {data['import_median_ms']} | "
        f"{data['ratio_to_baseline']}× |"
        for name, data in cold.items()
        if name != "baseline"
    )
    login_rows = "\n".join(
        f"| {name} | {data['handler_cpu_ms']['median']} | {data['handler_wall_ms']['median']} | "
        f"{_format_calls(data['aws_calls_cold'])} | {_format_calls(data['aws_calls_warm'])} |"
        for name, data in logins.items()
    )
    cost_rows = "\n".join(
        f"| {name} | {c['lambda']} | {c['http_api']} | {c['dynamodb']} | {c['kms']} | {c['secrets_manager']} "
        f"| **{c['total']}** |"
        for name, c in results["cost_per_million_logins"].items()
    )
    target_rows = "\n".join(
        f"| {t['target']} | {t['measured']} | {'met' if t['met'] else '**missed**'} |" for t in results["targets"]
    )
    size_rows = "\n".join(f"| {name} | {kb:,} |" for name, kb in results["size"].items())
    throughput, sdk = results["throughput"], results["sgid_sdk"]
    ceilings = "\n".join(_ceiling_row(name, data) for name, data in logins.items())
    return template.format(
        machine=results["machine"],
        started=results["started"],
        baseline=cold["baseline"],
        cold_rows=cold_rows,
        login_rows=login_rows,
        sdk=sdk,
        gateway_pem_cpu=logins["sgid (PEM key)"]["handler_cpu_ms"]["median"],
        sdk_ratio=round(logins["sgid (PEM key)"]["handler_cpu_ms"]["median"] / sdk["cpu_ms"]["median"], 3),
        throughput=throughput,
        cost_rows=cost_rows,
        prices=results.get("prices", {}),
        size_rows=size_rows,
        target_rows=target_rows,
        ceiling_rows=ceilings,
    )


def _ceiling_row(name: str, data: dict[str, Any]) -> str:
    """Logins per second each quota allows at default limits, from the warm calls per login."""
    calls = data["aws_calls_warm"]
    ecc = sum(n for k, n in calls.items() if k in {"kms.Sign", "kms.DeriveSharedSecret"})
    rsa = calls.get("kms.Decrypt", 0) if name.startswith("sgid") else 0
    symmetric = sum(n for k, n in calls.items() if k in {"kms.Encrypt"}) + (
        0 if name.startswith("sgid") else calls.get("kms.Decrypt", 0)
    )
    limits = [
        ("ECC 300/s", ecc, 300),
        ("RSA 500/s", rsa, 500),
        ("symmetric 10,000/s (Singapore: 20,000)", symmetric, 10_000),
    ]
    parts = [f"{label}: {limit // n if n else '∞'}" for label, n, limit in limits if n]
    return f"| {name} | {', '.join(parts) or 'no KMS call'} |"


def summary(results: dict[str, Any]) -> str:
    lines = ["", "target                                               measured     met"]
    for t in results["targets"]:
        lines.append(f"{t['target']:<52} {t['measured']!s:<12} {'yes' if t['met'] else 'NO'}")
    lines.append(f"\nthroughput: {results['throughput']}")
    lines.append("\nwritten: bench/results.json, docs/performance.md")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- helpers


def _probe(arguments: list[str], env: dict[str, str], event: dict[str, Any] | None) -> dict[str, Any]:
    environment = {"PATH": os.environ.get("PATH", ""), **env}
    done = subprocess.run(
        [sys.executable, str(BENCH / "probe.py"), *arguments],
        input=json.dumps(event) if event is not None else "",
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _sum(invocations: list[tuple[str, Invocation]], attribute: str) -> float:
    return float(sum(getattr(invocation, attribute) for _, invocation in invocations))


def _per_function(logins: list[list[tuple[str, Invocation]]]) -> dict[str, float]:
    per: dict[str, list[float]] = {}
    for login in logins:
        for logical_id, invocation in login:
            per.setdefault(logical_id, []).append(invocation.wall_seconds * 1000)
    return {logical_id: round(statistics.median(values), 2) for logical_id, values in per.items()}


def _calls(login: list[tuple[str, Invocation]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for _, invocation in login:
        total.update(invocation.aws_calls)
    return dict(sorted(total.items()))


def _calls_median(logins: list[list[tuple[str, Invocation]]]) -> dict[str, int]:
    each = [_calls(login) for login in logins]
    names = sorted({name for calls in each for name in calls})
    return {name: int(statistics.median(calls.get(name, 0) for calls in each)) for name in names}


def _format_calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{name} ×{n}" for name, n in calls.items()) or "none"


def _spread(values: list[float], scale: float = 1000) -> dict[str, float]:
    scaled = sorted(value * scale for value in values)
    return {
        "median": round(statistics.median(scaled), 1),
        "min": round(scaled[0], 1),
        "max": round(scaled[-1], 1),
        "runs": len(scaled),
    }


def _percentile(sorted_values: list[float], percentile: float) -> float:
    index = min(len(sorted_values) - 1, math.ceil(percentile / 100 * len(sorted_values)) - 1)
    return sorted_values[max(index, 0)]


def _tree_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def _machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return f"{os.cpu_count()} × {model}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def _devnull() -> Any:
    return open(os.devnull, "wb")


def _step(text: str) -> None:
    print(f"• {text} ...", flush=True)


if __name__ == "__main__":
    main()
