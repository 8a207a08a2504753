"""NFTMinter on the real market under random mints (with overpayment), deliveries (good and bad
images), deadlines passing, market refunds by strangers, reclaims (by the buyer and by others)
and token transfers, checked against a model of every order.

After every step:
- the collection's ETH plus what the market owes it equals exactly the payments of orders that
  were refunded by the market and not yet reclaimed (it keeps nothing else, ever);
- each order's status, token and buyer equal the model's; every minted token is owned by whom
  the model says and its image hash is keccak256 of its image;
- a (digit, seed) pair is taken exactly while its order is pending or minted;
- totalSupply is the number of minted orders.
"""

import ape
import numpy as np
from ape import chain
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from offchain.images import encode_png
from offchain.inputs import encode_image_seed
from tests.utils.market import signature

CALLBACK_GAS = 600_000
TTL = 3_600
PENDING, MINTED, RECLAIMED = 1, 2, 3
pick = st.integers(min_value=0, max_value=10**6)


def test_nft_minter_state_machine(project, deployer, market, model_id, staked_worker, signer_key, accounts):
    nft = deployer.deploy(project.NFTMinter, market, model_id, CALLBACK_GAS, TTL)
    buyers = [accounts[6], accounts[1]]
    stranger = accounts[3]
    price = nft.price()

    class MinterMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.orders = {}  # request id -> dict(buyer, pair, status, market: requested|claimed|fulfilled|final|refunded)
            self.owners = {}  # token id -> owner address
            self.images = {}  # token id -> png

        def teardown(self):
            chain.restore(self.snapshot)

        def _choose(self, n, predicate):
            ids = [i for i, o in self.orders.items() if predicate(o)]
            return ids[n % len(ids)] if ids else None

        @rule(b=st.integers(0, 1), digit=st.integers(0, 9), seed=st.integers(0, 3), extra=st.integers(0, 10**15))
        def mint(self, b, digit, seed, extra):
            pair = (digit, seed)
            taken = any(o["pair"] == pair and o["status"] in (PENDING, MINTED) for o in self.orders.values())
            if taken:
                with ape.reverts("NFTMinter: image already taken"):
                    nft.mint(digit, seed, sender=buyers[b], value=price + extra)
                return
            tx = nft.mint(digit, seed, sender=buyers[b], value=price + extra)
            rid = tx.decode_logs(nft.MintRequested)[0].request_id
            self.orders[rid] = dict(buyer=buyers[b].address, pair=pair, status=PENDING, market="requested",
                                    deadline=market.get_request(rid).deadline)

        @rule(n=pick, bad=st.booleans())
        def deliver(self, n, bad):
            rid = self._choose(n, lambda o: o["market"] == "requested" and chain.pending_timestamp < o["deadline"] - 60)
            if rid is None:
                return
            result = b"GIF89a-not-a-png" if bad else encode_png(np.full((16, 16), rid % 256, dtype=np.uint8))
            market.claim(rid, sender=staked_worker)
            result_hash = keccak(result)
            market.fulfill(rid, result_hash, "", signature(market, rid, signer_key, result_hash=result_hash), result,
                           sender=staked_worker)
            chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
            tx = market.finalize(rid, sender=stranger)
            order = self.orders[rid]
            order["market"] = "final"
            if bad:
                assert not tx.decode_logs(market.CallbackDelivered)[0].success
                return
            minted = tx.decode_logs(nft.Minted)[0]
            order["status"], order["token"] = MINTED, minted.token_id
            self.owners[minted.token_id] = order["buyer"]
            self.images[minted.token_id] = result

        @rule(seconds=st.integers(60, 2 * TTL))
        def time_passes(self, seconds):
            chain.mine(timestamp=chain.pending_timestamp + seconds)

        @rule(n=pick)
        def stranger_refunds_at_the_market(self, n):
            rid = self._choose(n, lambda o: o["market"] == "requested" and chain.pending_timestamp > o["deadline"])
            if rid is None:
                return
            market.refund(rid, sender=stranger)
            self.orders[rid]["market"] = "refunded"

        @rule(n=pick, by_buyer=st.booleans())
        def reclaim(self, n, by_buyer):
            rid = self._choose(n, lambda o: o["status"] == PENDING and (
                o["market"] == "refunded" or (o["market"] == "requested" and chain.pending_timestamp > o["deadline"])))
            if rid is None:
                return
            order = self.orders[rid]
            if not by_buyer:
                with ape.reverts("NFTMinter: caller is not the buyer"):
                    nft.reclaim(rid, sender=stranger)
                return
            buyer = next(a for a in buyers if a.address == order["buyer"])
            before = buyer.balance
            tx = nft.reclaim(rid, sender=buyer)
            assert buyer.balance == before + price - tx.total_fees_paid
            order["status"], order["market"] = RECLAIMED, "refunded"

        @rule(n=pick)
        def reclaim_what_is_not_pending_fails(self, n):
            rid = self._choose(n, lambda o: o["status"] != PENDING)
            if rid is None:
                return
            buyer = next(a for a in buyers if a.address == self.orders[rid]["buyer"])
            with ape.reverts("NFTMinter: order not pending"):
                nft.reclaim(rid, sender=buyer)

        @rule(n=pick)
        def transfer(self, n):
            if not self.owners:
                return
            token = sorted(self.owners)[n % len(self.owners)]
            owner = next(a for a in [*buyers, stranger] if a.address == self.owners[token])
            to = [*buyers, stranger][(n // 7) % 3]
            nft.transferFrom(owner, to, token, sender=owner)
            self.owners[token] = to.address

        @invariant()
        def collection_holds_only_unreclaimed_refunds(self):
            held = sum(price for o in self.orders.values() if o["market"] == "refunded" and o["status"] == PENDING)
            assert nft.balance + market.owed(nft) == held

        @invariant()
        def orders_tokens_and_pairs_match_the_model(self):
            for rid, o in self.orders.items():
                on_chain = nft.orders(rid)
                assert (on_chain.buyer, on_chain.status) == (o["buyer"], o["status"])
            for pair in {o["pair"] for o in self.orders.values()}:
                live = [r for r, o in self.orders.items() if o["pair"] == pair and o["status"] in (PENDING, MINTED)]
                assert nft.taken(keccak(encode_image_seed(pair[1], pair[0]))) == (live[0] if live else 0)
            assert nft.totalSupply() == len(self.owners)
            for token, owner in self.owners.items():
                assert nft.ownerOf(token) == owner
                assert nft.image(token) == self.images[token]
                assert bytes(nft.image_hash(token)) == keccak(self.images[token])

    run_state_machine_as_test(MinterMachine, settings=settings(max_examples=max(settings.default.max_examples // 3, 1)))
