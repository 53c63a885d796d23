"""run_check over a few files: duplicate ARNs (also in files that fail the schema), and waivers
(what they cover, what an unused or expired one says)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from factories import ARN, model_text

from cam_gitops.check.checker import check_file, run_check, split_waived
from cam_gitops.check.policy import Policy, Waiver
from cam_gitops.findings import Finding, Position, error, warning
from cam_gitops.workspace.layout import ModelFile

TODAY = dt.date(2026, 6, 1)
NO_RULES = Policy("policy.yaml", {})


def write(root: Path, name: str, text: str) -> ModelFile:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return ModelFile(path, name)


def arn_second(arn: str, **changes: object) -> str:
    """A model file whose ARN is on line 2 (after the description)."""
    text: str = model_text(arn=arn, **changes)
    lines = text.splitlines(keepends=True)
    [arn_line] = [line for line in lines if line.startswith("configuredAudienceModelArn:")]
    lines.remove(arn_line)
    return lines[0] + arn_line + "".join(lines[1:])


def duplicates(findings: list[Finding]) -> list[tuple[str, int, str]]:
    return [(f.path, f.position.line, f.message) for f in findings if f.rule == "duplicate-arn"]


def test_a_file_that_fails_the_schema_still_counts_as_managing_its_arn(tmp_path: Path) -> None:
    good = write(tmp_path, "models/a.yaml", arn_second(ARN))
    broken = write(tmp_path, "models/b.yaml", arn_second(ARN, minMatchingSeedSize="many"))
    result = run_check([good, broken], NO_RULES)
    assert "schema" in {f.rule for f in result.findings if f.path == "models/b.yaml"}
    also = "is also managed by"
    assert duplicates(result.findings) == [
        ("models/a.yaml", 2, f"{ARN} {also} models/b.yaml; keep exactly one file per model"),
        ("models/b.yaml", 2, f"{ARN} {also} models/a.yaml; keep exactly one file per model"),
    ]


def test_an_arn_that_is_not_a_string_is_no_duplicate(tmp_path: Path) -> None:
    files = [write(tmp_path, f"models/{name}.yaml", model_text(arn=42)) for name in "ab"]
    result = run_check(files, NO_RULES)
    assert duplicates(result.findings) == []
    assert {f.rule for f in result.findings} == {"schema"}


def test_the_other_owners_are_named_a_few_then_counted(tmp_path: Path) -> None:
    def others_of(count: int) -> str:
        files = [write(tmp_path / str(count), f"models/m{i}.yaml", model_text()) for i in range(count + 1)]
        [first, *_] = duplicates(run_check(files, NO_RULES).findings)
        return first[2].removeprefix(f"{ARN} is also managed by ").removesuffix("; keep exactly one file per model")

    assert others_of(3) == "models/m1.yaml, models/m2.yaml, models/m3.yaml"
    assert others_of(4) == "models/m1.yaml, models/m2.yaml, models/m3.yaml and 1 more"


def test_a_file_elsewhere_in_the_project_makes_a_duplicate(tmp_path: Path) -> None:
    checked = write(tmp_path, "models/a.yaml", model_text())
    asked: list[list[str]] = []

    def elsewhere(arns: list[str]) -> dict[str, list[str]]:
        asked.append(arns)
        return {ARN: ["models/old/a.yaml"]}

    result = run_check([checked], NO_RULES, complete=False, elsewhere=elsewhere)
    assert asked == [[ARN]]
    assert duplicates(result.findings) == [
        ("models/a.yaml", 1, f"{ARN} is also managed by models/old/a.yaml; keep exactly one file per model")
    ]


@pytest.mark.parametrize(("length", "shown"), [(120, 120), (121, 117)])
def test_a_long_arn_is_cut_in_the_message(tmp_path: Path, length: int, shown: int) -> None:
    arn = ARN + "x" * (length - len(ARN))
    files = [write(tmp_path, f"models/{name}.yaml", f"configuredAudienceModelArn: {arn}\n") for name in "ab"]
    [(_, _, message), _] = duplicates(run_check(files, NO_RULES).findings)
    expected = arn if shown == length else arn[:shown] + "..."
    assert message == f"{expected} is also managed by models/b.yaml; keep exactly one file per model"


def waiver(path: str, rule: str = "require-description", expires: dt.date = dt.date(2026, 12, 31)) -> Waiver:
    return Waiver(path, rule, "the owner is on it", expires, Position(7, 3))


def test_an_expired_waiver_says_how_to_fix_it(tmp_path: Path) -> None:
    files = [write(tmp_path, "models/a.yaml", model_text(description=None))]
    policy = Policy("policy.yaml", {"require-description": True}, waivers=(waiver("models/a.yaml", expires=TODAY),))
    assert run_check(files, policy, today=TODAY).waived == 1  # holds through its expiry day
    later = run_check(files, policy, today=TODAY + dt.timedelta(days=1))
    assert [(f.path, f.position, f.rule, f.message) for f in later.findings if f.path == "policy.yaml"] == [
        (
            "policy.yaml",
            Position(7, 3),
            "waiver-expired",
            "waiver of require-description for models/a.yaml expired on 2026-06-01; "
            "fix the model or renew the waiver with a reason",
        )
    ]


def test_a_partial_check_says_a_waiver_of_a_checked_file_that_cannot_be_read_waives_nothing(tmp_path: Path) -> None:
    broken = write(tmp_path, "models/team/a.yaml", "configuredAudienceModelArn: [unclosed\n")
    policy = Policy("policy.yaml", {"require-description": True}, waivers=(waiver("models/team/**"),))
    result = run_check([broken], policy, today=TODAY, complete=False)
    assert [(f.rule, f.message) for f in result.findings if f.path == "policy.yaml"] == [
        ("waiver-unused", "waiver of require-description for models/team/** waives nothing; remove it")
    ]


def test_by_default_a_check_is_of_the_whole_project_and_keeps_no_models(tmp_path: Path) -> None:
    files = [write(tmp_path, "models/a.yaml", model_text())]
    policy = Policy("policy.yaml", {"require-description": True}, waivers=(waiver("models/other.yaml"),))
    result = run_check(files, policy, today=TODAY)
    assert [f.rule for f in result.findings] == ["waiver-unused"]  # no file of the project needs it
    assert result.models == []
    assert check_file(files[0], policy).model is None
    assert check_file(files[0], policy, keep_model=True).model is not None


FINDINGS = [
    error("models/team/a.yaml", Position(2, 1), "require-description", "a"),
    error("models/team/a.yaml", Position(3, 1), "min-matching-seed-size", "b"),
    error("models/team/a.yaml", Position(1, 1), "schema", "c"),  # never waivable
    error("models/other/b.yaml", Position(2, 1), "require-description", "d"),
    warning("models/team/c.yaml", Position(1, 1), "require-description", "e"),
]
SPLITS = [
    ("folder waiver", (waiver("models/team/"),), ["a", "e"]),
    ("file waiver", (waiver("models/other/b.yaml"),), ["d"]),
    ("expired waiver", (waiver("models/team/", expires=TODAY - dt.timedelta(days=1)),), []),
    ("another rule", (waiver("models/team/", rule="min-matching-seed-size"),), ["b"]),
    ("a waiver of a schema finding waives nothing", (waiver("models/team/a.yaml", rule="schema"),), []),
    ("no waivers", (), []),
]


@pytest.mark.parametrize(("case", "waivers", "waived"), SPLITS, ids=[c[0] for c in SPLITS])
def test_split_waived_sets_aside_exactly_what_a_waiver_in_force_covers(
    case: str, waivers: tuple[Waiver, ...], waived: list[str]
) -> None:
    kept, set_aside = split_waived(FINDINGS, Policy("policy.yaml", {}, waivers=waivers), TODAY)
    assert [f.message for f in set_aside] == waived
    assert [f.message for f in kept] == [f.message for f in FINDINGS if f.message not in waived]
