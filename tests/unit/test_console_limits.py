"""The console's sign-in limits (services/gateway/console/security.py SignInLimits): per
client address per minute, attempts in flight, and a bounded memory of addresses."""

from services.gateway.console.security import SignInLimits


def test_an_address_gets_its_attempts_a_minute_and_then_waits():
    limits = SignInLimits(per_address=3)
    assert [limits.admit("10.0.0.1", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limits.admit("10.0.0.2", now=3)  # another address has its own
    assert not limits.admit("10.0.0.1", now=59.9)
    assert limits.admit("10.0.0.1", now=60.1)  # the first attempt is a minute old


def test_attempts_in_flight_are_bounded_and_released():
    limits = SignInLimits(at_once=2)
    first, second = limits.in_flight(), limits.in_flight()
    assert first is not None and second is not None and limits.in_flight() is None
    with first:
        pass
    third = limits.in_flight()
    assert third is not None
    with second, third:
        pass


def test_the_memory_of_addresses_is_bounded():
    limits = SignInLimits(per_address=1, addresses=2)
    assert limits.admit("a", now=0) and limits.admit("b", now=0) and limits.admit("c", now=0)
    assert limits.admit("a", now=1)  # forgotten: the oldest went when c came
    assert not limits.admit("c", now=1)
