"""The Observatoire's tables as files: their columns, their French headers, how a cell is written,
and the Frictionless Table Schemas that describe them (the data package lists them).

The api's exports and the yearly editions the indicators service writes share them. Each schema
describes the machine CSV (`,` between cells, the column names as headers, lists joined by `|`), not
the French spreadsheet form (`lang=fr`), whose headers are FRENCH_HEADERS. Pure.
"""

import json
from collections.abc import Iterable
from typing import Any

from shared.vocabulary import LICENCES, ORGANIZATION_TYPES

# The French CSV (`lang=fr`) is for people with a spreadsheet: ";" between cells, French headers,
# Oui/Non, decimal commas, the type's label beside its code. The default CSV stays the machine form.
TYPE_LABELS = {
    "REG": "Région", "DEP": "Département", "COLOM": "Collectivité d'outre-mer", "MET": "Métropole",
    "CU": "Communauté urbaine", "CA": "Communauté d'agglomération", "CC": "Communauté de communes",
    "EPT": "Établissement public territorial", "COM": "Commune", "AGCT": "Agence", "OACT": "Office",
    "DSPT": "Délégataire",
}  # fmt: skip
FRENCH_HEADERS = {
    "id": "Identifiant", "siren": "SIREN", "name": "Nom", "type": "Type", "type_label": "Type (libellé)",
    "insee_code": "Code INSEE", "departement": "Département", "region": "Région", "epci": "Intercommunalité (SIREN)",
    "population": "Population", "obligated": "Obligée", "council_id": "Conseil", "datasets": "Jeux de données",
    "publishes": "Publie", "platforms": "Portails", "on_local_portal": "Sur un portail local",
    "on_national_portal": "Sur data.gouv.fr", "open_format_share": "Part en format ouvert",
    "open_licence_share": "Part sous licence ouverte", "fresh_share": "Part mise à jour dans l'année",
    "schema_share": "Part avec un schéma", "scdl_schemas": "Schémas SCDL", "organization_id": "Organisation",
    "title": "Titre", "licence": "Licence", "formats": "Formats", "schemas": "Schémas", "themes": "Thèmes",
    "created": "Créé le", "modified": "Modifié le", "portals": "Portails", "sources": "Fiches sur les portails",
    "scope": "Portée", "computed_at": "Calculé le", "since_edition": "Depuis l'édition",
    "entered_since_edition": "Entrées depuis l'édition", "left_since_edition": "Sorties depuis l'édition",
    "url": "Adresse", "technology": "Technologie", "typology": "Typologie",
    "organizations_hosted": "Organisations hébergées", "source_id": "Source", "status": "Moissonnage",
    "reuses": "Réutilisations", "reused_share": "Part réutilisée", "data_requests_url": "Demandes de données",
    "carrier_id": "Porteur", "carrier_name": "Porteur (nom)", "carrier_type": "Porteur (type)",
}  # fmt: skip


EXPORT_INDICATORS = (
    "platforms",
    "on_local_portal",
    "on_national_portal",
    "open_format_share",
    "open_licence_share",
    "fresh_share",
    "schema_share",
    "scdl_schemas",
    "reuses",
    "reused_share",
)


ORGANIZATION_COLUMNS = [
    "id", "siren", "name", "type", "insee_code", "departement", "region", "epci", "population", "obligated",
    "council_id", "datasets", "publishes", *EXPORT_INDICATORS,
]  # fmt: skip


DATASET_COLUMNS = ["id", "organization_id", "title", "licence", "formats", "schemas", "themes", "created",
                   "modified", "portals", "sources"]  # fmt: skip


def csv_cell(value: Any) -> Any:
    """Lists joined, nested objects as JSON; text that a spreadsheet would run as a formula is quoted
    with a leading apostrophe (CSV injection)."""
    if isinstance(value, list):
        value = "|".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


Field = dict[str, Any]

SIREN = r"^[0-9]{9}$"
DEPARTEMENT = r"^([0-9]{2,3}|2[AB])$"  # 35, 2A, 974
INSEE_CODE = r"^([0-9]{2,3}|2[AB]|([0-9]{2}|2[AB])[0-9]{3})$"  # a région's, a département's or a commune's
LISTED = "Valeurs séparées par « | »."
SHARE = {"minimum": 0, "maximum": 1}
COUNT = {"minimum": 0}
LICENCE = "Licence Ouverte / Open Licence version 2.0"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def field(name: str, type_: str, description: str, **constraints: Any) -> Field:
    described: Field = {
        "name": name,
        "type": type_,
        "title": FRENCH_HEADERS.get(name, name),
        "description": description,
    }
    if type_ == "boolean":
        described |= {"trueValues": ["True"], "falseValues": ["False"]}
    if type_ == "datetime":  # ISO 8601, with or without its time zone's offset
        described["format"] = "any"
    if constraints:
        described["constraints"] = constraints
    return described


