"""import without a server: file text, names, the policy edit, scope and parallel Gets."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cam_gitops.check.checker import check_file
from cam_gitops.check.policy import Policy, load_policy
from cam_gitops.live.importer import FAILED, MANAGED, WRITTEN, ImportOptions, execute_import
from cam_gitops.live.importer_baseline import BaselineRefused, NewWaiver, add_waivers
from cam_gitops.live.importer_files import Naming, choose_file_names, managed_fields, model_text
from cam_gitops.live.importer_scope import printable
from cam_gitops.workspace.files import write_file
from cam_gitops.workspace.layout import ModelFile, UsageError

ACCOUNT = "123456789012"
OTHER = "210987654321"
SERVICE_MODEL = botocore.session.get_session().get_service_model("cleanroomsml")


def arn(model_id: str, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    return f"arn:aws:cleanrooms-ml:{region}:{account}:configured-audience-model/{model_id}"


def live(model_id: str, region: str = "us-east-1", account: str = ACCOUNT, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "configuredAudienceModelArn": arn(model_id, region, account),
        "name": model_id,
        "audienceModelArn": f"arn:aws:cleanrooms-ml:{region}:{account}:audience-model/am-1",
        "description": "lookalikes",
        "minMatchingSeedSize": 1500,
        "sharedAudienceMetrics": ["NONE"],
        "outputConfig": {
            "destination": {"s3Destination": {"s3Uri": "s3://aud/x/"}},
            "roleArn": f"arn:aws:iam::{account}:role/out",
        },
        "audienceSizeConfig": {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [1000, 5000]},
        "status": "ACTIVE",
        "createTime": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    }
    data.update(fields)
    return data


# ----- the file text reads back exactly, for every string AWS can return -----------------


def _pattern(shape: str) -> str:
    return str(SERVICE_MODEL.shape_for(shape).metadata["pattern"])


# botocore's patterns are read by Java's java.util.regex over code points: its class
# [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDBFF-\uDC00\uDFFF\t\r\n] refuses an astral character such as
# U+1F600 (checked with javac: "a\uD83D\uDE00".matches(...) is false), so the service never
# returns one in a description. Names and tags are only kept as comments: any text.
BMP_TEXT = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
)
DESCRIPTION_CHARS = st.one_of(BMP_TEXT, st.sampled_from("\t\r\n"))
NAME_CHARS = st.one_of(BMP_TEXT, st.characters(min_codepoint=0x10000), st.just("\t"))
descriptions = st.text(DESCRIPTION_CHARS, max_size=255)
names = st.text(NAME_CHARS, min_size=1, max_size=63).filter(lambda s: bool(s.strip()))
tags = st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=20), max_size=3)
S3_SUFFIX = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("import-roundtrip")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(description=descriptions, name=names, tag_map=tags, s3_suffix=S3_SUFFIX)
@example(description="1e3", name="yes", tag_map={}, s3_suffix="x")
@example(description="yes", name="null", tag_map={"#": "a\nb"}, s3_suffix="#x")
@example(description="null", name="~", tag_map={}, s3_suffix=": x")
@example(description="~", name="- x", tag_map={}, s3_suffix="x/")
@example(description="- x", name="#x", tag_map={}, s3_suffix="x")
@example(description="#x", name=": x", tag_map={}, s3_suffix="x")
@example(description=": x", name="*x", tag_map={}, s3_suffix="x")
@example(description="*&!%@|>'\"", name="&x", tag_map={}, s3_suffix="x")
@example(description="'quoted' and \"double\"", name="!x", tag_map={}, s3_suffix="x")
@example(description="tab\tand trailing spaces   ", name="%x\t", tag_map={}, s3_suffix="x")
@example(description="\t", name="@x", tag_map={}, s3_suffix="x")
@example(description="", name="|x", tag_map={}, s3_suffix="x")
@example(description="accents é and \ufffd", name=">x 😀", tag_map={"😀": "\U0010fffd"}, s3_suffix="x")
@example(description="x" * 255, name="n" * 63, tag_map={}, s3_suffix="x")
@example(description="a\r\nb\rc\n", name="\u2028\u2029\x85", tag_map={"k": "\u202e"}, s3_suffix="x")
@example(description="\ufeff\u00a0 nbsp", name="\ufeff", tag_map={}, s3_suffix="x")
@example(description="+1000", name="0x1F", tag_map={}, s3_suffix="x")
def test_written_file_reads_back_exactly(
    workdir: Path, description: str, name: str, tag_map: dict[str, str], s3_suffix: str
) -> None:
    # every description generated is one botocore's pattern admits as a whole
    assert re.fullmatch(_pattern("ResourceDescription"), description)
    model = live("cam-1", name=name, description=description, tags=tag_map)
    model["outputConfig"]["destination"]["s3Destination"]["s3Uri"] = "s3://" + s3_suffix
    text = model_text(model, "../schemas/configured-audience-model.schema.json")
    target = workdir / "models" / "cam.yaml"
    write_file(target, text)

    result = check_file(ModelFile(target, "models/cam.yaml"), Policy(path="policy.yaml"), keep_model=True)
    assert result.findings == ()
    assert result.model is not None
    expected = managed_fields(model)
    assert result.arn == expected.pop("configuredAudienceModelArn")
    assert {**result.model.desired, **result.model.beside} == expected  # so plan is a no-op
    assert yaml.safe_load(text) == managed_fields(model)  # YAML 1.1 readers (editors) agree
    # No value or comment adds a line for any reader (\x85, \u2028 and friends are escaped).
    assert text.splitlines() == text.split("\n")[:-1]
    comments = [line for line in text.splitlines() if line.startswith("#")]
    tags_managed = "tags" in managed_fields(model)  # tags are written as a field when they all can be
    assert len(comments) == 3 + 1 + bool(tag_map and not tags_managed)  # modeline, header, notice, name[, tags]


def test_name_and_tags_comments_are_escaped() -> None:
    text = model_text(live("cam-1", name="evil\nkey: x #", tags={"a\nb": "c\u2028d\u202e"}), None)
    assert '# name: "evil\\nkey: x #"' in text
    assert '# tags: {"a\\nb": "c\\u2028d\\u202e"}' in text
    assert "$schema" not in text


def test_a_lone_surrogate_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repository: Path
) -> None:
    aws = FakeAws([live("bad", description="\ud800 lone"), live("good")])
    outcome = execute_import(ImportOptions(arns=(arn("bad"), arn("good"))), aws)  # type: ignore[arg-type]
    by_arn = {r.arn: r for r in outcome.results}
    assert by_arn[arn("good")].status == WRITTEN
    assert by_arn[arn("bad")].status == FAILED
    assert "description holds U+D800" in str(by_arn[arn("bad")].reason)
    assert outcome.exit_code == 1


# ----- file names --------------------------------------------------------------------------


def names_for(models: list[tuple[str, str]], taken: tuple[str, ...] = ()) -> dict[str, str]:
    chosen = choose_file_names([Naming(a, n) for a, n in models], taken)
    return {a: chosen[a] for a, _ in models}


@pytest.mark.parametrize(
    ("models", "taken", "expected"),
    [
        pytest.param([(arn("a"), "Spring Lookalike!")], (), ["spring-lookalike.yaml"], id="from-name"),
        pytest.param(
            [(arn("a"), "spring"), (arn("b", "eu-west-1"), "spring")],
            (),
            ["spring-us-east-1.yaml", "spring-eu-west-1.yaml"],
            id="two-regions",
        ),
        pytest.param(
            [(arn("a1b2c3d4-e5"), "spring"), (arn("f6a7b8c9-d0"), "Spring")],
            (),
            ["spring-us-east-1-a1b2c3d4.yaml", "spring-us-east-1-f6a7b8c9.yaml"],
            id="same-region",
        ),
        pytest.param([(arn("a"), "spring")], ("spring",), ["spring-us-east-1.yaml"], id="existing-file"),
        pytest.param([(arn("a"), "spring")], ("Spring",), ["spring-us-east-1.yaml"], id="existing-other-case"),
        pytest.param(
            [(arn("a"), "spring")], ("spring", "spring-us-east-1"), ["spring-us-east-1-a.yaml"], id="existing-both"
        ),
        pytest.param(
            [(arn("same"), "x"), (arn("same", account=OTHER), "x")],
            (),
            ["x-us-east-1-same.yaml", f"x-us-east-1-{OTHER}-same.yaml"],
            id="two-accounts",
        ),
        pytest.param([(arn("id-7"), "日本語")], (), ["id-7.yaml"], id="no-ascii-name"),
        pytest.param([(arn("a"), "CON")], (), ["con-model.yaml"], id="windows-reserved"),
        pytest.param([(arn("a"), "../../etc/passwd")], (), ["etc-passwd.yaml"], id="no-path"),
    ],
)
def test_file_names(models: list[tuple[str, str]], taken: tuple[str, ...], expected: list[str]) -> None:
    assert list(names_for(models, taken).values()) == expected


def test_file_names_are_unique_whatever_collides() -> None:
    models = [(arn(f"m{i % 3}", account=a), "same") for i in range(3) for a in (ACCOUNT, OTHER)]
    chosen = names_for(models, ("same", "same-us-east-1", "same-us-east-1-m0"))
    assert len(set(chosen.values())) == len(models)


# ----- the policy edit of --baseline ----------------------------------------------------------

WAIVERS = [
    NewWaiver(
        "models/a.yaml", "require-description", "baseline: imported 2025-01-01, fix by 2025-04-01", dt.date(2099, 4, 1)
    ),
    NewWaiver(
        "models/b.yaml",
        "min-matching-seed-size",
        "baseline: imported 2025-01-01, fix by 2025-04-01",
        dt.date(2099, 4, 1),
    ),
]
OLD_WAIVER = (
    "  - path: models/old.yaml\n"
    "    rule: require-description\n"
    "    reason: legacy, owner RETAIL-1\n"
    "    expires: 2099-01-01\n"
)
RULES = "# privacy review owns this file\nrules:\n  require-description: true  # keep\n  min-matching-seed-size: 1000\n"


@pytest.mark.parametrize(
    ("text", "old"),
    [
        pytest.param(RULES + "waivers: []  # none yet\n# the end\n", 0, id="empty-flow"),
        pytest.param(RULES.rstrip("\n"), 0, id="no-key-no-newline"),
        pytest.param(
            RULES + "waivers:\n  # legacy\n" + OLD_WAIVER + "\n# overrides follow\noverrides: []\n", 1, id="block"
        ),
        pytest.param(RULES + "waivers:\n" + OLD_WAIVER.replace("\n  ", "\n").lstrip(" "), 1, id="indentless"),
        pytest.param((RULES + "waivers:\n" + OLD_WAIVER).replace("\n", "\r\n"), 1, id="crlf"),
    ],
)
def test_baseline_edit_keeps_the_file_and_adds_exactly_the_waivers(tmp_path: Path, text: str, old: int) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(text.encode())
    add_waivers(path, "policy.yaml", WAIVERS)
    edited = path.read_bytes().decode()
    for line in text.splitlines():  # comments and layout are kept; an empty value becomes a block list
        kept = line if not line.startswith("waivers:") else line.partition("#")[2]
        assert kept in (edited.splitlines() if kept == line else edited)
    loaded = load_policy(path, "policy.yaml")
    assert loaded.policy is not None
    found = [(w.path, w.rule, w.reason, w.expires) for w in loaded.policy.waivers]
    assert found[old:] == [(w.path, w.rule, w.reason, w.expires) for w in WAIVERS]
    assert len(found) == old + len(WAIVERS)
    assert dict(loaded.policy.rules) == {"require-description": True, "min-matching-seed-size": 1000}


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        (
            "policy.yaml",
            RULES + "waivers: [{path: x.yaml, rule: require-description, reason: legacy model, expires: 2099-01-01}]\n",
            "flow style",
        ),
        ("policy.yaml", RULES + '"waivers": []\n', "not written as"),
        ("policy.yaml", RULES + "waivers: ~\n", "not a valid policy now"),
        ("policy.json", '{"rules": {"require-description": true}}', "JSON"),
        ("policy.yaml", "rules: [\n", "not a valid policy now"),
    ],
)
def test_baseline_edit_refuses_what_it_cannot_prove(tmp_path: Path, name: str, text: str, why: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(BaselineRefused, match=why):
        add_waivers(path, name, WAIVERS)
    assert path.read_text() == text


def test_baseline_that_cannot_edit_prints_the_waivers_and_fails(repository: Path) -> None:
    policy = RULES + "waivers: [{path: x.yaml, rule: require-description, reason: legacy model, expires: 2099-01-01}]\n"
    (repository / "policy.yaml").write_text(policy)
    aws = FakeAws([live("bad", description=None)])
    outcome = execute_import(ImportOptions(arns=(arn("bad"),), baseline=True), aws)  # type: ignore[arg-type]
    assert outcome.exit_code == 1
    assert [r.status for r in outcome.results] == [WRITTEN]
    message = "\n".join(outcome.errors)
    assert "flow style" in message and "Add these waivers to it yourself" in message
    snippet = yaml.safe_load(message.split("yourself:\n", 1)[1])
    assert snippet["waivers"][0]["path"] == "models/bad.yaml"
    assert (repository / "policy.yaml").read_text() == policy


# ----- scope, options, parallel Gets -----------------------------------------------------------


class FakeAws:
    """The adapter's surface, over a list of live models; one account per instance."""

    def __init__(
        self, models: list[dict[str, Any]], account: str = ACCOUNT, barrier: threading.Barrier | None = None
    ) -> None:
        self.models = {m["configuredAudienceModelArn"]: {k: v for k, v in m.items() if v is not None} for m in models}
        self.account = account
        self.barrier = barrier
        self.listed: list[tuple[str, str]] = []

    def caller_account(self) -> str:
        return self.account

    def default_region(self) -> str | None:
        return "us-east-1"

    def service_regions(self) -> tuple[list[str], str]:
        return ["eu-west-1", "us-east-1"], "cleanrooms"

    def list_models(self, region: str) -> Iterator[dict[str, Any]]:
        self.listed.append((self.account, region))
        for model_arn, model in self.models.items():
            if f":{region}:{self.account}:" in model_arn:
                yield {"configuredAudienceModelArn": model_arn, "name": model.get("name")}

    def get_model(self, model_arn: str, region: str) -> dict[str, Any]:
        if self.barrier is not None:
            self.barrier.wait()  # every Get of the batch must be in flight at once
        return dict(self.models[model_arn])

    def get_policy(self, model_arn: str, region: str) -> tuple[str, str] | None:
        return None  # these models have no resource policy

    def assume(self, role_arn: str) -> FakeAws:
        other = FakeAws([], role_arn.split(":")[4], self.barrier)
        other.models = self.models
        other.listed = self.listed
        return other


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def test_gets_run_in_parallel(repository: Path) -> None:
    models = [live(f"m{i}") for i in range(4)]
    aws = FakeAws(models, barrier=threading.Barrier(4, timeout=30))
    outcome = execute_import(ImportOptions(import_all=True, concurrency=4), aws)  # type: ignore[arg-type]
    assert [r.status for r in outcome.results] == [WRITTEN] * 4


