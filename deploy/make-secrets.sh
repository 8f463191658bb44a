#!/usr/bin/env bash
# Creates the secrets docker-compose.yml mounts (once; existing files are kept), each of mode 0600
# in a 0700 directory.
#
# Compose mounts a secret file into the containers with its owner and mode from the host, so the
# app's processes must run as the files' owner: this script writes FOSSIL_UID and FOSSIL_GID to
# the compose project's .env (docker-compose.yml reads them for `user:`). Run as root, it gives
# the files to the image's user (10001) instead, and the app never runs as root. Postgres reads
# its password file as root, before it drops to its own user.
set -euo pipefail
deploy="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$deploy/secrets"
project="$(dirname "$deploy")"
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
token() { python3 -c "import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))" "$1"; }
[[ -f $dir/prover_ed25519.pem ]] || openssl genpkey -algorithm ed25519 -out "$dir/prover_ed25519.pem"
[[ -f $dir/secret_key ]] || token 48 > "$dir/secret_key"
[[ -f $dir/service_shared_secret ]] || token 48 > "$dir/service_shared_secret"
[[ -f $dir/metrics_token ]] || token 32 > "$dir/metrics_token"
if [[ ! -f $dir/postgres_password ]]; then
  token 24 > "$dir/postgres_password"
  rm -f "$dir/database_url"
fi
[[ -f $dir/database_url ]] || echo "postgresql://fossil:$(cat "$dir/postgres_password")@postgres:5432/fossil" > "$dir/database_url"
find "$dir" -maxdepth 1 -type f ! -name README.md -exec chmod 0600 {} +
if [[ $(id -u) == 0 ]]; then
  uid=10001 gid=10001
  find "$dir" -maxdepth 1 -type f ! -name README.md -exec chown "$uid:$gid" {} +
else
  uid=$(id -u) gid=$(id -g)
fi
env_file="$project/.env"
touch "$env_file"
grep -v -E '^FOSSIL_(UID|GID)=' "$env_file" > "$env_file.new" || true
printf 'FOSSIL_UID=%s\nFOSSIL_GID=%s\n' "$uid" "$gid" >> "$env_file.new"
mv "$env_file.new" "$env_file"
echo "secrets in $dir (mode 0600, owner $uid:$gid); FOSSIL_UID/FOSSIL_GID in $env_file"
