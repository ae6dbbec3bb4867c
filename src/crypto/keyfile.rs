//! The long-term signing key file.
//!
//! Format (as Synapse's `signing.key` and sydent's `ed25519.signingkey` value): one key per
//! line, `ed25519 <version> <seed>`, the seed being the 32-byte ed25519 seed in unpadded
//! base64. Blank lines and lines starting with `#` are ignored. The first key signs; every key
//! in the file is published (`/pubkey/{keyId}`, `/pubkey/isvalid`), so an old key can stay
//! verifiable after rotation by leaving its line below the new one.
//!
//! New files are written atomically with mode 0600: temporary file in the same directory,
//! write, fsync, link/rename into place, fsync the directory. A crash leaves either no key
//! file or a complete one, never a truncated key.
//!
//! Importing from sydent: sydent keeps its key in its INI config, section `[crypto]`, option
//! `ed25519.signingkey`, value `ed25519 0 <unpadded base64 seed>` (key id `ed25519:0`). Very
//! old sydent configs held a bare hex seed there instead, which sydent itself upgraded on
//! start; both are accepted by [`import_sydent_key`].

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::signing::{ED25519, SigningKey};
use super::tokens::random_token;
use super::{CryptoError, SecretString};

/// The version used for a generated key: key id `ed25519:0`, as sydent.
pub const DEFAULT_KEY_VERSION: &str = "0";

/// One key-file line for `key`: `ed25519 <version> <seed>`.
pub fn format_key_line(key: &SigningKey) -> SecretString {
    SecretString::new(format!(
        "{ED25519} {} {}",
        key.version(),
        key.seed_base64().expose()
    ))
}

/// Parses a single `ed25519 <version> <seed>` line (surrounding whitespace ignored).
pub fn parse_key_line(line: &str) -> Result<SigningKey, CryptoError> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    match parts.as_slice() {
        [alg, version, seed] if *alg == ED25519 => SigningKey::from_base64_seed(version, seed)
            .map_err(|e| CryptoError::KeyFormat(format!("bad key for version {version}: {e}"))),
        [alg, _, _] => Err(CryptoError::KeyFormat(format!(
            "unsupported algorithm {alg:?}"
        ))),
        _ => Err(CryptoError::KeyFormat(
            "expected `ed25519 <version> <base64 seed>`".to_owned(),
        )),
    }
}

/// Parses a whole key file: at least one key, no duplicate key ids.
pub fn parse_key_file(contents: &str) -> Result<Vec<SigningKey>, CryptoError> {
    let mut keys: Vec<SigningKey> = Vec::new();
    for (n, line) in contents.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = parse_key_line(line)
            .map_err(|e| CryptoError::KeyFormat(format!("line {}: {e}", n + 1)))?;
        if keys.iter().any(|k| k.key_id() == key.key_id()) {
            return Err(CryptoError::KeyFormat(format!(
                "line {}: duplicate key id {}",
                n + 1,
                key.key_id()
            )));
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(CryptoError::KeyFormat("no key in file".to_owned()));
    }
    Ok(keys)
}

/// Reads the key file at `path`. Warns (does not fail) when the file is readable by group or
/// others.
pub fn load_key_file(path: &Path) -> Result<Vec<SigningKey>, CryptoError> {
    let contents = fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    warn_if_loose_permissions(path);
    parse_key_file(&contents)
}

