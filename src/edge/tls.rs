//! The optional TLS listener: certificate and key from PEM files, served by rustls (aws-lc-rs,
//! the one provider in the build) over HTTP/1.1, and reloaded in place on SIGHUP.
//!
//! Why a listener of our own at all: Synapse always calls `https://<id_server>`, and small
//! deployments have no reverse proxy to terminate TLS for us.
//!
//! Reloading swaps the certified key behind a resolver the rustls configuration holds, so the
//! listening socket, the acceptor and every open connection stay as they are; only handshakes
//! after the swap see the new certificate. A new pair that does not load (missing file, bad
//! PEM, key not matching the certificate) leaves the old one in service.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};

/// `[server.tls]`: where the certificate chain and its private key are.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM: the server's certificate first, then any intermediates.
    pub cert_path: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: PathBuf,
}

/// Why a certificate/key pair could not be put in service.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no PEM certificate in it")]
    NoCertificate { path: PathBuf },
    #[error("{path}: {detail}")]
    BadPem { path: PathBuf, detail: String },
    #[error("{path}: the key is not usable or does not match the certificate: {source}")]
    Key {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("TLS setup: {0}")]
    Setup(rustls::Error),
}

/// The TLS side of the listener: the acceptor handed to each connection and the handle that
/// reloads its certificate.
pub struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    certificate: Arc<CurrentCertificate>,
    config: TlsConfig,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("config", &self.config).finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl Tls {
    /// Loads the pair named in `config` and builds the acceptor (HTTP/1.1 only, via ALPN).
    pub fn load(config: &TlsConfig) -> Result<Self, TlsError> {
        let provider = provider();
        let key = load_pair(config, &provider)?;
        let certificate = Arc::new(CurrentCertificate {
            key: RwLock::new(Arc::new(key)),
        });
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?
            .with_no_client_auth()
            .with_cert_resolver(certificate.clone());
        // The accept loop speaks HTTP/1.1 only; a client that offers ALPN and not http/1.1
        // is refused in the handshake rather than confused afterwards.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
            certificate,
            config: config.clone(),
        })
    }

    pub fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }

    /// Reads the certificate and key files again and serves them from the next handshake on.
    /// On error the pair in service stays, and the caller learns why.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = load_pair(&self.config, &provider())?;
        match self.certificate.key.write() {
            Ok(mut current) => *current = Arc::new(key),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(key),
        }
        Ok(())
    }

    /// [`reload`](Self::reload), logging the outcome: what the SIGHUP handler calls.
    pub fn reload_and_log(&self) {
        match self.reload() {
            Ok(()) => tracing::info!(
                cert = %self.config.cert_path.display(),
                "TLS certificate reloaded"
            ),
            Err(e) => tracing::error!(
                error = %e,
                "TLS certificate reload failed; the previous certificate stays in service"
            ),
        }
    }

    /// The end-entity certificate now in service.
    pub fn current_certificate(&self) -> CertificateDer<'static> {
        let key = self.certificate.get();
        key.cert
            .first()
            .cloned()
            .unwrap_or_else(|| CertificateDer::from(Vec::new()))
    }
}

/// Reloads `tls` on every SIGHUP until the process ends (Unix only).
pub fn reload_on_sighup(tls: Arc<Tls>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS reload disabled");
                return;
            }
        };
        while hup.recv().await.is_some() {
            tls.reload_and_log();
        }
    });
    #[cfg(not(unix))]
    drop(tls);
}

/// Checks that the pair in `config` loads, for `check-config`.
pub fn check(config: &TlsConfig) -> Result<(), TlsError> {
    load_pair(config, &provider()).map(drop)
}

#[derive(Debug)]
struct CurrentCertificate {
    key: RwLock<Arc<CertifiedKey>>,
}

impl CurrentCertificate {
    fn get(&self) -> Arc<CertifiedKey> {
        match self.key.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn load_pair(config: &TlsConfig, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(&config.cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            path: config.cert_path.clone(),
            detail: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: config.cert_path.clone(),
        });
    }
    let key_pem = read(&config.key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::BadPem {
        path: config.key_path.clone(),
        detail: format!("no usable PEM private key ({e})"),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Key {
        path: config.key_path.clone(),
        source,
    })
}
