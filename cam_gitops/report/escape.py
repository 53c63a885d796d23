"""Escaping for every medium cam-gitops writes to, and caps on lists a person reads.

Every byte from a model file, the policy or AWS is hostile: a file name, a key, an ARN, a live
description or an AWS error message can hold terminal control sequences, line breaks that start
GitHub workflow commands, or Markdown that renders as HTML, images, links and @mentions in a PR
comment. Reporters pass each such value through the function of their medium:

=====================  ==============================================================
terminal               a value on stdout, stderr, a --output text file, a CI log
log_line / log_text    a finished line of ours, as the GitHub Actions runner reads it
github_escape_data     a workflow command's message (after terminal)
github_escape_property a workflow command's property value (after terminal)
md_code                a value in Markdown (PR and issue comments), tables included
md_inline              a value in Markdown prose: a bare word or number as is, else md_code
html_code              a value inside raw HTML in Markdown (<summary>)
sarif_text             a SARIF plain-text message
json_text              a whole JSON or SARIF document
=====================  ==============================================================

Nothing here imports more than the standard library: the pre-commit hook uses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

# The Actions runner also reads `##[command]data` anywhere in a line (its legacy syntax), e.g.
# `##[error]`, or `##[stop-commands]token`, which silences every later annotation of the step.
LEGACY_COMMAND = "##["
_LEGACY_BROKEN = "#\\u0023["
_COMMAND_KEY = "::"


def _visible_escape(ch: str) -> str:
    code = ord(ch)
    return f"\\U{code:08x}" if code > 0xFFFF else f"\\u{code:04x}"


def terminal(text: str, keep_newlines: bool = False) -> str:
    """text made inert for a terminal, a log file or a CI log, and visible as it is.

    Neutralises every character Unicode calls "Other" or "Separator" except the space: C0
    controls (NUL, BS, TAB, LF, CR, ESC and so every ANSI/CSI sequence), DEL, C1 controls
    (including the one-byte CSI U+009B), invisible format characters (U+200B..U+200F,
    bidi embeddings and overrides U+202A..U+202E and isolates U+2066..U+2069, U+FEFF, tag
    characters), line and paragraph separators U+2028/U+2029, other spaces (NBSP, ...), lone
    surrogates and unassigned code points. Each is shown as a \\uXXXX (or \\UXXXXXXXX) escape:
    ESC is `\\u001b`, RLO is `\\u202e`. Also breaks `##[`, the runner's legacy command
    syntax that works anywhere in a line, into `#\\u0023[`.

    So a value never spans two lines (unless keep_newlines, for a text of ours that quotes
    values: pass each line through log_line then), never moves the cursor, colours or clears
    the screen, and never reorders what follows it. Backslashes are kept as they are: the escape
    makes a character visible; it is not meant to be decoded.
    """
    if text.isprintable():
        return text.replace(LEGACY_COMMAND, _LEGACY_BROKEN) if LEGACY_COMMAND in text else text
    # str.isprintable is False exactly for the categories C* and Z* other than the ASCII space.
    escaped = "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n") else _visible_escape(ch) for ch in text)
    return escaped.replace(LEGACY_COMMAND, _LEGACY_BROKEN)


def log_line(line: str) -> str:
    """A finished line of our output, made unable to act as a GitHub workflow command.

    The runner takes a line as a command when, after leading whitespace, it starts with `::`
    (`::error::`, `::add-mask::`, `::stop-commands::` ...), or when it holds `##[` anywhere.
    Values are escaped with terminal, so they cannot start a line of their own; this guards the
    lines whose first characters are a value (a path at the start of a check finding, a field
    name in an indented plan line): their first `:` becomes `\\u003a`. Lines that are meant to be
    workflow commands (github_annotation) do not go through here.
    """
    stripped = line.lstrip()
    if stripped.startswith(_COMMAND_KEY):
        line = line[: len(line) - len(stripped)] + "\\u003a" + stripped[1:]
    return line.replace(LEGACY_COMMAND, _LEGACY_BROKEN) if LEGACY_COMMAND in line else line


def log_text(text: str) -> str:
    """Every line of text through log_line (line breaks kept)."""
    return "\n".join(log_line(line) for line in text.split("\n"))


def lines_text(lines: Sequence[str]) -> str:
    """A text report from its lines: each guarded with log_line, newline-terminated."""
    return "".join(log_line(line) + "\n" for line in lines)


def github_escape_data(text: str) -> str:
    """Escape a workflow command's message as the Actions runner decodes it: `%`, CR and LF.

    Pass the value through terminal first: the message then has no control characters at all,
    and this encoding keeps the runner from reading a `%0A` written by the value as a line break.
    """
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_escape_property(text: str) -> str:
    """Escape a workflow command property value (file, title, ...): data escapes plus `:` and `,`,
    which would end the property list or the property."""
    return github_escape_data(text).replace(":", "%3A").replace(",", "%2C")


_BACKTICKS = re.compile("`+")


def md_code(value: str, table: bool = False) -> str:
    """value as a Markdown code span: shown as it is, with no Markdown or HTML meaning.

    A code span's content is literal in CommonMark and GFM: no HTML (`<img>`, `<details>`), no
    emphasis, no links or images (`[x](url)`, `![x](url)`), no autolinks (`https://`, `www.`,
    e-mail addresses), no entities; and GitHub does not turn `@user`, `@org/team`, `#123` or
    `:emoji:` inside code into mentions, references or emoji. What could break out is handled:
    backticks in the value get a longer fence than their longest run (padded with a space when
    the value starts or ends with a backtick or a space, which the renderer strips); line breaks
    and every other control character are escaped first (terminal), so the span never ends a
    paragraph or a table row. In a table cell (table=True) `|` is written `\\|`, which GFM reads
    as a `|` inside the cell even within a code span.
    """
    text = terminal(value)
    if table:
        text = text.replace("|", "\\|")
    if not text:
        return "` `"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text[0] in "` " or text[-1] in "` ":
        text = f" {text} "
    return f"{fence}{text}{fence}"


# A bare word or number: no character Markdown, HTML, an autolink, a mention (`@`), an issue
# reference (`#`) or an emoji shortcode (`:`) needs; no `.` so no `www.` autolink.
_BARE = re.compile(r"-?[0-9][0-9eE+-]*(?:\.[0-9]+)?|[A-Za-z][A-Za-z0-9-]*")


def md_inline(value: str) -> str:
    """value in running Markdown text: as it is when it is a bare word or number (a rule id,
    `1000`), else md_code. Reads like prose for the values of ours, and safe for any other."""
    return value if _BARE.fullmatch(value) else md_code(value)


def html_code(value: str) -> str:
    """value as `<code>` inside raw HTML of a Markdown document (a `<details>` summary line).

    Raw HTML is passed through as written, so the value is HTML-escaped: `&`, `<`, `>`, `"` and
    `'` as entities (no tag, no attribute, no closing of ours); `@` as `&#64;` and `:` as `&#58;`
    so no mention or link pattern is in the source; control characters and line breaks escaped
    first (terminal), so the HTML block, which ends at a blank line, cannot be ended early.
    """
    import html  # only Markdown reports need it: not on the hook's start-up path

    escaped = html.escape(terminal(value), quote=True).replace("@", "&#64;").replace(":", "&#58;")
    return f"<code>{escaped}</code>"


def sarif_text(value: str) -> str:
    """A SARIF plain-text message: terminal escaping, then `\\`, `[` and `]` backslash-escaped.

    SARIF viewers (GitHub code scanning among them) read `[text](target)` in a plain-text
    message as an embedded link; escaped brackets are shown as brackets, as in CodeQL's own
    SARIF. No ANSI sequence or control character reaches a viewer.
    """
    return terminal(value).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


# A superset of what must be escaped (everything but printable ASCII and the line breaks of
# the indentation); the callback keeps what str.isprintable accepts, such as letters.
_JSON_CANDIDATES = re.compile(r"[^\n -~]")


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(payload: Any) -> str:
    """payload as indented JSON: readable letters kept, nothing invisible written raw.

    json.dumps with ensure_ascii=False writes DEL, C1 controls (U+009B is a one-byte CSI),
    bidi overrides, U+2028/U+2029, tag characters and lone surrogates as they are; here every
    character that str.isprintable rejects is a \\uXXXX escape (a surrogate pair beyond the BMP),
    so a terminal showing the file shows no control and the data reads back the same. `##[` in a
    string is written `#\\u0023[`: the same string to a JSON reader, no command to the Actions
    runner when the JSON is printed in a CI log.
    """
    text = json.dumps(payload, indent=2, ensure_ascii=False)
    if not text.isascii() or "\x7f" in text:
        text = _JSON_CANDIDATES.sub(_json_escape, text)
    return text.replace(LEGACY_COMMAND, _LEGACY_BROKEN) + "\n"


def capped(items: Sequence[str], limit: int, separator: str = ", ") -> str:
    """items joined, at most limit of them, then `and N more`: a line stays short whatever the input."""
    shown = separator.join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
