import json

import asyncpg
from pydantic import BaseModel, ValidationError

from shared.deadletter import PERMANENT_ERRORS, is_infrastructure_error


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
