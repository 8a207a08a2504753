"""Voucher and receipt helpers for channel tests."""

from ape import chain

from offchain.attestation import receipt_message, sign_typed, voucher_message


def voucher(channels, payer, channel_id, amount, *, chain_id=None, contract=None):
    return sign_typed(payer.private_key, "Voucher", voucher_message(channel_id, amount),
                      chain_id=chain.chain_id if chain_id is None else chain_id,
                      contract=str(channels.address) if contract is None else contract)


def receipt(channels, worker, channel_id, seq, input_hash, result_hash, *, key=None):
    return sign_typed(key or worker.private_key, "InferenceReceipt",
                      receipt_message(channel_id, seq, input_hash, result_hash),
                      chain_id=chain.chain_id, contract=str(channels.address))


def item(channels, payer, channel_id, amount, root=b"\x00" * 32, **kwargs):
    return (channel_id, amount, voucher(channels, payer, channel_id, amount, **kwargs), root)


def open_channel(channels, payer, worker, model_id, deposit):
    tx = channels.open_channel(worker, model_id, sender=payer, value=deposit)
    return bytes(tx.decode_logs(channels.ChannelOpened)[0].channel_id)
