"""Fuzz site.toml: mutated and random files through load_site, counted.

    python benchmarks/fuzz_config.py [--files 10000] [--seed 1] [--json FILE]

Each file is one of: a mutation of a bundled ``replay_data/*/site.toml`` (or
of a richer built-in site with every table and a polygon zone) at the byte,
line or token level (an extreme number, a value of another type, a line
dropped or repeated, bytes flipped, deep nesting, a huge polygon); or a
random structure (the parsed site with subtrees replaced, keys added or
removed, or an arbitrary document) written out as TOML.  Every file goes
through :func:`radarcore.core.config.load_site`; an accepted site also
through :func:`radarcore.core.zones.build_zone_table` (the ENU polygon
check).  Only :class:`~radarcore.core.config.ConfigError` may come out: the
script prints how many files were accepted, how many rejected by kind of
error, and every crash (any other exception) with its file, and exits 1
if there was one.
"""
import argparse
import collections
import json
import math
import os
import random
import sys
import tempfile
import time
import tomllib
import traceback

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from radarcore.core.config import ConfigError, load_site  # noqa: E402
from radarcore.core.zones import build_zone_table  # noqa: E402

#: A site with every table of radarcore's own and a polygon zone, so that
#: mutations reach every rule.
RICH_SITE = """\
[origin]
lat_deg = 31.30
lon_deg = 120.62
alt_m = 0.0

[[radar]]
id = 1
lat_deg = 31.31
lon_deg = 120.60
alt_m = 25.0
sigma_range_m = 7.5
sigma_azimuth_deg = 0.4
sigma_elevation_deg = 0.8
sigma_radial_velocity_mps = 0.5
scan_period_s = 1.0
max_range_m = 8000.0
p_detection = 0.9
false_alarm_density = 1e-9
sac = 0
sic = 1
mode = "rotating"

[[asset]]
id = "plant-1"
name = "Power plant"
lat_deg = 31.295
lon_deg = 120.63
alt_m = 0.0

[[asset.zone]]
level = "warning"
radius_m = 6000.0
floor_m = 0.0
ceiling_m = 1500.0
alert_on = ["drone", "unknown"]

[[asset.zone]]
level = "critical"
polygon = [[31.30, 120.62], [31.30, 120.64], [31.29, 120.64], [31.29, 120.62]]
floor_m = 0.0
ceiling_m = 500.0

[tracker]
motion_model = "imm"
frame_s = 0.1
output_period_s = 1.0
coast_after_s = 2.5
delete_after_s = 10.0
confirm_hits = 3

[alerts]
horizon_s = 120.0
escalate_updates = 2

[service]
plots_endpoint = "tcp://*:5555"
publish_endpoint = "tcp://*:5556"
plots_socket = "pull"
metrics_port = 9100
queue_plots = 1000000
"""

EXTREME_NUMBERS = (
    "0", "-0.0", "1e-300", "1e300", "-1", "1e308", "-1e308", "nan", "inf", "-inf", "5e-324",
    "9223372036854775807", "-9223372036854775808", "18446744073709551616", "1e-9", "0.5",
    "3", "-3.5", "0x7fffffff", "1_000_000", "1.7976931348623157e308",
)
OTHER_VALUES = (
    '"text"', '""', "true", "false", "[]", "[1, 2]", "{}", '{a = 1}', "1979-05-27T07:32:00Z",
    "1979-05-27", "07:32:00", '[[1, 2], [3, 4]]', '["drone", "drone"]', '"tcp://"', '"\\u0000"',
)
SNIPPETS = (
    "[tracker]", "[alerts]", "[service]", "[[radar]]", "[[asset]]", "[[asset.zone]]", "[origin]",
    "id = 1", "id = 2", 'id = "plant-1"', "unknown_key = 1", 'level = "critical"',
    "radius_m = 100.0", "polygon = [[0, 0], [0, 1], [1, 1], [1, 0]]",
    "polygon = [[0, 0], [1, 1], [0, 1], [1, 0]]", "frame_s = 1e-300", "output_period_s = 1e300",
    "scan_period_s = 1e-300", "sigma_azimuth_deg = 1e308", 'mode = "staring"',
    'curve_secret_key = "server.key_secret"', "coast_after_s = 1e9",
)
TOKEN_CHARS = "=[]{}\",.#\n\\'"


