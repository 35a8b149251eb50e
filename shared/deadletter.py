"""Dead-letter middleware: bounded retries, then `<topic>.dlq`, so a poison message never blocks its partition.

- A message that cannot be parsed or validated (bad JSON, unknown event type or schema version) is
  permanent: it goes to the dead-letter topic at once.
- Any other handler error is retried in process with exponential back-off, `max_attempts` in all,
  then dead-lettered.
- Infrastructure errors (PostgreSQL or the network down) are not the message's fault: they are
  re-raised so that the offset is not committed and the message is read again once the dependency
  is back. Nothing is dead-lettered, nothing is lost. A transaction that PostgreSQL rolled back
  because it met another one (a deadlock between two instances, a serialization failure, a lock
  timeout) is treated the same way: the message is read again and its transaction runs anew.
- A statement cancelled for outlasting its timeout is an outage only if PostgreSQL does not run a
  trivial statement at once afterwards (`DeadLetterPolicy.database`). If it does, the message is
  what is slow: read again, it would time out again for ever and hold its partition, so it is
  retried and dead-lettered like any other handler error.

The dead-letter record keeps the original key, value and headers and adds `x-error-type`,
`x-error-message`, `x-attempts`, `x-source-topic`, `x-source-partition`, `x-source-offset` and
`x-consumer-group`. `python -m shared.admin replay-dlq <topic>` publishes them back after a fix.
"""

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream import BaseMiddleware
from faststream.exceptions import IgnoredException
from pydantic import ValidationError

from shared import metrics
from shared.topics import dlq

log = logging.getLogger(__name__)

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    ValueError,
    TypeError,
    KeyError,
)
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TransactionRollbackError,  # deadlock detected, serialization failure
    asyncpg.exceptions.LockNotAvailableError,  # a lock timeout: contention, not the message's fault
)
INFRASTRUCTURE_PAUSE_SECONDS = 1.0
MAX_ERROR_MESSAGE = 2000


def is_infrastructure_error(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE_ERRORS) and not isinstance(exc, PERMANENT_ERRORS)


def is_timeout(exc: BaseException) -> bool:
    """asyncpg's own timeout, or PostgreSQL's statement_timeout."""
    return isinstance(exc, TimeoutError | asyncpg.QueryCanceledError)


class DeadLetterPolicy:
    """Holds what the middleware needs; `broker` is set once the broker exists (it publishes the DLQ).
    `database` says whether the service's PostgreSQL answers now (None: the service has none)."""

    def __init__(
        self,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        database: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.database = database
        self.broker: Any = None

    async def is_outage(self, exc: BaseException) -> bool:
        """Whether `exc` says a dependency is down (the message is read again once it is back) rather
        than that the message failed: a timeout while PostgreSQL answers is the message's failure."""
        if not is_infrastructure_error(exc):
            return False
        return not (is_timeout(exc) and self.database is not None and await self.database())

    def pause_after(self, failed_attempts: int) -> float:
        """Seconds to wait before the next attempt: exponential back-off with jitter."""
        return float(self.backoff_seconds * 2 ** (failed_attempts - 1) * (0.5 + random.random()))

    def __call__(self, msg: Any, /, *, context: Any) -> "DeadLetterMiddleware":
        return DeadLetterMiddleware(msg, context=context, policy=self)


class DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy
        self.attempts = 0

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        while True:
            self.attempts += 1
            try:
                return await call_next(msg)
            except PERMANENT_ERRORS:
                raise
            except Exception as exc:
                if self.attempts >= self.policy.max_attempts or await self.policy.is_outage(exc):
                    raise
                log.warning("handler failed; retrying", extra={"error": repr(exc)[:MAX_ERROR_MESSAGE]})
                for record in _records(self.msg):
                    metrics.EVENTS_RETRIED.labels(topic=record.topic).inc()
                await asyncio.sleep(self.policy.pause_after(self.attempts))

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_val is None or isinstance(exc_val, IgnoredException) or not isinstance(exc_val, Exception):
            return False
        if await self.policy.is_outage(exc_val):
            log.warning("infrastructure error; message will be read again", extra={"error": repr(exc_val)})
            await asyncio.sleep(INFRASTRUCTURE_PAUSE_SECONDS)
            return False
        await self._dead_letter(exc_val)
        return True  # handled: the offset is committed and the partition moves on

    async def _dead_letter(self, exc: BaseException) -> None:
        group = getattr(self.context.get("handler_"), "group_id", None) or ""
        for record in _records(self.msg):
            await dead_letter(self.policy.broker, record, exc, attempts=max(self.attempts, 1), group=group)


async def dead_letter(broker: Any, record: ConsumerRecord, exc: BaseException, *, attempts: int, group: str) -> None:
    """Publish `record` to its topic's dead-letter topic with the error, and count it."""
    headers = {k: (v or b"").decode(errors="replace") for k, v in (record.headers or ())}
    headers.update(
        {
            "x-error-type": type(exc).__name__,
            "x-error-message": str(exc)[:MAX_ERROR_MESSAGE],
            "x-attempts": str(attempts),
            "x-source-topic": record.topic,
            "x-source-partition": str(record.partition),
            "x-source-offset": str(record.offset),
            "x-consumer-group": group,
        }
    )
    await broker.publish(record.value or b"", dlq(record.topic), key=record.key, headers=headers)
    metrics.EVENTS_DEAD_LETTERED.labels(topic=record.topic, error_type=type(exc).__name__).inc()
    log.error(
        "message dead-lettered",
        extra={
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "error_type": type(exc).__name__,
            "error": str(exc)[:500],
        },
    )


def _records(msg: Any) -> tuple[ConsumerRecord, ...]:
    return tuple(msg) if isinstance(msg, tuple | list) else (msg,)
