"""Read the v2 developer guide's operation pages into tests/data/guide_operations.json.

The guide's pages (`api-reference/methods/*.rst`, one per operation, plus the versions document
in `general-api-info/service-versions.rst`) are the contract's reference, but they live outside
the repository, so CI cannot read them: this script turns them into data that is committed and
that tests (tests/api/test_guide_examples.py) send and compare against the app.

Each operation records its page, title, method and path template (the route block at the top of
the page: the contract, SPEC "The whole service"), the response codes of the page's table, and
each example request and response as written. The pages have errata (a doubled `/v2/` or `//`
in an example URL, `Content-type` spellings, JSON that is not quite JSON): they are read
leniently and every such thing is listed in the example's `problems`, never a failure.

    python tools/guide_operations.py /path/to/guide [--output tests/data/guide_operations.json]

Standard library only, so it runs anywhere the guide is.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
METHODS_PATTERN = "|".join(METHODS)
ROUTE_LINE = re.compile(rf"^({METHODS_PATTERN})\s+(/\S*)$")
REQUEST_LINE = re.compile(
    rf"^({METHODS_PATTERN})\s+(?:(\S+)\s+)?HTTP/\d(?:\.\d)?$|^({METHODS_PATTERN})\s+(\S+)$"
)
STATUS_LINE = re.compile(r"^(\d{3})\b\s*(?:\((.*)\)|(.*))$")
HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$")
TITLE_LINE = re.compile(r"^\*\*(?:Example:\s*)?(.+?)\*\*\s*$")
LABEL_LINE = re.compile(r"^\.\.\s+_([^:]+):\s*$")
INCLUDE_LINE = re.compile(r"^\.\.\s+include::\s+methods/(\S+\.rst)\s*$")
TOCTREE_ENTRY = re.compile(r"^\s+(bu2-\S+)\s*$")
TABLE_CODE = re.compile(r"^\|\s*(\d{3})\s*\|")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

METHODS_DIR = Path("api-reference") / "methods"
SECTIONS_DIR = Path("api-reference")
VERSIONS_PAGE = Path("general-api-info") / "service-versions.rst"
VERSIONS_SECTION = "service-versions"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "guide_operations.json"


@dataclass
class Block:
    """One `.. code::` block: its first line number (1-based), the example title above it, its lines."""

    line: int
    title: str | None
    lines: list[str]

    @property
    def stripped(self) -> list[str]:
        return [line.strip() for line in self.lines if line.strip()]


@dataclass
class Example:
    """An example request or response being read: the head block, then maybe a body block."""

    kind: str  # "request" or "response"
    data: dict[str, Any]
    body_text: str | None = None
    problems: list[str] = field(default_factory=list)


def code_blocks(lines: list[str]) -> list[Block]:
    """Every `.. code::` block of a page, with the last `**Example: ...**` title before it."""
    blocks: list[Block] = []
    title: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        match = TITLE_LINE.match(line.strip())
        if match:
            title = match.group(1).strip()
        if line.strip().startswith(".. code::"):
            indent = len(line) - len(line.lstrip())
            body: list[str] = []
            index += 1
            while index < len(lines):
                current = lines[index]
                if current.strip() and len(current) - len(current.lstrip()) <= indent:
                    break
                body.append(current)
                index += 1
            start = index - len(body)  # 0-based index of the block's first line
            while body and not body[-1].strip():
                body.pop()
            while body and not body[0].strip():
                body.pop(0)
                start += 1
            blocks.append(Block(start + 1, title, body))
            continue
        index += 1
    return blocks


def strip_comments(text: str) -> str:
    """JSON text without `//` and `/* */` comments (outside strings)."""
    out: list[str] = []
    index, in_string = 0, False
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < len(text):
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = len(text) if end < 0 else end + 2
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


def strip_trailing_commas(text: str) -> str:
    """JSON text without a comma right before `}` or `]` (outside strings)."""
    out: list[str] = []
    in_string = False
    index = 0
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < len(text):
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char == ",":
            rest = text[index + 1 :].lstrip()
            if not rest.startswith(("}", "]")):
                out.append(char)
        else:
            out.append(char)
        index += 1
    return "".join(out)


def parse_body(text: str) -> tuple[Any, list[str]]:
    """The JSON of an example body, leniently; (None, problems) when it is not JSON at all."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        strict_error = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    problems: list[str] = []
    lenient = text
    uncommented = strip_comments(lenient)
    if uncommented != lenient:
        problems.append("body: has comments (erratum); read without them")
        lenient = uncommented
    uncomma = strip_trailing_commas(lenient)
    if uncomma != lenient:
        problems.append("body: has trailing commas (erratum); read without them")
        lenient = uncomma
    try:
        return json.loads(lenient), problems
    except json.JSONDecodeError:
        return None, [f"body: not JSON ({strict_error}); kept as body_text"]


