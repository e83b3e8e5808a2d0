"""One simulated Lambda execution environment ("container") for one function.

Running each function in its own process, importing its handler once and then serving many events,
reproduces what matters about Lambda for a backend-for-frontend: module-level state survives between
warm invocations, cold starts cost an import, and a crash takes only that container down.

Protocol (parent <-> worker): each message is a 4-byte big-endian length followed by that many bytes of
JSON. The parent sends an event; the worker answers `{"response", "cpu_seconds", "wall_seconds"}` or
`{"error": "<exception class>"}`; the first answer also carries `init_cpu_seconds`/`init_wall_seconds`.
With ``SANDBOX_COUNT_AWS_CALLS=1`` each answer also carries ``aws_calls`` (``{"kms.Decrypt": 1, ...}``), counted
at the botocore layer (one per API call, retries not counted); boto3 is then imported before the handler, so
the init figures leave its import out. EOF on the input ends the worker. The handler's own stdout/stderr
stay the process's, like Lambda logs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .xray import trace_header

_HEADER_BYTES = 4
_AWS_CALLS: Counter[str] = Counter()
_REPO_ROOT = Path(__file__).resolve().parents[2]

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until Lambda would stop this invocation."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class _Options:
    code_dir: Path
    handler: str
    function_name: str
    memory_mb: int
    timeout: float
    in_fd: int
    out_fd: int


def _parse_args(argv: list[str] | None) -> _Options:
    parser = argparse.ArgumentParser(prog="python -m infra.sandbox.worker", description=__doc__)
    parser.add_argument("--code-dir", type=Path, required=True)
    parser.add_argument("--handler", required=True, help="module.function, e.g. app.lambda_handler")
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--memory-mb", type=int, default=128)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    args = parser.parse_args(argv)
    return _Options(
        code_dir=args.code_dir.resolve(),
        handler=args.handler,
        function_name=args.function_name,
        memory_mb=args.memory_mb,
        timeout=args.timeout,
        in_fd=args.in_fd,
        out_fd=args.out_fd,
    )


def _enter_task_root(code_dir: Path) -> None:
    """Make the code folder what /var/task is in Lambda: first on sys.path and the working directory.

    The parent starts us from the repository root so that `-m infra.sandbox.worker` resolves; that entry
    is removed again so handlers can't import repository code that the deployed bundle would lack.
    """
    if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _REPO_ROOT:
        del sys.path[0]
    sys.path.insert(0, str(code_dir))
    os.chdir(code_dir)


def _load_handler(spec: str) -> Handler:
    """Import `module.function` (`pkg/module.function` too, as the Python runtime accepts)."""
    module_name, dot, function_name = spec.rpartition(".")
    if not dot or not module_name:
        raise ValueError(f"handler {spec!r} is not module.function")
    module = importlib.import_module(module_name.replace("/", "."))
    handler = getattr(module, function_name)
    if not callable(handler):
        raise TypeError(f"handler {spec!r} is not callable")
    return handler  # type: ignore[no-any-return]


def _count_aws_calls() -> None:
    """Count every AWS API call the handler makes, by service and operation (for benchmarks).

    The hook goes on boto3's default session before the handler imports, so every client created later,
    at import or on first use, copies it.
    """
    import boto3

    def count(model: Any, **_: Any) -> None:
        _AWS_CALLS[f"{model.service_model.service_name}.{model.name}"] += 1

    boto3._get_default_session().events.register("before-call", count)


def _cold_start(options: _Options) -> tuple[Handler, dict[str, float]]:
    """Import the handler module - Lambda's init phase - and measure what it costs."""
    if os.environ.get("SANDBOX_COUNT_AWS_CALLS") == "1":
        _count_aws_calls()
    _enter_task_root(options.code_dir)
    cpu, wall = time.process_time(), time.perf_counter()
    handler = _load_handler(options.handler)
    return handler, {
        "init_cpu_seconds": time.process_time() - cpu,
        "init_wall_seconds": time.perf_counter() - wall,
    }


def _read_message(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed message, or None when the parent closed the pipe."""
    header = stream.read(_HEADER_BYTES)
    if len(header) < _HEADER_BYTES:
        return None
    size = int.from_bytes(header, "big")
    body = stream.read(size)
    return body if len(body) == size else None


def _encode(message: dict[str, Any]) -> bytes:
    """JSON-encode a reply; a result JSON can't express is the function's error (Runtime.MarshalError)."""
    try:
        return json.dumps(message).encode("utf-8")
    except (TypeError, ValueError) as exc:
        traceback.print_exc()
        init = {key: value for key, value in message.items() if key.startswith("init_")}
        return json.dumps({"error": type(exc).__name__, **init}).encode("utf-8")


def _write_message(stream: IO[bytes], message: dict[str, Any]) -> None:
    payload = _encode(message)
    stream.write(len(payload).to_bytes(_HEADER_BYTES, "big") + payload)
    stream.flush()


def _context(options: _Options) -> LambdaContext:
    """A fresh context per invocation: new request id, deadline counted from now."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-southeast-1"
    account = os.environ.get("AWS_ACCOUNT_ID", "123456789012")
    name = options.function_name
    return LambdaContext(
        function_name=name,
        memory_limit_in_mb=options.memory_mb,
        invoked_function_arn=f"arn:aws:lambda:{region}:{account}:function:{name}",
        log_group_name=os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}"),
        log_stream_name=os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
        deadline=time.monotonic() + options.timeout,
    )


def _invoke(handler: Handler, event: Any, context: LambdaContext) -> dict[str, Any]:
    """Run the handler once; a raised exception becomes an error reply, as Lambda reports it. With an X-Ray daemon
    in the environment (a traced sandbox), each invocation gets its own sampled trace header, as in Lambda."""
    if os.environ.get("AWS_XRAY_DAEMON_ADDRESS"):
        os.environ["_X_AMZN_TRACE_ID"] = trace_header()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        response = handler(event, context)
    except Exception as exc:
        traceback.print_exc()
        return {"error": type(exc).__name__}
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    reply = {
        "response": response,
        "cpu_seconds": time.process_time() - cpu,
        "wall_seconds": time.perf_counter() - wall,
    }
    if _AWS_CALLS:
        reply["aws_calls"] = dict(_AWS_CALLS)
        _AWS_CALLS.clear()
    return reply


def serve(options: _Options) -> int:
    """Cold-start, then answer events until the parent closes our input."""
    try:
        handler, init = _cold_start(options)
    except Exception:
        traceback.print_exc()  # Runtime.ImportModuleError: the parent sees us exit and reports a 500
        return 1
    pending_init: dict[str, float] | None = init
    with os.fdopen(options.in_fd, "rb") as inbox, os.fdopen(options.out_fd, "wb") as outbox:
        while (message := _read_message(inbox)) is not None:
            reply = _invoke(handler, json.loads(message), _context(options))
            if pending_init is not None:
                reply.update(pending_init)
                pending_init = None
            _write_message(outbox, reply)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m infra.sandbox.worker`. Ctrl-C in ``make dev``'s terminal signals every process
    of the group; a worker leaves it to the sandbox, which ends it by closing its input (as Lambda would a
    container), instead of dying mid-read with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return serve(_parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
