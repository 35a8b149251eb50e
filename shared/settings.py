"""Settings read from environment variables (prefix OBS_), with the default local ports of the design."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("harvester", "consolidator", "indicators", "api", "contributions")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OBS_", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Prepended to every topic and consumer group: lets a test run share a broker with a running system.
    topic_prefix: str = ""
    # Copies of each topic created (existing topics keep theirs): 1 on one broker, 3 on a cluster.
    kafka_replication_factor: int = 1

    db_host: str = "127.0.0.1"
    db_port: int = 5432
    db_name: str = "observatoire"
    db_admin_user: str = "observatoire_admin"
    db_admin_password: str = "observatoire_admin"
    # Each service logs in with its own role, obs_<service>; the password defaults to the role name
    # for local runs and is set per role in production (OBS_DB_PASSWORD_<SERVICE>).
    db_password_harvester: str = "obs_harvester"
    db_password_consolidator: str = "obs_consolidator"
    db_password_indicators: str = "obs_indicators"
    db_password_api: str = "obs_api"
    db_password_contributions: str = "obs_contributions"
    db_pool_max_size: int = 10
    # The api's: a connection for each request in flight of 64 concurrent visitors' spares most of them
    # waiting for one (bench/README.md: p99 115 ms with 10, 76 ms with 24).
    api_db_pool_max_size: int = 24

    http_host: str = "127.0.0.1"
    api_port: int = 8000
    harvester_port: int = 8001
    consolidator_port: int = 8002
    indicators_port: int = 8003
    contributions_port: int = 8004
    simulator_port: int = 8090
    # Where the api forwards the paths other services own (None: 127.0.0.1 and their port).
    harvester_url: str | None = None
    contributions_url: str | None = None
    # Where the public reaches the Observatoire (https://observatoire.example.fr): the stable base of the
    # addresses its catalogue and data package give. None: the address each request came to.
    public_url: str | None = None

    # Harvesting private or loopback addresses is refused unless allowed (the simulated portals need it).
    allow_private_sources: bool = False
    harvest_concurrency: int = 8  # harvest runs at the same time, one per source at most
    # Politeness towards real portals: requests at a time to one host, least seconds between two
    # requests to one host, and a contact address named in the User-Agent (where to complain).
    harvest_per_host_concurrency: int = 2
    harvest_per_host_interval_seconds: float = 0.25
    harvest_contact_url: str | None = None
    # A dataset missing from its portal's complete runs for this long is withdrawn (udata waits 7 days).
    withdrawal_grace_seconds: float = 7 * 86400
    # The national portal(s), comma-separated: a dataset listed there is on "data.gouv.fr" for the
    # channel indicators; any other portal is local.
    national_portals: str = "https://www.data.gouv.fr"
    schedule_check_seconds: float = 30.0  # how often the scheduler looks for due sources
    # Public contributions: proposals one client may send per window (beyond: 429 with Retry-After).
    contributions_per_client: int = 20
    contributions_window_seconds: float = 3600.0
    # The proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated). The
    # contributions service believes the api, which forwards from 127.0.0.1 when run locally and from
    # the compose network under compose; the api believes the reverse proxies in front of it, none by
    # default. Anyone else is known by the address of its connection, whatever header it sends.
    contributions_trusted_proxies: str = "127.0.0.1,::1"
    api_trusted_proxies: str = ""

    # The inbox forgets events handled longer ago than this, twice the broker's retention of the
    # topics that delete (7 days): an event that can still be read again is still recognised.
    inbox_retention_days: float = 14.0

    # The largest event a service publishes or a topic accepts (Kafka's default is 1 MB): a dataset
    # listing some 150,000 files fits. Topics get it as `max.message.bytes`, producers as
    # `max_request_size`; an event above it is an item error of its harvest, or set aside by the outbox.
    max_event_bytes: int = 16 * 2**20

    # Dead-letter policy: attempts in process before a failing message goes to <topic>.dlq.
    max_attempts: int = 3
    retry_backoff_seconds: float = 0.2

    # The npm package @etalab/decoupage-administratif, installed by `make setup`.
    referentiel_path: Path = PROJECT_ROOT / "infra/referentiel/node_modules/@etalab/decoupage-administratif"

    # The map's geodata, built by `make setup` (infra/geodata/build.py), and the built front end.
    geodata_dir: Path = PROJECT_ROOT / "var/geodata"
    frontend_dir: Path = PROJECT_ROOT / "frontend/dist"
    # The yearly editions' files (shared/editions.py): written by the indicators service, served by the
    # api; both must see the same directory (a volume shared by their containers).
    editions_dir: Path = PROJECT_ROOT / "var/editions"

    # Full downloads (/api/v1/exports/) hold a database connection while the client reads: they have
    # their own connections, this many, so that slow downloads never take the lists' and cards'. A
    # download beyond them waits `export_wait_seconds` for one, then gets 503 with Retry-After; a
    # download's statement, or its transaction left idle by a client that stopped reading, ends
    # after `export_timeout_seconds`.
    export_connections: int = 4
    export_wait_seconds: float = 5.0
    export_timeout_seconds: float = 600.0

    log_level: str = "INFO"

    def port_of(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    def url_of(self, service: str) -> str:
        configured = getattr(self, f"{service}_url", None)
        return str(configured or f"http://127.0.0.1:{self.port_of(service)}").rstrip("/")

    def db_user_of(self, service: str) -> str:
        return f"obs_{service}"

    def db_password_of(self, service: str) -> str:
        return str(getattr(self, f"db_password_{service}"))

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group(self, service: str, topic: str) -> str:
        """One consumer group per service and topic, so a rebalance on one topic leaves the others be."""
        return f"{self.topic_prefix}{service}.{topic}"
