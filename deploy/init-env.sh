#!/usr/bin/env bash
# Create deploy/.env from deploy/.env.example: every empty NAME= line gets a fresh random secret (the master key
# "sk-" + 43 URL-safe characters, LAAS_PRESET_HASH 32 hex digits, the others 43 URL-safe characters, as
# ./start_services.sh makes them for src/.env). Mode 0600; an existing file is never overwritten.
#
#   ./deploy/init-env.sh [TARGET]        TARGET defaults to deploy/.env
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
target="${1:-$here/.env}"
command -v python3 >/dev/null 2>&1 || { echo "error: python3 is required" >&2; exit 1; }
python3 - "$here/.env.example" "$target" <<'PY'
import os
import secrets
import sys

example, target = sys.argv[1], sys.argv[2]


def secret(name: str) -> str:
    if name == "LITELLM_MASTER_KEY":
        return "sk-" + secrets.token_urlsafe(32)
    if name == "LAAS_PRESET_HASH":
        return secrets.token_hex(16)
    return secrets.token_urlsafe(32)


lines = []
with open(example, encoding="utf-8") as handle:
    for line in handle.read().splitlines():
        name = line.split("=", 1)[0].strip()
        if not line.lstrip().startswith("#") and line.strip() == f"{name}=":
            line = f"{name}={secret(name)}"
        lines.append(line)
try:  # O_EXCL: never overwrite secrets a running stack uses
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
except FileExistsError:
    sys.exit(f"{target} exists already; left it alone")
with os.fdopen(fd, "w", encoding="utf-8") as handle:
    handle.write("\n".join(lines) + "\n")
print(f"created {target} with fresh secrets (mode 0600)", file=sys.stderr)
PY
