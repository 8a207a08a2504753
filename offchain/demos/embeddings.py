"""Paid sentence embeddings on a local chain: a system with minilm listed, the worker's
channel API serving it over HTTP, and channel clients for app builders. Shared by
`ape run bench_embeddings` and `ape run semantic_search`."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class EmbeddingsService:
    deployment: object
    model_id: int
    worker: object
    url: str
    price: int
    api: object  # the ChannelWorker

    def client(self, payer, deposit: int = 10**18):
        """A channel client for `payer` with a freshly opened and funded channel."""
        from ape import chain

        from offchain.channels import ChannelClient

        d = self.deployment
        client = ChannelClient(d.PaymentChannels, d.ModelRegistry, d.WorkerRegistry, payer, chain_id=chain.chain_id)
        client.open(self.worker, self.model_id, deposit, url=self.url)
        return client


@contextmanager
def embeddings_service(project, accounts):
    """Deploys a system, lists minilm through governance, serves paid calls on 127.0.0.1."""
    from ape import chain

    from offchain.channels import serving_locally
    from offchain.demos.bench import setup_market
    from offchain.governance import Proposal, pass_locally
    from offchain.models import load_spec
    from offchain.runtime import load_runtime

    d, _, worker, _ = setup_market(project, accounts)
    spec = load_spec("minilm")
    registry, deployer, author = d.ModelRegistry, accounts[0], accounts[8]
    registry.register_model(spec.artifact_hash, spec.manifest_hash, "models/minilm", spec.manifest["price_wei"],
                            [author], [1], sender=author)
    model_id = registry.model_count()
    pass_locally(d.Governor, Proposal("list minilm").call(registry, "approve_model", model_id), deployer, [deployer])
    runtime = load_runtime(spec, expected_hash=bytes(registry.models(model_id).artifact_hash))
    price = registry.model_terms(model_id)[1]
    with serving_locally(d.PaymentChannels, worker, {model_id: runtime}, {model_id: price},
                         chain_id=chain.chain_id) as (api, url):
        yield EmbeddingsService(d, model_id, worker, url, price, api)
