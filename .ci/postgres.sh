# A throwaway PostgreSQL server for the tests of the `postgres` feature.
#
# Source it (`. .ci/postgres.sh`): it finds the server binaries (installing
# Debian's `postgresql` package when there are none), runs `initdb` in a
# temporary directory as an unprivileged user (PostgreSQL refuses to run as
# root), starts the server on a free loopback port with password auth for a
# `weft` role and database, and exports
#
#     WEFT_TEST_POSTGRES=postgres://weft:PASSWORD@127.0.0.1:PORT/weft
#
# The server is stopped and its directory removed when the sourcing shell exits
# (an EXIT trap). Also exports WEFT_TEST_POSTGRES_BIN, WEFT_TEST_POSTGRES_DATA and
# WEFT_TEST_POSTGRES_CTL (the pg_ctl command line, as the server's user, for the
# restart test), and defines `weft_pg_ctl ARGS` (the same, as a function).
# Run it directly (`bash .ci/postgres.sh`) to start a server and keep it in the
# foreground until Ctrl-C, printing the URL.

weft_pg_start() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "== installing postgresql (no server binaries in /usr/lib/postgresql)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi

    # The server's OS user: ourselves unless root; then `postgres` (created by
    # the package) or a `weft-ci` system user made here.
    local run=()
    if [ "$(id -u)" = 0 ]; then
        local user=postgres
        if ! id "$user" >/dev/null 2>&1; then
            user=weft-ci
            id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
        fi
        run=(runuser -u "$user" --)
    fi

    local dir
    dir=$(mktemp -d /tmp/weft-pg.XXXXXX)
    chmod 755 "$dir"
    mkdir "$dir/data" "$dir/socket"
    [ ${#run[@]} -gt 0 ] && chown "${run[2]}" "$dir" "$dir/data" "$dir/socket"
    local password
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s\n' "$password" >"$dir/pwfile"
    chmod 644 "$dir/pwfile"

    # fsync=off by default: a test server; nothing on it needs to survive a
    # power loss. WEFT_PG_FSYNC=on for benchmarks that claim durability.
    # WEFT_PG_OPTIONS: more server options, e.g. for profiling
    # `-c shared_preload_libraries=pg_stat_statements`.
    # A free port: the first of 54329.. that nothing listens on.
    local port=54329
    while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

    "${run[@]}" "$bin/initdb" -D "$dir/data" -U weft --pwfile="$dir/pwfile" \
        --auth=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log"; return 1; }
    rm -f "$dir/pwfile"
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c max_connections=300 -c fsync=${WEFT_PG_FSYNC:-off} ${WEFT_PG_OPTIONS:-}" \
        start >/dev/null || { cat "$dir/server.log"; return 1; }
    PGPASSWORD=$password "$bin/psql" -q -h 127.0.0.1 -p "$port" -U weft -d postgres -c 'CREATE DATABASE weft' ||
        return 1

    export WEFT_TEST_POSTGRES="postgres://weft:$password@127.0.0.1:$port/weft"
    export WEFT_TEST_POSTGRES_BIN=$bin WEFT_TEST_POSTGRES_DATA=$dir/data
    # pg_ctl as the server's user, for a test that restarts the server (append `restart`).
    export WEFT_TEST_POSTGRES_CTL="${run[*]} $bin/pg_ctl -D $dir/data -l $dir/server.log"
    WEFT_PG_DIR=$dir
    WEFT_PG_RUN=("${run[@]}")
    trap weft_pg_stop EXIT
    echo "== PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
}

weft_pg_ctl() {
    "${WEFT_PG_RUN[@]}" "$WEFT_TEST_POSTGRES_BIN/pg_ctl" -D "$WEFT_TEST_POSTGRES_DATA" "$@"
}

weft_pg_stop() {
    if [ -n "${WEFT_PG_DIR:-}" ] && [ -d "$WEFT_PG_DIR" ]; then
        weft_pg_ctl -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        rm -rf "$WEFT_PG_DIR"
        WEFT_PG_DIR=
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    weft_pg_start
    echo "WEFT_TEST_POSTGRES=$WEFT_TEST_POSTGRES"
    echo "(Ctrl-C stops the server)"
    trap 'weft_pg_stop; exit 0' INT TERM
    while true; do sleep 3600 & wait $!; done
else
    weft_pg_start
fi
