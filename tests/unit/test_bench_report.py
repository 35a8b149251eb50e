"""`make bench`'s combined report: headlines gathered into one summary, failures shown, the docs'
report section replaced and nothing else."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import report
from bench.report import BEGIN, END, Outcome, render, update_docs
from bench.support import HEADLINE_PREFIX, Headline, print_headlines


def test_headlines_printed_by_a_benchmark_are_read_back(capsys: pytest.CaptureFixture[str]) -> None:
    headline = Headline("harvest", "5,296 datasets/s", "raw Kafka 52,322/s", "0.10", "≥ 5,000 datasets/s", True)
    print_headlines(headline)
    line = capsys.readouterr().out.strip()
    assert line.startswith(HEADLINE_PREFIX)
    assert Headline(**json.loads(line.removeprefix(HEADLINE_PREFIX))) == headline


def test_the_summary_lists_every_headline_and_every_failure() -> None:
    harvest = Outcome("harvest", ["--harvesters", "2"], 120.0, 0, ["| measure | value |", "|---|---|", "| a | b |"])
    harvest.headlines = [
        Headline("harvest rate", "5,296 datasets/s", "raw Kafka 52,322/s", "0.10", "≥ 5,000", True),
        Headline("consolidation ratio", "0.05", target="≥ 0.20", met=False),
    ]
    public = Outcome("public", [], 60.0, 1)
    text = render([harvest, public], datetime(2026, 11, 27, 21, 0, tzinfo=UTC))
    assert "| harvest | harvest rate | 5,296 datasets/s | raw Kafka 52,322/s | 0.10 | ≥ 5,000 | yes |" in text
    assert "| harvest | consolidation ratio | 0.05 | — | — | ≥ 0.20 | **no** |" in text
    assert "| public | **failed** (exit code 1; see its output) |" in text
    assert "`python -m bench.harvest --harvesters 2`, 2.0 minutes" in text
    assert "| a | b |" in text
    assert "3 minutes in all" in text


def test_the_docs_keep_their_text_around_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "performance.md"
    docs.write_text(f"# Performance\n\nHow to read it.\n\n{BEGIN}\nold report\n{END}\n\nAfter.\n")
    monkeypatch.setattr(report, "DOCS", docs)
    update_docs("new report\n")
    assert docs.read_text() == f"# Performance\n\nHow to read it.\n\n{BEGIN}\nnew report\n{END}\n\nAfter.\n"