def test_all_regions_and_accounts_through_a_role(repository: Path) -> None:
    aws = FakeAws([live("a", "eu-west-1"), live("b", "us-east-1", OTHER), live("c", "us-east-1")])
    options = ImportOptions(
        import_all=True, all_regions=True, accounts=(OTHER,), role_arn_template="arn:aws:iam::{account}:role/r"
    )
    outcome = execute_import(options, aws)  # type: ignore[arg-type]
    assert sorted(aws.listed) == [
        (ACCOUNT, "eu-west-1"),
        (ACCOUNT, "us-east-1"),
        (OTHER, "eu-west-1"),
        (OTHER, "us-east-1"),
    ]
    assert outcome.listed == [
        f"accounts {ACCOUNT}, {OTHER} in eu-west-1, us-east-1 "
        "(--all-regions: every region botocore's endpoint data lists for cleanrooms)."
    ]
    assert [r.status for r in outcome.results] == [WRITTEN] * 3
    assert outcome.exit_code == 0


def test_repository_accounts_need_a_role_to_be_listed(repository: Path) -> None:
    (repository / "models").mkdir()
    (repository / "models/far.yaml").write_text(f"configuredAudienceModelArn: {arn('far', account=OTHER)}\n")
    aws = FakeAws([live("near"), live("far", account=OTHER)])
    outcome = execute_import(ImportOptions(import_all=True), aws)  # type: ignore[arg-type]
    assert aws.listed == [(ACCOUNT, "us-east-1")]
    assert any(f"not listed: account(s) {OTHER}" in note for note in outcome.notes)
    assert {r.arn: r.status for r in outcome.results} == {arn("near"): WRITTEN}
    again = execute_import(ImportOptions(arns=(arn("far", account=OTHER),)), aws)  # type: ignore[arg-type]
    assert [(r.status, r.path) for r in again.results] == [(MANAGED, "models/far.yaml")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ImportOptions(), "give ARNs or --all"),
        (ImportOptions(arns=(arn("a"),), import_all=True), "give ARNs or --all"),
        (ImportOptions(arns=(arn("a"),), regions=("us-east-1",)), "give them with --all"),
        (ImportOptions(import_all=True, regions=("us-east-1",), all_regions=True), "not both"),
        (ImportOptions(import_all=True, regions=("US East",)), "not a region name"),
        (ImportOptions(import_all=True, accounts=("12345",), role_arn_template="r"), "not a 12-digit"),
        (ImportOptions(import_all=True, accounts=(OTHER,)), "--role-arn-template"),
        (ImportOptions(import_all=True, folder="../elsewhere"), "not inside models/"),
        (ImportOptions(import_all=True, folder="models/a\nb"), "control character"),
        (ImportOptions(import_all=True, policy_file="no-such-policy.yaml"), "policy file not found"),
    ],
)
def test_options_that_cannot_work_are_usage_errors(repository: Path, options: ImportOptions, message: str) -> None:
    aws = FakeAws([live("a")])
    with pytest.raises(UsageError, match=re.escape(message)):
        execute_import(options, aws)  # type: ignore[arg-type]
    assert aws.listed == []


