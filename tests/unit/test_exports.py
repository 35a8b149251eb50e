"""The CSV of the exports: the machine form by default, the French form for spreadsheets."""

import csv
import io

from services.api.exports import CsvWriter

ROW = {"id": "COM-29232", "name": "=Quimper", "type": "COM", "population": 63_283, "obligated": True,
       "publishes": False, "on_local_portal": 1, "open_format_share": 0.25, "siren": None}  # fmt: skip
COLUMNS = [
    "id",
    "name",
    "type",
    "population",
    "obligated",
    "publishes",
    "on_local_portal",
    "open_format_share",
    "siren",
]


def written(writer: CsvWriter, separator: str) -> list[list[str]]:
    text = (writer.header() + writer.rows([ROW])).decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=separator))


def test_the_machine_csv_keeps_codes_and_python_values():
    header, row = written(CsvWriter(COLUMNS, ","), ",")
    assert header == COLUMNS
    assert row == ["COM-29232", "'=Quimper", "COM", "63283", "True", "False", "1", "0.25", ""]


def test_the_french_csv_reads_as_a_french_spreadsheet_expects():
    header, row = written(CsvWriter(COLUMNS, ",", french=True), ";")
    assert header == ["Identifiant", "Nom", "Type", "Type (libellé)", "Population", "Obligée", "Publie",
                      "Sur un portail local", "Part en format ouvert", "SIREN"]  # fmt: skip
    assert row == ["COM-29232", "'=Quimper", "COM", "Commune", "63283", "Oui", "Non", "Oui", "0,25", ""]
