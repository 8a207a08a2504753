"""Vyper 0.4.3 token contracts assembled from parts: the labelled set of the risk model.

A contract is a *family* (how the token and its access control are built) plus
a set of *features* (risky patterns, or safe look-alikes of them), each in one of
several implementations, with function names drawn from a pool. Families:

    snek_own     snekmate erc20 + ownable
    snek_2step   snekmate erc20 + ownable + ownable_2step
    snek_roles   snekmate erc20 + ownable + access_control (admin role guards)
    plain_owner  hand-written balances, `owner` address
    plain_admins hand-written balances, `admins` mapping

Risk labels (what a consumer of the score is warned about):

    owner_mint             a privileged account can mint at will
    transfer_block         a privileged account can stop transfers (pause, blacklist)
    unrestricted_withdraw  anyone can take the contract's ETH
    dangerous_call         selfdestruct, or delegatecall to a target the owner sets
    fee_on_transfer        transfers deliver less than sent (a fee is skimmed)

Safe look-alikes (label 0) keep the model from keying on mere presence: a public
sale that mints to whoever pays, a transfer cap, an owner-only withdraw, a
per-depositor withdraw, an owner-only token rescue (plain CALL), a user burn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

LABELS = ("owner_mint", "transfer_block", "unrestricted_withdraw", "dangerous_call", "fee_on_transfer")
FAMILIES = ("snek_own", "snek_2step", "snek_roles", "plain_owner", "plain_admins")
HELD_OUT_FAMILIES = ("snek_2step", "plain_admins")  # never trained on: the held-out set

# Function-name pools; training families draw from the first half, held-out families from the second,
# so the selectors of the held-out set are new to the model.
NAMES = {
    "mint": ["mint", "issue", "create_tokens", "print_supply", "reward", "airdrop_to", "emit_tokens", "inflate"],
    "sale": ["buy", "purchase", "presale", "buy_tokens", "contribute", "enter_sale"],
    "pause": ["set_paused", "halt", "freeze_all", "toggle_trading", "set_trading", "emergency_stop"],
    "block": ["blacklist", "set_blocked", "ban", "deny", "restrict", "set_frozen"],
    "withdraw": ["withdraw", "claim_eth", "collect", "pull", "take", "drain"],
    "deposit": ["deposit", "stake_eth", "fund", "top_up"],
    "target": ["set_impl", "set_target", "upgrade_to", "set_module", "set_logic", "point_to"],
    "execute": ["execute", "run", "forward", "proxy_call", "delegate", "invoke"],
    "kill": ["kill", "destroy", "shutdown", "terminate", "close_down", "retire"],
    "rescue": ["rescue", "recover_tokens", "sweep_erc20", "save_tokens", "return_tokens", "skim_token"],
    "fee": ["set_fee", "set_tax", "update_fee", "adjust_tax", "set_levy", "config_fee"],
    "burn": ["burn", "destroy_own", "burn_mine", "redeem", "retire_tokens", "sink"],
}
OPTIMIZE = ("gas", "codesize", "none")

HEADER = "# pragma version ~=0.4.3\n"
ERC20_EVENTS = """
event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256
"""


@dataclass
class Contract:
    family: str
    features: dict[str, str]  # feature -> implementation
    names: dict[str, str]
    optimize: str
    supply: int
    labels: dict[str, int] = field(default_factory=dict)
    source: str = ""


def _pick(rng: random.Random, pool: str, held_out: bool, taken: set[str]) -> str:
    names = NAMES[pool]
    half = names[len(names) // 2 :] if held_out else names[: len(names) // 2]
    choices = [n for n in half if n not in taken] or half
    name = rng.choice(choices)
    taken.add(name)
    return name


# feature -> (label it sets, or None for a safe look-alike; implementations)
FEATURES = {
    "owner_mint": ("owner_mint", ("direct", "capped_none")),
    "public_sale": (None, ("fixed_rate",)),
    "pause": ("transfer_block", ("flag",)),
    "blacklist": ("transfer_block", ("sender_and_receiver", "sender_only")),
    "transfer_cap": (None, ("constant",)),
    "open_withdraw": ("unrestricted_withdraw", ("all_to_caller", "amount_to_any")),
    "owner_withdraw": (None, ("all_to_owner",)),
    "deposits": (None, ("own_balance",)),
    "delegate_target": ("dangerous_call", ("settable",)),
    "selfdestruct": ("dangerous_call", ("to_caller", "to_owner")),
    "rescue": (None, ("erc20_transfer",)),
    "fee": ("fee_on_transfer", ("settable_to_owner", "immutable_burn")),
    "burn": (None, ("own",)),
}
RISKY_FEATURES = [f for f, (label, _) in FEATURES.items() if label]
SAFE_FEATURES = [f for f, (label, _) in FEATURES.items() if not label]


CLEAN = 0.4  # share of contracts with no risky feature at all (safe look-alikes only)


def sample(rng: random.Random, family: str) -> Contract:
    """One random contract of `family`: clean with probability CLEAN, else each risky feature with
    probability 0.3 (at least one); each safe look-alike with probability 0.35."""
    held_out = family in HELD_OUT_FAMILIES
    chosen = {}
    if rng.random() >= CLEAN:
        while not chosen:
            for feature in RISKY_FEATURES:
                if rng.random() < 0.3:
                    chosen[feature] = rng.choice(FEATURES[feature][1])
    for feature in SAFE_FEATURES:
        if rng.random() < 0.35:
            chosen[feature] = rng.choice(FEATURES[feature][1])
    if "pause" in chosen and "blacklist" in chosen and rng.random() < 0.5:
        del chosen["blacklist"]
    taken: set[str] = set()
    names = {pool: _pick(rng, pool, held_out, taken) for pool in NAMES}
    contract = Contract(family, chosen, names, rng.choice(OPTIMIZE), rng.choice((10**6, 10**9, 21 * 10**6)))
    contract.labels = {label: int(any(FEATURES[f][0] == label for f in chosen)) for label in LABELS}
    contract.source = render(contract)
    return contract


def compile_source(args: tuple[str, str]) -> str:
    """Runtime bytecode (0x-hex) of `(source, optimize)` with the installed vyper; snekmate is found
    beside it in site-packages."""
    import warnings
    from pathlib import Path

    import vyper
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import OptimizationLevel, Settings

    source, optimize = args
    site = Path(vyper.__file__).resolve().parent.parent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # selfdestruct's deprecation: on purpose here
        out = vyper.compile_code(source, output_formats=["bytecode_runtime"],
                                 input_bundle=FilesystemInputBundle([site]),
                                 settings=Settings(optimize=OptimizationLevel.from_string(optimize)))
    return out["bytecode_runtime"]


# ---------------------------------------------------------------- rendering


class _Family:
    """How one family spells the building blocks a feature needs."""

    snek = False

    def __init__(self, name: str):
        self.name = name
        self.snek = name.startswith("snek")

    def check(self) -> str:
        return {
            "snek_own": "ownable._check_owner()",
            "snek_2step": "ownable._check_owner()",
            "snek_roles": "access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)",
            "plain_owner": 'assert msg.sender == self.owner, "token: caller is not the owner"',
            "plain_admins": 'assert self.admins[msg.sender], "token: caller is not an admin"',
        }[self.name]

    def owner(self) -> str:
        return {"plain_owner": "self.owner", "plain_admins": "self.treasury", "snek_roles": "self.treasury"}.get(
            self.name, "ownable.owner")

    def mint(self, to: str, amount: str) -> str:
        if self.snek:
            return f"erc20._mint({to}, {amount})"
        return (f"self.totalSupply += {amount}\n    self.balanceOf[{to}] += {amount}\n"
                f"    log Transfer(sender=empty(address), receiver={to}, value={amount})")

    def burn(self, who: str, amount: str) -> str:
        if self.snek:
            return f"erc20._burn({who}, {amount})"
        return (f"self.balanceOf[{who}] -= {amount}\n    self.totalSupply -= {amount}\n"
                f"    log Transfer(sender={who}, receiver=empty(address), value={amount})")

    def move(self, src: str, dst: str, amount: str) -> str:
        if self.snek:
            return f"erc20._transfer({src}, {dst}, {amount})"
        return (f"self.balanceOf[{src}] -= {amount}\n    self.balanceOf[{dst}] += {amount}\n"
                f"    log Transfer(sender={src}, receiver={dst}, value={amount})")


def render(c: Contract) -> str:
    fam = _Family(c.family)
    n = c.names
    f = c.features
    head, storage, init, functions, guards = [], [], [], [], []

    if fam.snek:
        head.append("from snekmate.auth import ownable")
        head.append("from snekmate.tokens import erc20")
        head.append("initializes: ownable")
        head.append("initializes: erc20[ownable := ownable]")
        exports = ["erc20.balanceOf", "erc20.totalSupply", "erc20.allowance", "erc20.approve", "erc20.name",
                   "erc20.symbol", "erc20.decimals"]
        init.append("ownable.__init__()")
        init.append('erc20.__init__("Token", "TKN", 18, "Token", "1")')
        if c.family == "snek_2step":
            head.append("from snekmate.auth import ownable_2step")
            head.append("initializes: ownable_2step[ownable := ownable]")
            exports += ["ownable_2step.owner", "ownable_2step.pending_owner", "ownable_2step.transfer_ownership",
                        "ownable_2step.accept_ownership"]
            init.append("ownable_2step.__init__()")
        elif c.family == "snek_roles":
            head.append("from snekmate.auth import access_control")
            head.append("initializes: access_control")
            exports += ["access_control.hasRole", "access_control.grantRole", "access_control.revokeRole"]
            init.append("access_control.__init__()")
            storage.append("treasury: public(address)")
            init.append("self.treasury = msg.sender")
        else:
            exports += ["ownable.owner", "ownable.transfer_ownership"]
        if "pause" in f:
            head.append("from snekmate.utils import pausable")
            head.append("initializes: pausable")
            exports.append("pausable.paused")
            init.append("pausable.__init__()")
        head.append("exports: (\n    " + ",\n    ".join(exports) + ",\n)")
        init.append(f"erc20._mint(msg.sender, {c.supply} * 10**18)")
    else:
        storage += ["balanceOf: public(HashMap[address, uint256])",
                    "allowance: public(HashMap[address, HashMap[address, uint256]])",
                    "totalSupply: public(uint256)", 'name: public(constant(String[8])) = "Token"',
                    'symbol: public(constant(String[4])) = "TKN"', "decimals: public(constant(uint8)) = 18"]
        if c.family == "plain_owner":
            storage.append("owner: public(address)")
            init.append("self.owner = msg.sender")
        else:
            storage += ["admins: public(HashMap[address, bool])", "treasury: public(address)"]
            init += ["self.admins[msg.sender] = True", "self.treasury = msg.sender"]
            functions.append(f"""
