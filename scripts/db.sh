#!/usr/bin/env bash
# db.sh — a Postgres for payrun, with nothing started beforehand.
#
#   scripts/db.sh start   use $DATABASE_URL when set; otherwise start (or reuse)
#                         a private throwaway cluster under .data/pg
#   scripts/db.sh stop    stop that private cluster (never any other)
#   scripts/db.sh reset   stop it, delete it, start a new one
#   scripts/db.sh url     print the URL the other targets use
#
# The URL is written to .data/database_url; payrun and its tests read it from
# there when DATABASE_URL is not set. It is also written to the user config
# file ${XDG_CONFIG_HOME:-~/.config}/payrun/config (DATABASE_URL=..., the
# --config format), which the payrun binary reads last, so that it finds this
# database from any folder (not the tests: they never read it). Every
# `make db` overwrites that file's URL with its own; `make db-stop` (and
# reset) of the clone that wrote it removes the URL when it pointed at the
# cluster being stopped, so no stale pointer is left behind.
#
# The private cluster: initdb from the installed PostgreSQL binaries (PATH or
# /usr/lib/postgresql/*/bin; apt-get installs the `postgresql` package when
# there are none), run as the `postgres` OS user when we are root, listening
# on 127.0.0.1 only, on a port found free at start (never an assumed 5432 or
# 55432), no Unix socket, trust authentication for loopback only. It is ours
# because its data directory is ours: stop and reset act only on .data/pg.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_root="$root/.data"
cluster="$data_root/pg"
url_file="$data_root/database_url"
database=payrun
# The user config file, as payrun finds it (an XDG_CONFIG_HOME that is not an
# absolute path is ignored, as the XDG spec says).
config_home=${XDG_CONFIG_HOME:-}
case "$config_home" in /*) ;; *) config_home="$HOME/.config" ;; esac
user_config="$config_home/payrun/config"
# The line marking the user config as written by this clone.
written_by="# Written by \`make db\` in $root"

log() { printf 'db: %s\n' "$*" >&2; }
die() { printf 'db: error: %s\n' "$*" >&2; exit 1; }

as_owner() {
	# Runs a PostgreSQL server binary as the cluster's owner: initdb and
	# postgres refuse to run as root.
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

find_bindir() {
	local dir
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
		if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
			echo "$dir"
			return 0
		fi
	done
	return 1
}

install_postgres() {
	log "no PostgreSQL server binaries found; installing the postgresql package"
	local sudo=""
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || die "PostgreSQL is not installed and we are not root: install the 'postgresql' package, or set DATABASE_URL"
		sudo="sudo"
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	# --no-install-recommends keeps it small; policy-rc.d stops Debian from
	# starting its own cluster on 5432 (which may be taken by someone else).
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod +x "$policy"
		created_policy=1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2 || {
		[ "$created_policy" = 1 ] && $sudo rm -f "$policy"
		die "apt-get install postgresql failed"
	}
	[ "$created_policy" = 1 ] && $sudo rm -f "$policy"
	return 0
}

port_free() {
	# True when nothing accepts connections on 127.0.0.1:$1.
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local port tries=0
	while [ $tries -lt 200 ]; do
		port=$((20000 + RANDOM % 40000))
		if port_free "$port"; then
			echo "$port"
			return 0
		fi
		tries=$((tries + 1))
	done
	die "no free TCP port found on 127.0.0.1"
}

running() {
	[ -f "$cluster/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$cluster" status >/dev/null 2>&1
}

write_url() {
	mkdir -p "$data_root"
	printf '%s\n' "$1" >"$url_file.tmp"
	mv "$url_file.tmp" "$url_file"
	write_user_config "$1"
	echo "$1"
}

# write_user_config points the user config file at URL $1: any DATABASE_URL
# line there (another clone's, or this one's before a reset) is replaced;
# other lines are kept. Owner-only: a URL may hold a password.
write_user_config() {
	local dir tmp
	dir=$(dirname "$user_config")
	mkdir -p -m 700 "$dir" || { log "warning: cannot create $dir; payrun finds this database only from this repository"; return 0; }
	tmp=$(mktemp "$dir/.config.XXXXXX") || { log "warning: cannot write $user_config"; return 0; }
	{
		echo "$written_by on $(date -u +%Y-%m-%dT%H:%M:%SZ): the database payrun uses from any folder"
		echo "# when neither DATABASE_URL, a --config file nor a .data/database_url names one."
		echo "# Every \`make db\` overwrites the URL; \`make db-stop\` in that repository removes it."
		if [ -f "$user_config" ]; then
			grep -v -e '^DATABASE_URL=' -e '^# Written by `make db` in ' -e '^# when neither DATABASE_URL, a --config' -e '^# Every `make db` overwrites the URL' "$user_config" || true
		fi
		printf 'DATABASE_URL=%s\n' "$1"
	} >"$tmp"
	chmod 600 "$tmp"
	mv "$tmp" "$user_config"
	log "wrote $user_config (payrun finds this database from any folder)"
}

# forget_user_config removes the user config's URL when this clone wrote it
# and it is $1 (the URL of the cluster being stopped); other lines stay, and
# the file goes when nothing else is left in it.
forget_user_config() {
	[ -f "$user_config" ] || return 0
	grep -qxF "DATABASE_URL=$1" "$user_config" || return 0
	grep -qF "$written_by on " "$user_config" || return 0
	local rest
	rest=$(grep -v -e '^DATABASE_URL=' -e '^# Written by `make db` in ' -e '^# when neither DATABASE_URL, a --config' -e '^# Every `make db` overwrites the URL' "$user_config" || true)
	if [ -z "$(printf '%s' "$rest" | tr -d '[:space:]')" ]; then
		rm -f "$user_config"
	else
		printf '%s\n' "$rest" >"$user_config.tmp" && chmod 600 "$user_config.tmp" && mv "$user_config.tmp" "$user_config"
	fi
	log "removed the URL of the stopped cluster from $user_config (run 'make db' to start it again)"
}

start_server() {
	local port attempt
	for attempt in 1 2 3 4 5; do
		port=$(pick_port)
		echo "$port" >"$cluster/payrun.port"
		if as_owner "$bindir/pg_ctl" -D "$cluster" -l "$cluster/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB -c max_wal_size=4GB -c checkpoint_timeout=30min" \
			start >/dev/null; then
			return 0
		fi
		log "start on port $port failed (attempt $attempt); see $cluster/server.log"
		tail -n 5 "$cluster/server.log" >&2 || true
	done
	die "could not start PostgreSQL"
}

start() {
	if [ -n "${DATABASE_URL:-}" ]; then
		log "using DATABASE_URL from the environment"
		write_url "$DATABASE_URL"
		return 0
	fi
	bindir=$(find_bindir) || { install_postgres; bindir=$(find_bindir) || die "PostgreSQL binaries still missing after install"; }
	mkdir -p "$data_root"
	if [ ! -f "$cluster/PG_VERSION" ]; then
		log "creating a private cluster in $cluster ($("$bindir/initdb" --version))"
		rm -rf "$cluster"
		mkdir -p "$cluster"
		if [ "$(id -u)" = 0 ]; then
			chown postgres: "$cluster"
			if ! runuser -u postgres -- test -w "$cluster"; then
				# A parent directory (say /root) is closed to the postgres
				# user: keep the files in a directory of ours it can reach
				# and link it from .data/pg.
				rmdir "$cluster"
				local outside
				outside="/var/tmp/payrun-$(printf '%s' "$root" | sha256sum | cut -c1-12)/pg"
				log "postgres cannot reach $cluster; keeping the cluster in $outside (linked from .data/pg)"
				rm -rf "$outside"
				mkdir -p "$outside"
				chown postgres: "$outside" "$(dirname "$outside")"
				ln -sfn "$outside" "$cluster"
				runuser -u postgres -- test -w "$outside/" || die "the postgres OS user cannot write $outside"
			fi
		fi
		chmod 700 "$cluster"
		as_owner "$bindir/initdb" -D "$cluster" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$data_root/initdb.log" 2>&1 ||
			{ cat "$data_root/initdb.log" >&2; die "initdb failed"; }
	fi
	if running; then
		log "reusing the running private cluster"
	else
		log "starting the private cluster"
		start_server
	fi
	local port
	port=$(cat "$cluster/payrun.port")
	local psql="$bindir/psql"
	[ -x "$psql" ] || psql=$(command -v psql) || die "psql not found"
	if ! "$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
		"$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $database" >/dev/null
	fi
	write_url "postgres://postgres@127.0.0.1:$port/$database?sslmode=disable"
}

stop() {
	if [ ! -f "$cluster/PG_VERSION" ]; then
		log "no private cluster in $cluster: nothing to stop"
		return 0
	fi
	bindir=$(find_bindir) || die "PostgreSQL binaries not found"
	if running; then
		as_owner "$bindir/pg_ctl" -D "$cluster" -m fast -w stop >/dev/null
		log "stopped the private cluster"
	else
		log "the private cluster is not running"
	fi
	# The URL pointed at the stopped cluster; keep an external one. The
	# user config too, when it points there.
	if [ -f "$cluster/payrun.port" ]; then
		forget_user_config "postgres://postgres@127.0.0.1:$(cat "$cluster/payrun.port")/$database?sslmode=disable"
	fi
	if [ -f "$url_file" ] && grep -q '@127.0.0.1:' "$url_file" && [ -f "$cluster/payrun.port" ] && grep -q ":$(cat "$cluster/payrun.port")/" "$url_file"; then
		rm -f "$url_file"
	fi
}

reset() {
	stop
	if [ -L "$cluster" ]; then
		rm -rf "$(readlink "$cluster")"
	fi
	rm -rf "$cluster"
	start
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
reset) reset ;;
url) if [ -f "$url_file" ]; then cat "$url_file"; else die "no database yet: run 'make db'"; fi ;;
*) die "usage: $0 start|stop|reset|url" ;;
esac
