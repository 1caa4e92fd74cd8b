#!/usr/bin/env bash
# Start the application processes of docker-compose.yml natively (no Docker engine), against
# this machine's Redis and PostgreSQL, each with its log and pid file under $STACK_DIR.
#
#   deploy/local-stack.sh up         start every service (or $SERVICES), in dependency order
#   deploy/local-stack.sh down       stop what `up` started (SIGTERM, then SIGKILL after 20 s)
#   deploy/local-stack.sh status     which services run
#   deploy/local-stack.sh commands   print "<service><TAB><command>" and start nothing
#
# Environment (all optional): SERVICES="gateway-migrate tracker-migrate tracker gateway";
# STACK_DIR (default .srlforge/local-stack); SRLFORGE_STACK_POSTGRES (a server URL, one database
# per service is created on it); SRLFORGE_STACK_REDIS; GATEWAY_PORT, TRACKER_PORT, COLLAB_PORT.
# Any SRLFORGE_* variable already set wins over the defaults below.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STACK_DIR=${STACK_DIR:-$ROOT/.srlforge/local-stack}
VENV_BIN=${VENV_BIN:-$ROOT/.venv/bin}
export PATH="$VENV_BIN:$PATH"

ALL_SERVICES="gateway-migrate tracker-migrate tracker collab-grpc collab-worker trainer-worker
paid-ft-worker gateway gateway-worker-collab gateway-worker-srl gateway-worker-rlvr
gateway-worker-eval"
SERVICES=${SERVICES:-$ALL_SERVICES}
PG=${SRLFORGE_STACK_POSTGRES:-postgresql+psycopg://postgres@127.0.0.1:5432}
REDIS=${SRLFORGE_STACK_REDIS:-redis://127.0.0.1:6379}
GATEWAY_PORT=${GATEWAY_PORT:-8000}
TRACKER_PORT=${TRACKER_PORT:-50053}
COLLAB_PORT=${COLLAB_PORT:-50052}

wants() { [[ " $(echo $SERVICES) " == *" $1 "* ]]; }

# --- the same settings as docker-compose.yml, with this machine's hosts ----------------------
export SRLFORGE_HOME=${SRLFORGE_HOME:-$STACK_DIR/home}
export SRLFORGE_GATEWAY_DB_URL=${SRLFORGE_GATEWAY_DB_URL:-$PG/gateway}
export SRLFORGE_GATEWAY_EXECUTOR=${SRLFORGE_GATEWAY_EXECUTOR:-celery}
# Its own database: the jobs' queues have the names of the collab and trainer queues on db 0.
export SRLFORGE_GATEWAY_BROKER_URL=${SRLFORGE_GATEWAY_BROKER_URL:-$REDIS/3}
export SRLFORGE_GATEWAY_RATE_LIMIT_BACKEND=${SRLFORGE_GATEWAY_RATE_LIMIT_BACKEND:-redis}
export SRLFORGE_GATEWAY_REDIS_URL=${SRLFORGE_GATEWAY_REDIS_URL:-$REDIS/2}
export SRLFORGE_TRACKER_DB_URL=${SRLFORGE_TRACKER_DB_URL:-$PG/tracker}
export SRLFORGE_COLLAB_DATABASE_URL=${SRLFORGE_COLLAB_DATABASE_URL:-$PG/collab}
export SRLFORGE_COLLAB_BROKER_URL=${SRLFORGE_COLLAB_BROKER_URL:-$REDIS/0}
export SRLFORGE_COLLAB_RESULT_BACKEND=${SRLFORGE_COLLAB_RESULT_BACKEND:-$REDIS/1}
export SRLFORGE_COLLAB_GRPC_HOST=127.0.0.1
export SRLFORGE_COLLAB_GRPC_PORT=$COLLAB_PORT
export SRLFORGE_TRAINER_BROKER_URL=${SRLFORGE_TRAINER_BROKER_URL:-$REDIS/0}
export SRLFORGE_TRAINER_RESULT_BACKEND=${SRLFORGE_TRAINER_RESULT_BACKEND:-$REDIS/1}
export SRLFORGE_PAID_FT_DB_URL=${SRLFORGE_PAID_FT_DB_URL:-$PG/paid_ft}
export SRLFORGE_PAID_FT_BROKER_URL=${SRLFORGE_PAID_FT_BROKER_URL:-$REDIS/0}
export SRLFORGE_PAID_FT_RESULT_BACKEND=${SRLFORGE_PAID_FT_RESULT_BACKEND:-$REDIS/1}
export SRLFORGE_PAID_FT_REWARD_ENDPOINT_BASE=http://127.0.0.1:$GATEWAY_PORT
# The gateway checks (/readyz) and uses the servers this stack runs.
if wants tracker; then
    export SRLFORGE_GATEWAY_TRACKER=${SRLFORGE_GATEWAY_TRACKER:-grpc}
    export SRLFORGE_GATEWAY_TRACKER_TARGET=${SRLFORGE_GATEWAY_TRACKER_TARGET:-127.0.0.1:$TRACKER_PORT}
fi
if wants collab-grpc; then
    export SRLFORGE_GATEWAY_COLLAB_TARGET=${SRLFORGE_GATEWAY_COLLAB_TARGET:-127.0.0.1:$COLLAB_PORT}
fi

# The commands of docker-compose.yml; only bind addresses, ports and Celery node names differ
# (several workers share this host, so each needs its own node name).
command_of() {
    case "$1" in
        gateway-migrate) echo "python -m gateway migrate" ;;
        tracker-migrate) echo "typer tracker_service.cli run migrate" ;;
        tracker) echo "typer tracker_service.cli run serve --host 127.0.0.1 --port $TRACKER_PORT" ;;
        collab-grpc) echo "python -m collab_service.grpc_server" ;;
        collab-worker) echo "celery -A collab_service.tasks worker -Q collab -c 1 --prefetch-multiplier 1 -n collab@%h" ;;
        trainer-worker) echo "celery -A trainer_service.tasks worker -Q srl,rlvr,eval -c 1 --prefetch-multiplier 1 -n trainer@%h" ;;
        paid-ft-worker) echo "celery -A paid_ft_service.tasks worker -Q paid_ft -B -c 1 -n paid_ft@%h" ;;
        gateway) echo "python -m gateway serve --host 127.0.0.1 --port $GATEWAY_PORT" ;;
        gateway-worker-collab | gateway-worker-srl | gateway-worker-rlvr | gateway-worker-eval)
            local queue=${1#gateway-worker-}
            echo "celery -A gateway.celery_app worker -Q $queue -c 1 --prefetch-multiplier 1 -n gateway-$queue@%h"
            ;;
        *) echo "unknown service '$1'; known: $(echo $ALL_SERVICES)" >&2; return 2 ;;
    esac
}

