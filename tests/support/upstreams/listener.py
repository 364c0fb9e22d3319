"""A bare listening socket that counts the connections it accepts (to show that none was made)."""

from __future__ import annotations

import socket
import threading


class CountingServer:
    """A listener on ``host`` that counts the connections it accepts and answers ``200 ok`` on each."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.listener = socket.socket()
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()

    def __enter__(self) -> CountingServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
