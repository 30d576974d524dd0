"""Reading a request body within limits: size as sent, encoding, and size after gzip decoding.

The limit is enforced while streaming, so a body over it is refused after at most ``limit + one
chunk`` bytes were read, whether or not it announced a ``Content-Length``; a gzip body is
decompressed incrementally with a bound on each step's output, so a gzip bomb never inflates in
memory past the limit either.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

__all__ = ["BodyError", "content_encoding", "is_json_type", "read_body"]


class BodyError(Exception):
    """A body the service refuses: ``status`` 400, 413 or 415 and the catalogue key of the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def content_encoding(header: str | None) -> str:
    """``"gzip"`` or ``"identity"`` from a ``Content-Encoding`` header.

    Parameters
    ----------
    header : str or None

    Returns
    -------
    str

    Raises
    ------
    BodyError
        415 for any other encoding (or more than one gzip layer).
    """
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return "identity"
    if codings in (["gzip"], ["x-gzip"]):
        return "gzip"
    raise BodyError(415, "encoding")


def is_json_type(header: str | None) -> bool:
    """Whether a ``Content-Type`` is JSON (``application/json``, ``application/*+json``) or absent.

    Parameters
    ----------
    header : str or None

    Returns
    -------
    bool
    """
    if header is None or not header.strip():
        return True
    media = header.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_body(chunks: AsyncIterator[bytes], encoding: str, max_bytes: int) -> bytes:
    """Collect a body from its chunks, decoding gzip, refusing more than ``max_bytes`` either way.

    Parameters
    ----------
    chunks : async iterator of bytes
        The body as it arrives (e.g. ``starlette.requests.Request.stream()``).
    encoding : str
        ``"gzip"`` or ``"identity"``.
    max_bytes : int

    Returns
    -------
    bytes

    Raises
    ------
    BodyError
        413 when the body, as sent or decoded, exceeds ``max_bytes``; 400 when a gzip stream is
        corrupt or truncated.
    """
    received = 0
    parts: list[bytes] = []
    decoded = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    async for chunk in chunks:
        if not chunk:
            continue
        received += len(chunk)
        if received > max_bytes:
            raise BodyError(413, "sent")
        if inflater is None:
            parts.append(chunk)
            continue
        data = chunk
        while data:
            try:
                out = inflater.decompress(data, max_bytes - decoded + 1)
            except zlib.error:
                raise BodyError(400, "gzip") from None
            decoded += len(out)
            if decoded > max_bytes:
                raise BodyError(413, "decoded")
            parts.append(out)
            if inflater.unconsumed_tail:
                data = inflater.unconsumed_tail
            elif inflater.eof and inflater.unused_data:
                # Another gzip member follows (``cat a.gz b.gz`` is valid gzip).
                data = inflater.unused_data
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = b""
    if inflater is not None:
        if received == 0:
            return b""
        try:
            tail = inflater.flush()
        except zlib.error:
            raise BodyError(400, "gzip") from None
        decoded += len(tail)
        if decoded > max_bytes:
            raise BodyError(413, "decoded")
        parts.append(tail)
        if not inflater.eof:
            raise BodyError(400, "gzip")
    return b"".join(parts)
