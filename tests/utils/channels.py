"""Voucher and receipt helpers for channel tests."""

from ape import chain

from offchain.attestation import InferenceReceipt, Voucher


def voucher(channels, payer, channel_id, amount, *, chain_id=None, contract=None):
    return Voucher.bound(chain_id=chain.chain_id if chain_id is None else chain_id,
                         contract=channels.address if contract is None else contract,
                         channelId=channel_id, amount=amount).sign(payer.private_key)


def receipt(channels, worker, channel_id, seq, input_hash, result_hash, *, key=None):
    return InferenceReceipt.bound(chain_id=chain.chain_id, contract=channels.address, channelId=channel_id, seq=seq,
                                  inputHash=input_hash, resultHash=result_hash).sign(key or worker.private_key)


def receipt_digest(channels, channel_id, seq, input_hash, result_hash) -> bytes:
    """The receipt's EIP-712 digest: what PaymentChannels keys its one challenge per receipt on."""
    return InferenceReceipt.digest_for(chain_id=chain.chain_id, contract=channels.address, channelId=channel_id,
                                       seq=seq, inputHash=input_hash, resultHash=result_hash)


def item(channels, payer, channel_id, amount, root=b"\x00" * 32, **kwargs):
    return (channel_id, amount, voucher(channels, payer, channel_id, amount, **kwargs), root)


def open_channel(channels, payer, worker, model_id, deposit):
    tx = channels.open_channel(worker, model_id, sender=payer, value=deposit)
    return bytes(tx.decode_logs(channels.ChannelOpened)[0].channel_id)