@external
def set_admin(who: address, flag: bool):
    {fam.check()}
    self.admins[who] = flag
""")
        init.append(fam.mint("msg.sender", f"{c.supply} * 10**18").replace("\n    ", "\n    "))
        functions.append("""
@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True
""")

    # ---- transfer guards and the fee
    if "pause" in f:
        if fam.snek:
            guards.append("pausable._require_not_paused()")
            functions.append(f"""
@external
def {n['pause']}(flag: bool):
    {fam.check()}
    if flag:
        pausable._pause()
    else:
        pausable._unpause()
""")
        else:
            storage.append("halted: public(bool)")
            guards.append('assert not self.halted, "token: transfers are paused"')
            functions.append(f"""
@external
def {n['pause']}(flag: bool):
    {fam.check()}
    self.halted = flag
""")
    if "blacklist" in f:
        storage.append("blocked: public(HashMap[address, bool])")
        guards.append('assert not self.blocked[src], "token: sender is blocked"')
        if f["blacklist"] == "sender_and_receiver":
            guards.append('assert not self.blocked[dst], "token: receiver is blocked"')
        functions.append(f"""
@external
def {n['block']}(who: address, flag: bool):
    {fam.check()}
    self.blocked[who] = flag
""")
    if "transfer_cap" in f:
        storage.append(f"MAX_TRANSFER: constant(uint256) = {c.supply // 100} * 10**18")
        guards.append('assert amount <= MAX_TRANSFER, "token: transfer above the cap"')
    fee_lines = []
    if "fee" in f:
        if f["fee"] == "settable_to_owner":
            storage.append("fee_bps: public(uint256)")
            init.append("self.fee_bps = 200")
            functions.append(f"""
