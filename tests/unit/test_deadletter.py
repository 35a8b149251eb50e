import json
from collections.abc import Callable

import asyncpg
import pytest
from pydantic import BaseModel, ValidationError

from shared.batch import handle_isolating_poison
from shared.deadletter import PERMANENT_ERRORS, DeadLetterPolicy, is_infrastructure_error


class Model(BaseModel):
    x: int


def validation_error() -> ValidationError:
    try:
        Model.model_validate({"x": "nope"})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


def test_a_database_or_network_outage_is_not_the_message_fault():
    assert is_infrastructure_error(ConnectionRefusedError())
    assert is_infrastructure_error(asyncpg.CannotConnectNowError("starting up"))
    assert is_infrastructure_error(TimeoutError())


def test_a_transaction_rolled_back_against_another_one_is_not_the_message_fault():
    assert is_infrastructure_error(asyncpg.DeadlockDetectedError("deadlock detected"))
    assert is_infrastructure_error(asyncpg.SerializationError("could not serialize access"))
    assert is_infrastructure_error(asyncpg.LockNotAvailableError("canceling statement due to lock timeout"))


def test_bad_messages_are_permanent_errors():
    for exc in (validation_error(), json.JSONDecodeError("x", "doc", 0), ValueError("bad")):
        assert isinstance(exc, PERMANENT_ERRORS)
        assert not is_infrastructure_error(exc)


def test_other_handler_errors_are_retried_then_dead_lettered():
    exc = asyncpg.UniqueViolationError("duplicate key")
    assert not is_infrastructure_error(exc)
    assert not isinstance(exc, PERMANENT_ERRORS)


class Batch:
    """A batch handler that, like a transaction, applies all of its events or none: it fails with
    `error()` while an event of the batch has failures left (`failures`: event -> how many times it
    fails). By default the error of a value PostgreSQL refuses."""

    def __init__(
        self,
        failures: dict[int, int],
        error: Callable[[], Exception] = lambda: asyncpg.CharacterNotInRepertoireError(
            'invalid byte sequence for encoding "UTF8": 0x00'
        ),
    ) -> None:
        self.failures, self.transactions, self.error = dict(failures), 0, error
        self.applied: list[int] = []

    async def handle(self, events) -> int:
        self.transactions += 1
        if failing := [e for e in events if self.failures.get(e)]:
            for event in failing:
                self.failures[event] -= 1
            raise self.error()
        self.applied += events
        return len(events)


async def isolate(batch: Batch, events: list[int]) -> list[tuple[int, int]]:
    dead: list[tuple[int, int]] = []

    async def dead_letter_one(event, exc, attempts) -> None:
        assert "0x00" in str(exc)
        dead.append((event, attempts))

    await handle_isolating_poison(batch.handle, events, dead_letter_one, DeadLetterPolicy(3, backoff_seconds=0))
    return dead


async def test_an_event_the_handler_cannot_apply_is_dead_lettered_alone_and_the_rest_applied_in_order():
    batch = Batch({13: 1000, 40: 1000})
    dead = await isolate(batch, list(range(64)))
    assert dead == [(13, 3), (40, 3)]
    assert batch.applied == [e for e in range(64) if e not in (13, 40)]
    assert batch.transactions < 40  # halves: about 2 log2(64) per poison event, not one per event


async def test_an_event_that_fails_for_a_while_is_applied_on_a_later_attempt():
    batch = Batch({5: 4})  # its batch, the halves that hold it, then once alone
    assert await isolate(batch, list(range(8))) == []
    assert batch.applied == list(range(8))


async def test_a_database_outage_fails_the_whole_batch_to_be_read_again():
    async def down(events) -> int:
        raise ConnectionRefusedError()

    async def never(*_) -> None:
        raise AssertionError("nothing is dead-lettered when the database is down")

    with pytest.raises(ConnectionRefusedError):
        await handle_isolating_poison(down, [1, 2, 3], never, DeadLetterPolicy(3, backoff_seconds=0))


async def test_a_batch_that_outlasts_its_statement_timeout_while_the_database_answers_is_halved_to_the_slow_event():
    batch, dead = Batch({21: 1000}, error=TimeoutError), []  # a statement slower than its timeout

    async def dead_letter_one(event, exc, attempts) -> None:
        dead.append((event, type(exc).__name__, attempts))

    async def answers() -> bool:
        return True

    await handle_isolating_poison(batch.handle, list(range(32)), dead_letter_one, DeadLetterPolicy(3, 0, answers))
    assert dead == [(21, "TimeoutError", 3)]
    assert batch.applied == [e for e in range(32) if e != 21]


async def test_a_timeout_while_the_database_does_not_answer_is_an_outage_and_the_batch_is_read_again():
    batch = Batch({2: 1000}, error=TimeoutError)

    async def silent() -> bool:
        return False

    async def never(*_) -> None:
        raise AssertionError("nothing is dead-lettered when the database does not answer")

    with pytest.raises(TimeoutError):
        await handle_isolating_poison(batch.handle, [1, 2, 3], never, DeadLetterPolicy(3, 0, silent))
    assert batch.applied == [] and batch.transactions == 1