def split_head(lines: list[str]) -> tuple[list[list[str]], list[str]]:
    """Header lines (`Name: value`) after the first line, and what follows them (a body)."""
    headers: list[list[str]] = []
    rest = lines[1:]
    while rest:
        match = HEADER_LINE.match(rest[0].strip())
        if not rest[0].strip():
            rest = rest[1:]
            continue
        if not match:
            break
        headers.append([match.group(1), match.group(2).strip()])
        rest = rest[1:]
    return headers, rest


def normalise_path(path: str) -> tuple[str, list[str]]:
    """An example URL's path with the guide's errata undone (`//`, a doubled `/v2/`)."""
    problems: list[str] = []
    if "//" in path:
        path = re.sub("/{2,}", "/", path)
        problems.append("url: a doubled '//' in the path (erratum); the route block is the contract")
    doubled = re.match(r"^(/v2/[^/]+)/v2(/.*)?$", path)
    if doubled:
        path = doubled.group(1) + (doubled.group(2) or "")
        problems.append("url: a doubled '/v2/' in the path (erratum); the route block is the contract")
    return path, problems


def path_params(template: str, path: str) -> dict[str, str] | None:
    """The template's placeholders' values in an example path; None when it does not match."""
    pieces = PLACEHOLDER.split(template)  # literal, name, literal, name, ..., literal
    pattern = "".join(
        f"(?P<{piece}>[^/]+)" if odd else re.escape(piece)
        for odd, piece in ((i % 2, p) for i, p in enumerate(pieces))
    )
    match = re.fullmatch(pattern + "/?", path)
    return dict(match.groupdict()) if match else None


def read_request(block: Block, template: str | None) -> Example:
    lines = block.stripped
    match = REQUEST_LINE.match(lines[0])
    if match is None:
        raise ValueError(f"line {block.line}: not a request line")
    method = match.group(1) or match.group(3)
    url = match.group(2) or match.group(4) or ""
    headers, rest = split_head(lines)
    problems: list[str] = []
    if not url:
        host = next((value for name, value in headers if name.lower() == "host"), "")
        url = host
        problems.append("url: none on the request line; taken from the Host header (erratum)")
    parts = urlsplit(url if "://" in url or url.startswith("/") else "https://" + url)
    written_path = parts.path or "/"
    normal, path_problems = normalise_path(written_path)
    problems += path_problems
    params = path_params(template, normal) if template else None
    if template and params is None:
        problems.append(f"url: path {written_path!r} does not match the route {template!r}")
    data: dict[str, Any] = {
        "title": block.title,
        "line": block.line,
        "method": method,
        "url": url,
        "path": written_path,
        "query": parts.query,
        "path_params": params,
        "headers": headers,
    }
    example = Example("request", data, problems=problems)
    if rest:
        example.body_text = "\n".join(rest)
    return example


def read_response(block: Block) -> Example:
    lines = block.stripped
    match = STATUS_LINE.match(lines[0])
    if match is None:
        raise ValueError(f"line {block.line}: not a status line")
    headers, rest = split_head(lines)
    reason = (match.group(2) or match.group(3) or "").strip()
    data: dict[str, Any] = {
        "title": block.title,
        "line": block.line,
        "status": int(match.group(1)),
        "reason": reason,
        "headers": headers,
    }
    example = Example("response", data)
    if rest:
        example.body_text = "\n".join(rest)
    return example


def finish(example: Example) -> dict[str, Any]:
    """The example as recorded: the body parsed (or its text kept) and its problems listed."""
    data = dict(example.data)
    problems = list(example.problems)
    data["body"] = None
    if example.body_text is not None:
        body, body_problems = parse_body(example.body_text)
        problems += body_problems
        data["body"] = body
        if body is None:
            data["body_text"] = example.body_text
    data["problems"] = problems
    return data


def location_problems(entry: dict[str, Any]) -> None:
    """List the errata of the example `Location`s (SPEC: a route table wins over an example)."""
    template = entry["path"] or ""
    literals = [part for part in template.split("/") if part and not part.startswith("{")]
    collection = literals[-1] if literals else ""
    for response in entry["responses"]:
        location = next((value for name, value in response["headers"] if name.lower() == "location"), None)
        if location is None:
            continue
        segments = [part for part in urlsplit(location).path.split("/") if part]
        if not (len(segments) > 2 and segments[0] == "v2" and segments[1].isdigit()):
            response["problems"].append("location: no project id after /v2/ (erratum)")
        if collection and collection not in segments:
            response["problems"].append(f"location: does not name the route's {collection!r} (erratum)")
        body = response["body"]
        if (
            isinstance(body, dict)
            and isinstance(body.get("id"), str)
            and segments
            and segments[-1] != body["id"]
        ):
            response["problems"].append("location: does not end with the body's id (erratum)")


def response_codes(lines: list[str]) -> list[int]:
    """The codes of the page's response-code table (the grid table headed `Response code`)."""
    codes: list[int] = []
    inside = False
    for line in lines:
        if line.startswith(("|Response code", "| Response code")):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            match = TABLE_CODE.match(line)
            if match:
                codes.append(int(match.group(1)))
    return codes


