"""Tests of ingest.csvio against Python's csv module, float() and %-formatting."""
import csv
import io
import math
import os
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.csvio import (
    CsvReadResult,
    TrackCsvWriter,
    iter_plots_csv,
    read_plots_csv,
    read_tracks_csv,
    read_truth_csv,
    write_plots_csv,
    write_truth_csv,
)
from ingest.schema import (
    PLOT_COLUMNS,
    PLOT_DTYPE,
    REQUIRED_PLOT_COLUMNS,
    TRACK_COLUMNS,
    TRACK_ROW_DTYPE,
    TRACK_STATUS_NAMES,
    TRUTH_DTYPE,
)
from naive_csv import (
    TRACK_FORMATS, INT64_MAX, INT64_MIN, naive_plot_lines, naive_track_text, naive_truth_rows,
    reference_plots)

HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])


# --------------------------------------------------------------------------
# Helpers


def assert_same_floats(actual, expected, what=""):
    """Identical float64 bits, or NaN in both."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, what
    both_nan = np.isnan(actual) & np.isnan(expected)
    same = actual.view(np.int64) == expected.view(np.int64)
    mismatch = np.flatnonzero(~(same | both_nan))
    assert mismatch.size == 0, (
        f"{what}: {mismatch.size} mismatches, first at {mismatch[0]}: "
        f"{actual[mismatch[0]]!r} != {expected[mismatch[0]]!r}")


def assert_plots_equal(plots, rows):
    assert plots.dtype == PLOT_DTYPE
    assert len(plots) == len(rows)
    for k, name in enumerate(PLOT_COLUMNS):
        column = [row[k] for row in rows]
        if name == "radar_id":
            assert plots[name].tolist() == column
        else:
            assert_same_floats(plots[name], column, name)


def write_text(path, text):
    with open(path, "w", newline="", encoding="utf-8") as file:
        file.write(text)
    return path


# --------------------------------------------------------------------------
# Generated files


def _float_texts():
    finite = st.floats(allow_nan=False, allow_infinity=False)
    digits = st.text("0123456789", min_size=1, max_size=22)
    return st.one_of(
        finite.map(repr),
        st.tuples(st.floats(-1e7, 1e7), st.integers(0, 12)).map(lambda t: "%.*f" % (t[1], t[0])),
        st.tuples(finite, st.integers(0, 22)).map(lambda t: "%.*e" % (t[1], t[0])),
        st.tuples(st.integers(-10 ** 15 + 1, 10 ** 15 - 1), st.integers(-40, 40))
        .map(lambda t: f"{t[0]}e{t[1]}"),
        st.tuples(st.sampled_from(["", "-", "+"]), digits, st.sampled_from(["", "."]), digits,
                  st.sampled_from(["", "e", "E-", "e+"]), st.integers(0, 330))
        .map(lambda t: t[0] + t[1] + t[2] + t[3] + (t[4] + str(t[5]) if t[4] else "")),
        st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "+Infinity", "INF", "-0",
                         "+0.0", ".5", "5.", "-.5e-3", "0e400", "1e309", "4.9e-324",
                         "9007199254740993", "2.2250738585072014e-308", "1e22", "1e23"]),
    )


def _padded(text_strategy):
    spaces = st.sampled_from(["", "", " ", "  ", "\t"])
    return st.tuples(spaces, text_strategy, spaces).map(lambda t: t[0] + t[1] + t[2])


_BAD_FLOATS = st.sampled_from(["abc", "1.2.3", "1e", "--1", "+-1", ".", "e5", "1x", "0x10",
                               "1_0", "nana", "in", "1 2", "-", "12,5"])
_BAD_IDS = st.sampled_from(["1.5", "1e3", "x", "9223372036854775808", "-9223372036854775809",
                            "", "+", "7.0"])


@st.composite
def plots_files(draw):
    """(text, header) of a random plots.csv, possibly with malformed lines."""
    optional = draw(st.lists(st.sampled_from(["radial_velocity_mps", "snr_db"]), unique=True))
    extra = draw(st.lists(st.sampled_from(["comment", "sac"]), unique=True))
    header = draw(st.permutations(list(REQUIRED_PLOT_COLUMNS) + optional + extra))
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    n_rows = draw(st.integers(0, 25))
    lines = [",".join(draw(_padded(st.just(name))) for name in header)]
    for _ in range(n_rows):
        cells = []
        for name in header:
            if name == "radar_id":
                cell = str(draw(st.integers(INT64_MIN, INT64_MAX)))
            elif name in ("comment", "sac"):
                cell = draw(st.sampled_from(["", "x", "abc def", "1.2.3"]))
            elif name in ("radial_velocity_mps", "snr_db") and draw(st.booleans()):
                cell = ""
            else:
                cell = draw(_float_texts())
            cells.append(draw(_padded(st.just(cell))))
        mutation = draw(st.sampled_from(["none"] * 6 + ["bad_float", "bad_id", "empty",
                                                        "drop", "add", "blank"]))
        if mutation == "bad_float":
            index = draw(st.sampled_from([k for k, name in enumerate(header)
                                          if name not in ("radar_id", "comment", "sac")]))
            cells[index] = draw(_BAD_FLOATS)
        elif mutation == "bad_id":
            cells[header.index("radar_id")] = draw(_BAD_IDS)
        elif mutation == "empty":
            cells[header.index(draw(st.sampled_from(REQUIRED_PLOT_COLUMNS)))] = " "
        elif mutation == "drop":
            del cells[draw(st.integers(0, len(cells) - 1))]
        elif mutation == "add":
            cells.append("1")
        elif mutation == "blank":
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        lines.append(",".join(cells))
    text = line_end.join(lines)
    if draw(st.booleans()):
        text += line_end
    return text


# --------------------------------------------------------------------------
# plots.csv reading


@HYPOTHESIS
@given(text=plots_files(), chunk_bytes=st.integers(1, 300))
def test_read_plots_matches_csv_module(tmp_path, text, chunk_bytes):
    path = write_text(tmp_path / "plots.csv", text)
    rows, bad = reference_plots(text)
    result = read_plots_csv(path)
    assert isinstance(result, CsvReadResult)
    assert_plots_equal(result.plots, rows)
    assert result.malformed == len(bad)
    assert list(result.first_bad_lines) == bad[:10]
    assert result.bytes_done == result.bytes_total == len(text.encode())

    chunks = list(iter_plots_csv(path, chunk_bytes=chunk_bytes))
    assert_plots_equal(np.concatenate([chunk.plots for chunk in chunks]), rows)
    assert sum(chunk.malformed for chunk in chunks) == len(bad)
    assert [line for chunk in chunks for line in chunk.first_bad_lines][:10] == bad[:10]
    done = [chunk.bytes_done for chunk in chunks]
    assert done == sorted(done) and done[-1] == len(text.encode())


@HYPOTHESIS
@given(values=st.lists(_padded(_float_texts()), min_size=1, max_size=40))
def test_float_fields_bit_identical_to_float(tmp_path, values):
    lines = ["time_s,radar_id,range_m,azimuth_deg,elevation_deg"]
    lines += [f"{value},1,{value},0,0" for value in values]
    path = write_text(tmp_path / "plots.csv", "\n".join(lines))
    result = read_plots_csv(path)
    expected = [float(value) for value in values]
    assert result.malformed == 0
    assert_same_floats(result.plots["time_s"], expected, "time_s")
    assert_same_floats(result.plots["range_m"], expected, "range_m")


def test_float_edge_cases(tmp_path):
    good = ["0", "-0", "+.5", "5.", "1e5", "1E-5", "1e+308", "1.7976931348623157e308",
            "1e309", "-1e400", "4.9e-324", "2e-324", "2.2250738585072011e-308",
            "9007199254740992", "9007199254740993", "18014398509481985",
            "123456789012345678901234567890", "0.000000000000000000000000001",
            "1e22", "1e23", "9007199254740991e22", "12345e30", "1.5000000000000000000000",
            "0.30000000000000004", "0.1", "  7.25  ", "\t-3\t", "NAN", "-InFiNiTy"]
    bad = ["", ".", "e5", "1e", "1e+", "1.2.3", "--1", "1-", "nana", "in", "infinit",
           "0x10", "1_0", "1 2", "+", "-.", "1.e", "é"]
    lines = ["time_s,radar_id,range_m,azimuth_deg,elevation_deg"]
    lines += [f"{value},1,1,1,1" for value in good + bad]
    path = write_text(tmp_path / "plots.csv", "\n".join(lines) + "\n")
    result = read_plots_csv(path)
    assert_same_floats(result.plots["time_s"], [float(value) for value in good])
    assert math.copysign(1.0, result.plots["time_s"][1]) == -1.0
    assert result.malformed == len(bad)
    assert list(result.first_bad_lines) == list(range(2 + len(good), 2 + len(good) + 10))
    assert result.deferred_fields > 0


def test_radar_id_fields(tmp_path):
    good = ["7", " 7 ", "-3", "+4", "0", "-0", str(INT64_MAX), str(INT64_MIN)]
    bad = ["1.5", "1e3", "7.0", "", " ", "x", "+", str(INT64_MAX + 1), str(INT64_MIN - 1),
           "99999999999999999999"]
    lines = ["time_s,radar_id,range_m,azimuth_deg,elevation_deg"]
    lines += [f"1,{value},1,1,1" for value in good + bad]
    result = read_plots_csv(write_text(tmp_path / "plots.csv", "\n".join(lines)))
    assert result.plots["radar_id"].tolist() == [int(value) for value in good]
    assert result.malformed == len(bad)


def test_malformed_lines_skipped_and_neighbours_kept(tmp_path):
    text = (
        "time_s,radar_id,range_m,azimuth_deg,elevation_deg,radial_velocity_mps,snr_db\r\n"
        "1.5,1,100.25,10.5,1.25,-3.5,12.5\r\n"       # 2 good
        "2.5,1,100\r\n"                               # 3 too few fields
        "2.75,1,100,1,1,1,1,1\r\n"                    # 4 too many fields
        "\r\n"                                        # 5 blank
        "garbage text\r\n"                            # 6
        "3.5,2,200.5,20.25,2.5,,\r\n"                 # 7 good, empty optionals
        "4.5,2,,20,2,1,1\r\n"                         # 8 empty required
        "1.2.3,2,200,20,2,1,1\r\n"                    # 9
        "5.5,2.5,200,20,2,1,1\r\n"                    # 10 non-integer radar_id
        "   \r\n"                                     # 11 blank
        "6.5, 3 , 300.5 ,30.5,3.5, 4.5 ,nan\r\n"      # 12 good
        "7.5,3,300,30,3,1,1"                          # 13 good, no line end
    )
    result = read_plots_csv(write_text(tmp_path / "plots.csv", text))
    assert result.malformed == 6
    assert result.first_bad_lines == (3, 4, 6, 8, 9, 10)
    expected = [
        (1.5, 1, 100.25, 10.5, 1.25, -3.5, 12.5),
        (3.5, 2, 200.5, 20.25, 2.5, math.nan, math.nan),
        (6.5, 3, 300.5, 30.5, 3.5, 4.5, math.nan),
        (7.5, 3, 300.0, 30.0, 3.0, 1.0, 1.0),
    ]
    assert_plots_equal(result.plots, expected)
    reference_rows, reference_bad = reference_plots(text)
    assert reference_bad == [3, 4, 6, 8, 9, 10]
    assert_plots_equal(result.plots, reference_rows)


def test_first_bad_lines_keeps_ten(tmp_path):
    lines = ["time_s,radar_id,range_m,azimuth_deg,elevation_deg"]
    lines += ["x,1,1,1,1" if k % 2 else f"{k},1,1,1,1" for k in range(40)]
    result = read_plots_csv(write_text(tmp_path / "plots.csv", "\n".join(lines)))
    assert result.malformed == 20
    assert result.first_bad_lines == tuple(range(3, 3 + 20, 2))[:10]
    assert result.plots["time_s"].tolist() == [float(k) for k in range(0, 40, 2)]


def test_columns_by_name_extra_and_missing_optional(tmp_path):
    text = ("snr_db , elevation_deg,note,azimuth_deg,range_m,radar_id,time_s\n"
            "17.5,2.31,hello,87.21,4210.5,1,12.031\n"
            ",2.5,,90,100,2,13\n")
    result = read_plots_csv(write_text(tmp_path / "plots.csv", text))
    assert_plots_equal(result.plots, [
        (12.031, 1, 4210.5, 87.21, 2.31, math.nan, 17.5),
        (13.0, 2, 100.0, 90.0, 2.5, math.nan, math.nan),
    ])


@pytest.mark.parametrize("missing", REQUIRED_PLOT_COLUMNS)
def test_missing_required_column(tmp_path, missing):
    header = [name for name in PLOT_COLUMNS if name != missing]
    path = write_text(tmp_path / "plots.csv", ",".join(header) + "\n" + ",".join("1" * len(header)))
    with pytest.raises(ValueError, match=missing) as error:
        read_plots_csv(path)
    assert str(path) in str(error.value)
    with pytest.raises(ValueError, match=missing):
        next(iter_plots_csv(path, chunk_bytes=5))


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(ValueError, match="no header"):
        read_plots_csv(write_text(tmp_path / "empty.csv", "\n  \n"))
    header_only = write_text(tmp_path / "header.csv", ",".join(PLOT_COLUMNS))
    result = read_plots_csv(header_only)
    assert len(result.plots) == 0 and result.plots.dtype == PLOT_DTYPE
    assert len(list(iter_plots_csv(header_only, chunk_bytes=3))) == 1
    with pytest.raises(ValueError, match="chunk_bytes"):
        iter_plots_csv(header_only, chunk_bytes=0)
    with pytest.raises(TypeError, match="chunk_bytes"):
        iter_plots_csv(header_only, chunk_bytes=1.5)


@pytest.mark.parametrize("chunk_bytes", [None, 7, 1 << 20])
def test_cr_only_line_endings_are_refused_naming_the_file(tmp_path, chunk_bytes):
    lines = [",".join(PLOT_COLUMNS), "12.031,1,4210.5,87.21,2.31,-11.2,17.5", "12.5,1,4000,80,2,,"]
    cr = tmp_path / "cr.csv"
    cr.write_bytes("\r".join(lines).encode() + b"\r")
    with pytest.raises(ValueError, match=r"cr\.csv: lines end in a bare carriage return"):
        list(iter_plots_csv(cr, chunk_bytes=chunk_bytes)) if chunk_bytes else read_plots_csv(cr)
    # CR LF and LF read the same two plots
    for name, end in (("crlf.csv", "\r\n"), ("lf.csv", "\n")):
        path = tmp_path / name
        path.write_bytes(end.join(lines).encode() + end.encode())
        assert len(read_plots_csv(path).plots) == 2


def test_long_line_longer_than_chunk(tmp_path):
    text = ",".join(PLOT_COLUMNS) + "\n" + "1,1,1,1,1,1," + "1" * 500 + "\n2,2,2,2,2,,\n"
    path = write_text(tmp_path / "plots.csv", text)
    chunks = list(iter_plots_csv(path, chunk_bytes=16))
    plots = np.concatenate([chunk.plots for chunk in chunks])
    assert plots["snr_db"][0] == float("1" * 500)
    assert plots["time_s"].tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------
# Writers and round trips


def random_plots(rng, n):
    plots = np.zeros(n, PLOT_DTYPE)
    plots["time_s"] = np.sort(rng.uniform(0, 3600, n))
    plots["radar_id"] = rng.integers(1, 9, n)
    plots["range_m"] = rng.uniform(0, 9000, n)
    plots["azimuth_deg"] = rng.uniform(0, 360, n)
    plots["elevation_deg"] = rng.uniform(-5, 60, n)
    plots["radial_velocity_mps"] = rng.normal(0, 30, n)
    plots["snr_db"] = rng.uniform(0, 40, n)
    plots["radial_velocity_mps"][rng.random(n) < 0.3] = np.nan
    plots["snr_db"][rng.random(n) < 0.3] = np.nan
    return plots


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_write_plots_matches_naive_writer_and_round_trips(tmp_path, seed):
    rng = np.random.default_rng(seed)
    plots = random_plots(rng, 70_000 if seed == 0 else 500)   # seed 0 spans blocks
    plots["elevation_deg"][:3] = [np.nan, np.inf, -0.0]
    path = tmp_path / "plots.csv"
    write_plots_csv(path, plots)
    data = path.read_bytes()
    assert data.decode("ascii") == naive_plot_lines(plots)
    assert data.startswith(b"time_s,radar_id,range_m,azimuth_deg,elevation_deg,"
                           b"radial_velocity_mps,snr_db\n")
    result = read_plots_csv(path)
    assert result.malformed == 0
    rows, bad = reference_plots(data.decode("ascii"))
    assert bad == []
    assert_plots_equal(result.plots, rows)
    assert np.array_equal(np.isnan(result.plots["snr_db"]), np.isnan(plots["snr_db"]))


def test_write_plots_rejects_wrong_array(tmp_path):
    without_snr = np.zeros(3, np.dtype([(name, "f8") for name in PLOT_COLUMNS[:-1]]))
    with pytest.raises(ValueError, match="snr_db"):
        write_plots_csv(tmp_path / "p.csv", without_snr)
    with pytest.raises(TypeError):
        write_plots_csv(tmp_path / "p.csv", np.zeros((3, 7)))


@HYPOTHESIS
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(0, 40),
       kinds=st.lists(st.sampled_from(["drone", "bird", "aircraft", "a,b", 'say "hi"',
                                       " spaced ", "", "ptáček", "line\nbreak"]), min_size=1))
def test_truth_round_trip(tmp_path, seed, n, kinds):
    rng = np.random.default_rng(seed)
    truth = np.zeros(n, TRUTH_DTYPE)
    for name in TRUTH_DTYPE.names[:-1]:
        truth[name] = rng.normal(0, 10 ** rng.integers(0, 6), n)
    truth["target_id"] = rng.integers(-5, 1000, n)
    truth["kind"] = [kinds[k % len(kinds)] for k in range(n)]
    path = tmp_path / "truth.csv"
    write_truth_csv(path, truth)
    assert path.read_text(encoding="utf-8").split("\n")[0] == \
        "time_s,target_id,east_m,north_m,up_m,v_east_mps,v_north_mps,v_up_mps,kind"
    back = read_truth_csv(path)
    assert back.dtype == TRUTH_DTYPE
    assert back.tolist() == [tuple(row) for row in naive_truth_rows(truth)]


def test_truth_columns_by_name_and_errors(tmp_path):
    path = write_text(tmp_path / "t.csv",
                      "kind,v_up_mps,v_north_mps,v_east_mps,up_m,north_m,east_m,target_id,time_s,x\n"
                      "drone,1,2,3,4,5,6,7,8,y\n\n")
    assert read_truth_csv(path).tolist() == [(8.0, 7, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, "drone")]
    with pytest.raises(ValueError, match="up_m"):
        read_truth_csv(write_text(tmp_path / "m.csv", "time_s,target_id,east_m,north_m\n"))
    header = ",".join(TRUTH_DTYPE.names)
    with pytest.raises(ValueError, match="line 3"):
        read_truth_csv(write_text(tmp_path / "b.csv", f"{header}\n1,1,1,1,1,1,1,1,a\n1,1,x,1,1,1,1,1,a\n"))
    with pytest.raises(ValueError, match="line 2"):
        read_truth_csv(write_text(tmp_path / "c.csv", f"{header}\n1,1,1\n"))


def random_track_rows(rng, n):
    rows = np.zeros(n, TRACK_ROW_DTYPE)
    rows["time_s"] = np.round(rng.uniform(0, 100, n), 1)
    rows["track_id"] = rng.integers(1, 10 ** 6, n)
    rows["status"] = rng.integers(1, 4, n)
    for name in ("east_m", "north_m", "up_m", "alt_m"):
        rows[name] = rng.uniform(-9000, 9000, n)
    for name in ("v_east_mps", "v_north_mps", "v_up_mps"):
        rows[name] = rng.normal(0, 40, n)
    rows["lat_deg"] = rng.uniform(-90, 90, n)
    rows["lon_deg"] = rng.uniform(-180, 180, n)
    rows["sigma_pos_m"] = rng.uniform(0, 100, n)
    for name in ("lat_deg", "lon_deg", "alt_m", "sigma_pos_m"):
        rows[name][rng.random(n) < 0.2] = np.nan
    return rows


@pytest.mark.parametrize("seed", [0, 1])
def test_track_writer_matches_naive_and_round_trips(tmp_path, seed):
    rng = np.random.default_rng(seed)
    batches = [random_track_rows(rng, n) for n in (0, 1, 300, 40_000 if seed == 0 else 7)]
    path = tmp_path / "tracks.csv"
    with TrackCsvWriter(path) as writer:
        for batch in batches:
            writer.write(batch)
    rows = np.concatenate(batches)
    text = naive_track_text(rows)
    assert path.read_text(encoding="ascii") == text
    text_file, binary_file = io.StringIO(), io.BytesIO()
    for target in (text_file, binary_file):
        writer = TrackCsvWriter(target)
        for batch in batches:
            writer.write(batch)
        writer.close()
        writer.close()
    assert text_file.getvalue() == text and binary_file.getvalue() == text.encode()
    back = read_tracks_csv(path)
    assert back.dtype == TRACK_ROW_DTYPE and len(back) == len(rows)
    assert back["status"].tolist() == rows["status"].tolist()
    assert back["track_id"].tolist() == rows["track_id"].tolist()
    for name in TRACK_COLUMNS:
        if name in ("status", "track_id"):
            continue
        expected = [math.nan if math.isnan(v) else float(TRACK_FORMATS[name] % v)
                    for v in rows[name].tolist()]
        assert_same_floats(back[name], expected, name)


def test_read_tracks_from_other_trackers(tmp_path):
    text = ("track_id,time_s,quality,status,east_m,north_m,up_m,v_east_mps,v_north_mps,"
            "v_up_mps,sigma_pos_m\r\n"
            "5,1.5,0.9,Confirmed,1,2,3,4,5,6,\r\n"
            "6,1.5,0.1, TENTATIVE ,1,2,3,4,5,6,7.5\r\n"
            "\r\n"
            "7,2.0,,coasting,-1,-2,-3,-4,-5,-6,1e1")
    rows = read_tracks_csv(write_text(tmp_path / "tracks.csv", text))
    assert rows["track_id"].tolist() == [5, 6, 7]
    assert [TRACK_STATUS_NAMES[code] for code in rows["status"]] == ["confirmed", "tentative",
                                                                       "coasting"]
    assert_same_floats(rows["sigma_pos_m"], [math.nan, 7.5, 10.0])
    assert np.isnan(rows["lat_deg"]).all() and np.isnan(rows["alt_m"]).all()
    assert rows["v_up_mps"].tolist() == [6.0, 6.0, -6.0]


def test_read_tracks_errors(tmp_path):
    header = ",".join(TRACK_COLUMNS)
    good = "1,1,confirmed,1,1,1,1,1,1,1,1,1,1"
    for bad in ("1,1,free,1,1,1,1,1,1,1,1,1,1", "1,1,lost,1,1,1,1,1,1,1,1,1,1",
                "1,1,confirmed,,1,1,1,1,1,1,1,1,1", "1,1.5,confirmed,1,1,1,1,1,1,1,1,1,1"):
        path = write_text(tmp_path / "t.csv", f"{header}\n{good}\n{bad}\n{good}\n")
        with pytest.raises(ValueError, match="line.* 3"):
            read_tracks_csv(path)
    with pytest.raises(ValueError, match="status"):
        read_tracks_csv(write_text(tmp_path / "m.csv", header.replace("status", "state") + "\n"))


def test_track_writer_rejects_bad_input(tmp_path):
    rows = np.zeros(2, TRACK_ROW_DTYPE)
    with TrackCsvWriter(tmp_path / "t.csv") as writer:
        with pytest.raises(ValueError, match="status"):
            writer.write(rows)                      # status 0 is a free slot
        with pytest.raises(ValueError, match="lacks"):
            writer.write(np.zeros(2, PLOT_DTYPE))
    with pytest.raises(ValueError, match="closed"):
        writer.write(rows)
    with pytest.raises(TypeError):
        TrackCsvWriter(42)


# --------------------------------------------------------------------------
# Throughput (prints, never asserts on time)


def test_plots_csv_throughput(tmp_path, capsys):
    rng = np.random.default_rng(7)
    plots = random_plots(rng, 200_000)
    path = tmp_path / "plots.csv"
    start = time.perf_counter()
    write_plots_csv(path, plots)
    write_s = time.perf_counter() - start
    read_plots_csv(path)                            # compile / warm the page cache
    start = time.perf_counter()
    result = read_plots_csv(path)
    read_s = time.perf_counter() - start
    size = os.path.getsize(path)
    rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))[1:]
    sample = rng.integers(0, len(rows), 1000)
    assert result.malformed == 0 and len(result.plots) == len(plots)
    assert_same_floats(result.plots["range_m"][sample], [float(rows[k][2]) for k in sample])
    with capsys.disabled():
        print(f"\nplots.csv {size / 1e6:.1f} MB: read {size / read_s / 1e6:.0f} MB/s "
              f"({len(plots) / read_s / 1e6:.2f} M rows/s), write {size / write_s / 1e6:.0f} MB/s "
              f"({len(plots) / write_s / 1e6:.2f} M rows/s)")


# ---------------------------------------------------------------------------
# The compiled writer (ingest._csvformat) against Python's % on any value

def _cell_values(decimals):
    """Floats of every kind, weighted towards the hard ones for ``%.{decimals}f``:
    exact and near halves at that precision, huge values, NaN, infinities, signed zeros."""
    unit = 10.0 ** -decimals
    halves = st.integers(-10 ** 12, 10 ** 12).map(lambda k: (k + 0.5) * unit)
    near_halves = st.tuples(halves, st.integers(-3, 3)).map(
        lambda hk: float(np.nextafter(hk[0], math.copysign(math.inf, hk[1])) if hk[1] else hk[0]))
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-1e7, 1e7),
        halves, near_halves,
        st.sampled_from([0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 5e-324, -5e-324,
                         2.0 ** 51 * unit, -(2.0 ** 51) * unit, 1.7e9, 1e300, -1e300,
                         np.nextafter(2.0 ** 51 * unit, 0), 0.5 * unit, -0.5 * unit]))


@st.composite
def track_row_arrays(draw):
    n = draw(st.integers(0, 12))
    rows = np.zeros(n, TRACK_ROW_DTYPE)
    rows["status"] = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    rows["track_id"] = draw(st.lists(st.one_of(st.integers(INT64_MIN, INT64_MAX),
                                               st.sampled_from([0, -1, INT64_MIN, INT64_MAX])),
                                     min_size=n, max_size=n))
    for name in TRACK_COLUMNS:
        if name in ("status", "track_id"):
            continue
        decimals = int(TRACK_FORMATS[name][2:-1])
        rows[name] = draw(st.lists(_cell_values(decimals), min_size=n, max_size=n))
    return rows


@HYPOTHESIS
@given(rows=track_row_arrays())
def test_compiled_track_writer_bytes_equal_python_formatting(rows):
    """Byte for byte: the naive one-row writer and the block writer the compiled one replaced."""
    from ingest.csvio import _TRACK_FORMATS, _TRACK_OPTIONAL_COLUMNS, _RowFormatter

    buffer = io.BytesIO()
    with TrackCsvWriter(buffer) as writer:
        writer.write(rows)
    assert buffer.getvalue().decode("ascii") == naive_track_text(rows)
    python_writer = _RowFormatter(_TRACK_FORMATS, [n in _TRACK_OPTIONAL_COLUMNS for n in TRACK_COLUMNS])
    status_names = np.array(TRACK_STATUS_NAMES, dtype=object)
    columns = [status_names[rows[n]] if n == "status" else rows[n] for n in TRACK_COLUMNS]
    header = (",".join(TRACK_COLUMNS) + "\n").encode()
    assert buffer.getvalue() == header + python_writer.format(columns)


@HYPOTHESIS
@given(data=st.data(), n=st.integers(0, 12))
def test_compiled_plot_writer_bytes_equal_python_formatting(tmp_path, data, n):
    plots = np.zeros(n, PLOT_DTYPE)
    plots["radar_id"] = data.draw(st.lists(st.integers(INT64_MIN, INT64_MAX), min_size=n, max_size=n))
    for name, decimals in zip(("time_s", "range_m", "azimuth_deg", "elevation_deg",
                               "radial_velocity_mps", "snr_db"), (6, 2, 4, 4, 3, 1)):
        plots[name] = data.draw(st.lists(_cell_values(decimals), min_size=n, max_size=n))
    path = tmp_path / "plots.csv"
    write_plots_csv(path, plots)
    assert path.read_bytes().decode("ascii") == naive_plot_lines(plots)


def test_compiled_writer_defers_exactly_the_unsure_cells():
    """Cells whose scaled value is a half (ties and near ties at the format's precision)
    and huge values go to Python's %; the common cells do not."""
    from ingest import _csvformat as fmt

    values = np.array([[0.0005], [0.0015], [1.2344], [1.5e12], [2.5e12], [np.nan], [-np.inf]])
    deferred = np.empty(values.shape, np.int64)
    count = fmt.find_deferred(values, np.array([1000.0]), deferred)
    # 0.0005 and 0.0015 scale to 0.5 and 1.5 (the exact products lie just above); 2.5e12 * 1000
    # is beyond 2**51; 1.5e12 * 1000 is below it and an integer; NaN and inf are written
    assert deferred[:, 0].tolist() == [0, 1, -1, -1, 2, -1, -1] and count == 3