@external
def {n['fee']}(bps: uint256):
    {fam.check()}
    self.fee_bps = bps
""")
            fee_lines = ["fee: uint256 = amount * self.fee_bps // 10_000",
                         fam.move("src", fam.owner(), "fee")]
        else:
            storage.append("fee_bps: public(immutable(uint256))")
            init.append("fee_bps = 300")
            fee_lines = ["fee: uint256 = amount * fee_bps // 10_000", fam.burn("src", "fee")]
    body = list(guards)
    if fee_lines:
        body += fee_lines + [fam.move("src", "dst", "amount - fee")]
    else:
        body.append(fam.move("src", "dst", "amount"))
    functions.append("""
@internal
def _move(src: address, dst: address, amount: uint256):
    """ + "\n    ".join(body) + "\n")
    spend = ("erc20._spend_allowance(src, msg.sender, amount)" if fam.snek else
             "self.allowance[src][msg.sender] -= amount")
    functions.append(f"""
@external
def transfer(dst: address, amount: uint256) -> bool:
    self._move(msg.sender, dst, amount)
    return True


@external
def transferFrom(src: address, dst: address, amount: uint256) -> bool:
    {spend}
    self._move(src, dst, amount)
    return True
""")

    # ---- minting
    if "owner_mint" in f:
        cap = "" if f["owner_mint"] == "direct" else "\n    assert amount > 0, \"token: nothing to mint\""
        functions.append(f"""
