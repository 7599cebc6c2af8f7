#!/usr/bin/env bash
# Create the peers' virtual environments for bench/throughput.py, one per library so their pins cannot clash:
#   bench/.peers-venv/curator     bespokelabs-curator
#   bench/.peers-venv/distilabel  distilabel[openai] (and requests, which it imports without requiring)
# They are benchmark tools, not project dependencies. Usage: bash bench/peers_env.sh [python]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python3}"
root="$here/.peers-venv"

make_env() {  # make_env NAME PACKAGE...
    local env="$root/$1"
    shift
    [ -x "$env/bin/python" ] || "$python" -m venv "$env"
    "$env/bin/python" -m pip install --quiet --upgrade pip
    "$env/bin/python" -m pip install --quiet "$@"
}

make_env curator "bespokelabs-curator==0.1.31"
make_env distilabel "distilabel[openai]==1.5.3" requests
for env in curator distilabel; do
    "$root/$env/bin/python" -m pip list 2>/dev/null | grep -iE "^(bespokelabs-curator|distilabel|openai|aiohttp|litellm|httpx) "
done
