"""Canonical PNG images, the seed's noise and the image-seed input schema: pure functions, no chain."""

import json
import struct
import zlib

import numpy as np
import pytest

from offchain import verification
from offchain import canonical, diffusion, images, inputs
from offchain.errors import BadInput, NeuralCommonsError

PIXELS = (np.arange(256, dtype=np.uint32).reshape(16, 16) * 37 % 256).astype(np.uint8)
BOUND = {"policy": "tolerance", "metric": "max_abs", "bound": 2}
ENCODING = {"kind": "png-gray8", "scale": 255, "size": 16}


def test_png__16x16__340_bytes_a_standard_decoder_reads():
    data = images.encode_png(PIXELS)
    assert len(data) == 340
    assert data.startswith(images.SIGNATURE)
    # An independent reading: IHDR fields, and the IDAT inflated with zlib.
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour) == (16, 16, 8, 0)
    idat_length = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41:41 + idat_length])
    assert raw == b"".join(b"\x00" + row.tobytes() for row in PIXELS)


def test_png__round_trip__same_pixels_same_bytes():
    data = images.encode_png(PIXELS)
    assert (images.decode_png(data) == PIXELS).all()
    assert images.encode_png(images.decode_png(data)) == data


def test_png__pillow_reads_the_same_pixels():
    from io import BytesIO

    from PIL import Image

    assert (np.asarray(Image.open(BytesIO(images.encode_png(PIXELS)))) == PIXELS).all()


@pytest.mark.parametrize("mangle", ["compressed", "signature", "truncated", "rgb", "extra chunk"])
def test_png__not_the_canonical_layout__refused(mangle):
    data = images.encode_png(PIXELS)
    if mangle == "compressed":  # same pixels, zlib-compressed: valid PNG, not canonical
        raw = b"".join(b"\x00" + row.tobytes() for row in PIXELS)
        data = data[:33] + images._chunk(b"IDAT", zlib.compress(raw, 9)) + images._chunk(b"IEND", b"")
    elif mangle == "signature":
        data = b"\x89PNX" + data[4:]
    elif mangle == "truncated":
        data = data[:-20]
    elif mangle == "rgb":
        data = data[:8] + images._chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)) + data[33:]
    else:
        data = data[:-12] + images._chunk(b"tEXt", b"x") + data[-12:]
    with pytest.raises(NeuralCommonsError, match="not a canonical png-gray8 image"):
        images.decode_png(data)


@pytest.mark.parametrize("array", [np.zeros((16, 16), np.float32), np.zeros((16, 16, 3), np.uint8),
                                   np.zeros((65, 1), np.uint8)])
def test_png__not_a_small_grey_uint8_array__refused(array):
    with pytest.raises(NeuralCommonsError, match="uint8"):
        images.encode_png(array)


def test_tolerance__pixels_within_bound__honest_beyond__refused():
    reference = images.encode_png(PIXELS)
    near = PIXELS.copy()
    near[3, 4] = min(255, int(near[3, 4]) + 2)
    far = PIXELS.copy()
    far[3, 4] = (int(far[3, 4]) + 3) % 256
    assert verification.within_tolerance(ENCODING, BOUND, images.encode_png(near), reference) == (True, 2.0)
    ok, gap = verification.within_tolerance(ENCODING, BOUND, images.encode_png(far), reference)
    assert not ok and gap >= 3
    assert verification.within_tolerance(ENCODING, BOUND, b"garbage", reference) == (False, float("inf"))
    small = images.encode_png(PIXELS[:8, :8])
    assert verification.within_tolerance(ENCODING, BOUND, small, reference) == (False, float("inf"))


def test_canonical__png_kind__encodes_batches_and_decodes_a_summary():
    encoded = canonical.encode("png-gray8", 255, np.stack([PIXELS, PIXELS[::-1]]))
    assert encoded[0] == images.encode_png(PIXELS)
    summary = canonical.decode("png-gray8", 255, encoded[1])
    assert summary["image"] == "16x16 grey PNG, 340 bytes"


def test_seed_noise__pure_function_of_the_seed():
    a = diffusion.seed_noise(42, 256)
    assert a.dtype == np.float32 and a.shape == (256,)
    assert (a == diffusion.seed_noise(42, 256)).all()
    assert not np.allclose(a, diffusion.seed_noise(43, 256))
    assert (diffusion.seed_noise(42, 255) == a[:255]).all()
    big = diffusion.seed_noise(2**256 - 1, 256)
    assert np.isfinite(big).all()


def test_seed_noise__standard_normal_moments():
    sample = np.concatenate([diffusion.seed_noise(s, 256) for s in range(40)])
    assert abs(sample.mean()) < 0.05
    assert abs(sample.std() - 1.0) < 0.05


def test_seed_noise__seed_out_of_range__refused():
    with pytest.raises(ValueError, match="uint256"):
        diffusion.seed_noise(2**256, 4)
    with pytest.raises(ValueError, match="uint256"):
        diffusion.seed_noise(-1, 4)


def test_schedule__ddim_timesteps_and_cosine_alphas():
    sampler = diffusion.Sampler()
    assert diffusion.timesteps(sampler) == list(range(950, -1, -50))
    acp = diffusion.alphas_cumprod(1000)
    assert acp[0] > 0.9999 and acp[-1] < 1e-4 and (np.diff(acp) < 0).all()


SCHEMA = {"kind": "image-seed", "format": "json", "max_bytes": 256}


def test_input__encoded_document__parses_back():
    document = inputs.encode_image_seed(2**256 - 1, 9)
    assert document == b'{"digit":9,"seed":' + str(2**256 - 1).encode() + b"}"
    assert inputs.parse(SCHEMA, document) == {"digit": 9, "seed": 2**256 - 1}


@pytest.mark.parametrize("document,reason", [
    (b"not json", "not JSON"),
    (json.dumps({"digit": 1}).encode(), "exactly 'digit' and 'seed'"),
    (json.dumps({"digit": 1, "seed": 2, "x": 3}).encode(), "exactly 'digit' and 'seed'"),
    (json.dumps([1, 2]).encode(), "exactly 'digit' and 'seed'"),
    (json.dumps({"digit": 10, "seed": 2}).encode(), "'digit' must be an integer from 0 to 9"),
    (json.dumps({"digit": True, "seed": 2}).encode(), "'digit' must be an integer from 0 to 9"),
    (json.dumps({"digit": 1.0, "seed": 2}).encode(), "'digit' must be an integer from 0 to 9"),
    (json.dumps({"digit": 1, "seed": -1}).encode(), "'seed' must be an integer"),
    (json.dumps({"digit": 1, "seed": 2**256}).encode(), "'seed' must be an integer"),
    (json.dumps({"digit": 1, "seed": "7"}).encode(), "'seed' must be an integer"),
    (b'{"digit":1,"seed":' + b"1" * 300 + b"}", "at most 256"),
])
def test_input__bad_document__refused_with_reason(document, reason):
    with pytest.raises(BadInput, match=reason):
        inputs.parse(SCHEMA, document)
