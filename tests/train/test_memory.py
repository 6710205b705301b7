"""A fit keeps freed memory for the next batch (runtime/_alloc.py: no page fault per 4 KiB of every temporary), and
leaves malloc alone when the user tuned it or turned this off. Each case in a fresh process: the setting is once per
process."""
import json
import os
import subprocess
import sys

import pytest

FIT = """if True:
    import json, resource, sys
    import numpy as np
    import keraslite as keras
    from keraslite.runtime import _alloc
    L = keras.layers
    x = np.random.default_rng(0).random((256, 28, 28, 1), dtype=np.float32)
    y = np.arange(256) % 10
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                              L.Conv2D(64, 3, activation="relu"), L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=128, epochs=2, verbose=0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    model.fit(x, y, batch_size=128, epochs=2, verbose=0)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    print(json.dumps({"faults_per_step": faults / 4, "kept": _alloc.tune()}))
"""


def _fit(**env):
    full = {k: v for k, v in os.environ.items() if k not in ("KERASLITE_MALLOC_TUNE", "MALLOC_TRIM_THRESHOLD_",
                                                             "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")}
    full.update(env)
    run = subprocess.run([sys.executable, "-c", FIT], capture_output=True, text=True, timeout=300, env=full)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_fit_reuses_freed_memory_instead_of_faulting_it_in_again():
    # each step of this convnet frees and allocates ~20 MiB of temporaries (the windows of its second layer alone
    # are 11 MiB); taken from fresh pages every step that was ~3,000 faults a step
    got = _fit()
    if not sys.platform.startswith("linux"):  # glibc's settings: elsewhere nothing is changed
        assert got["kept"] is False
        return
    assert got["kept"] is True
    assert got["faults_per_step"] < 100, got


@pytest.mark.parametrize("env", [{"KERASLITE_MALLOC_TUNE": "0"}, {"MALLOC_TRIM_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_malloc_is_left_alone_when_the_user_says_so(env):
    assert _fit(**env)["kept"] is False
