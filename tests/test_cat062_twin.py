"""The CAT062 packer (ingest/_asterix_kernels.py pack_cat062, through
ingest.asterix.encode_cat062) against a slow, table-driven decoder
(naive_asterix.naive_decode_cat062): every row comes back within half an
LSB of every item, with the right status bits, in order."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.asterix import encode_cat062
from ingest.schema import TRACK_ROW_DTYPE
from naive_asterix import naive_decode_cat062

FT = 0.3048
TOLERANCE = {  # half an LSB of each item, and a little for the division
    "lat_deg": 90.0 / 2 ** 25, "lon_deg": 90.0 / 2 ** 25, "east_m": 0.25, "north_m": 0.25,
    "v_east_mps": 0.125, "v_north_mps": 0.125, "flight_level_m": 12.5 * FT,
    "geometric_altitude_m": 3.125 * FT, "climb_mps": 3.125 * FT / 60.0, "apc_x_m": 0.25,
}


def random_rows(rng, n):
    rows = np.zeros(n, TRACK_ROW_DTYPE)
    rows["time_s"] = rng.uniform(0.0, 3 * 86400.0, n)
    rows["track_id"] = rng.integers(0, 200_000, n)
    rows["status"] = rng.integers(1, 4, n)
    rows["east_m"] = rng.uniform(-40_000, 40_000, n)
    rows["north_m"] = rng.uniform(-40_000, 40_000, n)
    rows["up_m"] = rng.uniform(0, 3000, n)
    rows["v_east_mps"] = rng.normal(0, 40, n)
    rows["v_north_mps"] = rng.normal(0, 40, n)
    rows["v_up_mps"] = np.where(rng.random(n) < 0.2, np.nan, rng.normal(0, 5, n))
    rows["lat_deg"] = rng.uniform(-89.9, 89.9, n)
    rows["lon_deg"] = rng.uniform(-180.0, 180.0, n)
    rows["alt_m"] = rng.uniform(-100, 9000, n)
    rows["sigma_pos_m"] = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 500, n))
    return rows


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(0, 40),
       max_block_bytes=st.sampled_from([200, 1000, 65535]), sac=st.integers(0, 255),
       sic=st.integers(0, 255), service_id=st.integers(0, 255))
def test_cat062_records_decode_to_the_rows(seed, n, max_block_bytes, sac, sic, service_id):
    rows = random_rows(np.random.default_rng(seed), n)
    data = encode_cat062(rows, sac, sic, 31.3, 120.6, 0.0, service_id=service_id,
                         max_block_bytes=max_block_bytes)
    records, blocks = naive_decode_cat062(data)
    assert len(records) == n
    assert blocks >= (1 if n else 0)
    for row, record in zip(rows, records):
        assert (record["sac"], record["sic"], record["service_id"]) == (sac, sic, service_id)
        tod = math.fmod(float(row["time_s"]), 86400.0)
        gap = abs(record["time_of_day_s"] - tod)
        assert min(gap, 86400.0 - gap) <= 1 / 256 + 1e-9
        assert record["track_number"] == int(row["track_id"]) % 65536
        status = int(row["status"])
        assert record["cnf"] == (status == 1) and record["cst"] == (status == 3)
        assert record["mrh"] and record["src"] == 2
        expected = {"lat_deg": row["lat_deg"], "lon_deg": row["lon_deg"], "east_m": row["east_m"],
                    "north_m": row["north_m"], "v_east_mps": row["v_east_mps"],
                    "v_north_mps": row["v_north_mps"], "flight_level_m": row["alt_m"],
                    "geometric_altitude_m": row["alt_m"], "climb_mps": row["v_up_mps"],
                    "apc_x_m": row["sigma_pos_m"] / math.sqrt(2.0),
                    "apc_y_m": row["sigma_pos_m"] / math.sqrt(2.0)}
        for name, value in expected.items():
            if math.isnan(value):
                assert name not in record, name
                continue
            gap = abs(record[name] - value)
            if name == "lon_deg":
                gap = min(gap, 360.0 - gap)
            assert gap <= TOLERANCE.get(name, 0.25) + 1e-9, (name, record[name], value)


def test_block_boundaries():
    rows = random_rows(np.random.default_rng(1), 30)
    one = encode_cat062(rows, 1, 2, 31.3, 120.6, 0.0)
    split = encode_cat062(rows, 1, 2, 31.3, 120.6, 0.0, max_block_bytes=200)
    records_one, blocks_one = naive_decode_cat062(one)
    records_split, blocks_split = naive_decode_cat062(split)
    assert blocks_one == 1 and blocks_split > 1
    assert records_one == records_split
