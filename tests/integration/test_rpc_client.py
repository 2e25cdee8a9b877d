"""shared.platform.rpc_client, the proxy per thread that the gateway and the CLI use, on the real
broker: timeouts are bounded and leave the thread's client usable, and each call carries
its own call id (the gateway's request id) to the service."""

import time

import pytest
from nameko.extensions import DependencyProvider

from shared.errors import ServiceUnavailable
from shared.platform.entrypoints import Rpc
from shared.platform.rpc_client import RpcClient
from tests.support import Running


class _CallIds(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return worker_ctx.call_id_stack


class Probe:
    name = "rpcprobe"
    call_ids = _CallIds()

    @Rpc.decorator
    def stack(self):
        return self.call_ids

    @Rpc.decorator
    def slow(self, seconds):
        time.sleep(seconds)
        return seconds


@pytest.fixture(scope="module")
def probe(base_settings):
    with Running(base_settings, Probe) as running:
        yield running


def test_timeouts_are_bounded_and_leave_the_thread_usable(probe):
    client = RpcClient(probe.settings, 0.5)
    try:
        for _ in range(5):
            started = time.monotonic()
            with pytest.raises(ServiceUnavailable):
                client.call("nowhere", "anything", {})
            waited = time.monotonic() - started  # bounded by the 0.5 s timeout, not hung
            assert waited < 3, f"a 0.5 s timeout took {waited:.1f} s"
        with pytest.raises(ServiceUnavailable):
            client.call("rpcprobe", "slow", {"seconds": 1.0})  # answers after the timeout
        assert client.call("rpcprobe", "slow", {"seconds": 0}) == 0  # same thread, works
        time.sleep(0.7)  # the late answer arrives meanwhile and is dropped
        assert client.call("rpcprobe", "slow", {"seconds": 0.1}) == 0.1
    finally:
        client.close()


def test_each_call_carries_its_own_call_id(probe):
    client = RpcClient(probe.settings, 5)
    try:
        first = client.call("rpcprobe", "stack", {}, call_id="gateway.req-1")
        second = client.call("rpcprobe", "stack", {}, call_id="gateway.req-2")
    finally:
        client.close()
    assert first[0] == "gateway.req-1" and second[0] == "gateway.req-2"
    assert first[-1].startswith("rpcprobe.stack.") and first[-1] != second[-1]
