"""`sparsesort sort --lambda auto`: lambda learned by EM, printed and kept in the session."""
import json

import pytest

from engine.cli import main
from engine.io.session import load_session


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("lambda") / "seed.h5"
    assert main(["--quiet", "simulate", str(path), "--minutes", "0.25", "--seed", "5"]) == 0
    return path


def test_auto_lambda_is_reported_and_stored(recording, tmp_path, capsys):
    session = tmp_path / "auto.h5"
    args = ["--quiet", "sort", str(recording), "--units", "3", "--steps", "6", "--lambda", "auto",
            "--out", str(session)]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["lambda_auto"] is True
    assert 0.75 < summary["lambda"] / summary["noise_lambda"] <= 1.0
    stored = load_session(session)
    assert stored.lam == pytest.approx(summary["lambda"])
    assert stored.train_config["lam_auto"] is True and stored.train_config["lam"] is None
    assert main(["info", str(session)]) == 0
    assert "(learned by EM)" in capsys.readouterr().out
    assert main([*args, "--force"]) == 0  # over the first session (kept as a dated backup)
    assert "(learned by EM; noise-based " in capsys.readouterr().out


def test_a_number_is_a_fixed_lambda(recording, tmp_path, capsys):
    assert main(["--quiet", "sort", str(recording), "--units", "3", "--steps", "2", "--lambda", "50", "--json",
                 "--out", str(tmp_path / "fixed.h5")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["lambda"] == 50.0 and summary["lambda_auto"] is False


@pytest.mark.parametrize("value", ["banana", "-3", "0"])
def test_other_values_are_refused(recording, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sort", str(recording), "--lambda", value])
    assert exit_info.value.code == 2
    assert "--lambda" in capsys.readouterr().err
