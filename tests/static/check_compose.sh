#!/usr/bin/env bash
# check_compose.sh — static checks of docker-compose.yml and deploy/Dockerfile, no Docker
# daemon needed:
#   1. the compose file is valid for Compose (docker-compose v1 or `docker compose` v2,
#      whichever is installed: `config -q`);
#   2. with a Python that has PyYAML: its wiring is right — the four services run their own
#      binary with /etc/leadops/leadops.yaml, each ZeroMQ endpoint is bound (tcp://*:PORT)
#      by its owner only and every other service connects to tcp://<owner>:PORT, Redis
#      runs append-only;
#   3. every COPY source in deploy/Dockerfile exists and the image holds every binary the
#      compose file runs.
# Exits 77 (skipped) when neither a Compose validator nor PyYAML is available.
set -euo pipefail

repo=${LEADOPS_TEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$repo"
compose=docker-compose.yml
dockerfile=deploy/Dockerfile
passed=0
failed=0

pass() {
    printf 'ok: %s\n' "$*"
    passed=$((passed + 1))
}

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failed=$((failed + 1))
}

# 1. Compose's own validation.
validator=''
if command -v docker-compose >/dev/null 2>&1; then
    validator=docker-compose
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    validator='docker compose'
fi
if [[ -n $validator ]]; then
    if out=$($validator -f "$compose" config -q 2>&1); then
        pass "$validator -f $compose config -q"
    else
        fail "$validator -f $compose config -q: $out"
    fi
fi

# 2. The wiring, with whichever Python can import yaml.
python=''
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
        python=$candidate
        break
    fi
done
if [[ -n $python ]]; then
    if "$python" - "$compose" <<'EOF'; then
import sys
import yaml

path = sys.argv[1]
with open(path) as f:
    doc = yaml.safe_load(f)
problems = []
services = doc.get("services") or {}

# owner service -> the endpoint keys it binds
owners = {
    "ingest": ["INGEST"],
    "scoring": ["SCORING"],
    "routing": ["ROUTING", "COMMANDS"],
    "reporting": ["EVENTS"],
}
ports = {"INGEST": 5555, "SCORING": 5556, "ROUTING": 5557, "COMMANDS": 5558, "EVENTS": 5559}
owner_of = {key: name for name, keys in owners.items() for key in keys}

def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}

redis = services.get("redis")
if not redis:
    problems.append("no redis service")
else:
    command = " ".join(str(c) for c in (redis.get("command") or []))
    if "--appendonly yes" not in command:
        problems.append("redis does not run with --appendonly yes")

for name in owners:
    service = services.get(name)
    if not service:
        problems.append(f"no {name} service")
        continue
    command = [str(c) for c in (service.get("command") or [])]
    if command[:3] != [f"leadops-{name}", "--config", "/etc/leadops/leadops.yaml"]:
        problems.append(f"{name}: command is {command}, expected leadops-{name} --config /etc/leadops/leadops.yaml")
    mounts = [str(v) for v in (service.get("volumes") or [])]
    if not any(v.endswith(":/etc/leadops/leadops.yaml:ro") or v.endswith(":/etc/leadops/leadops.yaml")
               for v in mounts):
        problems.append(f"{name}: deploy/leadops.yaml is not mounted at /etc/leadops/leadops.yaml")
    env = env_of(service)
    if env.get("LEADOPS_REDIS_HOST") != "redis":
        problems.append(f"{name}: LEADOPS_REDIS_HOST is {env.get('LEADOPS_REDIS_HOST')!r}, expected 'redis'")
    for key, port in ports.items():
        value = env.get(f"LEADOPS_ENDPOINTS_{key}")
        owner = owner_of[key]
        expected = f"tcp://*:{port}" if owner == name else f"tcp://{owner}:{port}"
        if value != expected:
            problems.append(f"{name}: LEADOPS_ENDPOINTS_{key} is {value!r}, expected {expected!r}")

for name, listen, port in (("ingest", "LEADOPS_HTTP_INGEST_LISTEN", 8080),
                           ("reporting", "LEADOPS_HTTP_REPORTING_LISTEN", 8081)):
    service = services.get(name) or {}
    value = env_of(service).get(listen)
    if value != f"0.0.0.0:{port}":
        problems.append(f"{name}: {listen} is {value!r}, expected '0.0.0.0:{port}'")
    published = [str(p) for p in (service.get("ports") or [])]
    if not any(p.endswith(f"{port}:{port}") for p in published):
        problems.append(f"{name}: port {port} is not published")

for problem in problems:
    print(f"FAIL: {path}: {problem}", file=sys.stderr)
if problems:
    sys.exit(1)
EOF
        pass "compose wiring: owners bind tcp://*:PORT, peers connect to tcp://<owner>:PORT"
    else
        fail "compose wiring (see above)"
    fi
fi

if [[ -z $validator && -z $python ]]; then
    printf 'SKIP: neither docker-compose, docker compose nor a Python with PyYAML is installed\n'
    exit 77
fi

# 3. The Dockerfile's COPY sources exist, and the image holds what compose runs.
before=$failed
while read -r source; do
    [[ -e $source ]] || fail "$dockerfile: COPY source '$source' does not exist"
done < <(awk 'toupper($1) == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }' "$dockerfile")
for binary in leadops-ingest leadops-scoring leadops-routing leadops-reporting leadopsctl; do
    grep -q "/build/bin/$binary" "$dockerfile" || fail "$dockerfile: the runtime image lacks $binary"
done
((failed > before)) || pass "$dockerfile: every COPY source exists; the image holds every binary"

[[ -n $validator ]] || printf 'note: no Compose validator installed (apt-get install docker-compose): wiring checked, schema not\n'
[[ -n $python ]] || printf 'note: no Python with PyYAML: schema checked, wiring not\n'
printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
