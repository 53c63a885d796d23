"""Which other model files manage an ARN, found without parsing every file: grep narrows the
files to parse in a large project, Python reads them in a small one or when grep cannot (a link
under models/, no grep), and every way gives the same answer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from factories import ARN, model_text

from cam_gitops.check import crossfile
from cam_gitops.check.crossfile import GREP_MAX_PATTERNS, other_owners
from cam_gitops.loader import MAX_FILE_BYTES

SECOND = ARN.replace("demo-0001", "demo-0002")
THIRD = ARN.replace("demo-0001", "demo-0003")


@pytest.fixture(autouse=True, params=["large project (grep)", "small project (Python)"])
def project_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs as in a project too large to read in Python first, then as in a small one."""
    if request.param.startswith("large"):
        monkeypatch.setattr(crossfile, "FEW_FILES", 0)
    return str(request.param)


def project(root: Path) -> Path:
    """a.yaml is the checked file; the others hold its ARN (or not) in every way a file can."""
    files = {
        "models/a.yaml": model_text(),
        "models/b.yaml": model_text(),  # the ARN written as it is
        # the ARN only with an escape (JSON's \/): the resource part is not there literally
        "models/team/c.json": json.dumps({"configuredAudienceModelArn": ARN}).replace("/", "\\/"),
        "models/d.yaml": model_text(arn=SECOND),
        # another ARN, with a backslash: read, but not an owner of anything asked for
        "models/e.yaml": model_text(arn=THIRD, description="a \\ b"),
        # the ARN's text in a file that is not a model document
        "models/f.yaml": f"configuredAudienceModelArn: [{ARN}\n",
        "models/g.yaml": f"description: {ARN}\n",
        "models/.hidden.yaml": model_text(),  # never a model file
        "models/notes.txt": model_text(),  # never a model file
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


EXPECTED = {ARN: ["models/b.yaml", "models/team/c.json"], SECOND: ["models/d.yaml"]}


def owners(root: Path, arns: list[str], checked: list[str]) -> dict[str, list[str]]:
    return {arn: sorted(paths) for arn, paths in other_owners(root, arns, checked).items()}


def test_every_other_file_managing_the_arns_is_found(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert owners(root, [ARN, SECOND, "not an arn"], ["models/a.yaml"]) == EXPECTED


def test_with_a_link_under_models_the_files_are_read_as_the_project_walk_lists_them(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "h.yaml").write_text(model_text())
    os.symlink(root / "elsewhere" / "h.yaml", root / "models" / "h.yaml")
    assert owners(root, [ARN, SECOND], ["models/a.yaml"]) == {
        ARN: ["models/b.yaml", "models/h.yaml", "models/team/c.json"],
        SECOND: ["models/d.yaml"],
    }
    assert owners(root, [SECOND], ["models/d.yaml"]) == {}


def test_an_arn_no_other_file_holds(tmp_path: Path) -> None:
    root = tmp_path
    (root / "models").mkdir()
    (root / "models" / "a.yaml").write_text(model_text())
    (root / "models" / "d.yaml").write_text(model_text(arn=SECOND))
    assert owners(root, [ARN], ["models/a.yaml"]) == {}
    assert owners(root, [THIRD], ["models/c.yaml"]) == {}  # in no file at all: grep finds nothing
    assert owners(root / "nothing-here", [ARN], []) == {}


def test_a_json_file_is_read_as_json(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.yaml").write_text(model_text())
    # json.dumps writes an emoji as a surrogate pair escape: valid JSON, refused as YAML
    text = json.dumps({"configuredAudienceModelArn": ARN, "description": "Spring lookalikes \U0001f331"})
    assert "\\ud83c\\udf31" in text
    (tmp_path / "models" / "b.json").write_text(text)
    assert owners(tmp_path, [ARN], ["models/a.yaml"]) == {ARN: ["models/b.json"]}


def test_a_file_name_that_is_not_utf8_is_no_problem(tmp_path: Path) -> None:
    root = project(tmp_path)
    with open(os.path.join(os.fsencode(root / "models"), b"x\xff.yaml"), "w") as handle:
        handle.write(model_text())
    found = owners(root, [ARN], ["models/a.yaml"])
    assert found[ARN][:2] == ["models/b.yaml", "models/team/c.json"]
    assert len(found[ARN]) == 3  # the oddly named file manages it too


@pytest.mark.parametrize(("size", "read"), [(MAX_FILE_BYTES, True), (MAX_FILE_BYTES + 1, False)])
def test_a_file_is_read_whole_up_to_the_size_limit(tmp_path: Path, size: int, read: bool) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.yaml").write_text(model_text())
    tail = f"configuredAudienceModelArn: {ARN}"  # the last bytes of the file: cut, it is another ARN
    padding = "#" * (size - len(tail) - 1) + "\n"
    (tmp_path / "models" / "big.yaml").write_text(padding + tail)
    assert (tmp_path / "models" / "big.yaml").stat().st_size == size
    assert owners(tmp_path, [ARN], ["models/a.yaml"]) == ({ARN: ["models/big.yaml"]} if read else {})


@pytest.mark.parametrize("tools", [("find",), ()], ids=["no grep", "neither grep nor find"])
def test_without_grep_the_python_walk_gives_the_same_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tools: tuple[str, ...]
) -> None:
    root = project(tmp_path / "project")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None
        os.symlink(found, bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert owners(root, [ARN, SECOND], ["models/a.yaml"]) == EXPECTED


def test_many_arns_sought_at_once_give_the_same_answer(tmp_path: Path) -> None:
    """Past GREP_MAX_PATTERNS the files are scanned in Python for ARN-like tokens instead."""
    root = project(tmp_path)
    (root / "models" / "longer.yaml").write_text(model_text(arn=ARN + "-extra"))  # not the same model
    many = [ARN.replace("demo-0001", f"demo-{n:04d}") for n in range(4, GREP_MAX_PATTERNS + 50)]
    assert owners(root, [ARN, SECOND, *many], ["models/a.yaml"]) == EXPECTED
    assert owners(root, [ARN + "-extra", *many], ["models/a.yaml"]) == {ARN + "-extra": ["models/longer.yaml"]}
