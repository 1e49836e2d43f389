"""A fault-injecting TCP proxy on 127.0.0.1 for an HTTP server such as moto's S3 (the reliability tests).

Toxiproxy, the usual tool, is a Go binary that neither PyPI nor Debian ships, so this is a small asyncio proxy
in its place. Every HTTP request a client sends (a chunk that starts with a method) draws one fate: forwarded
after ``latency_s`` (rate ``latency``), answered ``503 Slow Down`` in S3's XML (``error_5xx``), the connection
reset (``reset``), or held unanswered for ``hold_s`` and then reset, a timeout as the client sees it
(``timeout``); otherwise forwarded untouched. ``counts`` says what was injected. Only loopback addresses.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass

METHODS = (b"GET ", b"PUT ", b"POST", b"HEAD", b"DELE")
SLOW_DOWN = (
    b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
)
SLOW_DOWN_BODY = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Faults:
    latency: float = 0.0
    latency_s: float = 0.05
    error_5xx: float = 0.0
    reset: float = 0.0
    timeout: float = 0.0
    hold_s: float = 2.0
    seed: int = 0

    def draw(self, rng: random.Random) -> str:
        u = rng.random()
        for fate, rate in (("error_5xx", self.error_5xx), ("reset", self.reset), ("timeout", self.timeout),
                           ("latency", self.latency)):  # fmt: skip
            if u < rate:
                return fate
            u -= rate
        return "pass"


class FaultProxy:
    """``with FaultProxy(upstream_port, faults) as proxy:`` serves on ``proxy.port`` in a thread of its own."""

    def __init__(self, upstream_port: int, faults: Faults = Faults()):
        self.upstream_port, self.faults = upstream_port, faults
        self.counts: Counter = Counter()
        self.port = 0
        self._rng = random.Random(faults.seed)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        """Close the listener and every open connection's tasks, then stop the loop."""
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop.call_soon(self._loop.stop)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, LOOPBACK, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        except OSError:
            writer.close()
            return
        back = asyncio.ensure_future(self._pipe(up_reader, writer))
        try:
            while chunk := await reader.read(65536):
                if chunk[:4] in METHODS:
                    fate = self.faults.draw(self._rng)
                    self.counts["requests"] += 1
                    if fate != "pass":
                        self.counts[fate] += 1
                    if fate == "error_5xx":
                        writer.write(SLOW_DOWN % (len(SLOW_DOWN_BODY), SLOW_DOWN_BODY))
                        await writer.drain()
                        break
                    if fate == "reset":
                        sock = writer.get_extra_info("socket")
                        if sock is not None:  # close with RST, not FIN: what a dropped connection looks like
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        break
                    if fate == "timeout":
                        await asyncio.sleep(self.faults.hold_s)
                        break
                    if fate == "latency":
                        await asyncio.sleep(self.faults.latency_s)
                up_writer.write(chunk)
                await up_writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            back.cancel()
            for w in (writer, up_writer):
                w.close()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            dst.close()
