"""The one policy for files named on the command line: refuse in one line, before any work."""

from __future__ import annotations

import pytest

from accelplan.errors import AccelplanError
from accelplan.paths import input_file, output_dir, output_file, read_text


def test_output_file_refuses_a_directory_and_a_missing_folder(tmp_path):
    with pytest.raises(AccelplanError, match="--html .* is a directory"):
        output_file(tmp_path, "--html")
    with pytest.raises(AccelplanError, match="does not exist"):
        output_file(tmp_path / "nope" / "r.html", "--html")
    with pytest.raises(AccelplanError, match="empty path"):
        output_file("", "--out")
    assert output_file(tmp_path / "r.html", "--html") == tmp_path / "r.html"


def test_output_dir_allows_a_new_leaf_only(tmp_path):
    assert output_dir(tmp_path / "new", "--out") == tmp_path / "new"
    with pytest.raises(AccelplanError, match="does not exist"):
        output_dir(tmp_path / "a" / "b", "--out")
    (tmp_path / "f").write_text("x")
    with pytest.raises(AccelplanError, match="is a file"):
        output_dir(tmp_path / "f", "--out")


def test_input_file_refuses_directories_binaries_and_huge_files(tmp_path):
    with pytest.raises(AccelplanError, match="is a directory"):
        input_file(tmp_path, "RUNS")
    with pytest.raises(AccelplanError, match="no such file"):
        input_file(tmp_path / "missing.yaml", "RUNS")
    (tmp_path / "b.yaml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(AccelplanError, match="not UTF-8"):
        read_text(tmp_path / "b.yaml", "RUNS")
    (tmp_path / "big.yaml").write_text("x" * 2048)
    with pytest.raises(AccelplanError, match="at most"):
        input_file(tmp_path / "big.yaml", "RUNS", max_bytes=1024)
    assert read_text(tmp_path / "big.yaml", "RUNS") == "x" * 2048
