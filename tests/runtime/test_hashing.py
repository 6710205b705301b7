"""FarmHash Fingerprint64 and SipHash-2-4 against TensorFlow's to_hash_bucket_fast/_strong on strings of every
length branch (0..139, 200, 257, 1000 bytes; recorded in tests/fixtures/text/hashing.json)."""
import json
import os

from keraslite.runtime.kernels.hashing import fingerprint64, siphash64

with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "text", "hashing.json"),
          encoding="utf-8") as fh:
    H = json.load(fh)


def test_fingerprint64_is_tensorflows():
    data = [s.encode() for s in H["strings"]]
    assert [fingerprint64(b) % 2 ** 62 for b in data] == H["fast_2_62"]
    assert [fingerprint64(b) % 7 for b in data] == H["fast_7"]


def test_siphash_is_tensorflows_keyed_hash():
    data = [s.encode() for s in H["strings"]]
    assert [siphash64(b, 1, 2) % 2 ** 62 for b in data] == H["strong_1_2"]
    assert [siphash64(b, 133, 2 ** 60 + 17) % 1000003 for b in data] == H["strong_big"]