def bundled_sites(root=ROOT):
    """The texts of ``replay_data/*/site.toml`` and :data:`RICH_SITE`."""
    texts = [RICH_SITE]
    data_dir = os.path.join(root, "replay_data")
    for name in sorted(os.listdir(data_dir)):
        path = os.path.join(data_dir, name, "site.toml")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as stream:
                texts.append(stream.read())
    return texts


# ---------------------------------------------------------------------------
# A tiny TOML writer for random structures (inline values only)
# ---------------------------------------------------------------------------

def _toml_key(key):
    return json.dumps(str(key), ensure_ascii=True)


def toml_value(value):
    """``value`` as an inline TOML value (nested lists and tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))          # dates and times: as text


def toml_document(data):
    """A document whose top-level keys each hold one inline value."""
    return "".join(f"{_toml_key(key)} = {toml_value(value)}\n" for key, value in data.items())


# ---------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------

def random_scalar(rng):
    choice = rng.random()
    if choice < 0.3:
        return float(rng.choice(EXTREME_NUMBERS[:9]))
    if choice < 0.5:
        return rng.choice((0, -1, 1, 2 ** 63 - 1, -(2 ** 63), 255, 256, 7))
    if choice < 0.65:
        return rng.uniform(-1e6, 1e6)
    if choice < 0.8:
        return rng.choice(("", "drone", "critical", "imm", "tcp://*:1", "x" * rng.randint(1, 200)))
    return rng.random() < 0.5


def random_value(rng, depth=0):
    choice = rng.random()
    if depth > 3 or choice < 0.6:
        return random_scalar(rng)
    if choice < 0.8:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    keys = ("id", "lat_deg", "lon_deg", "alt_m", "level", "polygon", "radius_m", "x", "zone")
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _paths(data, prefix=()):
    """Every (container, key) in a parsed document."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        yield data, key
        if isinstance(value, (dict, list)):
            yield from _paths(value, prefix + (key,))


def mutate_structure(rng, text):
    """The parsed site with a few subtrees replaced, keys added or removed."""
    data = tomllib.loads(text)
    for _ in range(rng.randint(1, 4)):
        places = list(_paths(data))
        container, key = rng.choice(places)
        action = rng.random()
        if action < 0.5:
            container[key] = random_value(rng)
        elif action < 0.7 and isinstance(container, dict):
            del container[key]
        elif isinstance(container, dict):
            container[rng.choice(("extra", "id", "polygon", "alert_on", "zone", "radar"))] = random_value(rng)
        else:
            container.append(random_value(rng))
    return toml_document(data)


def mutate_text(rng, text):
    """Byte, line and token mutations of a site.toml text."""
    for _ in range(rng.randint(1, 3)):
        action = rng.random()
        lines = text.split("\n")
        if action < 0.3:                                        # an extreme number
            candidates = [k for k, line in enumerate(lines) if "=" in line]
            if candidates:
                k = rng.choice(candidates)
                key = lines[k].split("=", 1)[0]
                lines[k] = f"{key}= {rng.choice(EXTREME_NUMBERS)}"
        elif action < 0.45:                                     # another type
            candidates = [k for k, line in enumerate(lines) if "=" in line]
            if candidates:
                k = rng.choice(candidates)
                key = lines[k].split("=", 1)[0]
                lines[k] = f"{key}= {rng.choice(OTHER_VALUES)}"
        elif action < 0.6:                                      # lines dropped, repeated, swapped
            if len(lines) > 1:
                k = rng.randrange(len(lines))
                kind = rng.random()
                if kind < 0.4:
                    del lines[k]
                elif kind < 0.8:
                    lines.insert(k, lines[rng.randrange(len(lines))])
                else:
                    j = rng.randrange(len(lines))
                    lines[k], lines[j] = lines[j], lines[k]
        elif action < 0.75:                                     # a snippet
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(SNIPPETS))
        elif action < 0.85:                                     # characters
            chars = list(text)
            for _ in range(rng.randint(1, 5)):
                k = rng.randrange(len(chars) + 1)
                if rng.random() < 0.5 and k < len(chars):
                    del chars[k]
                else:
                    chars.insert(k, rng.choice(TOKEN_CHARS))
            lines = "".join(chars).split("\n")
        elif action < 0.93:                                     # deep nesting
            depth = rng.choice((10, 100, 1000, 5000, 20000))
            opener = "[" if rng.random() < 0.7 else "{a = "
            closer = "]" if opener == "[" else "}"
            lines.append(f"deep = {opener * depth}1{closer * depth}")
        else:                                                   # a huge polygon
            n = rng.choice((2000, 20000))
            angles = [2.0 * math.pi * k / n for k in range(n)]
            radius = [0.01 * (1.0 + 0.3 * rng.random()) for _ in range(n)]
            points = ", ".join(f"[{31.3 + r * math.sin(a)!r}, {120.6 + r * math.cos(a)!r}]"
                               for a, r in zip(angles, radius))
            lines += ["[[asset]]", 'id = "huge"', "lat_deg = 31.3", "lon_deg = 120.6",
                      "[[asset.zone]]", 'level = "alert"', "floor_m = 0.0", "ceiling_m = 100.0",
                      f"polygon = [{points}]"]
        text = "\n".join(lines)
    return text


