"""Fuzzing load_site: whatever the file holds, only ConfigError comes out.

Bounded Hypothesis runs over arbitrary text and bytes, mutations of the
bundled site.toml files and random structures (the generators of
benchmarks/fuzz_config.py, which runs 10,000 such files outside the suite).
"""
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_config import bundled_sites, fuzzed_site, mutate_structure, mutate_text, toml_document
from radarcore.core.config import ConfigError, load_site

BASES = bundled_sites()
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_config_error(tmp_path, content):
    """load_site on ``content``: the site, or the ConfigError; anything else fails the test."""
    path = tmp_path / "site.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    try:
        return load_site(path)
    except ConfigError as error:
        assert error.source == str(path)
        assert str(error).startswith(f"{path}: {error.key_path}: ")
        return error


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(tmp_path, content):
    load_or_config_error(tmp_path, content)


@FUZZ
@given(st.text(alphabet=st.sampled_from('[]{}=".,#\n abc_1e-+0.5infnatrue'), max_size=300))
def test_toml_like_text(tmp_path, content):
    load_or_config_error(tmp_path, content)


@FUZZ
@given(st.integers(0, 2 ** 32 - 1))
def test_mutated_bundled_sites(tmp_path, seed):
    rng = random.Random(seed)
    load_or_config_error(tmp_path, mutate_text(rng, rng.choice(BASES)))


@FUZZ
@given(st.integers(0, 2 ** 32 - 1))
def test_mutated_structures(tmp_path, seed):
    rng = random.Random(seed)
    load_or_config_error(tmp_path, mutate_structure(rng, rng.choice(BASES)))


@FUZZ
@given(st.integers(0, 2 ** 32 - 1))
def test_fuzzed_sites(tmp_path, seed):
    content, _ = fuzzed_site(random.Random(seed), BASES)
    load_or_config_error(tmp_path, content)


toml_scalars = (st.integers(-(2 ** 70), 2 ** 70) | st.floats() | st.booleans()
                | st.text(max_size=20))
toml_values = st.recursive(toml_scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20)
top_keys = st.sampled_from(["origin", "radar", "asset", "tracker", "alerts", "service", "zone", ""])


@FUZZ
@given(st.dictionaries(top_keys, toml_values, max_size=6))
def test_random_structures(tmp_path, data):
    load_or_config_error(tmp_path, toml_document(data))


@pytest.mark.parametrize("text, key_path, fragment", [
    ("[origin]\nlat_deg = " + "[" * 5000 + "]" * 5000 + "\n", "(file)", "nested too deeply"),
    ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "(file)", "nested too deeply"),
])
def test_deep_nesting_is_a_config_error(tmp_path, text, key_path, fragment):
    error = load_or_config_error(tmp_path, text)
    assert isinstance(error, ConfigError)
    assert error.key_path == key_path and fragment in error.message


def test_deep_but_readable_nesting_is_shown_shortly(tmp_path):
    site = bundled_sites()[0].replace("alt_m = 25.0", "alt_m = " + "[" * 200 + "]" * 200)
    error = load_or_config_error(tmp_path, site)
    assert isinstance(error, ConfigError)
    assert error.key_path == "radar[0](id=1).alt_m"
    assert error.message.startswith("expected a number in [-10000, 100000] (metres), got [[[")
    assert len(error.message) < 200
