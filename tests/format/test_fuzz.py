"""Fuzz: mutated bytes of real fixture files. Reading either succeeds or raises a keraslite error, never anything
else (no KeyError, IndexError, h5py/zip/JSON exception, crash or hang)."""
import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keraslite import format as kf
from keraslite.errors import KerasliteError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
SEEDS = {name: open(os.path.join(FIXTURES, name), "rb").read() for name in (
    "keras2/mlp_basic.h5", "keras3/nested.h5", "keras3/mlp_basic.keras", "keras2/rnn_basic.json")}

COUNTER = itertools.count()
mutation = st.tuples(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=24),
    st.one_of(st.none(), st.floats(0.05, 1.0)),
)


def _mutate(data: bytes, edits, keep) -> bytes:
    buf = bytearray(data)
    for where, value in edits:
        buf[int(where * len(buf))] = value
    if keep is not None:
        buf = buf[: max(1, int(len(buf) * keep))]
    return bytes(buf)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mutation)
def test_mutated_files_raise_only_keraslite_errors(case, tmp_path):
    name, edits, keep = case
    # A fresh name per example: HDF5 may keep a file it failed to close open, and reuse it for the same path.
    path = os.path.join(str(tmp_path), f"{next(COUNTER)}_{os.path.basename(name)}")
    with open(path, "wb") as fh:
        fh.write(_mutate(SEEDS[name], edits, keep))
    weights = os.path.join(FIXTURES, name.replace(".json", "_weights.h5")) if name.endswith(".json") else None
    try:
        kf.read(path, weights=weights)
    except KerasliteError:
        pass