def read_page(text: str, name: str, section: str | None) -> dict[str, Any]:
    """One operation page into its entry."""
    lines = text.splitlines()
    label = next((m.group(1) for m in map(LABEL_LINE.match, lines) if m), None)
    title = None
    for index, line in enumerate(lines[:-1]):
        following = lines[index + 1]
        if (
            line.strip()
            and following.strip()
            and set(following.strip()) <= set("~=-^")
            and len(following.strip()) >= 3
        ):
            title = line.strip()
            break
    page_problems: list[str] = []
    method: str | None = None
    template: str | None = None
    examples: list[Example] = []
    for block in code_blocks(lines):
        stripped = block.stripped
        if not stripped:
            page_problems.append(f"line {block.line}: an empty code block")
            continue
        first = stripped[0]
        route = ROUTE_LINE.match(first)
        if route and template is None and len(stripped) == 1:
            method, template = route.group(1), route.group(2)
        elif REQUEST_LINE.match(first):
            examples.append(read_request(block, template))
        elif STATUS_LINE.match(first):
            examples.append(read_response(block))
        elif first.startswith(("{", "[")) and examples and examples[-1].body_text is None:
            examples[-1].body_text = "\n".join(block.lines)
        else:
            page_problems.append(
                f"line {block.line}: a code block that is no route, request, response or body: {first[:60]!r}"
            )
    if template is None:
        page_problems.append("no route block")
    entry = {
        "page": name,
        "section": section,
        "label": label,
        "title": title,
        "method": method,
        "path": template,
        "response_codes": response_codes(lines),
        "requests": [finish(e) for e in examples if e.kind == "request"],
        "responses": [finish(e) for e in examples if e.kind == "response"],
        "problems": page_problems,
    }
    location_problems(entry)
    return entry


def read_versions(text: str, name: str) -> dict[str, Any]:
    """The versions document: a section of a general page, with no route block of its own.

    The page says: "Issue a GET request to the root endpoint for a service ... omit the version
    and everything to the right of it", so its route is `GET /`.
    """
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == ".. _service-version-list:")
    entry = read_page("\n".join(lines[start:]), name, VERSIONS_SECTION)
    entry["method"], entry["path"] = "GET", "/"
    entry["problems"] = [p for p in entry["problems"] if p != "no route block"]
    entry["problems"].append("no route block: the page's text says GET on the root endpoint, so GET /")
    if not entry["response_codes"]:
        entry["problems"].append("no response-code table: the page refers to the general Response codes page")
    for request in entry["requests"]:
        request["path_params"] = {}
    return entry


def sections(guide: Path) -> list[tuple[str, list[str]]]:
    """The API reference's sections in the guide's order, each with its pages in include order."""
    index = guide / SECTIONS_DIR / "index.rst"
    names = (
        [m.group(1) for m in map(TOCTREE_ENTRY.match, index.read_text().splitlines()) if m]
        if index.exists()
        else []
    )
    found = sorted(p.stem for p in (guide / SECTIONS_DIR).glob("bu2-*.rst"))
    ordered = [n for n in names if n in found] + [n for n in found if n not in names]
    result = []
    for name in ordered:
        text = (guide / SECTIONS_DIR / f"{name}.rst").read_text()
        result.append((name, [m.group(1) for m in map(INCLUDE_LINE.match, text.splitlines()) if m]))
    return result


def read_guide(guide: Path) -> list[dict[str, Any]]:
    """Every operation of the guide: the versions document first, then the API reference's pages
    in the guide's order (a page no section includes comes last, by name)."""
    entries: list[dict[str, Any]] = []
    versions = guide / VERSIONS_PAGE
    if versions.exists():
        entries.append(read_versions(versions.read_text(), VERSIONS_PAGE.as_posix()))
    pages = {p.name: p for p in (guide / METHODS_DIR).glob("*.rst")}
    done: set[str] = set()
    for section, includes in sections(guide):
        for name in includes:
            if name in pages and name not in done:
                done.add(name)
                entries.append(read_page(pages[name].read_text(), (METHODS_DIR / name).as_posix(), section))
    for name in sorted(set(pages) - done):
        entries.append(read_page(pages[name].read_text(), (METHODS_DIR / name).as_posix(), None))
    return entries


def render(entries: list[dict[str, Any]]) -> str:
    """The committed file's text: stable, readable, diffable."""
    return json.dumps({"operations": entries}, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "guide", type=Path, help="the guide's root (it holds api-reference/ and general-api-info/)"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if not (args.guide / METHODS_DIR).is_dir():
        parser.error(f"{args.guide}: no {METHODS_DIR} in it; give the guide's root")
    entries = read_guide(args.guide)
    args.output.write_text(render(entries))
    problems = sum(
        len(e["problems"]) + sum(len(x["problems"]) for x in e["requests"] + e["responses"]) for e in entries
    )
    sys.stderr.write(f"{args.output}: {len(entries)} operations, {problems} problems recorded\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
