//! Development transport: every message becomes a `.eml` file in a folder instead of being
//! delivered. Loud on purpose, so that it is never mistaken for real delivery.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::text::{is_bare_address, random_token};
use super::{MailError, MailFuture, Mailer};

/// Writes each message to `<folder>/<unix-millis>-<random>.eml` (the folder is created when
/// missing) and logs the file's path at warn level. The message contents (tokens, invite
/// keys) are never logged.
#[derive(Debug, Clone)]
pub struct DirectoryMailer {
    folder: PathBuf,
}

impl DirectoryMailer {
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
        }
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    async fn write(&self, to: &str, message: &[u8]) -> Result<(), MailError> {
        if !is_bare_address(to) {
            return Err(MailError::InvalidAddress);
        }
        // The mails carry validation tokens and invite keys: only the server's user reads them.
        let folder = self.folder.clone();
        tokio::task::spawn_blocking(move || crate::private_files::create_private_dir_all(&folder))
            .await
            .map_err(|e| MailError::Io(e.to_string()))?
            .map_err(|e| MailError::Io(format!("creating {}: {e}", self.folder.display())))?;
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let path = self
            .folder
            .join(format!("{millis}-{}.eml", random_token(12, false)));
        let (file, bytes) = (path.clone(), message.to_vec());
        tokio::task::spawn_blocking(move || {
            crate::private_files::write_private_file(&file, &bytes)
        })
        .await
        .map_err(|e| MailError::Io(e.to_string()))?
        .map_err(|e| MailError::Io(format!("writing {}: {e}", path.display())))?;
        tracing::warn!(
            path = %path.display(),
            to,
            "mail NOT sent: the development directory transport wrote it to a file \
             (configure SMTP for real delivery)"
        );
        Ok(())
    }
}

impl Mailer for DirectoryMailer {
    fn send<'a>(&'a self, to: &'a str, message: &'a [u8]) -> MailFuture<'a> {
        Box::pin(self.write(to, message))
    }
}