/// Loads the key file, or on first start generates a key (`ed25519:0`) and writes the file.
/// If another process creates the file at the same moment, its key wins and is loaded.
pub fn load_or_generate_key_file(path: &Path) -> Result<Vec<SigningKey>, CryptoError> {
    match fs::metadata(path) {
        Ok(_) => load_key_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match generate_key_file(path, false) {
                Ok(key) => {
                    tracing::info!(path = %path.display(), key_id = key.key_id(), "generated a new signing key");
                    Ok(vec![key])
                }
                Err(CryptoError::KeyFileExists(_)) => load_key_file(path),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(io_error(path, e)),
    }
}

/// Generates a new key (`ed25519:0`) and writes it to `path` (for `oxident generate-key`).
/// Refuses to replace an existing file unless `overwrite` — replacing the key makes every
/// signature issued so far unverifiable.
pub fn generate_key_file(path: &Path, overwrite: bool) -> Result<SigningKey, CryptoError> {
    let key = SigningKey::generate(DEFAULT_KEY_VERSION)?;
    write_key_file(path, std::slice::from_ref(&key), overwrite)?;
    Ok(key)
}

/// Writes `keys` (first = signing key) to `path` atomically with mode 0600.
pub fn write_key_file(
    path: &Path,
    keys: &[SigningKey],
    overwrite: bool,
) -> Result<(), CryptoError> {
    let mut contents = String::new();
    for key in keys {
        contents.push_str(format_key_line(key).expose());
        contents.push('\n');
    }
    let contents = SecretString::new(contents);
    write_atomically(path, contents.expose().as_bytes(), overwrite)
}

/// Imports a key in the reference server's (sydent's) format. `input` may be
/// * the option value: `ed25519 0 <base64 seed>`;
/// * a whole `sydent.conf` (INI): the `ed25519.signingkey` option is taken from it;
/// * a legacy bare hex seed (64 hex digits), which becomes `ed25519:0`.
pub fn import_sydent_key(input: &str) -> Result<SigningKey, CryptoError> {
    let value = sydent_option_value(input).unwrap_or_else(|| input.trim());
    if value.is_empty() {
        return Err(CryptoError::KeyFormat(
            "ed25519.signingkey is empty (sydent had not generated a key yet)".to_owned(),
        ));
    }
    if !value.contains(char::is_whitespace) {
        return legacy_hex_seed(value);
    }
    parse_key_line(value)
}

/// [`import_sydent_key`] from a file (a `sydent.conf` or a file holding just the value).
pub fn import_sydent_key_file(path: &Path) -> Result<SigningKey, CryptoError> {
    let contents = SecretString::new(fs::read_to_string(path).map_err(|e| io_error(path, e))?);
    import_sydent_key(contents.expose())
}

/// The value of `ed25519.signingkey` in INI text (`=` or `:` delimiter, any section), if any.
fn sydent_option_value(input: &str) -> Option<&str> {
    input.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix("ed25519.signingkey")?;
        let rest = rest.trim_start();
        let value = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':'))?;
        Some(value.trim())
    })
}

fn legacy_hex_seed(value: &str) -> Result<SigningKey, CryptoError> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CryptoError::KeyFormat(
            "expected `ed25519 <version> <base64 seed>` or a 64-digit hex seed".to_owned(),
        ));
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        let hex = value
            .get(2 * i..2 * i + 2)
            .ok_or(CryptoError::InvalidKey("hex"))?;
        *byte = u8::from_str_radix(hex, 16).map_err(|_| CryptoError::InvalidKey("hex"))?;
    }
    let key = SigningKey::from_seed(DEFAULT_KEY_VERSION, &seed);
    seed.fill(0);
    key
}

fn io_error(path: &Path, source: std::io::Error) -> CryptoError {
    CryptoError::Io {
        path: path.to_owned(),
        source,
    }
}

fn write_atomically(path: &Path, contents: &[u8], overwrite: bool) -> Result<(), CryptoError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| CryptoError::KeyFormat(format!("{} is not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        random_token(12)?
    ));

    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| io_error(&tmp, e))?;
        file.write_all(contents).map_err(|e| io_error(&tmp, e))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        drop(file);
        if overwrite {
            fs::rename(&tmp, path).map_err(|e| io_error(path, e))
        } else {
            // A hard link never replaces an existing file: creation is atomic and exclusive.
            match fs::hard_link(&tmp, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(CryptoError::KeyFileExists(path.to_owned()))
                }
                Err(e) => Err(io_error(path, e)),
            }
        }
    })();
    // After a rename the temporary name is gone already; after a link it must go.
    let _ = fs::remove_file(&tmp);
    result?;
    // Make the new directory entry durable.
    fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(&dir, e))
}

