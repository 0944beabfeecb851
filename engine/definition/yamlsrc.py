"""YAML with line numbers: every mapping and list remembers where its keys and items stand.

PyYAML's composer already knows each node's position; we build plain dicts and lists from the
node tree ourselves so the validator can name the line of any offending key.  Building it
ourselves also bounds what a hostile file can cost: aliases are refused outright (a workflow
has no use for them, and they are how a "billion laughs" file explodes) and so is nesting or
size beyond what any real workflow needs.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1_000_000
MAX_NODES = 20_000  # the shipped workflow has some 700
MAX_DEPTH = 32


class YamlSourceError(ValueError):
    def __init__(self, line: int, message_zh: str, message_en: str) -> None:
        super().__init__(f"line {line}: {message_en}")
        self.line = line
        self.message_zh = message_zh
        self.message_en = message_en


class LDict(dict):
    """A dict that knows its own line and the line of each key."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LList(list):
    line: int
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Builder:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.count = 0

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.count += 1
        line = node.start_mark.line + 1
        if self.count > MAX_NODES:
            raise YamlSourceError(line, f"文件过大：超过 {MAX_NODES} 个节点", f"too large: more than {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise YamlSourceError(line, f"嵌套过深：超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            out = LDict()
            out.line, out.key_lines = line, {}
            self.loader.flatten_mapping(node)
            for knode, vnode in node.value:
                key = self.build(knode, depth + 1)
                if isinstance(key, (dict, list)):
                    raise YamlSourceError(knode.start_mark.line + 1, "键必须是标量", "keys must be scalars")
                if key in out:
                    raise YamlSourceError(knode.start_mark.line + 1, f"重复的键：{key}", f"duplicate key: {key}")
                out[key] = self.build(vnode, depth + 1)
                out.key_lines[key] = knode.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            lst = LList()
            lst.line, lst.item_lines = line, []
            for item in node.value:
                lst.append(self.build(item, depth + 1))
                lst.item_lines.append(item.start_mark.line + 1)
            return lst
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # 2026-02-30, an int of 5,000 digits
            value = str(node.value)[:40]
            raise YamlSourceError(
                line, f"无法解读的值 {value!r}：{exc}", f"cannot read the value {value!r}: {exc}"
            ) from None


class _NoAliasComposer(yaml.SafeLoader):
    """PyYAML's composer, refusing aliases and stopping as soon as the tree grows too deep or
    too large: the composer recurses once per level and builds every node before anything
    can count them, so limits checked afterwards come too late (10,000 nested lists exhaust
    Python's stack; a megabyte of ``[a,a,a,...]`` costs seconds and hundreds of MB)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise YamlSourceError(line, "不允许使用 YAML 别名（*name）", "YAML aliases (*name) are not allowed")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlSourceError(line, f"文件过大：超过 {MAX_NODES} 个节点", f"too large: more than {MAX_NODES} nodes")
        if self.depth > MAX_DEPTH:
            raise YamlSourceError(line, f"嵌套过深：超过 {MAX_DEPTH} 层", f"nested deeper than {MAX_DEPTH} levels")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load(text: str) -> Any:
    """Parse one YAML document into LDict/LList/scalars; raise YamlSourceError with a line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlSourceError(1, f"文件超过 {MAX_BYTES} 字节", f"file larger than {MAX_BYTES} bytes")
    try:
        loader = _NoAliasComposer(text)  # the reader refuses NUL and lone surrogates here
    except yaml.YAMLError as exc:
        raise YamlSourceError(1, f"YAML 错误：{exc}", f"YAML error: {exc}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlSourceError(1, "文件为空", "the file is empty")
        return _Builder(loader).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        msg = f"{exc.context or ''} {exc.problem or ''}".strip()
        raise YamlSourceError(line, f"YAML 语法错误：{msg}", f"YAML syntax error: {msg}") from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(1, f"YAML 错误：{exc}", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
