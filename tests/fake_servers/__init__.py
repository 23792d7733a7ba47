"""Doc-faithful stand-ins for public LLM server APIs (Ollama, TGI): deterministic echo "models", real HTTP.

Each server speaks its protocol as the project's own documentation and source define it (shapes, status codes,
error bodies, stream framing); only the model is fake. A prompt containing `[fail:CODE]` makes the server fail the
way that server fails with that status; `[fail:stream]` fails in the middle of a stream.
"""

from __future__ import annotations

import argparse
import re

PIECE = re.compile(r"\s*\S+")
FAIL = re.compile(r"\[fail:(\d{3}|stream)\]")
# A real model takes time per token; without a pause, pieces written at once may reach a client merged.
TOKEN_SECONDS = 0.02


def pieces(text: str) -> list[str]:
    """Word-sized pieces (a word with the spaces before it) that join back to `text`, as tokens would."""
    found = PIECE.findall(text)
    rest = text[len("".join(found)):]
    return found + [rest] if rest else found


def failure(text: str) -> str | None:
    """The `[fail:...]` marker in `text`: a status code as text, "stream", or None."""
    match = FAIL.search(text or "")
    return match.group(1) if match else None


def serve(app, description: str) -> None:
    """`python -m tests.fake_servers.<server> --port N`: serve an aiohttp app on loopback until killed.

    aiohttp is imported here, not at the top: kserve_echo.py runs under another interpreter without it.
    """
    from aiohttp import web

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    options = parser.parse_args()
    web.run_app(app, host=options.host, port=options.port, print=None, access_log=None)
