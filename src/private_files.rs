//! Folders and files only the server's user may read: the data folder holds the database
//! (client secrets, session tokens, invite keys) and the signing key; the outbox holds mails
//! with validation tokens. Modes are set explicitly, not left to the umask: under `umask 000`
//! a plain `create_dir_all` made them world-writable.

use std::io;
use std::path::Path;

/// Creates `path` and any missing parents with mode 0700. Folders that exist already keep
/// their mode (an operator may have chosen a shared group on purpose).
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Writes `contents` to a new file at `path` with mode 0600 (fails if it exists).
pub fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// The permission bits of `path` that let other users in (group or others), if any.
pub fn shared_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Logs a warning when `path` (`what` names it) is accessible to other users.
pub fn warn_if_shared(path: &Path, what: &str) {
    if let Some(mode) = shared_mode(path) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "{what} is accessible by other users; chmod 600 it"
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private() {
        let root = tempfile::tempdir().expect("tmp");
        let deep = root.path().join("a/b");
        create_private_dir_all(&deep).expect("create");
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&deep), 0o700);
        create_private_dir_all(&deep).expect("exists already");
        let file = deep.join("f");
        write_private_file(&file, b"x").expect("write");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).expect("read"), b"x");
        assert!(write_private_file(&file, b"y").is_err(), "never overwrites");
        assert_eq!(shared_mode(&file), None);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(shared_mode(&file), Some(0o644));
    }
}
