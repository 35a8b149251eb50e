"""Creates what the services need before they start: the database, one role and schema per service,
the api's read-only grants, and every Kafka topic. Idempotent; run by `python -m shared.admin init`."""

import asyncio
import logging

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.settings import Settings
from shared.topics import TopicSpec, all_topics

log = logging.getLogger(__name__)

# service -> the schema it owns (the api owns none and reads registry and indicators)
OWNED_SCHEMAS = {
    "harvester": "harvest",
    "consolidator": "registry",
    "indicators": "indicators",
    "contributions": "contributions",
}
# Whose views (schema `<schema>_read`) each reader reads.
READ_VIEWS = {
    "registry": ("api",),
    "indicators": ("api",),
    "harvest": ("api",),
    "contributions": ("api", "harvester"),  # tokens, to check operators'
}


async def admin_connect(settings: Settings, database: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=settings.db_host,
        port=settings.db_port,
        user=settings.db_admin_user,
        password=settings.db_admin_password,
        database=database,
    )


async def bootstrap_database(settings: Settings) -> None:
    conn = await admin_connect(settings, "postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", settings.db_name):
            await conn.execute(f'CREATE DATABASE "{settings.db_name}"')
        for service in (*OWNED_SCHEMAS, "api"):
            role, password = settings.db_user_of(service), settings.db_password_of(service)
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(f"{verb} ROLE {role} LOGIN PASSWORD '{_quote(password)}'")
    finally:
        await conn.close()

    conn = await admin_connect(settings, settings.db_name)
    try:
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        # Trigram indexes for the lists' text searches (PostgreSQL's contrib; trusted: the database's
        # owner may create it). In public, where every service's migrations name it.
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        await conn.execute(f"GRANT {settings.db_user_of('api')} TO {settings.db_admin_user}")
        for service, schema in OWNED_SCHEMAS.items():
            role = settings.db_user_of(service)
            await conn.execute(f"GRANT {role} TO {settings.db_admin_user}")
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
        # Each owner publishes what others may read as views in `<schema>_read` (its migrations create
        # them); readers are granted those views, never the owner's tables (docs/architecture.md).
        for schema, readers in READ_VIEWS.items():
            owner = settings.db_user_of(_owner_of(schema))
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}_read AUTHORIZATION {owner}")
            for reader in (settings.db_user_of(r) for r in readers):
                await conn.execute(f"GRANT USAGE ON SCHEMA {schema}_read TO {reader}")
                await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema}_read TO {reader}")
                defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA"
                await conn.execute(f"{defaults} {schema}_read GRANT SELECT ON TABLES TO {reader}")
                # Databases made before the views granted readers the owner's tables: taken back.
                await conn.execute(f"REVOKE SELECT ON ALL TABLES IN SCHEMA {schema} FROM {reader}")
                await conn.execute(f"{defaults} {schema} REVOKE SELECT ON TABLES FROM {reader}")
                await conn.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {reader}")
    finally:
        await conn.close()


def _owner_of(schema: str) -> str:
    return next(service for service, owned in OWNED_SCHEMAS.items() if owned == schema)


def _quote(value: str) -> str:
    return value.replace("'", "''")


async def drop_database(settings: Settings) -> None:
    conn = await admin_connect(settings, "postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{settings.db_name}" WITH (FORCE)')
    finally:
        await conn.close()


async def ensure_topics(settings: Settings, *, timeout: float = 60.0) -> list[str]:
    """Create every topic that is missing, with its partitions and settings, and bring the settings
    of the existing ones up to date (a larger `max_event_bytes`, say); return the topics created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await _retry(admin.start, timeout)
    try:
        existing = set(await admin.list_topics())
        specs = {settings.topic(spec.name): spec for spec in all_topics()}
        missing = missing_topics(settings, existing)
        if missing:
            await admin.create_topics(missing)
        await _update_configs(admin, settings, {name: spec for name, spec in specs.items() if name in existing})
        return [t.name for t in missing]
    finally:
        await admin.close()


def missing_topics(settings: Settings, existing: set[str]) -> list[NewTopic]:
    """The topics to create: their partitions, settings and replicas (one per broker of a cluster of
    three: OBS_KAFKA_REPLICATION_FACTOR=3, docs/deployment.md)."""
    return [
        NewTopic(
            settings.topic(spec.name),
            spec.partitions,
            settings.kafka_replication_factor,
            topic_configs=spec.config(settings.max_event_bytes),
        )
        for spec in all_topics()
        if settings.topic(spec.name) not in existing
    ]


async def _update_configs(admin: AIOKafkaAdminClient, settings: Settings, specs: dict[str, TopicSpec]) -> None:
    """Give these existing topics the settings of their spec where they differ. (AlterConfigs sets a
    topic's whole configuration: each topic gets every setting of its spec, not just the ones changed.)"""
    if not specs:
        return
    wanted = {name: spec.config(settings.max_event_bytes) for name, spec in specs.items()}
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(config)) for name, config in wanted.items()
    ]
    current = {
        name: {entry[0]: entry[1] for entry in entries}
        for response in await admin.describe_configs(resources)
        for _error, _message, _type, name, entries in response.resources
    }
    stale = [ConfigResource(ConfigResourceType.TOPIC, name, config)
             for name, config in wanted.items() if current.get(name) != config]  # fmt: skip
    if stale:
        log.info("updating topic settings", extra={"topics": [r.name for r in stale]})
        refused = [
            f"{name}: {message or code}"
            for response in await admin.alter_configs(stale)
            for code, message, _type, name in response.resources
            if code
        ]
        if refused:  # Kafka answers each topic apart and raises for none
            raise RuntimeError(f"Kafka refused the topics' new settings: {'; '.join(refused)}")


async def _retry(start: "asyncio.Future[None] | object", timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await start()  # type: ignore[operator]
            return
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def delete_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [settings.topic(s.name) for s in all_topics() if settings.topic(s.name) in existing]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()
