"""Reading YAML and JSON that a user may have written, fast and within limits.

YAML goes through libyaml's C parser where PyYAML was built with it (10x faster than the pure-Python one: the
catalog and the published runs are read on every command). Both readers refuse, each on one line
(`RefusedInputError`, which is a `yaml.YAMLError` and an `AccelplanError`, so a caller catching either reports it):

- a key given twice in one mapping: YAML and JSON parsers keep the last one silently;
- aliases standing for more than `MAX_ALIAS_EXPANSION` nodes and characters in all: 483 bytes of nested aliases
  (a "billion laughs" file) stand for 10^9 nodes, which ran for 77 s and then ran out of memory;
- an alias inside the node it names (a recursive structure);
- nesting deeper than `MAX_DEPTH`: the deepest shipped file is 6 levels, and serialising fails near 1,000;
- more than `MAX_NODES` values in one document (a file of `1,1,1,...` within the size limit took 87 s);
- a scalar that YAML resolves as a number, date or boolean but cannot convert (`0x_`, `2024-13-01`).

The file size limit is `paths.MAX_INPUT_BYTES`, applied by `load_file` before anything is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from accelplan import paths
from accelplan.errors import AccelplanError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"

# 6 is the deepest level any shipped catalog, economics, mapping or runs file uses; 32 leaves room for user files
# and stays far below the ~1,000 levels where libyaml, json and serialisation give up
MAX_DEPTH = 32
# nodes plus scalar characters that aliases may add to a document: a config reusing a few blocks adds hundreds to
# thousands; a "billion laughs" file adds 10^9
MAX_ALIAS_EXPANSION = 100_000
# nodes in one document: the largest shipped file (the 163 published runs) has 12,548; a 16 MiB file of `1,1,1,...`
# has 8 million, which took 87 s to read
MAX_NODES = 200_000
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


class RefusedInputError(yaml.YAMLError, AccelplanError):
    """YAML or JSON that parses but is refused: a duplicate key, an alias bomb, recursion, deep nesting, too many
    values, or a scalar that cannot be converted."""


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_graph(root: Node) -> None:
    """Refuse a composed document whose aliases expand too far, that contains itself, or that nests too deep.

    Aliases compose to the very node they name, so the document is a graph; its expanded size and height are
    summed once per distinct node (memoised), which takes time in the file's size, not in the expansion's."""
    weight: dict[int, int] = {}  # node id -> nodes + scalar characters of its expansion
    height: dict[int, int] = {}
    distinct = 0
    open_ids: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if isinstance(node, ScalarNode):
            if key not in weight:
                weight[key], height[key] = 1 + len(node.value), 0
                distinct += weight[key]
            continue
        if leaving:
            kids = _children(node)
            weight[key] = 1 + sum(weight[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            distinct += 1
            open_ids.discard(key)
            if height[key] > MAX_DEPTH:
                raise RefusedInputError(f"nested more than {MAX_DEPTH} levels deep (line {_line(node)})")
            if weight[key] - distinct > MAX_ALIAS_EXPANSION:
                raise RefusedInputError(f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes and characters "
                                        f"(line {_line(node)}); write the repeated parts out, or use fewer aliases")
            continue
        if key in open_ids:
            raise RefusedInputError(f"an alias refers to a node that contains it (line {_line(node)}); recursive "
                                    "structures are not accepted")
        if key in weight:
            continue  # an alias of a node already measured
        open_ids.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node))


def check_tree_depth(root: Node) -> None:
    """Refuse a composed document without anchors (so a tree) that nests deeper than MAX_DEPTH."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RefusedInputError(f"nested more than {MAX_DEPTH} levels deep (line {_line(node)})")
        if type(node) is MappingNode:
            stack.extend((n, depth + 1) for pair in node.value for n in pair if type(n) is not ScalarNode)
        elif type(node) is SequenceNode:
            stack.extend((n, depth + 1) for n in node.value if type(n) is not ScalarNode)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader, refusing duplicate keys and checking each document's graph before it is built."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        # without an '&' in the text there are no anchors, hence no aliases: the document is a tree, and only its
        # depth needs checking (the full graph check doubles the time to read the catalog)
        self._anchors = not isinstance(stream, str) or "&" in stream
        self._own_pairs: dict[int, int] = {}

    def construct_document(self, node: Node) -> Any:
        if self._anchors:
            check_graph(node)
        else:
            check_tree_depth(node)
        self._own_pairs = {}
        return super().construct_document(node)

    def flatten_mapping(self, node: MappingNode) -> None:
        # remember, before merge keys (`<<: *base`) splice their pairs in front, how many pairs the mapping wrote
        # itself: those may override merged keys, but not each other
        if id(node) not in self._own_pairs:
            self._own_pairs[id(node)] = sum(1 for k, _ in node.value if k.tag != _MERGE_TAG)
        super().flatten_mapping(node)

    def construct_mapping(self, node: Node, deep: bool = False) -> Any:
        """BaseConstructor.construct_mapping, refusing a key the mapping gives twice itself."""
        if not isinstance(node, MappingNode):
            return super().construct_mapping(node, deep=deep)
        self.flatten_mapping(node)
        pairs = node.value
        merged = len(pairs) - self._own_pairs.get(id(node), len(pairs))
        mapping: dict[Any, Any] = {}
        own: dict[Any, Node] = {}
        for i, (key_node, value_node) in enumerate(pairs):
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise RefusedInputError(f"a mapping key on line {_line(key_node)} is a list or mapping; keys are "
                                        "scalars")
            if i >= merged:
                if key in own:
                    raise RefusedInputError(f"duplicate key '{key}' on line {_line(key_node)} (first given on line "
                                            f"{_line(own[key])}); give each key once")
                own[key] = key_node
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_SCALAR_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError)


