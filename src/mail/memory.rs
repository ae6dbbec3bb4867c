//! An in-process [`Mailer`] that records messages, for tests of the code that sends mail.

use std::sync::{Arc, Mutex, PoisonError};

use super::{MailError, MailFuture, Mailer};

/// One message handed to a [`MemoryMailer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub to: String,
    pub message: Vec<u8>,
}

/// Records every message it is asked to send; can be told to fail instead.
/// Clones share the same record.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<SentMail>,
    fail_with: Option<MailError>,
}

impl MemoryMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentMail> {
        self.lock().sent.clone()
    }

    /// Makes every following `send` fail with `error` (`None`: succeed again).
    pub fn fail_with(&self, error: Option<MailError>) {
        self.lock().fail_with = error;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Mailer for MemoryMailer {
    fn transport(&self) -> &'static str {
        "memory"
    }

    fn send<'a>(&'a self, to: &'a str, message: &'a [u8]) -> MailFuture<'a> {
        let result = {
            let mut state = self.lock();
            match &state.fail_with {
                Some(error) => Err(error.clone()),
                None => {
                    state.sent.push(SentMail {
                        to: to.to_owned(),
                        message: message.to_vec(),
                    });
                    Ok(())
                }
            }
        };
        Box::pin(async move { result })
    }
}
