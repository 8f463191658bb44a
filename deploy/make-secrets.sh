#!/usr/bin/env bash
# Creates the secrets docker-compose.yml mounts (once; existing files are kept).
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/secrets"
mkdir -p "$dir"
umask 077
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
# The containers run as uid 10001 (fossil) and postgres' own user: let them read the files.
chmod 0644 "$dir"/*
echo "secrets in $dir"