fn warn_if_loose_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "signing key file is accessible by other users; chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SEED: &str = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";

    #[test]
    fn generate_then_load_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("signing.key");
        let key = generate_key_file(&path, false).expect("generates");
        let loaded = load_key_file(&path).expect("loads");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].key_id(), "ed25519:0");
        assert_eq!(loaded[0].public_key(), key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("ed25519 0 ") && text.ends_with('\n'));
        assert!(!text.contains('='), "unpadded");
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn refuses_to_overwrite_unless_told() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("signing.key");
        let first = generate_key_file(&path, false).expect("generates");
        assert!(matches!(
            generate_key_file(&path, false),
            Err(CryptoError::KeyFileExists(_))
        ));
        assert_eq!(
            load_key_file(&path).expect("loads")[0].public_key(),
            first.public_key()
        );
        let second = generate_key_file(&path, true).expect("overwrites");
        assert_ne!(second.public_key(), first.public_key());
        assert_eq!(
            load_key_file(&path).expect("loads")[0].public_key(),
            second.public_key()
        );
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn load_or_generate_is_stable_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub-dir-does-not-matter.key");
        let a = load_or_generate_key_file(&path).expect("first start generates");
        let b = load_or_generate_key_file(&path).expect("second start loads");
        assert_eq!(a[0].public_key(), b[0].public_key());
    }

    #[test]
    fn parses_multi_key_files() {
        let text = format!(
            "# comment\n\ned25519 1 {SPEC_SEED}\r\ned25519 a_old AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        );
        let keys = parse_key_file(&text).expect("parses");
        assert_eq!(
            keys.iter().map(SigningKey::key_id).collect::<Vec<_>>(),
            ["ed25519:1", "ed25519:a_old"]
        );
        assert!(parse_key_file("").is_err());
        assert!(parse_key_file(&format!("ed25519 1 {SPEC_SEED}\ned25519 1 {SPEC_SEED}")).is_err());
        assert!(parse_key_file(&format!("curve25519 1 {SPEC_SEED}")).is_err());
        assert!(parse_key_file("ed25519 1 AAAA").is_err());
        assert!(parse_key_file("ed25519 1").is_err());
    }

    #[test]
    fn format_then_parse() {
        let key = SigningKey::from_base64_seed("1", SPEC_SEED).expect("seed");
        let line = format_key_line(&key);
        let again = parse_key_line(line.expose()).expect("parses");
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(format!("{line:?}"), "SecretString(<redacted>)");
    }

    #[test]
    fn imports_sydent_formats() {
        let expected = SigningKey::from_base64_seed("0", SPEC_SEED)
            .expect("seed")
            .public_key();

        // The option value alone.
        let key = import_sydent_key(&format!("ed25519 0 {SPEC_SEED}")).expect("value");
        assert_eq!((key.key_id(), key.public_key()), ("ed25519:0", expected));

        // A whole sydent.conf.
        let conf = format!(
            "[general]\nserver.name = example.org\n\n[crypto]\ned25519.signingkey = ed25519 0 {SPEC_SEED}\n\n[db]\ndb.file = sydent.db\n"
        );
        assert_eq!(
            import_sydent_key(&conf).expect("conf").public_key(),
            expected
        );
        let colon = format!("[crypto]\ned25519.signingkey: ed25519 0 {SPEC_SEED}\n");
        assert_eq!(
            import_sydent_key(&colon).expect("colon").public_key(),
            expected
        );

        // From a file.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sydent.conf");
        fs::write(&path, conf).expect("write");
        assert_eq!(
            import_sydent_key_file(&path).expect("file").public_key(),
            expected
        );

        // Legacy hex seed = the same 32 bytes.
        let seed = crate::crypto::b64::decode(SPEC_SEED).expect("b64");
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        let legacy =
            import_sydent_key(&format!("[crypto]\ned25519.signingkey = {hex}\n")).expect("hex");
        assert_eq!(
            (legacy.key_id(), legacy.public_key()),
            ("ed25519:0", expected)
        );

        // Empty (sydent not started yet) and garbage are errors.
        assert!(import_sydent_key("[crypto]\ned25519.signingkey =\n").is_err());
        assert!(import_sydent_key("nonsense").is_err());
    }

    #[test]
    fn imported_key_can_be_written_as_our_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("signing.key");
        let key = import_sydent_key(&format!("ed25519 0 {SPEC_SEED}")).expect("value");
        write_key_file(&path, std::slice::from_ref(&key), false).expect("writes");
        assert_eq!(
            load_key_file(&path).expect("loads")[0].public_key(),
            key.public_key()
        );
    }
}
