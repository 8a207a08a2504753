"""Input fetching and validation: every bad input is a clear BadInput."""

import json

import numpy as np
import pytest
from eth_utils import keccak

from offchain import inputs
from offchain.errors import BadInput
from offchain.models import load_spec
from offchain.server import ResultServer
from offchain.store import ContentStore
from tests.unit.offchain.hosts import TrickleHost

SCHEMA = load_spec("digits").input_schema
GOOD = inputs.encode_pixels([i % 17 for i in range(64)])


def test_parse__valid__float32_vector():
    array = inputs.parse(SCHEMA, GOOD)
    assert array.dtype == np.float32 and array.shape == (64,)


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "JSON object with a 'pixels' list"),
        (json.dumps({"pixels": [1] * 63}).encode(), "must hold 64 numbers, got 63"),
        (json.dumps({"pixels": "abc"}).encode(), "must hold 64 numbers, got str"),
        (json.dumps({"pixels": ["1"] * 64}).encode(), "values must be numbers"),
        (json.dumps({"pixels": [True] * 64}).encode(), "values must be numbers"),
        (json.dumps({"pixels": [17] * 64}).encode(), "must lie in \\[0, 16\\]"),
        (json.dumps({"pixels": [-1] * 64}).encode(), "must lie in \\[0, 16\\]"),
        (b" " * 3000, "accepts at most 2048"),
    ],
)
def test_parse__bad_input__clear_reason(data, reason):
    with pytest.raises(BadInput, match=reason):
        inputs.parse(SCHEMA, data)


def test_fetch__data_uri__checked_against_hash():
    assert inputs.fetch(inputs.data_uri(GOOD), keccak(GOOD), 2048) == GOOD
    with pytest.raises(BadInput, match="input hash mismatch"):
        inputs.fetch(inputs.data_uri(GOOD), keccak(b"other"), 2048)


def test_fetch__oversized_data_uri__refused():
    big = b"x" * 900
    with pytest.raises(BadInput, match="over 100 bytes"):
        inputs.fetch("data:," + big.decode(), keccak(big), 100)


def test_data_uri__too_large_to_inline__clear_error():
    with pytest.raises(BadInput, match="too large to send inline: host it"):
        inputs.data_uri(b"x" * 5000)


def test_fetch__malformed_data_uri__refused():
    with pytest.raises(BadInput, match="malformed data URI"):
        inputs.fetch("data:;base64,@@@", keccak(b""), 2048)


def test_fetch__file_inside_root__ok_outside__refused(tmp_path):
    (tmp_path / "in.json").write_bytes(GOOD)
    assert inputs.fetch("file://in.json", keccak(GOOD), 2048, file_root=tmp_path) == GOOD
    with pytest.raises(BadInput, match="outside the worker's input folder"):
        inputs.fetch("file:///etc/passwd", keccak(b""), 2048, file_root=tmp_path)
    with pytest.raises(BadInput, match="file inputs are disabled"):
        inputs.fetch("file://in.json", keccak(GOOD), 2048)


def test_fetch__http__size_limit_and_hash(tmp_path):
    store = ContentStore(tmp_path)
    server = ResultServer(store).start()
    try:
        url = server.result_url(store.put(GOOD))
        assert inputs.fetch(url, keccak(GOOD), 2048) == GOOD
        big = b"y" * 4096
        with pytest.raises(BadInput, match="over 2048 bytes"):
            inputs.fetch(server.result_url(store.put(big)), keccak(big), 2048)
        with pytest.raises(BadInput, match="cannot fetch"):
            inputs.fetch(server.url + "/results/0x" + "00" * 32, keccak(b""), 2048)
    finally:
        server.stop()


def test_fetch__dead_endpoint__clear_error():
    with pytest.raises(BadInput, match="cannot fetch"):
        inputs.fetch("http://127.0.0.1:1/x", keccak(b""), 2048)


def test_fetch__host_trickles_a_byte_every_2_s__abandoned_at_the_deadline():
    with TrickleHost(size=30, interval=2.0) as host:  # would take a minute to send its 30 bytes
        with pytest.raises(BadInput, match="did not arrive within 1 s"):
            inputs.fetch(host.url, keccak(b" " * 30), 2048, deadline_s=1.0)
        assert host.hung_up.wait(timeout=30)  # the worker hung up...
        assert not host.finished.is_set() and host.sent < 30  # ...long before the host was done


def test_fetch__host_streams_without_end__cut_off_at_the_byte_budget():
    with TrickleHost(size=10_000, interval=0, endless=True) as host:  # 40 MB, no Content-Length
        with pytest.raises(BadInput, match="over 2048 bytes"):
            inputs.fetch(host.url, keccak(b""), 2048)
        assert host.hung_up.wait(timeout=30)
        assert not host.finished.is_set()


def test_fetch__declared_length_over_budget__refused_before_reading():
    with TrickleHost(size=5000, interval=2.0) as host:
        with pytest.raises(BadInput, match="over 2048 bytes \\(the host declares 5000\\)"):
            inputs.fetch(host.url, keccak(b""), 2048)
        assert host.sent <= 1


def test_fetch__redirect__not_followed(tmp_path):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(BadInput, match="HTTP 302"):
            inputs.fetch(f"http://127.0.0.1:{httpd.server_address[1]}/x", keccak(b""), 2048)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_input_fetcher__slow_host__does_not_hold_up_a_fast_one(tmp_path):
    store = ContentStore(tmp_path)
    server = ResultServer(store).start()
    fetcher = inputs.InputFetcher(deadline_s=1.0)
    try:
        with TrickleHost(size=30, interval=2.0) as slow:
            fetcher.submit("slow", slow.url, keccak(b" " * 30), 2048)
            fast = fetcher.submit("fast", server.result_url(store.put(GOOD)), keccak(GOOD), 2048)
            fast.result(timeout=30)
            assert fetcher.pending("slow")  # the fast input is in while the slow one is still trickling
            assert fetcher.result("fast") == GOOD
            with pytest.raises(BadInput, match="did not arrive within 1 s"):
                fetcher.submit("slow", slow.url, keccak(b" " * 30), 2048).result(timeout=30)
                fetcher.result("slow")
            assert slow.hung_up.wait(timeout=30)
    finally:
        fetcher.close()
        server.stop()


def test_input_fetcher__inline_inputs__ready_at_once_or_rejected():
    fetcher = inputs.InputFetcher()
    try:
        fetcher.submit(1, inputs.data_uri(GOOD), keccak(GOOD), 2048)
        fetcher.submit(2, inputs.data_uri(GOOD), keccak(b"other"), 2048)
        assert not fetcher.pending(1) and fetcher.result(1) == GOOD
        with pytest.raises(BadInput, match="input hash mismatch"):
            fetcher.result(2)
        assert fetcher.result(2) is None  # a result is handed out once
    finally:
        fetcher.close()
