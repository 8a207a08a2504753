"""TokenListing under random applications (with excess payments), results below and above the threshold,
malformed results (failed callbacks), expiries, refunds by the registry or by anyone at the market,
releases, threshold changes, delistings and withdrawals, checked against a model.

After every step:
- ETH is conserved: the registry's balance plus what the market owes it equals everything the registry
  owes applicants (no applicant's ETH is stuck, none is paid twice);
- what the registry owes each applicant equals the model;
- each token is in exactly one standing (listed, under review by one open request, or neither), and the
  registry's `pending_request`, `applications` and `listed` equal the model;
- a token is listed only by a result strictly below the threshold in force when it arrived.
"""

import pytest
from ape import chain
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.utils.market import signature

THRESHOLD = 5_000
pick = st.integers(min_value=0, max_value=10**6)


def scores(overall: int) -> bytes:
    return b"".join(v.to_bytes(32, "big") for v in (overall, 0, 0, 0, 0, 0))


@pytest.fixture(scope="module")
def listed_setup(project, system, model_id, staked_worker, deployer, accounts):
    listing = deployer.deploy(project.TokenListing, system.InferenceMarket, model_id, THRESHOLD)
    tokens = [deployer.deploy(project.SafeToken, 10**24) for _ in range(3)]
    return listing, tokens


def test_listing_state_machine(listed_setup, market, staked_worker, signer_key, deployer, accounts):
    listing, tokens = listed_setup
    applicants = [accounts[6], accounts[1]]
    window = market.params().challenge_window

    class ListingMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.apps = {}  # request id -> dict(token, applicant, paid, deadline, state: open|fulfilled|finalized)
            self.pending = {}  # token -> request id
            self.listed = set()
            self.owed = {a.address: 0 for a in applicants}
            self.threshold = THRESHOLD

        def teardown(self):
            chain.restore(self.snapshot)

        def _choose(self, n, state):
            ids = [i for i, a in self.apps.items() if a["state"] == state]
            return ids[n % len(ids)] if ids else None

        @rule(t=st.integers(0, 2), a=st.integers(0, 1), extra=st.integers(0, 10**9))
        def apply(self, t, a, extra):
            token, applicant = tokens[t], applicants[a]
            if token.address in self.pending or token.address in self.listed:
                return
            cost = listing.quote()
            listing.apply(token, sender=applicant, value=cost + extra)
            rid = listing.pending_request(token)
            self.apps[rid] = dict(token=token.address, applicant=applicant.address, paid=cost, state="open",
                                  deadline=market.get_request(rid).deadline)
            self.pending[token.address] = rid
            self.owed[applicant.address] += extra

        @rule(n=pick, score=st.integers(0, 10_000), malformed=st.booleans())
        def serve(self, n, score, malformed):
            rid = self._choose(n, "open")
            if rid is None or chain.pending_timestamp > self.apps[rid]["deadline"]:
                return
            result = b"\x01" * 8 if malformed else scores(score)
            market.claim(rid, sender=staked_worker)
            sig = signature(market, rid, signer_key, result_hash=keccak(result))
            market.fulfill(rid, keccak(result), "", sig, result, sender=staked_worker)
            self.apps[rid].update(state="fulfilled", result=None if malformed else score)

        @rule(n=pick)
        def finalize(self, n):
            rid = self._choose(n, "fulfilled")
            if rid is None:
                return
            chain.mine(timestamp=max(chain.pending_timestamp, market.get_request(rid).stamp + window + 1))
            market.finalize(rid, sender=staked_worker)
            app = self.apps[rid]
            if app["result"] is None:  # the callback failed: the application waits for `release`
                app["state"] = "finalized"
                return
            del self.apps[rid]
            del self.pending[app["token"]]
            if app["result"] < self.threshold:
                self.listed.add(app["token"])

        @rule(n=pick, at_market=st.booleans())
        def expire_and_release(self, n, at_market):
            rid = self._choose(n, "open")
            if rid is None:
                return
            app = self.apps[rid]
            chain.mine(timestamp=max(chain.pending_timestamp, app["deadline"] + 1))
            if at_market:
                market.refund(rid, sender=accounts[4])  # anyone refunds at the market first
            listing.release(rid, sender=accounts[4])
            self.owed[app["applicant"]] += app["paid"]
            del self.apps[rid]
            del self.pending[app["token"]]

        @rule(n=pick)
        def release_failed(self, n):
            rid = self._choose(n, "finalized")
            if rid is None:
                return
            listing.release(rid, sender=accounts[4])
            del self.pending[self.apps.pop(rid)["token"]]

        @rule(bps=st.integers(0, 10_000))
        def set_threshold(self, bps):
            listing.set_threshold(bps, sender=deployer)
            self.threshold = bps

        @rule(t=st.integers(0, 2))
        def delist(self, t):
            if tokens[t].address in self.listed:
                listing.delist(tokens[t], sender=deployer)
                self.listed.discard(tokens[t].address)

        @rule(a=st.integers(0, 1))
        def withdraw(self, a):
            applicant = applicants[a]
            if self.owed[applicant.address]:
                listing.withdraw(sender=applicant)
                self.owed[applicant.address] = 0

        @invariant()
        def ether_is_conserved(self):
            assert listing.balance + market.owed(listing) == sum(self.owed.values())

        @invariant()
        def owed_matches(self):
            for address, owed in self.owed.items():
                assert listing.owed(address) == owed

        @invariant()
        def standings_match(self):
            for token in tokens:
                rid = self.pending.get(token.address, 0)
                assert listing.pending_request(token) == rid
                assert listing.listed(token) == (token.address in self.listed)
                assert not (rid and token.address in self.listed)
                if rid:
                    assert listing.applications(rid).token == token.address

    run_state_machine_as_test(
        ListingMachine, settings=settings(max_examples=max(settings.default.max_examples // 3, 1))
    )
