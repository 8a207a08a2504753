"""Paid embeddings for app builders: semantic search over a corpus, on the embedded chain.

    ape run semantic_search --query "how do I compare two floating point numbers" [--corpus 200] [--top 5]

Deploys a system, lists minilm, serves the worker's channel API; the app builder opens a
payment channel, embeds the corpus (packaged sentences, models/minilm/corpus.py) and the query
with paid calls (one signed voucher each, receipts checked), ranks by cosine similarity, prints
the best matches and what the embeddings cost; the worker settles the channel in one transaction.
"""

import sys
from pathlib import Path

import click
import numpy as np
from ape import accounts, project
from ape.cli import ConnectedProviderCommand

from offchain.cli import console, quiet_ape, require_local, table, user_errors

ROOT = Path(__file__).resolve().parent.parent


@click.command(cls=ConnectedProviderCommand)
@click.option("--query", required=True, help="What to search for.")
@click.option("--corpus", "size", default=200, show_default=True, help="Corpus sentences to embed.")
@click.option("--top", default=5, show_default=True)
@user_errors
def cli(provider, query, size, top):
    import httpx

    from offchain import inputs
    from offchain.demos.embeddings import embeddings_service

    require_local(provider, "the example (it deploys a system)")
    quiet_ape()
    sys.path.insert(0, str(ROOT / "models" / "minilm"))
    import corpus

    texts = corpus.texts(size)
    with embeddings_service(project, accounts.test_accounts) as service:
        builder = service.client(accounts.test_accounts[6])
        with httpx.Client(timeout=60) as http:
            vectors = np.array([builder.call(inputs.encode_text(t), http).decoded["embedding"] for t in texts])
            q = np.array(builder.call(inputs.encode_text(query), http).decoded["embedding"])
        settled = service.api.settle().total
    scores = vectors @ q  # unit vectors: the dot product is the cosine
    best = np.argsort(-scores)[:top]
    console.print(table(f"Top {top} of {size} sentences for: {query}", ["cosine", "sentence"],
                        [(f"{scores[i]:.3f}", texts[i][:100]) for i in best]))
    console.print(f"{size + 1} paid embeddings at {service.price / 10**18:.6f} ETH each; the worker settled "
                  f"{settled / 10**18:.6f} ETH in one transaction")