def _guarded(tag: str) -> Any:
    """PyYAML's constructor for `tag`, raising RefusedInputError where PyYAML lets a ValueError or KeyError out
    (`0x_`, `2024-13-01`, `!!bool maybe`: the resolver's patterns admit them, the conversion does not)."""
    construct = yaml.constructor.SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{tag}"]

    def run(loader: Any, node: Node) -> Any:
        try:
            return construct(loader, node)
        except _SCALAR_ERRORS as exc:
            raise RefusedInputError(f"'{str(node.value)[:40]}' on line {_line(node)} is not a valid {tag} "
                                    f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    return run


for _tag in ("int", "float", "bool", "timestamp"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _guarded(_tag))


def describe(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: a refusal as it is, a syntax error as its problem and where it is."""
    if isinstance(exc, RefusedInputError):
        return str(exc)
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        context = f"{exc.context}: " if exc.context else ""
        return f"not valid YAML: {context}{exc.problem}{where}"
    return f"not valid YAML: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"


def _node_bound(text: str) -> int:
    """An upper bound on the nodes of a document, from its text: every node but the first follows one of these
    separators, and none brings more than two (`a: b` brings the mapping and the value)."""
    return 2 * sum(text.count(c) for c in ",\n[{-:?") + 2


def check_node_count(text: str) -> None:
    """Refuse a document of more than MAX_NODES nodes, counting parser events and stopping at the limit (a fraction
    of a second), before any of it is built. Only texts whose `_node_bound` exceeds the limit need counting."""
    if _node_bound(text) <= MAX_NODES:
        return
    count = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, _NODE_EVENTS):
            count += 1
            if count > MAX_NODES:
                where = f" (line {event.start_mark.line + 1})" if event.start_mark is not None else ""
                raise RefusedInputError(f"more than {MAX_NODES:,} values in one document{where}; split it")


def safe_load(text: str) -> Any:
    """`yaml.safe_load` with the limits above; raises yaml.YAMLError (RefusedInputError among them)."""
    check_node_count(text)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except _SCALAR_ERRORS as exc:  # a tagged value PyYAML cannot convert (`!!binary`, `!!omap` already say so)
        raise RefusedInputError(f"a value cannot be read: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included (unrolled: linear time)


def _depth(data: Any) -> int:
    """Levels of nested lists and dicts (a flat dict is 1), counted up to one past MAX_DEPTH; scalars are skipped."""
    deepest, stack = 0, [(data, 1)]
    while stack and deepest <= MAX_DEPTH:
        x, d = stack.pop()
        deepest = max(deepest, d)
        kids = x.values() if isinstance(x, dict) else x
        stack.extend((v, d + 1) for v in kids if isinstance(v, dict | list))
    return deepest if isinstance(data, dict | list) else 0


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise RefusedInputError(f"duplicate key '{k}'; give each key once")
        out[k] = v
    return out


def load_json(text: str) -> Any:
    """`json.loads` with the same limits (no duplicate keys, at most MAX_DEPTH levels and MAX_NODES values); raises
    ValueError (json.JSONDecodeError) for bad JSON and RefusedInputError for refused JSON. NaN and Infinity are kept
    as floats, for the field that receives them to refuse by name."""
    bare = _JSON_STRING.sub('""', text)  # separators inside strings are not structure
    # every value but the first follows a '[', ',' or ':', and each of those counts at most the values
    bound = 1 + bare.count("[") + bare.count(",") + bare.count(":")
    if bound > 3 * MAX_NODES + 1:
        raise RefusedInputError(f"more than {MAX_NODES:,} values in one document; split it")
    try:
        data = json.loads(text, object_pairs_hook=_unique)
    except RecursionError:
        raise RefusedInputError(f"nested more than {MAX_DEPTH} levels deep") from None
    if bare.count("[") + bare.count("{") > MAX_DEPTH and _depth(data) > MAX_DEPTH:
        raise RefusedInputError(f"nested more than {MAX_DEPTH} levels deep")
    return data


def load_file(path: str | Path, what: str) -> Any:
    """The YAML document in PATH (`what` names it in errors: 'catalog file', 'runs file'): the file must be a regular
    UTF-8 file within paths.MAX_INPUT_BYTES. Raises AccelplanError for an unreadable file, yaml.YAMLError for bad
    YAML."""
    return safe_load(paths.read_text(path, what))
