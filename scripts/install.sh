#!/usr/bin/env bash
# install.sh — `make install`: copies the built binary (bin/payrun) to
# $GOBIN (the environment's, or `go env GOBIN`), or to ~/.local/bin when
# GOBIN is unset, says where it went and whether that folder is on PATH.
#
# The installed payrun finds its database from any folder through the user
# config file `make db` writes (${XDG_CONFIG_HOME:-~/.config}/payrun/config).
set -euo pipefail

binary=${1:-bin/payrun}
[ -x "$binary" ] || { echo "install: $binary is missing: run 'make build'" >&2; exit 1; }

dir=${GOBIN:-}
if [ -z "$dir" ] && command -v go >/dev/null 2>&1; then
	dir=$(go env GOBIN 2>/dev/null || true)
fi
from="\$GOBIN"
if [ -z "$dir" ]; then
	dir="$HOME/.local/bin"
	from="GOBIN is unset, so ~/.local/bin"
fi
mkdir -p "$dir"
install -m 0755 "$binary" "$dir/payrun"
echo "installed payrun into $dir ($from): $dir/payrun"

case ":$PATH:" in
*":$dir:"* | *":$dir/:"*)
	echo "$dir is on your PATH: run 'payrun' from any folder"
	found=$(command -v payrun || true)
	if [ -n "$found" ] && [ "$found" != "$dir/payrun" ]; then
		echo "note: 'payrun' runs $found, which comes first on PATH"
	fi
	;;
*)
	echo "$dir is NOT on your PATH: add it (for example, put this line in ~/.profile and open a new shell)"
	echo "  export PATH=\"$dir:\$PATH\""
	echo "or run $dir/payrun"
	;;
esac

# The user config file, as payrun finds it (an XDG_CONFIG_HOME that is not
# an absolute path is ignored, as the XDG spec says).
config_home=${XDG_CONFIG_HOME:-}
case "$config_home" in /*) ;; *) config_home="$HOME/.config" ;; esac
user_config="$config_home/payrun/config"
if [ -f "$user_config" ] && grep -q '^DATABASE_URL=' "$user_config"; then
	url=$(grep '^DATABASE_URL=' "$user_config" | tail -n 1 | cut -d= -f2- | sed -E 's#(//[^:/@]*):[^@/]*@#\1:***@#')
	echo "its database, from any folder: $url (from $user_config)"
else
	echo "no database configured yet: run 'make db' (it writes $user_config), or set DATABASE_URL"
fi