def fuzzed_site(rng, bases):
    """One fuzzed site.toml as bytes, and how it was made."""
    base = rng.choice(bases)
    choice = rng.random()
    if choice < 0.6:
        return mutate_text(rng, base).encode("utf-8", "surrogatepass"), "text mutation"
    if choice < 0.7:
        data = bytearray(base.encode())
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data), "byte flips"
    if choice < 0.9:
        return mutate_structure(rng, base).encode(), "structure mutation"
    data = {rng.choice(("origin", "radar", "asset", "tracker", "alerts", "service", "x")): random_value(rng)
            for _ in range(rng.randint(0, 6))}
    return toml_document(data).encode(), "random structure"


def error_kind(error):
    """A short name for the kind of a ConfigError, for the counts."""
    if error.key_path == "(file)":
        return "file: " + error.message.split(":")[0].split(" (")[0]
    message = error.message
    for prefix in ("expected a number in", "expected an integer in", "expected a probability",
                   "expected a latitude", "expected a longitude", "expected one of", "expected an array",
                   "expected a table", "expected exactly one of", "expected ceiling_m", "expected a",
                   "missing", "unknown key", "duplicate", "self-intersecting polygon",
                   "degenerate polygon", "must not exceed", "in the local ENU frame"):
        if message.startswith(prefix):
            return prefix
    return " ".join(message.split()[:3])


def check_file(path):
    """``("accepted", None)``, ``("rejected", kind)``; anything else raises."""
    try:
        site = load_site(path)
        build_zone_table(site)
    except ConfigError as error:
        return "rejected", error_kind(error)
    return "accepted", None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the counts here")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    bases = bundled_sites()
    accepted = 0
    rejected = collections.Counter()
    made = collections.Counter()
    crashes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.files):
            text, how = fuzzed_site(rng, bases)
            made[how] += 1
            path = os.path.join(tmp, f"site-{k}.toml")
            with open(path, "wb") as stream:
                stream.write(text)
            try:
                verdict, kind = check_file(path)
            except Exception as exc:  # noqa: BLE001 - a crash is what is being looked for
                keep = os.path.join(tempfile.gettempdir(), f"fuzz-crash-{args.seed}-{k}.toml")
                with open(keep, "wb") as stream:
                    stream.write(text)
                crashes.append({"file": keep, "made_by": how, "error": f"{type(exc).__name__}: {exc}"[:300],
                                "traceback": traceback.format_exc(limit=3)})
                continue
            finally:
                os.remove(path)
            if verdict == "accepted":
                accepted += 1
            else:
                rejected[kind] += 1
    elapsed = time.perf_counter() - started
    print(f"fuzzed site.toml files: {args.files} (seed {args.seed}) in {elapsed:.1f} s")
    print("  made by: " + ", ".join(f"{how} {count}" for how, count in sorted(made.items())))
    print(f"  accepted: {accepted}")
    print(f"  rejected: {sum(rejected.values())}")
    for kind, count in rejected.most_common():
        print(f"    {count:6d}  {kind}")
    print(f"  crashes: {len(crashes)}")
    for crash in crashes:
        print(f"    {crash['file']} ({crash['made_by']}): {crash['error']}")
        print("      " + crash["traceback"].replace("\n", "\n      "))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump({"files": args.files, "seed": args.seed, "seconds": elapsed, "accepted": accepted,
                       "rejected": dict(rejected), "made_by": dict(made), "crashes": crashes}, stream, indent=2)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
