#!/usr/bin/env bash
# Makes a new org-owned resource as a copy of Projects, the reference
# resource, or removes one (docs/adding-a-resource.md).
#
#   scripts/new-resource.sh NAME [--plural PLURAL]   # e.g. task, or person --plural people
#   scripts/new-resource.sh --remove NAME [--plural PLURAL]
#
# NAME is singular and lower case (a-z). The copy spans the migration, the
# input types, the domain, the server functions, the pages and their
# routes, the navigation, the audit vocabulary, the isolation registry, the
# audit completeness test, the HTTP tests and the browser tests. Afterwards
# run scripts/sqlx-prepare.sh (the new queries' offline data).
#
# Where Projects spans several lines of a shared file, the lines sit between
# "resource: project" and "end resource: project" comments; elsewhere in
# the shared files every line that names a project is one of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=add
if [[ "${1:-}" == "--remove" ]]; then
    mode=remove
    shift
fi
name=${1:-}
shift || true
plural="${name}s"
if [[ "${1:-}" == "--plural" ]]; then
    plural=${2:-}
fi
if [[ ! "$name" =~ ^[a-z]+$ || ! "$plural" =~ ^[a-z]+$ ]]; then
    echo "usage: scripts/new-resource.sh [--remove] NAME [--plural PLURAL]  (lower-case letters only)" >&2
    exit 2
fi
if [[ $mode == add && ( "$name" == project || -e "app/src/domain/$plural.rs" ) ]]; then
    echo "a resource called $name already exists" >&2
    exit 1
fi
if [[ $mode == remove && ! -e "app/src/domain/$plural.rs" ]]; then
    echo "there is no resource called $name (app/src/domain/$plural.rs)" >&2
    exit 1
fi

MODE=$mode NAME=$name PLURAL=$plural python3 - <<'PY'
import os, pathlib, re

mode, name, plural = os.environ["MODE"], os.environ["NAME"], os.environ["PLURAL"]
cap = lambda w: w[:1].upper() + w[1:]

def rename(text, src=("project", "projects"), dst=(name, plural)):
    (s1, sp), (d1, dp) = src, dst
    for a, b in [(cap(sp), cap(dp)), (sp, dp), (sp.upper(), dp.upper()),
                 (cap(s1), cap(d1)), (s1, d1), (s1.upper(), d1.upper())]:
        text = text.replace(a, b)
    return text

def copy_of(text):
    # Lines between "projects only" and "end projects only" comments are
    # about what only Projects has (the org home's recent list).
    text = re.sub(r"[^\n]*\bprojects only\b.*?\bend projects only\b[^\n]*\n", "", text, flags=re.S)
    return rename(text)

# Files that are wholly the resource's own.
OWN = [
    "app/src/domain/{p}.rs",
    "app/src/api/{p}.rs",
    "app/src/pages/{p}.rs",
    "server/tests/it/{p}.rs",
    "end2end/tests/{p}.spec.ts",
]
# Shared files: the resource's lines, and its blocks between markers.
SHARED = [
    "app/src/ids.rs",
    "app/src/domain/mod.rs",
    "app/src/api/mod.rs",
    "app/src/pages/mod.rs",
    "app/src/lib.rs",
    "app/src/components/org_frame.rs",
    "app/src/audit.rs",
    "app/src/validation.rs",
    "server/tests/it/main.rs",
    "server/tests/it/support/org_owned.rs",
    "server/tests/it/audit_completeness.rs",
]
# Shared files whose Projects parts are not copied (demo data, the home
# page's recent list) but go when Projects is removed.
REMOVE_ONLY = ["app/src/domain/demo.rs", "app/src/pages/org_home.rs"]

def marker(line, word, end=False):
    tag = ("end resource: " if end else "resource: ") + word
    stripped = line.strip().lstrip("/-# ").strip()
    return stripped == tag

def split(lines, word):
    """(kind, lines) chunks: 'block' between markers, else single 'line's."""
    out, i = [], 0
    while i < len(lines):
        if marker(lines[i], word):
            j = i
            while not marker(lines[j], word, end=True):
                j += 1
            out.append(("block", lines[i:j + 1]))
            i = j + 1
        else:
            out.append(("line", [lines[i]]))
            i += 1
    return out

def names(line, word, words):
    return re.search(words, line, re.IGNORECASE) is not None

def add_to(path):
    lines = pathlib.Path(path).read_text().splitlines(keepends=True)
    out = []
    for kind, chunk in split(lines, "project"):
        out.extend(chunk)
        if kind == "block" or re.search("project", chunk[0], re.IGNORECASE):
            out.extend(copy_of("".join(chunk)).splitlines(keepends=True))
    pathlib.Path(path).write_text("".join(out))

def remove_from(path):
    lines = pathlib.Path(path).read_text().splitlines(keepends=True)
    words = rf"\b({name}|{plural})\b|{cap(name)}|{cap(plural)}"
    out = []
    for kind, chunk in split(lines, name):
        if kind == "block" or re.search(words, chunk[0]):
            continue
        out.extend(chunk)
    pathlib.Path(path).write_text("".join(out))

migrations = sorted(pathlib.Path("migrations").glob("*.sql"))
number = max(int(m.name.split("_")[0]) for m in migrations) + 1

if mode == "add":
    for pattern in OWN:
        src = pathlib.Path(pattern.format(p="projects"))
        dst = pathlib.Path(pattern.format(p=plural))
        dst.write_text(copy_of(src.read_text()))
    for path in SHARED:
        add_to(path)
    source = next(m for m in migrations if m.name.endswith("_projects.sql")).read_text()
    block = next(c for k, c in split(source.splitlines(keepends=True), "project") if k == "block")
    pathlib.Path(f"migrations/{number}_{plural}.sql").write_text(
        f"-- {cap(plural)}: an org-owned resource made by scripts/new-resource.sh from Projects.\n\n"
        + copy_of("".join(block)))
    print(f"Made {plural}: migrations/{number}_{plural}.sql and "
          + ", ".join(p.format(p=plural) for p in OWN))
else:
    for pattern in OWN:
        pathlib.Path(pattern.format(p=plural)).unlink(missing_ok=True)
    for path in SHARED + REMOVE_ONLY:
        remove_from(path)
    pathlib.Path(f"migrations/{number}_drop_{plural}.sql").write_text(
        f"-- {cap(plural)} removed (scripts/new-resource.sh --remove {name}).\n"
        f"drop table {name};\n")
    print(f"Removed {plural}; migrations/{number}_drop_{plural}.sql drops its table.")
PY
cargo fmt --all 2>/dev/null || true
echo "Next: review the change (git status, git diff), then scripts/sqlx-prepare.sh and scripts/test.sh."
