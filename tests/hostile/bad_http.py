"""A raw TCP server on loopback that answers HTTP requests wrongly, path by path: for the
fetch's error classification (never the HTTP library's text)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

Answer = Callable[[socket.socket, int], None]  # (connection, the server's port)


def serve_badly(routes: dict[str, Answer]) -> socket.socket:
    """A raw TCP server on loopback: each request's path picks how the answer goes wrong."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]

    def handle(conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536).decode("latin-1")
            path = request.split(" ")[1] if request.count(" ") >= 2 else "/"
            routes.get(path, not_found)(conn, port)

    def loop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return server


def not_found(conn: socket.socket, port: int) -> None:
    conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")


def garbage(conn: socket.socket, port: int) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def cut_short(conn: socket.socket, port: int) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n\x89PNG\r\n\x1a\n")


def reset(conn: socket.socket, port: int) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def redirect(location: str) -> Answer:
    def answer(conn: socket.socket, port: int) -> None:
        target = location.format(port=port)
        conn.sendall(f"HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\n\r\n"
                     .encode())
    return answer


def bad_chunk(conn: socket.socket, port: int) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")


def silent(conn: socket.socket, port: int) -> None:
    """Closes without a word."""
