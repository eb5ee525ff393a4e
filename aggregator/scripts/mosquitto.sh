#!/usr/bin/env bash
# Runs Eclipse Mosquitto with the access rules of the aggregator's embedded broker (aggregator/mosquitto/):
# renders mosquitto.conf into a folder, hashes the aggregator's password into a Mosquitto password file, and
# starts the broker. An alternative to `aggregator broker` for sites that already operate Mosquitto.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE_DIR="$SCRIPT_DIR/../mosquitto"
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
MOSQUITTO_PASSWD=${MOSQUITTO_PASSWD:-$(command -v mosquitto_passwd || echo /usr/bin/mosquitto_passwd)}

PORT=8883
BIND=127.0.0.1
CERT=''
KEY=''
PASSWORD_FILE=''

usage() {
  cat <<'USAGE'
Usage: mosquitto.sh <command> <dir> [options]

Commands:
  render <dir>   write <dir>/mosquitto.conf, <dir>/acl and <dir>/passwd (hashed with mosquitto_passwd)
  run <dir>      render, then run mosquitto in the foreground (exec: its PID is this script's)
  start <dir>    render, start mosquitto in the background, record its PID in <dir>/mosquitto.pid and
                 wait until it listens
  stop <dir>     stop the mosquitto recorded in <dir>/mosquitto.pid

Options (render, run, start):
  --cert <pem>            the broker's TLS certificate (required)
  --key <pem>             its private key (required)
  --password-file <file>  the aggregator's password, mode 0600: the same file `aggregator run` reads (required)
  --port <n>              port to listen on (default 8883)
  --bind <address>        address to listen on (default 127.0.0.1)

Environment: MOSQUITTO, MOSQUITTO_PASSWD (default: from PATH, else /usr/sbin/mosquitto, /usr/bin/mosquitto_passwd)

Example:
  aggregator/scripts/mosquitto.sh start .network/mosquitto --cert tls/broker.pem --key tls/broker-key.pem \
    --password-file .network/aggregator/mqtt-password
USAGE
}

die() {
  echo "mosquitto.sh: $*" >&2
  exit 2
}

parse_options() {
  while (($# > 0)); do
    case $1 in
      --cert) CERT=${2:?--cert needs a file}; shift 2 ;;
      --key) KEY=${2:?--key needs a file}; shift 2 ;;
      --password-file) PASSWORD_FILE=${2:?--password-file needs a file}; shift 2 ;;
      --port) PORT=${2:?--port needs a number}; shift 2 ;;
      --bind) BIND=${2:?--bind needs an address}; shift 2 ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done
  [[ -n $CERT && -n $KEY && -n $PASSWORD_FILE ]] || die "--cert, --key and --password-file are required"
  if [[ ! $PORT =~ ^[0-9]{1,5}$ ]] || ((PORT == 0 || PORT > 65535)); then die "--port must be a port number"; fi
  [[ -r $CERT && -r $KEY ]] || die "cannot read $CERT or $KEY"
  [[ -r $PASSWORD_FILE ]] || die "cannot read the password file $PASSWORD_FILE"
}

require_mosquitto() {
  [[ -x $MOSQUITTO && -x $MOSQUITTO_PASSWD ]] ||
    die "mosquitto is not installed (Debian/Ubuntu: apt-get install mosquitto; or set MOSQUITTO, MOSQUITTO_PASSWD)"
}

# The same rule as `aggregator run`: a password file readable by group or others is refused.
check_password_file() {
  local mode
  mode=$(stat -c '%a' "$PASSWORD_FILE")
  [[ $mode =~ ^[46]00$ ]] || die "the password file $PASSWORD_FILE has mode $mode: it must be 0600 (chmod 600 $PASSWORD_FILE)"
}

absolute() {
  printf '%s/%s' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")"
}

# mosquitto -U hashes a file of user:password lines in place, so the password never appears on a command line.
write_password_file() {
  local dir=$1 password
  IFS= read -r password <"$PASSWORD_FILE" || true
  [[ ${#password} -ge 16 ]] || die "the password file $PASSWORD_FILE must hold a password of at least 16 characters"
  (
    umask 077
    printf 'aggregator:%s\n' "$password" >"$dir/passwd"
  )
  "$MOSQUITTO_PASSWD" -U "$dir/passwd"
}

render() {
  local dir=$1 value
  require_mosquitto
  check_password_file
  mkdir -p "$dir/data"
  chmod 700 "$dir"
  dir=$(cd "$dir" && pwd)
  cp "$TEMPLATE_DIR/acl" "$dir/acl"
  write_password_file "$dir"
  for value in "$(absolute "$CERT")" "$(absolute "$KEY")" "$dir" "$BIND"; do
    [[ $value != *'|'* && $value != *'&'* ]] || die "paths and addresses must not contain | or &: $value"
  done
  sed -e "s|@PORT@|$PORT|" -e "s|@BIND@|$BIND|" -e "s|@USER@|$(id -un)|" \
    -e "s|@CERT@|$(absolute "$CERT")|" -e "s|@KEY@|$(absolute "$KEY")|" \
    -e "s|@PASSWORD_FILE@|$dir/passwd|" -e "s|@ACL_FILE@|$dir/acl|" -e "s|@DATA_DIR@|$dir/data|" \
    "$TEMPLATE_DIR/mosquitto.conf.template" >"$dir/mosquitto.conf"
  echo "mosquitto.sh: wrote $dir/mosquitto.conf (listener $BIND:$PORT)" >&2
}

wait_until_listening() {
  local pid=$1 host=$BIND tries
  [[ $host == 0.0.0.0 || $host == '::' ]] && host=127.0.0.1
  for ((tries = 0; tries < 50; tries++)); do
    kill -0 "$pid" 2>/dev/null || die "mosquitto exited at start: see its log"
    if (exec 3<>"/dev/tcp/$host/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "mosquitto does not listen on $host:$PORT after 5 s"
}

start() {
  local dir=$1 pid
  render "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ -f $dir/mosquitto.pid ]] && kill -0 "$(cat "$dir/mosquitto.pid")" 2>/dev/null; then
    die "mosquitto is already running (PID $(cat "$dir/mosquitto.pid"))"
  fi
  "$MOSQUITTO" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$dir/mosquitto.pid"
  wait_until_listening "$pid"
  echo "mosquitto.sh: mosquitto listening on $BIND:$PORT (PID $pid, log $dir/mosquitto.log)" >&2
}

stop() {
  local dir=$1 pid
  [[ -f $dir/mosquitto.pid ]] || { echo "mosquitto.sh: no $dir/mosquitto.pid: not started here" >&2; return 0; }
  pid=$(cat "$dir/mosquitto.pid")
  if kill "$pid" 2>/dev/null; then
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$dir/mosquitto.pid"
}

main() {
  local command=${1:-} dir=${2:-}
  case $command in
    -h | --help | help | '') usage; exit 0 ;;
    render | run | start | stop) ;;
    *) die "unknown command $command (see --help)" ;;
  esac
  [[ -n $dir && $dir != -* ]] || die "$command needs a folder"
  shift 2
  if [[ $command == stop ]]; then
    stop "$dir"
    return
  fi
  parse_options "$@"
  case $command in
    render) render "$dir" ;;
    run)
      render "$dir"
      exec "$MOSQUITTO" -c "$(cd "$dir" && pwd)/mosquitto.conf"
      ;;
    start) start "$dir" ;;
  esac
}

main "$@"
