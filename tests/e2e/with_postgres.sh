#!/usr/bin/env bash
# with_postgres.sh CMD [ARG...]
# Runs CMD against a temporary PostgreSQL 15 server: initdb in a temporary
# directory, postmaster on a free loopback port (socket in that directory,
# fsync off), an empty database `portcullis`, and
# PORTCULLIS_METADATA_POSTGRES_URL exported so that every `portcullis serve`
# CMD starts uses it. The server is stopped and the directory removed on exit.
# The exit status is CMD's. As root, PostgreSQL runs as the `postgres` user.
set -euo pipefail
bin=${PORTCULLIS_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}
for tool in initdb pg_ctl createdb; do
  if [ ! -x "$bin/$tool" ]; then
    echo "with_postgres.sh: $bin/$tool not found; install the Debian package postgresql" \
         "(scripts/install-deps.sh test)" >&2
    exit 1
  fi
done
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }

dir=$(mktemp -d /tmp/pc-pg-XXXXXX)
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as=(runuser -u postgres --)
fi
cleanup() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

if ! "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
     --no-sync >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  exit 1
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
opts="-p $port -k $dir -c listen_addresses=127.0.0.1"
opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -t 30 -l "$dir/postgres.log" -o "$opts" \
     start >/dev/null; then
  cat "$dir/postgres.log" >&2
  exit 1
fi
"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres portcullis
export PORTCULLIS_METADATA_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/portcullis"
echo "with_postgres.sh: PostgreSQL on 127.0.0.1:$port" >&2

set +e
"$@"
rc=$?
set -e
exit "$rc"
