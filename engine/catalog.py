"""The deployed workflows: deploying a version, deprecating one, what stands on it, and which
version new work goes on."""

from __future__ import annotations

from pathlib import Path

from ..i18n import Text
from ..storage.errors import Duplicate
from ..storage.repository import Repository
from ..storage.rows import RoundRow, WorkflowRow
from .actors import SYSTEM, Actor
from .authz import need_admin
from .core import Core
from .definition import BUILTIN_WORKFLOWS, WorkflowDefinition, builtin_path, load_definition, parse_definition
from .errors import InvalidInput, NotFound, Refused
from .inputs import need_text, need_version
from .results import WorkflowInfo


def info(row: WorkflowRow, *, created: bool = False) -> WorkflowInfo:
    return WorkflowInfo(
        row.name, row.version, row.digest, row.deployed_at, row.deployed_by, bool(row.deprecated), created
    )


def init(core: Core, *, deploy_builtin: bool = True) -> str:
    """Create or upgrade the schema, and deploy the shipped workflows (inspection and audit
    rectification; a shipped file whose version is already deployed is left as it is)."""
    with core.storage_errors():
        rev = core.db.upgrade()
    if deploy_builtin:
        for name in BUILTIN_WORKFLOWS:
            shipped = load_definition(builtin_path(name))
            with core.read() as conn:
                latest = Repository(conn).workflows.get(name)
            if latest is None or latest.version < shipped.version:  # never over an administrator's own
                deploy(core, builtin_path(name), actor=SYSTEM)
    return rev


def validate(source: str | Path, *, file: str | None = None) -> WorkflowDefinition:
    if isinstance(source, Path):
        return load_definition(source)
    return parse_definition(source, file or "<workflow>", new=True)


def deploy(core: Core, source: str | Path, *, actor: Actor, file: str | None = None) -> WorkflowInfo:
    """Validate and store a workflow version (``admin`` role).  Deploying identical content
    again is a no-op; a changed file must carry a higher ``version`` than the one deployed."""
    need_admin(actor, Text("部署", "deploy"))
    d = validate(source, file=file)
    try:
        return _deploy(core, d, actor.id)
    except Duplicate:  # deployed concurrently by another process: the same answer as a rerun
        return _deploy(core, d, actor.id)


def _deploy(core: Core, d: WorkflowDefinition, actor_id: str) -> WorkflowInfo:
    now = core.clock.now()
    with core.write() as conn:
        repo = Repository(conn)
        same = repo.workflows.get(d.name, d.version)
        if same is not None:
            if same.digest == d.digest:
                return info(same)
            latest = repo.workflows.get(d.name)
            assert latest is not None
            raise InvalidInput(
                Text(
                    f"工作流 {d.name} 第 {d.version} 版已部署且内容不同；请把 version 改为 {latest.version + 1}",
                    f"workflow {d.name} version {d.version} is deployed with other content; set version to {latest.version + 1}",
                ),
                field="version",
            )
        latest = repo.workflows.get(d.name)
        if latest is not None and latest.version > d.version:
            raise InvalidInput(
                Text(
                    f"工作流 {d.name} 已有第 {latest.version} 版，不能部署更低的第 {d.version} 版",
                    f"workflow {d.name} already has version {latest.version}; cannot deploy older version {d.version}",
                ),
                field="version",
            )
        repo.workflows.insert(
            name=d.name,
            version=d.version,
            digest=d.digest,
            source=d.source,
            deployed_at=now,
            deployed_by=actor_id,
        )
        row = repo.workflows.get(d.name, d.version)
        assert row is not None
    return info(row, created=True)


def workflows(core: Core) -> list[WorkflowInfo]:
    with core.read() as conn:
        return [info(r) for r in Repository(conn).workflows.versions()]


def workflow(core: Core, name: str, version: int | None = None) -> WorkflowDefinition:
    if version is not None:
        need_version(version)
    with core.read() as conn:
        row = Repository(conn).workflows.get(name, version)
    if row is None:
        what = f"{name} v{version}" if version else name
        raise NotFound(Text(f"没有已部署的工作流 {what}", f"no deployed workflow {what}"))
    return core.definitions.of_row(row)


def _no_such(name: str, version: int) -> NotFound:
    return NotFound(Text(f"没有已部署的工作流 {name} v{version}", f"no deployed workflow {name} v{version}"))


def deprecate(
    core: Core, name: str, version: int, *, actor: Actor, deprecated: bool = True, force: bool = False
) -> WorkflowInfo:
    """Stop new rounds and issues from using a version (``deprecated=False`` undoes it).
    Issues already on it keep it until they are migrated.  Deprecating the last usable
    version of a workflow would stop all new work on it, so that needs ``force``."""
    need_admin(actor, Text("停用", "deprecate"))
    with core.write() as conn:
        repo = Repository(conn)
        # every version of the name locked: two administrators deprecating the last two
        # usable versions at once must not both see the other's as still usable
        versions = repo.workflows.versions(name, lock=True)
        row = next((w for w in versions if w.version == version), None)
        if row is None:
            raise _no_such(name, version)
        others = [w for w in versions if not w.deprecated and w.id != row.id]
        if deprecated and not row.deprecated and not others and not force:
            raise Refused(
                Text(
                    f"{name} 第 {version} 版是唯一可用的版本；停用后将不能新开轮次或录入问题",
                    f"{name} v{version} is the only usable version; deprecating it stops all new rounds and issues",
                ),
                [
                    (
                        "last_version",
                        Text(
                            "先部署新版本，或确需停用时使用 force（--force）",
                            "deploy a newer version first, or use force (--force) if that is intended",
                        ),
                    )
                ],
            )
        repo.workflows.set_deprecated(row.id, deprecated)
        changed = repo.workflows.get(name, version)
        assert changed is not None
        return info(changed)


def usage(core: Core, name: str, version: int) -> dict[str, int]:
    """How many issues and rounds stand on a version."""
    with core.read() as conn:
        repo = Repository(conn)
        row = repo.workflows.get(name, version)
        if row is None:
            raise _no_such(name, version)
        d = core.definitions.of_row(row)
        return repo.workflows.in_use(row.id, [st.name for st in d.states.values() if not st.final])


def usable(repo: Repository, name: str) -> WorkflowRow:
    """The version of ``name`` new work goes on: the newest that is not deprecated."""
    wf = repo.workflows.usable(name)
    if wf is None:
        hint = (
            Text("（各版本均已停用）", " (every version is deprecated)")
            if repo.workflows.get(name) is not None
            else Text("（先运行 zhenggai init 或 workflow deploy）", " (run zhenggai init or workflow deploy first)")
        )
        raise NotFound(Text(f"没有可用的工作流 {name}{hint.zh}", f"no usable workflow {name}{hint.en}"))
    return wf


def for_new_issue(core: Core, repo: Repository, r: RoundRow, name: str | None) -> tuple[int, WorkflowDefinition]:
    """The workflow version a new issue of round ``r`` goes on: the round's own version, or
    the newest usable version of ``name`` when the issue follows another workflow or the
    round's version has been deprecated since the round opened."""
    wf = repo.workflows.by_id(r.workflow_id)
    assert wf is not None
    if name is not None and name != wf.name:
        wf = usable(repo, need_text(name, "workflow", limit=64))
    elif wf.deprecated:
        wf = usable(repo, wf.name)
    return wf.id, core.definitions.of_row(wf)
