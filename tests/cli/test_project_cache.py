"""The parsed-project cache (issue #5): used when the file is unchanged, never stale, never fatal.

Each test checks a real cache file under ``.timescape/``. To prove a load came from the cache,
the TOML parser is replaced by one that fails: a cached load must not need it.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.conftest import S1_SQL, run_cli, write_project
from tests.clirun import run_process
from tests.dbutil import TestDB
from timescape.model import schema as model_schema
from timescape.project import cache as _cache
from timescape.project import config
from timescape.project.config import Project, load_project


@pytest.fixture(autouse=True)
def _cache_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_cache.NO_CACHE_ENV, raising=False)


def _project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "shop", f"sqlite:///{tmp_path / 'shop.db'}")


def _no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(text: str, label: str) -> dict[str, object]:
        msg = f"{label} was parsed although its cache is valid"
        raise AssertionError(msg)

    monkeypatch.setattr(config, "_parse", fail)


def _same(cached: Project, fresh: Project) -> None:
    assert cached.schemas == fresh.schemas
    assert cached.versions == fresh.versions
    assert cached.database == fresh.database
    assert cached.lint == fresh.lint
    assert [v.tsv for v in cached.catalog.versions] == [v.tsv for v in fresh.catalog.versions]


def test_load__cache_on__writes_a_self_ignoring_cache_beside_the_project(tmp_path: Path) -> None:
    path = _project(tmp_path)

    load_project(path, cache=True)

    folder = path.parent / ".timescape"
    assert (folder / "timescape.toml.cache").is_file()
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_load__cache_off__writes_nothing(tmp_path: Path) -> None:
    path = _project(tmp_path)

    load_project(path)

    assert not (path.parent / ".timescape").exists()


def test_load__unchanged_file__definitions_come_from_cache_and_equal_a_fresh_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path)
    fresh = load_project(path, cache=True)

    _no_parse(monkeypatch)
    cached = load_project(path, cache=True)

    _same(cached, fresh)
    # The TOML datetime of v2 comes back as a datetime, the strings as strings.
    assert [type(v.timestamp).__name__ for v in cached.versions] == ["str", "datetime", "str"]
    assert cached.schemas[0].steps[0].file == "migrations/s1/001_products.sql"


def test_load__unchanged_file__catalog_comes_back_as_the_validated_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path)
    fresh = load_project(path, cache=True).catalog

    _no_parse(monkeypatch)
    # Issue 14: the cached catalog is taken back as it was assigned, not numbered again.
    monkeypatch.setattr(config.Catalog, "_assign_tsvs", None)
    cached = load_project(path, cache=True).catalog

    assert list(cached.tsvs()) == list(fresh.tsvs())
    assert cached.versions == fresh.versions
    assert [cached.version(t) for t in cached.tsvs()] == [fresh.version(t) for t in fresh.tsvs()]
    assert cached.schemas == fresh.schemas
    assert cached.graph.names == fresh.graph.names
    assert cached.declared_tags() == fresh.declared_tags()
    assert cached.contract_schemas == fresh.contract_schemas


def test_load__unchanged_file__inline_step_digests_come_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path)
    fresh = load_project(path, cache=True)
    expected = {s.name: (s.checksums, s.rollback_checksums) for s in fresh.schemas}
    memo: dict[str, str] = {}
    monkeypatch.setattr(model_schema, "_TEXT_CHECKSUMS", memo)
    hashed: list[str] = []
    real = model_schema._text_digest

    def counting(script: str) -> str:
        hashed.append(script)
        return real(script)

    monkeypatch.setattr(model_schema, "_text_digest", counting)

    cached = load_project(path, cache=True)
    assert memo == {}  # taken when a checksum is first asked for, not before

    got = {s.name: (s.checksums, s.rollback_checksums) for s in cached.schemas}
    assert got == expected
    # Only the dir schema's files (read again, maybe edited) were hashed.
    s1 = cached.catalog.schema("s1")
    dir_scripts = {t for step in s1.steps for t in (step.migration, step.rollback) if t}
    assert hashed
    assert set(hashed) <= dir_scripts


def test_load__cached_digests_not_lining_up__scripts_hashed_as_without_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path)
    fresh = load_project(path, cache=True)
    expected = {s.name: s.checksums for s in fresh.schemas}
    key = _cache.cache_key(path.read_bytes())
    payload = _cache.load(path.resolve(), key)
    payload["digests"] = b"\0" * 32 + payload["digests"][:-64]  # one short: none taken
    _cache.save(path.resolve(), key, payload)
    monkeypatch.setattr(model_schema, "_TEXT_CHECKSUMS", {})

    cached = load_project(path, cache=True)

    assert {s.name: s.checksums for s in cached.schemas} == expected


def test_load__file_edited_with_same_size_and_mtime__parsed_again(tmp_path: Path) -> None:
    path = _project(tmp_path)
    load_project(path, cache=True)
    before = path.stat()
    text = path.read_text()
    edited = text.replace('tags = ["v3"]', 'tags = ["v9"]')
    assert len(edited) == len(text)

    path.write_text(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    project = load_project(path, cache=True)
    assert project.versions[2].tags == ("v9",)


def test_load__sql_file_in_dir_changed_or_added__picked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path)
    load_project(path, cache=True)
    files = path.parent / "migrations" / "s1"
    changed = S1_SQL.replace("name VARCHAR(100)", "title VARCHAR(100)")
    (files / "001_products.sql").write_text(changed)
    (files / "002_index.sql").write_text("CREATE INDEX products_title ON products (title);\n")
    (files / "002_index.rollback.sql").write_text("DROP INDEX products_title;\n")

    _no_parse(monkeypatch)  # the project file did not change: only the dir is read again
    project = load_project(path, cache=True)

    s1 = project.catalog.schema("s1")
    assert s1.steps[0].migration == changed
    assert [s.name for s in s1.steps] == ["001_products", "002_index"]


def test_load__sql_file_removed__same_error_as_without_cache(tmp_path: Path) -> None:
    path = _project(tmp_path)
    load_project(path, cache=True)
    for file in (path.parent / "migrations" / "s1").iterdir():
        file.unlink()

    with pytest.raises(config.DefinitionError) as cached:
        load_project(path, cache=True)
    with pytest.raises(config.DefinitionError) as fresh:
        load_project(path)

    assert str(cached.value) == str(fresh.value)
    assert "holds no NNN_name.sql migration files" in str(cached.value)


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "flipped byte", "empty", "other key"],
)
def test_load__damaged_cache__ignored_then_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    path = _project(tmp_path)
    fresh = load_project(path, cache=True)
    cache = _cache.cache_file(path.resolve())
    data = cache.read_bytes()
    damaged = {
        "garbage": b"\x00\xff not a cache at all",
        "truncated": data[: len(data) // 2],
        "flipped byte": data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:],
        "empty": b"",
        "other key": data.replace(data[24:88], b"0" * 64, 1),
    }[damage]
    cache.write_bytes(damaged)

    _same(load_project(path, cache=True), fresh)

    assert _cache.load(path.resolve(), _cache.cache_key(path.read_bytes())) is not None
    _no_parse(monkeypatch)
    _same(load_project(path, cache=True), fresh)


def test_load__valid_cache_of_wrong_shape__ignored(tmp_path: Path) -> None:
    path = _project(tmp_path)
    fresh = load_project(path, cache=True)
    key = _cache.cache_key(path.read_bytes())
    _cache.save(path.resolve(), key, {"database": {"no_such_setting": 1}})

    _same(load_project(path, cache=True), fresh)


def test_load__cache_path_is_a_directory__works_without_cache(tmp_path: Path) -> None:
    path = _project(tmp_path)
    _cache.cache_file(path.resolve()).mkdir(parents=True)

    fresh = load_project(path)
    _same(load_project(path, cache=True), fresh)
    _same(load_project(path, cache=True), fresh)

    assert _cache.cache_file(path.resolve()).is_dir()


def test_load__cache_folder_cannot_be_created__works_without_cache(tmp_path: Path) -> None:
    path = _project(tmp_path)
    (path.parent / ".timescape").write_text("a file where the cache folder would go")

    fresh = load_project(path)
    _same(load_project(path, cache=True), fresh)

    assert (path.parent / ".timescape").is_file()


def test_load__no_cache_env__neither_reads_nor_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path)
    monkeypatch.setenv(_cache.NO_CACHE_ENV, "1")

    load_project(path, cache=True)

    assert not (path.parent / ".timescape").exists()


def test_save__concurrent_writers_and_readers__reads_are_whole_or_misses(tmp_path: Path) -> None:
    project_file = tmp_path / "timescape.toml"
    payloads = {f"{n:064x}": {"writer": n, "rows": [str(n)] * 20_000} for n in range(4)}
    errors: list[BaseException] = []
    stop = threading.Event()

    def write(key: str) -> None:
        for _ in range(20):
            _cache.save(project_file, key, payloads[key])

    def read() -> None:
        while not stop.is_set():
            for key, payload in payloads.items():
                try:
                    got = _cache.load(project_file, key)
                    assert got is None or got == payload
                except BaseException as exc:
                    errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(key,)) for key in payloads]
    for thread in (*readers, *writers):
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()

    assert errors == []
    last = _cache.cache_file(project_file)
    assert any(_cache.load(project_file, key) is not None for key in payloads)
    assert sorted(p.name for p in last.parent.iterdir()) == [".gitignore", last.name]


def test_schema_list__sql_file_edited_after_apply__drift_reported_through_the_cache(
    db: TestDB, tmp_path: Path
) -> None:
    path = write_project(tmp_path, db.url)
    ts = ("--project", str(path))
    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0
    first = run_cli(*ts, "schema", "list", "--json")
    assert (tmp_path / ".timescape" / "timescape.toml.cache").is_file()
    again = run_cli(*ts, "schema", "list", "--json")
    assert again.stdout == first.stdout
    assert first.json()["schemas"][0]["drifted_steps"] == []

    sql = tmp_path / "migrations" / "s1" / "001_products.sql"
    sql.write_text(S1_SQL.replace("the products table", "the product table"))
    drifted = run_cli(*ts, "schema", "list", "--json")

    assert drifted.json()["schemas"][0]["drifted_steps"] == [1]
    uncached = run_cli(*ts, "schema", "list", "--json", env={_cache.NO_CACHE_ENV: "1"})
    assert uncached.stdout == drifted.stdout


def test_load__lifecycle_table__comes_back_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path)
    text = (
        path.read_text()
        + '\n[lifecycle]\nhot_within = "5m"\ncold_after = "7d"\nauto_retire = true\n'
    )
    path.write_text(text)
    fresh = load_project(path, cache=True)
    _no_parse(monkeypatch)
    cached = load_project(path, cache=True)
    assert cached.lifecycle == fresh.lifecycle
    assert cached.lifecycle.cold_after.days == 7
    assert cached.lifecycle.auto_retire
    assert cached.timescape().usage_policy.hot_within.total_seconds() == 300


# -- secrets and containment (issue 11) -------------------------------------------------------


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_load__password_in_project_url__nothing_written_and_old_cache_deleted(
    tmp_path: Path,
) -> None:
    secret = "s3cr3t-Pa55word"
    path = write_project(tmp_path / "shop", f"postgresql://app:{secret}@127.0.0.1:1/shop")
    folder = path.parent / ".timescape"
    # A cache an older Timescape wrote for this very file, password included.
    key = _cache.cache_key(path.read_bytes())
    fresh = load_project(path)
    reader_payload = config._Reader("x", "", "").payload(fresh)
    _cache.save(path.resolve(), key, reader_payload)
    assert any(secret.encode() in p.read_bytes() for p in _files_under(folder))

    for _ in range(2):
        project = load_project(path, cache=True)
        assert project.database.url == fresh.database.url  # still works, from the file
    assert not (folder / "timescape.toml.cache").exists()
    leaked = [
        p
        for p in _files_under(tmp_path)
        if p.name != "timescape.toml" and secret.encode() in p.read_bytes()
    ]
    assert leaked == []


def test_cli__password_in_project_url__no_file_beside_the_project_holds_it(
    tmp_path: Path,
) -> None:
    secret = "hunter2-xyz"
    path = write_project(tmp_path / "shop", f"postgresql://app:{secret}@127.0.0.1:1/shop")
    for _ in range(2):
        result = run_process("--project", str(path), "schema", "check", cwd=path.parent)
        assert secret not in result.output, result.describe()
    leaked = [
        p
        for p in _files_under(tmp_path)
        if p.name != "timescape.toml" and secret.encode() in p.read_bytes()
    ]
    assert leaked == []


@pytest.mark.parametrize("what", ["folder", "file"])
def test_load__symlinked_cache_out_of_the_project__never_followed(
    tmp_path: Path, what: str
) -> None:
    path = _project(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    folder = path.parent / ".timescape"
    if what == "folder":
        folder.symlink_to(outside, target_is_directory=True)
    else:
        folder.mkdir()
        (folder / "timescape.toml.cache").symlink_to(outside / "victim")

    first = load_project(path, cache=True)
    second = load_project(path, cache=True)

    _same(second, first)
    assert list(outside.iterdir()) == []
    assert folder.is_symlink() == (what == "folder")
    if what == "file":
        assert (folder / "timescape.toml.cache").is_symlink()


_URL_LINE = re.compile(r"""^\s*url\s*=\s*(?P<q>["'])(?P<url>.*?)(?P=q)""", re.MULTILINE)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["url", " ", "\t", "\n", "\r\n", "\r", "=", '"', "'", "pw", "x url", "\xa0"]
        ),
        max_size=16,
    )
)
def test_database_url__same_values_as_a_multiline_regex_scan(parts: list[str]) -> None:
    # The secret check reads url values without parsing TOML; it must find every one the
    # line-anchored regex it replaced finds (a miss would let a password into the cache).
    text = "".join(parts)
    found = [m.group("url") for m in _URL_LINE.finditer(text)]
    assert config._database_url(text) == (" ".join(found) if found else None)


def test_config__reader_and_lines_moved_out__still_reachable_from_config() -> None:
    from timescape.project import _lines, _reader  # noqa: PLC0415

    assert config._Reader is _reader._Reader
    assert config._Lines is _lines._Lines
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = config.nothing_here  # type: ignore[attr-defined]
