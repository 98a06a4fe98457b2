"""A plain Server-Sent Events reader (a socket, HTTP/1.0: no chunking to undo), as any non-Panel
client of ``/events`` would be; the stream's tests and its benchmark use it."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    """One event of the stream, and when this client read it (wall clock, epoch seconds)."""

    id: str | None
    event: str
    data: str
    received: float = field(default=0.0)

    def json(self) -> Any:
        return json.loads(self.data)


class SseClient:
    """``GET path`` on ``host:port`` and read its events. ``rcvbuf`` shrinks the socket's
    receive buffer (a slow reader's socket fills sooner)."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str = "/events",
        headers: dict[str, str] | None = None,
        timeout_s: float = 20.0,
        rcvbuf: int | None = None,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout_s)
        self.sock.connect((host, port))
        lines = [f"GET {path} HTTP/1.0", f"Host: {host}:{port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.comments: list[str] = []
        self._file = self.sock.makefile("rb")
        self.status = 0
        self.headers: dict[str, str] = {}

    def start(self) -> SseClient:
        """Read the status line and headers."""
        status = self._file.readline().decode()
        self.status = int(status.split()[1]) if status else 0
        while (line := self._file.readline().decode().rstrip("\r\n")) != "":
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        return self

    def body(self) -> str:
        """The rest of the answer (a refusal's reason)."""
        return self._file.read().decode()

    def messages(self) -> Iterator[Message]:
        """Each event as it arrives, until the server closes the stream."""
        id_: str | None = None
        event, data = "message", list[str]()
        for raw in self._file:
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if data:
                    yield Message(id_, event, "\n".join(data), time.time())
                id_, event, data = None, "message", []
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "id":
                    id_ = value
                elif name == "event":
                    event = value
                elif name == "data":
                    data.append(value)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._file.close()
        self.sock.close()


# -- many readers in one process (the benchmark's clients) --------------------------------------


async def _reader(host: str, port: int, path: str, last: int, lat: list[float], seqs: list[int]) -> None:
    """One client: read until seq ``last``; note each seq and its commit -> read in ms. Reads
    in blocks and takes seq and ts out of each frame's JSON without parsing all of it: this
    process stands for a hundred machines."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
    await writer.drain()
    buf = b""
    try:
        while block := await reader.read(1 << 16):
            now = time.time()
            frames = (buf + block).split(b"\n\n")
            buf = frames.pop()
            for fr in frames:
                i = fr.find(b'data: {"seq":')
                if i < 0:
                    continue
                seq = int(fr[i + 13 : fr.index(b",", i)])
                j = fr.index(b'"ts":', i) + 5
                seqs.append(seq)
                lat.append((now - float(fr[j : fr.index(b",", j)])) * 1e3)
                if seq >= last:
                    return
    finally:
        writer.close()


async def _readers(host: str, port: int, n: int, topics: str, want: list[int], timeout_s: float) -> dict[str, Any]:
    lat: list[float] = []
    seqs: list[list[int]] = [[] for _ in range(n)]
    path = f"/events?after={want[0] - 1}&topics={topics}"
    tasks = [asyncio.create_task(_reader(host, port, path, want[-1], lat, seqs[i])) for i in range(n)]
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for t in pending:
        t.cancel()
    return {
        "latencies_ms": lat,
        "missed": sum(len(set(want) - set(xs)) for xs in seqs),
        "doubled": sum(len(xs) - len(set(xs)) for xs in seqs),
        "unfinished": len(pending),
        "errors": [repr(t.exception()) for t in done if t.exception() is not None][:3],
    }


def main(argv: list[str]) -> None:
    """``python -m seamless.bench.sse HOST PORT N TOPICS TIMEOUT_S`` and the seqs to expect
    (JSON, on stdin): N readers; one JSON object on stdout."""
    host, port, n, topics, timeout_s = argv
    want = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(_readers(host, int(port), int(n), topics, want, float(timeout_s)))))


if __name__ == "__main__":
    main(sys.argv[1:])
