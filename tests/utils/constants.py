"""Units and defaults every test file uses: one home instead of a copy per file."""

ETH = 10**18  # wei
DAY = 86_400  # seconds
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

MIN_STAKE = 1_000 * ETH  # token wei a worker stakes in the test deployments
MODEL_PRICE = 10**15  # wei per inference (0.001 ETH)
