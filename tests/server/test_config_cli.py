"""Model arguments, KERASLITE_MODELS, the serve parser, the start-up banner's curl example, thread defaults."""
import argparse
import json
import os
import shlex
import subprocess
import sys

import pytest

from keraslite.server import config, launcher
from keraslite.server.config import ServerConfigError


def test_model_arguments_name_models_by_stem_or_name_equals_path():
    assert config.parse_model_args(["a/digits.h5", "x=b/other.keras"]) == {"digits": "a/digits.h5",
                                                                           "x": "b/other.keras"}
    with pytest.raises(ServerConfigError, match="both named 'm'"):
        config.parse_model_args(["m=a.h5", "b/m.h5"])
    with pytest.raises(ServerConfigError, match="not usable in a URL"):
        config.parse_model_args(["bad:name=a.h5"])


def test_models_env_variable_and_demo_default(monkeypatch):
    monkeypatch.setenv("KERASLITE_MODELS", "a=x.h5,y/b.h5")
    assert config.models_from_env() == {"a": "x.h5", "b": "y/b.h5"}
    monkeypatch.setenv("KERASLITE_MODELS", "")
    assert config.models_from_env() == {"digits": config.demo_model_path()}
    assert config.demo_model_path().endswith(os.path.join("demo", "digits.h5"))


def test_create_app_reads_keraslite_models(monkeypatch, mlp_file):
    from keraslite.server import create_app

    monkeypatch.setenv("KERASLITE_MODELS", f"first={mlp_file}")
    monkeypatch.setenv("KERASLITE_MAX_BODY_MB", "0.5")
    app = create_app()
    assert app.test_client().get("/v2/models/first/ready").json == {"name": "first", "ready": True}
    assert app.config["MAX_CONTENT_LENGTH"] == 2 ** 19


def test_missing_model_file_is_a_clear_error(tmp_path):
    from keraslite.server import create_app

    with pytest.raises(ServerConfigError, match="does not exist"):
        create_app({"m": str(tmp_path / "nope.h5")})


def test_serve_parser_and_cheap_import():
    from keraslite.server import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "m.h5", "--port", "9000", "--workers", "3", "--threads", "2",
                              "--max-body-mb", "8", "--dev", "--name", "mm"])
    assert (args.models, args.port, args.workers, args.threads, args.max_body_mb, args.dev, args.name) == (
        ["m.h5"], 9000, 3, 2, 8.0, True, "mm")
    code = "import sys, keraslite.server.cli; print(sorted({'flask', 'gunicorn', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_serve_rejects_a_missing_file_with_exit_1(tmp_path):
    from keraslite.cli import main, serve_main

    assert main(["serve", str(tmp_path / "nope.h5"), "--port", "1"]) == 1
    assert serve_main([str(tmp_path / "nope.h5")]) == 1  # the short `serve MODEL` console script


def test_numeric_threads_fit_the_cores(monkeypatch):
    for var in launcher.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    assert launcher.limit_numeric_threads(workers=2, cores=2) == 1
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "1"
    for var in launcher.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    assert launcher.limit_numeric_threads(workers=2, cores=8) == 4
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")  # a user's own setting wins
    assert launcher.limit_numeric_threads(workers=2, cores=8) == 3
    assert launcher.default_workers(2) == 2 and launcher.default_workers(64) == 8


def test_banner_curl_example_is_a_valid_request(app, client):
    from keraslite.server.banner import banner

    store = app.extensions["keraslite"].store
    text = banner([store.get("multi"), store.get("mlp")], "0.0.0.0", 8501, "test")
    assert "http://127.0.0.1:8501/v1/models/multi:predict" in text
    curl = shlex.split(text.splitlines()[-1])
    assert curl[:2] == ["curl", "-s"]
    body = json.loads(curl[curl.index("-d") + 1])
    r = client.post(curl[-1].replace("http://127.0.0.1:8501", ""), json=body)
    assert r.status_code == 200, r.json
    assert set(r.json["predictions"][0]) == {"head_a", "head_b"}


def test_banner_builds_large_examples_with_python(app, client):
    from keraslite.server import banner

    mlp = app.extensions["keraslite"].store.get("mlp")
    command = banner.curl_example(mlp, "http://h:1")
    assert command.startswith("curl")
    monkey_limit = banner.INLINE_LIMIT
    try:
        banner.INLINE_LIMIT = 4
        command = banner.curl_example(mlp, "http://h:1")
    finally:
        banner.INLINE_LIMIT = monkey_limit
    python_part = shlex.split(command.split(" | ")[0])
    out = subprocess.run([sys.executable, "-c", python_part[2]], capture_output=True, text=True, timeout=60)
    r = client.post("/v1/models/mlp:predict", data=out.stdout, content_type="application/json")
    assert r.status_code == 200, r.json


def test_no_model_serves_the_bundled_demo_with_a_real_digit_in_the_curl_example(monkeypatch):
    import numpy as np

    from keraslite.server import create_app
    from keraslite.server.banner import banner

    monkeypatch.delenv("KERASLITE_MODELS", raising=False)
    app = create_app()
    client = app.test_client()
    assert client.get("/v2/models/digits/ready").json == {"name": "digits", "ready": True}
    text = banner(list(app.extensions["keraslite"].store.models.values()), "127.0.0.1", 8501, "test")
    curl = shlex.split(text.splitlines()[-1])
    body = json.loads(curl[curl.index("-d") + 1])
    with np.load(config.demo_sample_path()) as npz:
        sample, keras_probs = npz["x"][:1], npz["probs"][:1]  # a real digit and real Keras' answer for it
    np.testing.assert_allclose(np.array(body["instances"]), sample, atol=1e-4)
    r = client.post(curl[-1].replace("http://127.0.0.1:8501", ""), json=body)
    assert r.status_code == 200
    np.testing.assert_allclose(np.array(r.json["predictions"]), keras_probs, atol=1e-3)


@pytest.mark.parametrize("args, words", [
    (["--max-body-mb", "nan"], ["--max-body-mb", "positive", "'nan'"]),
    (["--max-body-mb", "inf"], ["--max-body-mb", "'inf'"]),
    (["--max-body-mb", "-1"], ["--max-body-mb", "'-1'"]),
    (["--port", "70000"], ["--port", "65535", "'70000'"]),
    (["--port", "0"], ["--port", "'0'"]),
    (["--workers", "0"], ["--workers", "at least 1"]),
    (["--threads", "0"], ["--threads", "at least 1"]),
    (["--max-batch", "-3"], ["--max-batch"]),
    (["--header-timeout", "0"], ["--header-timeout", "seconds"]),
])
def test_bad_serve_arguments_exit_2_with_one_line_before_any_banner(capsys, mlp_file, args, words):
    from keraslite.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["serve", mlp_file, *args])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("keraslite serve: error: argument "), err
    for word in words:
        assert word in err, err


def test_port_in_use_is_one_line_and_exit_1_without_the_banner(capsys, mlp_file):
    import socket

    from keraslite.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", mlp_file, "--port", str(port)]) == 1
    out, err = capsys.readouterr()
    assert out == "", "the banner was printed before the port was known to be free"
    assert err.strip() == (f"keraslite serve: error: port {port} on 127.0.0.1 is already in use; stop the other "
                           f"server or choose another --port")
