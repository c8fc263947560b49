import re
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = FIXTURES / "rows"
MINIPROJECT = FIXTURES / "miniproject"
# a fixture line ends with "# expect: row-a, row-b" (or "// expect: ..." in CUDA sources)
_EXPECT = re.compile(r"(?:#|//)\s*expect:\s*([a-z0-9, -]+?)\s*$")


def expectations(root: Path) -> set[tuple[str, int, str]]:
    """(path relative to root, line, row) for every `expect:` marker under root (or in root, a file)."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    out = set()
    for f in files:
        rel = f.name if root.is_file() else f.relative_to(root).as_posix()
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            m = _EXPECT.search(line)
            if m:
                out |= {(rel, i, row.strip()) for row in m.group(1).split(",")}
    return out


def found(result) -> set[tuple[str, int, str]]:
    return {(f.path, f.line, f.row) for f in result.findings}
