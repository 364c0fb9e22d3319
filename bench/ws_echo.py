"""The WebSocket echo upstream of ``bench.websocket``: one asyncio process (``websockets``), no compression."""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(connection) -> None:
    async for message in connection:
        await connection.send(message)


async def main(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, compression=None, ping_interval=None, max_size=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