one_shot() { [[ "$1" == *-migrate ]]; }

health_of() {
    case "$1" in
        tracker) echo "grpc 127.0.0.1:$TRACKER_PORT" ;;
        collab-grpc) echo "grpc 127.0.0.1:$COLLAB_PORT" ;;
        gateway) echo "http http://127.0.0.1:$GATEWAY_PORT/healthz" ;;
        *) echo "" ;;
    esac
}

pid_file() { echo "$STACK_DIR/pids/$1.pid"; }

running() {
    local file pid
    file=$(pid_file "$1")
    [[ -f "$file" ]] || return 1
    pid=$(cat "$file")
    # A killed service stays a zombie until its parent (often init) reaps it; it runs no more.
    kill -0 "$pid" 2>/dev/null && [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" != Z* ]]
}

ensure_secret() {
    if [[ -z "${SRLFORGE_GATEWAY_KEY_SECRET:-}" ]]; then
        local file="$STACK_DIR/gateway-key-secret"
        if [[ ! -s "$file" ]]; then
            (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(48))' >"$file")
        fi
        SRLFORGE_GATEWAY_KEY_SECRET=$(cat "$file")
        export SRLFORGE_GATEWAY_KEY_SECRET
    fi
}

ensure_databases() {
    # One database per service on $PG, as deploy/postgres/init-databases.sql does for compose;
    # only for the default URLs (a URL set by hand names a database that must already exist).
    python - "$PG" <<'PY'
import sys

import psycopg
from psycopg import sql

server = sys.argv[1].replace("postgresql+psycopg://", "postgresql://", 1)
with psycopg.connect(server + "/postgres", autocommit=True) as conn:
    have = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    for name in ("gateway", "tracker", "collab", "paid_ft"):
        if name not in have:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
PY
}

wait_healthy() {
    local name=$1 probe
    probe=$(health_of "$name")
    [[ -z "$probe" ]] && return 0
    local port=${probe##*:}
    port=${port%%/*}
    for _ in $(seq 1 300); do
        # A bash-only port check first: the real probe starts a Python process each time.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null \
            && python deploy/healthcheck.py $probe 2>/dev/null; then
            return 0
        fi
        if ! running "$name"; then
            echo "$name exited; see $STACK_DIR/logs/$name.log" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "$name not healthy after 60 s; see $STACK_DIR/logs/$name.log" >&2
    return 1
}

up() {
    mkdir -p "$STACK_DIR/logs" "$STACK_DIR/pids" "$SRLFORGE_HOME"
    ensure_secret
    if [[ "$SRLFORGE_GATEWAY_DB_URL" == "$PG/gateway" || "$SRLFORGE_TRACKER_DB_URL" == "$PG/tracker" ]]; then
        ensure_databases
    fi
    local name cmd failed=0
    local -a migrations=() started=()
    # Migrations first, side by side (each service has its own database and version table),
    # as compose runs them before the servers that need them.
    for name in $SERVICES; do
        one_shot "$name" || continue
        cmd=$(command_of "$name")
        echo "run   $name: $cmd" >&2
        $cmd >"$STACK_DIR/logs/$name.log" 2>&1 &
        migrations+=("$!:$name")
    done
    for entry in "${migrations[@]}"; do
        wait "${entry%%:*}" || { echo "${entry#*:} failed; see $STACK_DIR/logs/${entry#*:}.log" >&2; failed=1; }
    done
    [[ $failed == 0 ]] || return 1
    # Then every server and worker at once; each is waited for until healthy.
    for name in $SERVICES; do
        one_shot "$name" && continue
        cmd=$(command_of "$name")
        if [[ "$name" == trainer-worker ]] && ! python -c "import trainer_service.tasks" 2>/dev/null; then
            echo "skip  $name: trainer_service.tasks is not in this checkout yet" >&2
            continue
        fi
        if running "$name"; then
            echo "keep  $name (pid $(cat "$(pid_file "$name")"))" >&2
            continue
        fi
        echo "start $name: $cmd" >&2
        # setsid: each service leads its own process group, so `down` also stops its children.
        setsid $cmd >"$STACK_DIR/logs/$name.log" 2>&1 </dev/null &
        echo $! >"$(pid_file "$name")"
        started+=("$name")
    done
    for name in "${started[@]}"; do
        wait_healthy "$name" || return 1
    done
    echo "stack up; logs in $STACK_DIR/logs" >&2
}

down() {
    local name pid
    local -a stopping=()
    for name in $ALL_SERVICES; do
        running "$name" || { rm -f "$(pid_file "$name")"; continue; }
        pid=$(cat "$(pid_file "$name")")
        echo "stop  $name (pid $pid)" >&2
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        stopping+=("$pid:$name")
    done
    for entry in "${stopping[@]}"; do
        pid=${entry%%:*}
        name=${entry#*:}
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "kill  $name (no exit 20 s after SIGTERM)" >&2
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$(pid_file "$name")"
    done
}

status() {
    local name
    for name in $ALL_SERVICES; do
        if running "$name"; then
            echo "$name running (pid $(cat "$(pid_file "$name")"))"
        else
            echo "$name stopped"
        fi
    done
}

commands() {
    local name
    for name in $SERVICES; do
        printf '%s\t%s\n' "$name" "$(command_of "$name")"
    done
}

case "${1:-up}" in
    up) up ;;
    down) down ;;
    status) status ;;
    commands) commands ;;
    *) echo "usage: $0 [up|down|status|commands]" >&2; exit 2 ;;
esac