ORGANIZATION_FIELDS: dict[str, Field] = {f["name"]: f for f in (
    field("id", "string", "Identifiant de l'organisation dans l'Observatoire : son SIREN, ou à défaut un identifiant "
          "construit sur le code officiel géographique (REG-53, DEP-2A, COM-98818).", required=True, unique=True),
    field("siren", "string", "Numéro SIREN de l'organisation.", pattern=SIREN),
    field("name", "string", "Nom de l'organisation.", required=True),
    field("type", "string", "Type d'organisation : COM commune, CC, CA, CU communautés, MET métropole, EPT "
          "établissement public territorial, DEP département, REG région, COLOM collectivité d'outre-mer, AGCT "
          "agence ou syndicat, OACT office, DSPT délégataire.", enum=list(ORGANIZATION_TYPES)),
    field("insee_code", "string", "Code officiel géographique (INSEE) de la commune, du département ou de la région.",
          pattern=INSEE_CODE),
    field("departement", "string", "Code du département.", pattern=DEPARTEMENT),
    field("region", "string", "Code de la région (ou de la collectivité d'outre-mer).", pattern=r"^[0-9]{2,3}$"),
    field("epci", "string", "SIREN de l'intercommunalité à fiscalité propre dont la commune est membre.",
          pattern=SIREN),
    field("population", "integer", "Population municipale ou totale, selon le référentiel.", **COUNT),
    field("obligated", "boolean", "Soumise à l'obligation d'ouverture des données (plus de 3 500 habitants et au "
          "moins 50 agents, article L. 312-1-1 du CRPA) ; vide quand cela ne peut être décidé."),
    field("council_id", "string", "Identifiant de l'organisation qui représente le conseil, quand un conseil sert "
          "plusieurs entrées du code géographique (Ville de Paris, Collectivité de Corse...)."),
    field("datasets", "integer", "Jeux de données publiés et non retirés.", required=True, **COUNT),
    field("publishes", "boolean", "Publie au moins un jeu de données.", required=True),
    field("platforms", "integer", "Portails distincts où ses jeux de données sont publiés.", **COUNT),
    field("on_local_portal", "number", "1 quand au moins un jeu de données est sur un portail local.", enum=[0, 1]),
    field("on_national_portal", "number", "1 quand au moins un jeu de données est sur data.gouv.fr.", enum=[0, 1]),
    field("open_format_share", "number", "Part des jeux de données ayant une ressource dans un format ouvert "
          "lisible par machine (csv, json, geojson, xml, ods, kml, gml, gtfs, shp, wfs).", **SHARE),
    field("open_licence_share", "number", "Part des jeux de données sous licence ouverte.", **SHARE),
    field("fresh_share", "number", "Part des jeux de données modifiés dans les 365 derniers jours.", **SHARE),
    field("schema_share", "number", "Part des jeux de données dont une ressource déclare un schéma.", **SHARE),
    field("scdl_schemas", "integer", "Schémas du socle commun des données locales (SCDL) distincts parmi ses jeux "
          "de données.", **COUNT),
    field("reuses", "integer", "Réutilisations distinctes listées par les portails avec au moins un de ses jeux "
          "de données.", **COUNT),
    field("reused_share", "number", "Part de ses jeux de données utilisés par au moins une réutilisation.", **SHARE),
)}  # fmt: skip

DATASET_FIELDS: list[Field] = [
    field("id", "string", "Identifiant du jeu de données dans l'Observatoire (le même sur tous les portails qui "
          "le publient).", required=True, unique=True),
    field("organization_id", "string", "Identifiant de l'organisation qui le publie ; vide quand l'éditeur n'a "
          "pas été reconnu."),
    field("title", "string", "Titre.", required=True),
    field("licence", "string", "Licence, normalisée.", enum=list(LICENCES)),
    field("formats", "string", f"Formats de ses ressources. {LISTED}"),
    field("schemas", "string", f"Schémas déclarés par ses ressources. {LISTED}"),
    field("themes", "string", f"Thèmes (liste d'Open Data France). {LISTED}"),
    field("created", "datetime", "Date de création selon le portail."),
    field("modified", "datetime", "Date de dernière modification selon le portail."),
    field("portals", "string", f"Adresses des portails qui le publient. {LISTED}"),
    field("sources", "integer", "Fiches qui le décrivent sur les portails (non retirées).", **COUNT),
]  # fmt: skip

