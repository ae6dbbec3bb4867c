//! Development transport: every message becomes a `.eml` file in a folder instead of being
//! delivered. Loud on purpose, so that it is never mistaken for real delivery.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::crypto::{OsRandom, RandomSource};

use super::text::{is_bare_address, random_token};
use super::{MailError, MailFuture, Mailer};

/// Writes each message to `<folder>/<unix-millis>-<random>.eml` (the folder is created when
/// missing) and logs the file's path at warn level. The message contents (tokens, invite
/// keys) are never logged.
#[derive(Clone)]
pub struct DirectoryMailer {
    folder: PathBuf,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
}

impl std::fmt::Debug for DirectoryMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryMailer")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl DirectoryMailer {
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }

    /// Names files with these sources of time and randomness (the server's own).
    pub fn with_sources(mut self, clock: Arc<dyn Clock>, random: Arc<dyn RandomSource>) -> Self {
        self.clock = clock;
        self.random = random;
        self
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
        let millis = self.clock.now_ms();
        let unique = random_token(self.random.as_ref(), 12, false)?;
        let path = self.folder.join(format!("{millis}-{unique}.eml"));
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
    fn transport(&self) -> &'static str {
        "directory"
    }

    fn send<'a>(&'a self, to: &'a str, message: &'a [u8]) -> MailFuture<'a> {
        Box::pin(self.write(to, message))
    }
}
