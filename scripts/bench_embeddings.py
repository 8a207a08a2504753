"""Sentence embeddings (minilm): embeddings/s and p50 latency per batch, batch sizes 1-64,
on the same inputs, through

  - raw ONNX Runtime: the built graph on pre-tokenized, padded ids (session.run only);
  - the worker's runtime: JSON input documents parsed, tokenized, run, canonically encoded
    (what a worker does per batch of requests);
  - the worker's paid HTTP API: B clients on B payment channels calling at once (voucher
    signed, receipt checked per call); the micro-batcher forms the batches;
  - PyTorch via sentence-transformers (the model's own library), same texts and batch size.

    ape run bench_embeddings [--sizes 1,8,32,64] [--rounds 4] [--no-api]

Inputs: packaged-text sentences (models/minilm/corpus.py), ~25 tokens on average.
p50 is per batch (per call for the API); embeddings/s counts every text over the wall time.
"""

import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from io import BytesIO
from pathlib import Path

import click
from ape import accounts, project
from ape.cli import ConnectedProviderCommand

from offchain.timing import embedding_round, timed
from offchain.cli import console, quiet_ape, require_local, table, user_errors

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"



def local_rows(texts, sizes, rounds):
    from offchain import inputs
    from offchain.models import load_spec
    from offchain.runtime import load_runtime

    spec = load_spec("minilm")
    runtime = load_runtime(spec)
    documents = [inputs.encode_text(t) for t in texts]
    st = None
    try:
        from sentence_transformers import SentenceTransformer

        folder = tempfile.mkdtemp()
        zipfile.ZipFile(BytesIO(spec.build_module().package_zip())).extractall(folder)
        st = SentenceTransformer(folder, device="cpu")
        st.max_seq_length = spec.input_schema["max_tokens"]
    except ImportError:
        pass
    results = {}
    for size in sizes:
        measured = embedding_round(runtime, spec, texts, documents, size, rounds)
        raw, worker = measured.raw, measured.worker
        torch_st = timed(lambda c: st.encode(c, batch_size=size, normalize_embeddings=True),
                         measured.texts) if st else None
        results[size] = {"raw": raw, "worker": worker, "st": torch_st}
        console.print(f"batch {size}: raw {raw[0]:.0f}/s, worker runtime {worker[0]:.0f}/s"
                      + (f", sentence-transformers {torch_st[0]:.0f}/s" if torch_st else ""))
    return results


def api_rows(texts, sizes, rounds):
    """Paid calls through the worker's HTTP API with B concurrent clients on B channels."""
    import httpx

    from offchain import inputs
    from offchain.demos.embeddings import embeddings_service

    documents = [inputs.encode_text(t) for t in texts]
    payers = [accounts.test_accounts[i] for i in (6, 1, 2, 3, 4, 7, 9)]
    while len(payers) < max(sizes):  # one channel per payer, worker and model: more payers, funded here
        payer = accounts.test_accounts.generate_test_account()
        accounts.test_accounts[0].transfer(payer, 2 * 10**18)
        payers.append(payer)
    results = {}
    with embeddings_service(project, accounts.test_accounts) as service:
        clients = [service.client(payers[i]) for i in range(max(sizes))]
        for size in sizes:
            latencies, lock = [], threading.Lock()

            def hammer(client, share):
                with httpx.Client(timeout=60) as http:
                    client.call(share[0], http)  # warm-up: the worker loads the channel once
                    for doc in share:
                        t = time.perf_counter()
                        client.call(doc, http)
                        with lock:
                            latencies.append(time.perf_counter() - t)

            shares = [documents[i * rounds : (i + 1) * rounds] for i in range(size)]
            threads = [threading.Thread(target=hammer, args=(clients[i], shares[i])) for i in range(size)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            results[size] = ((size * (rounds + 1)) / elapsed, statistics.median(latencies))
            console.print(f"batch {size}: paid API {results[size][0]:.0f}/s, p50 {results[size][1] * 1e3:.1f} ms")
    return results


@click.command(cls=ConnectedProviderCommand)
@click.option("--sizes", default="1,8,32,64", show_default=True, help="Batch sizes (concurrent API clients).")
@click.option("--rounds", default=4, show_default=True, help="Batches per size (calls per API client).")
@click.option("--no-api", is_flag=True, help="Skip the paid HTTP API (no chain needed for the rest).")
@click.option("--only-api", is_flag=True, help="Only the paid HTTP API.")
@user_errors
def cli(provider, sizes, rounds, no_api, only_api):
    sys.path.insert(0, str(ROOT / "models" / "minilm"))
    import corpus

    quiet_ape()
    sizes = [int(s) for s in sizes.split(",")]
    texts = corpus.texts(max(max(sizes) * (rounds + 1), 256))
    local = {size: {"raw": None, "worker": None, "st": None} for size in sizes} if only_api else \
        local_rows(texts, sizes, rounds)
    api = {}
    if not no_api:
        require_local(provider, "the API benchmark (it deploys a system)")
        api = api_rows(texts, sizes, rounds)

    def cell(pair):
        return "-" if pair is None else f"{pair[0]:,.0f} / {pair[1] * 1e3:.1f} ms"

    rows = [(size, cell(local[size]["raw"]), cell(local[size]["worker"]), cell(api.get(size)),
             cell(local[size]["st"])) for size in sizes]
    console.print(table(f"minilm embeddings/s and p50 per batch (per call for the API) on {machine()}",
                        ["batch", "raw ONNX Runtime", "worker runtime", "paid HTTP API (B clients)",
                         "sentence-transformers (PyTorch)"], rows))
