"""Application-layer byte counts: payload encodings, HTTP/1.1 heads and gRPC calls.

Pure integer functions, used by :class:`netsim.transport.TransportProfile` and tested on
their own. Sizes are bytes.
"""

from __future__ import annotations

import json

import numpy as np

from netsim.transport.constants import (
    GRPC_PREFIX,
    HTTP2_FRAME_HEADER,
    HTTP_CONTENT_TYPES,
    HTTP_REQUEST_TEMPLATE,
)

__all__ = [
    "base64_size",
    "json_size",
    "json_size_estimate",
    "http_request_head",
    "grpc_call_bytes",
]


def base64_size(nbytes: int) -> int:
    """Length of the padded base64 text (RFC 4648, no line breaks) of `nbytes` bytes.

    Examples
    --------
    >>> base64_size(0), base64_size(1), base64_size(3), base64_size(4)
    (0, 4, 4, 8)
    """
    return 4 * -(-nbytes // 3)


def json_size(values: object) -> int:
    """Exact length of the compact JSON text of an array of numbers.

    The rule: ``len(json.dumps(np.asarray(values).tolist(), separators=(",", ":")))``,
    i.e. nested JSON arrays with no spaces, each number written as Python writes it:
    integers in decimal, floats as ``repr(float(x))`` (shortest round-trip text; float32
    values are widened to float64 first, as ``tolist()`` does, so ``0.1`` in float32 is
    ``0.10000000149011612``), ``NaN``/``Infinity`` as Python's encoder spells them.

    Parameters
    ----------
    values : array_like
        Numbers (bool, integer or float), any shape.

    Returns
    -------
    int
        Bytes of the JSON text (ASCII, one byte per character).

    Raises
    ------
    TypeError
        If `values` is not numeric.

    Examples
    --------
    >>> json_size([1.5, -2.0, 0.25])        # [1.5,-2.0,0.25]
    15
    >>> json_size([])
    2
    """
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"json_size needs an array of numbers, got dtype {array.dtype}")
    return len(json.dumps(array.tolist(), separators=(",", ":")))


def json_size_estimate(count: int, chars: int) -> int:
    """JSON text length of a flat array of `count` numbers of `chars` characters each.

    ``2 + count·chars + max(count − 1, 0)``: two brackets, the numbers, one comma between
    neighbours.

    Examples
    --------
    >>> json_size_estimate(3, 4)   # "[1.25,1.25,1.25]"
    16
    >>> json_size_estimate(0, 22)
    2
    """
    return 2 + count * chars + max(count - 1, 0)


def http_request_head(body: int, encoding: str, fixed: int | None = None) -> int:
    """Bytes of the HTTP/1.1 request line and headers announcing a `body`-byte body.

    Parameters
    ----------
    body : int
        Body length (bytes); its decimal digits appear in ``Content-Length``.
    encoding : str
        Payload encoding (``binary``, ``base64`` or ``json``), which sets ``Content-Type``.
    fixed : int, optional
        Head bytes other than the ``Content-Length`` digits, replacing the template's.

    Returns
    -------
    int
        ``len(HTTP_REQUEST_TEMPLATE)`` with the encoding's content type and the digits of
        `body` filled in (or ``fixed + len(str(body))``).

    Examples
    --------
    >>> http_request_head(0, "json")
    206
    >>> http_request_head(12345, "binary")
    218
    """
    if fixed is None:
        fixed = len(HTTP_REQUEST_TEMPLATE.format(type=HTTP_CONTENT_TYPES[encoding], length=""))
    return fixed + len(str(body))


def grpc_call_bytes(message: int, headers: int, max_frame: int) -> int:
    """HTTP/2 stream bytes of one gRPC request carrying a `message`-byte protobuf.

    ``headers + (5 + message) + 9·max(1, ⌈(5 + message) / max_frame⌉)``: the HEADERS
    frame, the length-prefixed message, and one 9-byte header per DATA frame of at most
    `max_frame` bytes (the last one carries END_STREAM; no extra frame).

    Parameters
    ----------
    message : int
        Serialised message bytes (without the 5-byte prefix).
    headers : int
        Bytes of the HEADERS frame, its 9-byte frame header included.
    max_frame : int
        Largest DATA frame payload (``SETTINGS_MAX_FRAME_SIZE``), bytes.

    Examples
    --------
    >>> grpc_call_bytes(0, 41, 16384)        # 41 + 5 + 9
    55
    >>> grpc_call_bytes(16380, 41, 16384)    # 16385 bytes of DATA: two frames
    16444
    """
    data = GRPC_PREFIX + message
    frames = max(1, -(-data // max_frame))
    return headers + data + HTTP2_FRAME_HEADER * frames
