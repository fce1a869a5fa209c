"""docs/formats.md against the code: every key, default, column, reason and size it names."""
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from ingest import codec, recording
from ingest.asterix import REJECT_REASONS as ASTERIX_REJECT_REASONS
from ingest.gate import FRAME_REJECT_REASONS
from ingest.schema import PLOT_COLUMNS, PLOT_DTYPE, TRACK_COLUMNS, TRACK_ROW_DTYPE, TRUTH_DTYPE
from radarcore.core import config
from radarcore.core.engine import REJECT_REASONS as ENGINE_REJECT_REASONS

ROOT = Path(__file__).resolve().parent.parent
FORMATS = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
DESIGN = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def field_names(cls):
    names = getattr(cls, "__struct_fields__", None)
    return list(names) if names is not None else [f.name for f in dataclasses.fields(cls)]


def section_rows(heading):
    """``{key: [cells...]}`` of the first Markdown table after ``heading``."""
    start = FORMATS.index(heading)
    ends = [FORMATS.find(mark, start + len(heading)) for mark in ("\n### ", "\n## ")]
    end = min([e for e in ends if e >= 0], default=len(FORMATS))
    rows = {}
    for line in FORMATS[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z_0-9]+)`", cells[0]) if line.startswith("|") else None
        if match:
            rows[match.group(1)] = cells[1:]
    return rows


def documented_default(text):
    text = text.strip("`")
    if text in ("true", "false"):
        return text == "true"
    if text in ("none", "absent"):
        return None
    if text.startswith('"'):
        return text.strip('"')
    return float(text)


@pytest.mark.parametrize("heading, cls", [("### `[tracker]`", config.TrackerConfig),
                                          ("### `[alerts]`", config.AlertConfig),
                                          ("### `[service]`", config.ServiceConfig)])
def test_every_optional_table_key_is_documented_with_its_default(heading, cls):
    rows = section_rows(heading)
    defaults = cls()
    undocumented = set(field_names(cls)) - set(rows)
    assert not undocumented, f"{heading}: keys missing from docs/formats.md: {sorted(undocumented)}"
    for key in field_names(cls):
        cells = rows[key]
        expected = getattr(defaults, key)
        assert documented_default(cells[1]) == expected, f"{heading} {key}: {cells[1]} != {expected!r}"


@pytest.mark.parametrize("heading, cls, renamed", [
    ("### `[origin]`", config.Origin, {}),
    ("### `[[radar]]`", config.RadarConfig, {}),
    ("### `[[asset]]`", config.AssetConfig, {"zones": "zone"}),
    ("### `[[asset.zone]]`", config.ZoneConfig, {}),
])
def test_every_site_key_is_documented(heading, cls, renamed):
    rows = section_rows(heading)
    undocumented = {renamed.get(name, name) for name in field_names(cls)} - set(rows)
    assert not undocumented, f"{heading}: keys missing from docs/formats.md: {sorted(undocumented)}"


def test_columns_and_reasons_are_documented():
    for name in PLOT_COLUMNS + TRACK_COLUMNS + TRUTH_DTYPE.names + ("behaviour",):
        assert f"`{name}`" in FORMATS, name
    for reason in (ENGINE_REJECT_REASONS + FRAME_REJECT_REASONS + tuple(ASTERIX_REJECT_REASONS)):
        assert f"`{reason}`" in FORMATS, reason
    for event in ("raise", "escalate", "deescalate", "clear", "advisory", "acknowledge"):
        assert f"`{event}`" in FORMATS, event
    for value in config.ZONE_LEVELS + config.TRACK_CLASSES + config.RADAR_MODES + config.PLOT_SOCKETS:
        assert f'"{value}"' in FORMATS or f"`{value}`" in FORMATS, value


def test_byte_layouts_match_the_codecs():
    assert codec.PLOT_HEADER_SIZE == 40 and "Part 0, header, 40 bytes" in FORMATS
    assert codec.TRACK_HEADER_SIZE == 24 and "Track header, 24 bytes" in FORMATS
    assert f"`count × {PLOT_DTYPE.itemsize}` bytes" in FORMATS
    assert f"`count × {TRACK_ROW_DTYPE.itemsize}` bytes" in FORMATS
    for magic in (codec.PLOT_MAGIC, codec.TRACK_MAGIC):
        assert f"`{magic.decode()}`" in FORMATS
    assert "`RCREC\\x00\\x00\\x01`" in FORMATS and recording.RECORDING_MAGIC == b"RCREC\x00\x00\x01"
    assert recording.FILE_HEADER_SIZE == 16 and "File header, 16 bytes" in FORMATS
    for topic in (codec.TOPIC_TRACKS, codec.TOPIC_ALERTS, codec.TOPIC_STATS, codec.TOPIC_CAT062):
        assert f"| `{topic.decode()}` |" in FORMATS
    assert np.dtype(PLOT_DTYPE).names == PLOT_COLUMNS


def test_readme_points_into_the_repository():
    assert "../shared" not in README
    assert "docs/formats.md" in README and "docs/design.md" in README
    assert "formats.md" in DESIGN
