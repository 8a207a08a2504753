"""The real-time path: a worker's HTTP API for paid calls over prepaid
channels, and the app builder's channel client.

A call carries the input and an EIP-712 voucher for the cumulative amount
the channel may now pay. The worker checks the voucher against its
persisted books and the chain (payer's signature, this worker's open
channel, newer than every voucher taken or settled by at least the price,
at most the deposit), runs the model through the same runtime as the
per-request path (batched across concurrent calls), and answers at once
with the output and a receipt signed by its registered key. It follows the
channels' events, settles closing channels by itself before they close, and
settles the rest on a threshold or on demand, many channels per transaction.

Modules: `ledger` (the persisted books), `worker` (voucher checks, receipts,
settlement), `batcher` (micro-batching for the runtime), `app` (the FastAPI
app), `client` (ChannelClient, the app builder's side).
"""

from offchain.channels.app import MAX_BODY, Answer, CallBody, VoucherBody, create_app, serving_locally
from offchain.channels.batcher import MicroBatcher
from offchain.channels.client import CallResult, ChannelClient, input_document
from offchain.channels.errors import CallRejected, LedgerMismatch
from offchain.channels.ledger import ChannelBook, Ledger, default_state_dir
from offchain.channels.worker import MAX_SETTLE, ChannelWorker, Settlement, merkle_root

__all__ = [
    "MAX_BODY", "MAX_SETTLE", "Answer", "CallBody", "CallRejected", "CallResult", "ChannelBook", "ChannelClient",
    "ChannelWorker", "Ledger", "LedgerMismatch", "MicroBatcher", "Settlement", "VoucherBody", "create_app",
    "default_state_dir", "input_document", "merkle_root", "serving_locally",
]
