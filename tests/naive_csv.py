"""Slow references for the CSV files (ingest/_csvparse.py, ingest/csvio.py).

Reading with Python's csv module, float() and int(); writing one row at a
time with %-formatting.  Written from the file formats (docs/formats.md),
not from the kernels.
"""
import csv
import io
import math

from ingest.schema import PLOT_COLUMNS, REQUIRED_PLOT_COLUMNS, TRACK_COLUMNS, TRACK_STATUS_NAMES

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def reference_plots(text):
    """Parse plots.csv text with the csv module, float() and int().

    Returns ``(rows, bad_line_numbers)`` where each row is a tuple in
    PLOT_COLUMNS order.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = None
    rows, bad = [], []
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip(" \t")):
            continue
        if header is None:
            header = [cell.strip(" \t\ufeff") for cell in cells]
            continue
        if len(cells) != len(header):
            bad.append(reader.line_num)
            continue
        row = {name: math.nan for name in PLOT_COLUMNS}
        good = True
        for name, cell in zip(header, cells):
            if name not in PLOT_COLUMNS:
                continue
            cell = cell.strip(" \t")
            if "_" in cell:                     # float() and int() accept 1_000; the format does not
                good = False
            elif not cell:
                good = name not in REQUIRED_PLOT_COLUMNS
            elif name == "radar_id":
                try:
                    row[name] = int(cell)
                    good = INT64_MIN <= row[name] <= INT64_MAX
                except ValueError:
                    good = False
            else:
                try:
                    row[name] = float(cell)
                except ValueError:
                    good = False
            if not good:
                break
        if good:
            rows.append(tuple(row[name] for name in PLOT_COLUMNS))
        else:
            bad.append(reader.line_num)
    return rows, bad


def naive_plot_lines(plots):
    """One-row-at-a-time plots.csv writer."""
    formats = ("%.6f", "%d", "%.2f", "%.4f", "%.4f", "%.3f", "%.1f")
    lines = [",".join(PLOT_COLUMNS)]
    for row in plots.tolist():
        cells = []
        for name, fmt, value in zip(PLOT_COLUMNS, formats, row):
            if name in ("radial_velocity_mps", "snr_db") and math.isnan(value):
                cells.append("")
            else:
                cells.append(fmt % value)
        lines.append(",".join(cells))
    return "".join(line + "\n" for line in lines)


def naive_truth_rows(truth):
    formats = ("%.6f", "%d", "%.3f", "%.3f", "%.3f", "%.4f", "%.4f", "%.4f")
    return [[float(fmt % value) if fmt != "%d" else value
             for fmt, value in zip(formats, row[:-1])] + [row[-1].strip()]
            for row in truth.tolist()]


TRACK_FORMATS = dict(zip(TRACK_COLUMNS, ("%.3f", "%d", "%s", "%.2f", "%.2f", "%.2f", "%.3f",
                                          "%.3f", "%.3f", "%.8f", "%.8f", "%.2f", "%.2f")))


def naive_track_text(rows):
    lines = [",".join(TRACK_COLUMNS)]
    for row in rows:
        cells = []
        for name in TRACK_COLUMNS:
            value = row[name].item()
            if name == "status":
                cells.append(TRACK_STATUS_NAMES[value])
            elif name in ("lat_deg", "lon_deg", "alt_m", "sigma_pos_m") and math.isnan(value):
                cells.append("")
            else:
                cells.append(TRACK_FORMATS[name] % value)
        lines.append(",".join(cells))
    return "".join(line + "\n" for line in lines)
