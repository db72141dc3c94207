# Shared helpers for e2e scripts: start/stop a Portcullis on a free loopback port.
# Usage: source lib.sh; pc_start BIN DATA_DIR; ... "$PC_ADDR" ...; pc_stop
PC_PID=
PC_ADDR=
PC_LOG=

pc_start() { # pc_start BIN DATA_DIR [extra serve args...]
  local bin=$1 data=$2; shift 2
  mkdir -p "$data"
  PC_LOG=$data.log
  : >"$PC_LOG"  # exists before the server starts, so that polling it cannot fail
  PORTCULLIS_LOG_ACCESS_LOG=${PORTCULLIS_LOG_ACCESS_LOG:-false} \
    "$bin" serve --listen 127.0.0.1:0 --data "$data" "$@" >"$PC_LOG" 2>&1 &
  PC_PID=$!
  local i
  for i in $(seq 1 100); do
    PC_ADDR=$(sed -n 's/.*portcullis listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$PC_LOG" | head -n1)
    [ -n "$PC_ADDR" ] && return 0
    kill -0 "$PC_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "portcullis did not start:" >&2
  cat "$PC_LOG" >&2
  return 1
}

pc_stop() {
  [ -n "$PC_PID" ] || return 0
  kill -TERM "$PC_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$PC_PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$PC_PID" 2>/dev/null || true
  wait "$PC_PID" 2>/dev/null || true
  PC_PID=
}
