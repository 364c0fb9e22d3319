"""An upstream that answers every request 50 ms after it arrives (asyncio, HTTP/1.1 keep-alive).

Run: ``python -m bench.slow_upstream PORT``. Not gunicorn: under 500 connections its gevent
worker read some new connections' first requests seconds late (the gateway had sent them at
once), and that tail belongs to the upstream, not to the gateway being measured. One asyncio
process answers 500 connections' worth of GETs with a p99 of a few ms over the 50.
"""

from __future__ import annotations

import asyncio
import sys

DELAY = 0.05
BODY = b'{"slow": true}'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


class SlowAnswer(asyncio.Protocol):
    """Each request (a GET: headers only) gets RESPONSE after DELAY."""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        loop = asyncio.get_running_loop()
        while (end := self.pending.find(b"\r\n\r\n")) >= 0:
            self.pending = self.pending[end + 4:]
            loop.call_later(DELAY, self.answer)

    def answer(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(SlowAnswer, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
