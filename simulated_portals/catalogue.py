"""Generated catalogues: organisations and datasets, deterministic for a given seed."""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.identifiers import with_luhn_digit

THEMES = ("Transports", "Environnement", "Urbanisme", "Culture", "Finances", "Citoyenneté", "Santé", "Éducation")
SUBJECTS = (
    "Horaires des bus",
    "Qualité de l'air",
    "Plan local d'urbanisme",
    "Équipements sportifs",
    "Budget primitif",
    "Délibérations du conseil",
    "Défibrillateurs",
    "Marchés publics",
    "Arrêts de transport",
    "Bornes de recharge",
    "Menus des cantines",
    "Subventions aux associations",
)
FORMATS = ("csv", "CSV", "json", "geojson", "xlsx", "pdf", "shp", "zip")
LICENCES = ("fr-lo", "lov2", "odc-odbl", "cc-by", "notspecified")
SCHEMAS = (None, None, None, ("scdl/budget", "0.8.1"), ("etalab/schema-irve-statique", "2.3.1"))


@dataclass
class SimOrganization:
    id: str  # udata ObjectId (24 hex)
    name: str
    siret: str | None


@dataclass
class SimDataset:
    id: str
    title: str
    description: str
    organization: SimOrganization
    licence: str
    tags: list[str]
    resources: list[dict[str, object]]
    created_at: datetime
    last_modified: datetime
    harvest: dict[str, str] | None = None


@dataclass
class Catalogue:
    organizations: list[SimOrganization] = field(default_factory=list)
    datasets: list[SimDataset] = field(default_factory=list)

    def organization(self, org_id: str) -> SimOrganization | None:
        return next((o for o in self.organizations if o.id == org_id), None)


def siret_for(siren_prefix: str, establishment: str = "00012") -> str:
    return with_luhn_digit(siren_prefix) + establishment


def generate(seed: int, organizations: list[tuple[str, str | None]], datasets_per_org: int) -> Catalogue:
    """`organizations` are (name, SIRET or None); each gets `datasets_per_org` datasets."""
    rng = random.Random(seed)
    catalogue = Catalogue()
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for name, siret in organizations:
        org = SimOrganization(id=f"{rng.getrandbits(96):024x}", name=name, siret=siret)
        catalogue.organizations.append(org)
        for _ in range(datasets_per_org):
            subject = rng.choice(SUBJECTS)
            created = base + timedelta(days=rng.randrange(0, 600))
            schema = rng.choice(SCHEMAS)
            dataset_id = f"{rng.getrandbits(96):024x}"
            catalogue.datasets.append(
                SimDataset(
                    id=dataset_id,
                    title=f"{subject} - {name}",
                    description=f"Jeu de données « {subject.lower()} » publié par {name}.",
                    organization=org,
                    licence=rng.choice(LICENCES),
                    tags=rng.sample([t.lower() for t in THEMES], 2),
                    resources=[
                        {
                            "id": f"{rng.getrandbits(128):032x}",
                            "format": rng.choice(FORMATS),
                            "url": f"https://static.example.invalid/{dataset_id}/{n}",
                            "schema": {"name": schema[0], "version": schema[1]}
                            if schema
                            else {"name": None, "version": None, "url": None},
                        }
                        for n in range(rng.randint(1, 3))
                    ],
                    created_at=created,
                    last_modified=created + timedelta(days=rng.randrange(0, 300)),
                )
            )
    return catalogue
