//! Development gateway: every text becomes a `.txt` file in a folder instead of being sent,
//! as the email outbox does for mails. Loud on purpose, so it is never mistaken for delivery.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::http::Answer;
use super::{OutgoingSms, SmsError, SmsGateway};
use crate::clock::Clock;

/// Writes each text to `<folder>/<unix-millis>-<n>-<msisdn>.txt` (only the server's user may
/// read it: it holds a code) and logs the file's path, never its contents.
pub struct Outbox {
    folder: PathBuf,
    clock: Arc<dyn Clock>,
    sequence: AtomicU64,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    pub fn new(folder: PathBuf, clock: Arc<dyn Clock>) -> Self {
        Self {
            folder,
            clock,
            sequence: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl SmsGateway for Outbox {
    fn transport(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Answer, SmsError> {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let path = self
            .folder
            .join(format!("{}-{n}-{}.txt", self.clock.now_ms(), sms.msisdn));
        let text = format!(
            "To: +{}\nFrom: {}:{}\n\n{}\n",
            sms.msisdn,
            sms.originator.kind.as_str(),
            sms.originator.text,
            sms.body
        );
        let folder = self.folder.clone();
        let file = path.clone();
        tokio::task::spawn_blocking(move || {
            crate::private_files::create_private_dir_all(&folder)?;
            crate::private_files::write_private_file(&file, text.as_bytes())
        })
        .await
        .map_err(|e| SmsError::Setup(e.to_string()))?
        .map_err(|e| SmsError::Unreachable(format!("writing {}: {e}", path.display())))?;
        tracing::warn!(
            file = %path.display(),
            "SMS NOT SENT: [sms] gateway = \"outbox\" writes texts into files"
        );
        Ok(Answer {
            status: 200,
            reference: Some(path.display().to_string()),
        })
    }
}
