"""Run a documented curl walkthrough as written (issue 20): bash itself expands the block's variables and
quoting (TODAY set to the test's day), a `curl` shell function hands each command's words back, and the
test sends them to the in-process API with the local issuer's tokens for the `make -s token` lines."""
from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from datetime import date

TOKEN_LINE = re.compile(r"^([A-Z_0-9]+)=\$\(make -s token (.*?)\)")
ASSIGNMENT = re.compile(r"^([A-Z_0-9]+)=")


@dataclass
class Command:
    source: str  # as written (possibly several lines)
    comments: list[str] = field(default_factory=list)  # the comment lines right after it


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    command: Command


@dataclass
class Walkthrough:
    tokens: dict[str, tuple[str, tuple[str, ...], dict[str, str]]]  # variable → (user, roles, claims)
    assignments: list[str]
    commands: list[Command]


def _complete(text: str) -> bool:
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # an open quote: the command goes on
        return False
    return True


def parse(block: str) -> Walkthrough:
    tokens: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {}
    assignments: list[str] = []
    commands: list[Command] = []
    lines = block.splitlines()
    i, after_command = 0, False  # comment lines right after a command are its (its expected answer)
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and after_command:
            commands[-1].comments.append(line)
            i += 1
            continue
        after_command = False
        token = TOKEN_LINE.match(line)
        if token:
            spec = dict(word.split("=", 1) for word in shlex.split(token[2]))
            claims = {k.lower(): v for k, v in spec.items() if k in ("UNIT", "TEAM", "EMPLOYEE") and v}
            tokens[token[1]] = (spec["USER"], tuple(spec["ROLES"].split(",")), claims)
        elif ASSIGNMENT.match(line):
            assignments.append(line)
        elif line.startswith("curl "):
            text = line
            while not _complete(text):
                i += 1
                text += "\n" + lines[i]
            commands.append(Command(text))
            after_command = True
        i += 1
    return Walkthrough(tokens, assignments, commands)


def expand(walk: Walkthrough, today: date) -> tuple[dict[str, str], list[list[str]]]:
    """The variables' values and each command's words, as bash expands them on `today`."""
    names = [ASSIGNMENT.match(line)[1] for line in walk.assignments]
    script = ["exec 3>&1", "curl() { printf '%s\\0' \"$@\" >&3; printf '\\1' >&3; }"]
    script += [f"{name}='@token:{name}@'" for name in walk.tokens]
    script += [f"TODAY={today.isoformat()}" if line.startswith("TODAY=") else line for line in walk.assignments]
    script += [c.source for c in walk.commands]
    script.append("for v in " + " ".join(names) + "; do printf '%s=%s\\0' \"$v\" \"${!v}\" >&3; done")
    out = subprocess.run(["bash", "-e", "-c", "\n".join(script)], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}).stdout
    *records, variables = out.split("\1")
    values = dict(item.split("=", 1) for item in variables.split("\0") if item)
    return values, [record.split("\0")[:-1] for record in records]


def requests(walk: Walkthrough, today: date, bearer, api_prefix: str) -> tuple[dict[str, str], list[Request]]:  # noqa: ANN001
    """Each command as a request to the API (paths relative to the API's prefix) with its caller's token."""
    values, commands = expand(walk, today)
    out = []
    for command, words in zip(walk.commands, commands, strict=True):
        method, path, headers, body = "GET", None, {}, None
        i = 0
        while i < len(words):
            word = words[i]
            if word in ("-X", "-H", "-d"):
                value = words[i + 1]
                if word == "-X":
                    method = value
                elif word == "-d":
                    body = value
                    method = "POST" if method == "GET" else method
                else:
                    name, header = value.split(": ", 1)
                    token = re.fullmatch(r"Bearer @token:(\w+)@", header)
                    if token:
                        user, roles, claims = walk.tokens[token[1]]
                        headers.update(bearer(user, *roles, **claims))
                    else:
                        headers[name] = header
                i += 2
                continue
            if word.startswith(api_prefix):
                path = word.removeprefix(api_prefix)
            i += 1
        assert path is not None, command.source
        out.append(Request(method, path, headers, body, command))
    return values, out
