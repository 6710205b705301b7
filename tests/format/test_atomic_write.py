"""Writes are atomic: a failure in the middle of writing leaves the previous file intact and no temp file."""
import os

import h5py
import pytest

from keraslite import format as kf

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("target", ["m.h5", "m_weights.h5"])
def test_failure_mid_write_keeps_old_file(tmp_path, monkeypatch, target):
    spec = kf.read(os.path.join(FIXTURES, "keras2", "cnn_basic.h5"))
    out = str(tmp_path / target)
    writer = kf.write if target == "m.h5" else kf.write_weights
    writer(spec, out)
    before = open(out, "rb").read()

    real = h5py.Group.create_dataset
    calls = {"n": 0}

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # some arrays already written, the rest not
            raise Boom("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(Boom):
        writer(spec, out)
    monkeypatch.undo()
    assert calls["n"] == 3
    assert open(out, "rb").read() == before
    assert os.listdir(tmp_path) == [target]
    kf.read(out) if target == "m.h5" else kf.read(os.path.join(FIXTURES, "keras2", "cnn_basic.json"), weights=out)


def test_failure_in_json_write_keeps_old_file(tmp_path, monkeypatch):
    spec = kf.read(os.path.join(FIXTURES, "keras2", "cnn_basic.h5"))
    out = str(tmp_path / "a.json")
    kf.write(spec, out)
    before = open(out).read()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("crash before rename")))
    with pytest.raises(OSError):
        kf.write(spec, out)
    monkeypatch.undo()
    assert open(out).read() == before
    assert os.listdir(tmp_path) == ["a.json"]