def test_printable_escapes_terminal_controls() -> None:
    assert printable("arn\x1b[31m\u202e\nx") == "arn\\u001b[31m\\u202e\\u000ax"
    assert printable("a\nb", keep_newlines=True) == "a\nb"


def test_adapter_default_region_and_service_regions(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from cam_gitops.live.aws import CleanRoomsML, RetrySettings, make_session

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    adapter = CleanRoomsML(make_session(), RetrySettings())
    assert adapter.default_region() == "eu-west-1"
    monkeypatch.delenv("AWS_REGION")
    assert CleanRoomsML(make_session(), RetrySettings()).default_region() == "us-east-1"  # AWS_DEFAULT_REGION
    regions, source = adapter.service_regions()
    assert "us-east-1" in regions and "eu-west-1" in regions and source in ("cleanroomsml", "cleanrooms")
    assert not any(r.startswith("fips") for r in regions)


def test_baseline_needs_a_valid_policy_before_any_aws_call(repository: Path) -> None:
    (repository / "policy.yaml").write_text("rules:\n  no-such-rule: 1\n")
    aws = FakeAws([live("a")])
    with pytest.raises(UsageError, match=r"policy\.yaml is invalid"):
        execute_import(ImportOptions(import_all=True, baseline=True), aws)  # type: ignore[arg-type]
    assert aws.listed == []


def test_baseline_without_a_policy_says_so(repository: Path) -> None:
    outcome = execute_import(ImportOptions(import_all=True, baseline=True), FakeAws([live("a")]))  # type: ignore[arg-type]
    assert outcome.exit_code == 0
    assert "--baseline: no policy.yaml, so no rule to waive" in outcome.notes


def test_no_usable_identity_is_one_error_for_the_run(repository: Path) -> None:
    from cam_gitops.live.aws import AwsError

    class NoCredentials(FakeAws):
        def caller_account(self) -> str:
            raise AwsError("NoCredentials", "no AWS credentials found")

    outcome = execute_import(ImportOptions(arns=(arn("a"), arn("b"))), NoCredentials([live("a")]))  # type: ignore[arg-type]
    assert outcome.exit_code == 1
    assert outcome.errors == ["NoCredentials: no AWS credentials found"]
    assert outcome.results == []