@external
def {n['mint']}(to: address, amount: uint256):
    {fam.check()}{cap}
    {fam.mint("to", "amount")}
""")
    if "public_sale" in f:
        functions.append(f"""
@external
@payable
def {n['sale']}():
    assert msg.value > 0, "token: send ETH to buy"
    {fam.mint("msg.sender", "msg.value * 1000")}
""")
    if "burn" in f:
        functions.append(f"""
@external
def {n['burn']}(amount: uint256):
    {fam.burn("msg.sender", "amount")}
""")

    # ---- ETH
    holds_eth = any(k in f for k in ("open_withdraw", "owner_withdraw", "deposits", "public_sale"))
    if holds_eth:
        functions.append("""
@external
@payable
def __default__():
    pass
""")
    if "open_withdraw" in f:
        if f["open_withdraw"] == "all_to_caller":
            functions.append(f"""
@external
def {n['withdraw']}():
    send(msg.sender, self.balance)
""")
        else:
            functions.append(f"""
@external
def {n['withdraw']}(to: address, amount: uint256):
    raw_call(to, b"", value=amount)
""")
    if "owner_withdraw" in f:
        name = n["withdraw"] + "_all" if "open_withdraw" in f else n["withdraw"]
        functions.append(f"""
@external
def {name}():
    {fam.check()}
    send({fam.owner()}, self.balance)
""")
    if "deposits" in f:
        storage.append("deposits: public(HashMap[address, uint256])")
        name = n["withdraw"] + "_deposit" if ("open_withdraw" in f or "owner_withdraw" in f) else n["withdraw"]
        functions.append(f"""
@external
@payable
def {n['deposit']}():
    self.deposits[msg.sender] += msg.value


@external
def {name}(amount: uint256):
    self.deposits[msg.sender] -= amount
    send(msg.sender, amount)
""")

    # ---- calls out
    if "delegate_target" in f:
        storage.append("target: public(address)")
        functions.append(f"""
@external
def {n['target']}(new_target: address):
    {fam.check()}
    self.target = new_target


@external
def {n['execute']}(data: Bytes[1024]) -> Bytes[256]:
    return raw_call(self.target, data, max_outsize=256, is_delegate_call=True)
""")
    if "selfdestruct" in f:
        to = "msg.sender" if f["selfdestruct"] == "to_caller" else fam.owner()
        functions.append(f"""
@external
def {n['kill']}():
    {fam.check()}
    selfdestruct({to})
""")
    if "rescue" in f:
        head.append("from ethereum.ercs import IERC20")
        functions.append(f"""
@external
def {n['rescue']}(token: IERC20, amount: uint256):
    {fam.check()}
    extcall token.transfer(msg.sender, amount)
""")

    imports = [h for h in head if h.startswith("from")]
    rest = [h for h in head if not h.startswith("from")]
    parts = [HEADER, "\n".join(imports), "", "\n".join(rest), ""]
    if not fam.snek:
        parts.append(ERC20_EVENTS)
    parts += ["\n".join(storage), "", "@deploy", "def __init__():", "    " + "\n    ".join(init), ""]
    parts += functions
    return "\n".join(parts)
