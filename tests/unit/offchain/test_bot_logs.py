"""The worker bot's log: one line per step that did something, nothing per idle block."""

import logging

import pytest
from silverback.middlewares import SilverbackMiddleware
from taskiq import TaskiqMessage, TaskiqResult

from bots.runner import QuietTasks, quiet_task_logs
from offchain.worker import StepReport


@pytest.fixture
def ape_records():
    """What reaches the handlers of ape's logger (silverback logs through it), with the bot's filter on."""
    target = logging.getLogger("ape")
    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    target.addHandler(handler)
    level = target.level
    target.setLevel(logging.INFO)
    quiet_task_logs()
    yield records
    target.removeHandler(handler)
    target.setLevel(level)
    for f in [f for f in target.filters if isinstance(f, QuietTasks)]:
        target.removeFilter(f)


def block_task(number: int) -> TaskiqMessage:
    return TaskiqMessage(task_id=str(number), task_name="step", labels={"task_type": "user:new-block"},
                         args=[{"hash": f"0x{number:064x}", "number": number}], kwargs={})


def test_idle_blocks__silverback_task_lines__none_logged(ape_records):
    middleware = SilverbackMiddleware()
    for number in range(1, 6):
        message = middleware.pre_execute(block_task(number))
        middleware.post_execute(message, TaskiqResult(is_err=False, return_value=None, execution_time=0.004))
    assert [r.getMessage() for r in ape_records] == []


def test_failed_step__silverback_error_line__still_logged(ape_records):
    middleware = SilverbackMiddleware()
    message = middleware.pre_execute(block_task(7))
    middleware.post_execute(message, TaskiqResult(is_err=True, return_value=None, execution_time=0.004))
    assert [r.levelno for r in ape_records] == [logging.ERROR]
    assert ape_records[0].getMessage().startswith("step[block=0x")


def test_quiet_task_logs__installed_twice__one_filter(ape_records):
    quiet_task_logs()
    assert sum(isinstance(f, QuietTasks) for f in logging.getLogger("ape").filters) == 1


@pytest.mark.parametrize("report, line", [
    (StepReport(), ""),
    (StepReport(discovered=2, fetching=2), ""),  # inputs on their way: nothing done yet
    (StepReport(discovered=3, claimed=3, fulfilled=3, gas=1), "block 12: claimed 3, fulfilled 3"),
    (StepReport(finalized=100), "block 12: finalized 100"),
    (StepReport(rejected=1), "block 12: rejected 1"),
])
def test_report_line__step_report__one_line_only_when_something_happened(report, line):
    assert report.line(12) == line


def test_transient__connection_failures_wrapped_by_ape__waited_out_chain_refusals_not():
    import requests
    from ape.exceptions import ContractLogicError, ProviderError, VirtualMachineError

    from offchain.errors import transient

    timeout = requests.exceptions.ReadTimeout("HTTPConnectionPool(host='127.0.0.1', port=8545): Read timed out.")
    assert transient(timeout) and transient(ProviderError("node gone"))
    wrapped = VirtualMachineError(base_err=timeout)  # ape's wrapping while estimating gas
    assert transient(wrapped)
    try:
        try:
            raise timeout
        except OSError as exc:
            raise VirtualMachineError("estimate failed") from exc
    except VirtualMachineError as exc:
        assert transient(exc)
    assert not transient(ContractLogicError("InferenceMarket: caller is not an active worker"))
    assert not transient(ValueError("a bug"))
