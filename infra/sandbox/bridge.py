"""A byte-for-byte forwarder between a TCP port and a Unix socket.

DynamoDB Local cannot be told which address to bind, so the sandbox runs it in a network namespace of its
own, where its "every interface" is only that namespace's loopback. Filesystem Unix sockets cross network
namespaces: this forwarder, started inside the namespace, exposes DynamoDB Local's port on a Unix socket,
and :func:`forward_tcp_to_unix`, in the sandbox, offers that socket on 127.0.0.1 of the host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator

Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def _relay(connect: Connect) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await connect()
        except OSError:
            writer.close()
            return
        with contextlib.suppress(asyncio.CancelledError):  # shutdown ends open connections quietly
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return handle


async def _serve_unix_to_tcp(socket_path: str, port: int) -> None:
    server = await asyncio.start_unix_server(
        _relay(lambda: asyncio.open_connection("127.0.0.1", port)), path=socket_path
    )
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def forward_tcp_to_unix(port: int, socket_path: str) -> Iterator[None]:
    """Serve 127.0.0.1:``port`` from ``socket_path`` on a background event loop while the context is open."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dynamodb-bridge", daemon=True)
    thread.start()
    relay = _relay(lambda: asyncio.open_unix_connection(socket_path))
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(relay, "127.0.0.1", port), loop).result(10)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(_close(server), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


async def _close(server: asyncio.Server) -> None:
    """Stop accepting, then end the open connections (each a task) before the loop stops."""
    server.close()
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Expose a loopback TCP port on a Unix socket.")
    parser.add_argument("--unix", required=True, help="the Unix socket to listen on")
    parser.add_argument("--port", type=int, required=True, help="the loopback TCP port to forward to")
    args = parser.parse_args()
    asyncio.run(_serve_unix_to_tcp(args.unix, args.port))


if __name__ == "__main__":
    main()
