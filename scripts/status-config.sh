# The minimal server configuration the status scripts run with, in folder $1.
write_status_config() {
  cat >"$1/oxident.toml" <<TOML
[server]
bind = "127.0.0.1:${PORT:-8097}"
server_name = "localhost:${PORT:-8097}"
public_base_url = "http://127.0.0.1:${PORT:-8097}"
[storage]
sqlite_path = "$1/oxident.sqlite"
[keys]
signing_key_path = "$1/signing.key"
[email]
outbox_dir = "$1/outbox"
TOML
}