PLATFORM_FIELDS: list[Field] = [
    field("url", "string", "Adresse du portail.", required=True, unique=True),
    field("name", "string", "Nom du portail."),
    field("technology", "string", "Logiciel du portail (udata, OpenDataSoft, CKAN...)."),
    field("typology", "string", "Typologie du portail selon Open Data France."),
    field("organizations_hosted", "integer", "Organisations dont il publie des jeux de données.", **COUNT),
    field("datasets", "integer", "Jeux de données publiés.", **COUNT),
    field("source_id", "string", "Identifiant de la source moissonnée par l'Observatoire."),
    field("status", "string", "État du dernier moissonnage."),
    field("departement", "string", "Département du portail.", pattern=DEPARTEMENT),
    field("carrier_id", "string", "Identifiant de l'organisation qui porte le portail."),
    field("carrier_name", "string", "Nom de l'organisation qui porte le portail."),
    field("carrier_type", "string", "Type de l'organisation qui porte le portail.", enum=list(ORGANIZATION_TYPES)),
    field("data_requests_url", "string", "Adresse où demander l'ouverture de données."),
]  # fmt: skip

# Families of the indicators' columns ("theme:Transport"), with what each column of the family counts.
INDICATOR_FAMILIES = {
    "audience": "Audience selon le logiciel du portail ({})",
    "platform_technology": "Portails utilisant la technologie {}",
    "platform_typology": "Portails de la typologie {}",
    "population_bin": "Organisations qui publient, de la tranche de population {}",
    "technology": "Conseils qui publient sur un portail {}",
    "technology_datasets": "Jeux de données publiés sur un portail {}",
    "theme": "Jeux de données du thème {}",
    "type": "Organisations qui publient, du type {}",
    "typology": "Conseils qui publient sur un portail de la typologie {}",
}


def organizations_schema() -> dict[str, Any]:
    return {
        "fields": [ORGANIZATION_FIELDS[c] for c in ORGANIZATION_COLUMNS],
        "primaryKey": ["id"],
        "missingValues": [""],
    }


def datasets_schema(columns: list[str] = DATASET_COLUMNS) -> dict[str, Any]:
    """The datasets' schema, for these of its columns (a yearly edition has fewer)."""
    described = {f["name"]: f for f in DATASET_FIELDS}
    return {
        "fields": [described[c] for c in columns],
        "primaryKey": ["id"],
        "missingValues": [""],
        "foreignKeys": [{"fields": ["organization_id"], "reference": {"resource": "organizations", "fields": ["id"]}}],
    }


def platforms_schema() -> dict[str, Any]:
    return {"fields": PLATFORM_FIELDS, "primaryKey": ["url"], "missingValues": [""]}


def indicators_schema(columns: Iterable[str]) -> dict[str, Any]:
    """The schema of an indicators export, whose columns are the indicators computed for the scope."""
    head = [
        field("scope", "string", "Portée des indicateurs.",
              enum=["national", "region", "departement", "type", "organization", "platform"]),
        field("id", "string", "Identifiant dans la portée : code de la région ou du département, type "
              "d'organisation, identifiant de l'organisation, adresse du portail, « FR » pour la France.",
              required=True),
        field("computed_at", "datetime", "Date du calcul."),
    ]  # fmt: skip
    return {
        "fields": [*head, *(indicator_field(c) for c in columns if c not in {"scope", "id", "computed_at"})],
        "primaryKey": ["scope", "id"],
        "missingValues": [""],
    }


def indicator_field(name: str) -> Field:
    family, _, member = name.partition(":")
    if member and family in INDICATOR_FAMILIES:
        return field(name, "number", INDICATOR_FAMILIES[family].format(member) + ".")
    known = ORGANIZATION_FIELDS.get(name)
    description = known["description"] if known else "Indicateur défini dans la documentation de l'Observatoire."
    return field(name, "number", description)


def datapackage(base_url: str) -> dict[str, Any]:
    """The data package of the Observatoire's exports: each CSV with its schema's address."""
    exports = f"{base_url}/api/v1/exports"

    def resource(name: str, path: str, schema: str, title: str) -> dict[str, Any]:
        return {
            "name": name, "title": title, "path": f"{exports}/{path}", "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8-sig", "schema": f"{exports}/{schema}",
        }  # fmt: skip

    return {
        "name": "observatoire-open-data-des-territoires",
        "title": "Observatoire de l'open data des territoires",
        "description": "Les organisations (collectivités et leurs groupements) et leurs jeux de données ouverts, "
        "dédoublonnés entre portails, avec les indicateurs de l'Observatoire.",
        "homepage": base_url,
        "licenses": [{"name": "etalab-2.0", "path": LICENCE_URL, "title": LICENCE}],
        "resources": [
            resource("organizations", "organizations.csv", "organizations.schema.json", "Organisations"),
            resource("datasets", "datasets.csv", "datasets.schema.json", "Jeux de données"),
            resource("platforms", "platforms.csv", "platforms.schema.json", "Portails"),
            *(
                resource(
                    f"indicators-{scope}",
                    f"indicators.csv?scope={scope}",
                    f"indicators.schema.json?scope={scope}",
                    f"Indicateurs ({label})",
                )
                for scope, label in (("national", "France"), ("region", "régions"), ("departement", "départements"))
            ),
        ],
    }
