"""Canonical PNG bytes for generated images (`png-gray8`): the same pixels
always give the same bytes, on any machine, whatever zlib it links.

Layout: the PNG signature; IHDR (width, height, bit depth 8, colour type 0
= grey, compression 0, filter 0, interlace 0); one IDAT holding a zlib
stream (header 0x78 0x01) of *stored* deflate blocks (no compression, so no
compressor's choices enter the bytes), each scanline prefixed by filter
byte 0; IEND. CRCs are CRC-32 (ISO 3309), the Adler-32 is zlib's.
A 16x16 image is 340 bytes: small enough to travel in a market callback
and to live on-chain.

`decode_png` accepts only that layout: it re-encodes the pixels it read
and refuses bytes that differ, so two results with the same pixels are the
same bytes."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from offchain.errors import NeuralCommonsError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_STORED = 65_535  # bytes per stored deflate block
MAX_SIDE = 64  # pixels; a canonical image is small


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _stored_zlib(raw: bytes) -> bytes:
    out = bytearray(b"\x78\x01")
    blocks = [raw[i : i + MAX_STORED] for i in range(0, len(raw), MAX_STORED)] or [b""]
    for index, block in enumerate(blocks):
        final = 1 if index == len(blocks) - 1 else 0
        out += bytes([final]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    return bytes(out + struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF))


def encode_png(pixels: np.ndarray) -> bytes:
    """uint8 [height, width] grey pixels -> canonical PNG bytes."""
    image = np.asarray(pixels)
    if image.dtype != np.uint8 or image.ndim != 2 or not 0 < image.shape[0] <= MAX_SIDE or \
            not 0 < image.shape[1] <= MAX_SIDE:
        raise NeuralCommonsError(f"an image is a uint8 [h, w] array of at most {MAX_SIDE} per side")
    height, width = image.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in image)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", _stored_zlib(raw)) + _chunk(b"IEND", b"")


def decode_png(data: bytes) -> np.ndarray:
    """The uint8 [height, width] pixels of canonical PNG bytes; NeuralCommonsError for anything else."""
    try:
        if not data.startswith(SIGNATURE):
            raise ValueError("no PNG signature")
        pos, chunks = len(SIGNATURE), []
        while pos < len(data):
            (length,) = struct.unpack(">I", data[pos : pos + 4])
            kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
            chunks.append((kind, body))
            pos += 12 + length
        if [kind for kind, _ in chunks] != [b"IHDR", b"IDAT", b"IEND"]:
            raise ValueError("chunks are not IHDR, IDAT, IEND")
        width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
        if depth != 8 or colour != 0 or not 0 < width <= MAX_SIDE or not 0 < height <= MAX_SIDE:
            raise ValueError("not an 8-bit grey image of the allowed size")
        raw = zlib.decompress(chunks[1][1])
        if len(raw) != height * (width + 1):
            raise ValueError("pixel data has the wrong length")
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)
        pixels = rows[:, 1:].copy()
    except (ValueError, struct.error, zlib.error) as exc:
        raise NeuralCommonsError(f"not a canonical png-gray8 image: {exc}") from exc
    if encode_png(pixels) != data:
        raise NeuralCommonsError("not a canonical png-gray8 image: the bytes are not the canonical encoding")
    return pixels
