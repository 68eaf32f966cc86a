//! Certificates for HTTPS and QUIC: a configured PEM pair, or a self-signed development
//! certificate created on first run. The [`Certs`] resolver can swap in a renewed pair
//! (SIGHUP) without touching live connections.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate file {0} does not exist")]
    Missing(String),
    #[error("{path} holds no PEM {what}")]
    NotPem { path: String, what: &'static str },
    #[error("cannot read {path}: {err}")]
    Io { path: String, err: String },
    #[error("the private key in {path} is not usable: {err}")]
    BadKey { path: String, err: String },
    #[error("cannot create a self-signed certificate: {0}")]
    Generate(String),
}

/// Where the certificate and key come from.
#[derive(Debug, Clone)]
pub struct CertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// True when Outpost made them (self-signed).
    pub self_signed: bool,
}

/// Resolves the current certificate; [`Certs::reload`] replaces it.
#[derive(Debug)]
pub struct Certs {
    paths: CertPaths,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certs {
    /// Loads the configured pair, or creates (once) and loads the self-signed pair.
    pub fn load(cfg: &TlsConfig) -> Result<Arc<Certs>, TlsError> {
        let paths = match (&cfg.cert, &cfg.key) {
            (Some(c), Some(k)) => CertPaths {
                cert: c.clone(),
                key: k.clone(),
                self_signed: false,
            },
            _ => {
                let dir = &cfg.cert_dir;
                let paths = CertPaths {
                    cert: dir.join("cert.pem"),
                    key: dir.join("key.pem"),
                    self_signed: true,
                };
                if !paths.cert.exists() || !paths.key.exists() {
                    generate_self_signed(
                        dir,
                        &["localhost".into(), "127.0.0.1".into(), "::1".into()],
                    )?;
                }
                paths
            }
        };
        let key = read_pair(&paths.cert, &paths.key)?;
        Ok(Arc::new(Certs {
            paths,
            current: RwLock::new(Arc::new(key)),
        }))
    }

    pub fn paths(&self) -> &CertPaths {
        &self.paths
    }

    /// Re-reads the files; on any error the old certificate stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = read_pair(&self.paths.cert, &self.paths.key)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// The certificate chain in PEM, for clients that pin it (tests, bench, tools).
    pub fn chain_pem(&self) -> Result<Vec<u8>, TlsError> {
        std::fs::read(&self.paths.cert).map_err(|e| TlsError::Io {
            path: self.paths.cert.display().to_string(),
            err: e.to_string(),
        })
    }

    /// A rustls server config over this resolver with the given ALPN protocols.
    pub fn server_config(
        self: &Arc<Self>,
        alpn: &[&[u8]],
        tls13_only: bool,
    ) -> rustls::ServerConfig {
        let builder = if tls13_only {
            rustls::ServerConfig::builder_with_protocol_versions(&[&rustls::version::TLS13])
        } else {
            rustls::ServerConfig::builder()
        };
        let mut cfg = builder
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        cfg
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn io_err(path: &Path, e: std::io::Error) -> TlsError {
    if e.kind() == std::io::ErrorKind::NotFound {
        TlsError::Missing(path.display().to_string())
    } else {
        TlsError::Io {
            path: path.display().to_string(),
            err: e.to_string(),
        }
    }
}

fn read_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|e| io_err(cert, e))?;
    let key_pem = std::fs::read(key).map_err(|e| io_err(key, e))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NotPem {
            path: cert.display().to_string(),
            what: "certificate",
        });
    }
    let der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NotPem {
        path: key.display().to_string(),
        what: "private key",
    })?;
    let signing = any_supported_type(&der).map_err(|e| TlsError::BadKey {
        path: key.display().to_string(),
        err: e.to_string(),
    })?;
    let certified = CertifiedKey::new(chain, signing);
    // A renewal whose key does not belong to its certificate would break every handshake.
    certified.keys_match().map_err(|e| TlsError::BadKey {
        path: key.display().to_string(),
        err: format!(
            "it does not match the certificate in {}: {e}",
            cert.display()
        ),
    })?;
    Ok(certified)
}

/// Writes `cert.pem` and `key.pem` (0600) for the given host names into `dir`.
pub fn generate_self_signed(dir: &Path, hosts: &[String]) -> Result<CertPaths, TlsError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    write_private(&key, certified.key_pair.serialize_pem().as_bytes())
        .map_err(|e| io_err(&key, e))?;
    std::fs::write(&cert, certified.cert.pem()).map_err(|e| io_err(&cert, e))?;
    Ok(CertPaths {
        cert,
        key,
        self_signed: true,
    })
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_bad_certificate_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = TlsConfig {
            cert: Some(dir.path().join("nope.pem")),
            key: Some(dir.path().join("k.pem")),
            cert_dir: dir.path().into(),
        };
        let err = Certs::load(&cfg).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        std::fs::write(dir.path().join("nope.pem"), "hello").unwrap();
        std::fs::write(dir.path().join("k.pem"), "hello").unwrap();
        let err = Certs::load(&cfg).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn a_self_signed_pair_is_made_once_and_reloads() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let cfg = TlsConfig {
            cert: None,
            key: None,
            cert_dir: dir.path().join("certs"),
        };
        let certs = Certs::load(&cfg).unwrap();
        assert!(certs.paths().self_signed);
        let first = std::fs::read(&certs.paths().cert).unwrap();
        let again = Certs::load(&cfg).unwrap();
        assert_eq!(std::fs::read(&again.paths().cert).unwrap(), first);
        std::fs::write(&certs.paths().cert, "broken").unwrap();
        assert!(certs.reload().is_err(), "a bad renewal is refused");
        // A certificate with someone else's key is refused too.
        let other = dir.path().join("other");
        let paths = generate_self_signed(&other, &["localhost".into()]).unwrap();
        std::fs::copy(&paths.cert, &certs.paths().cert).unwrap();
        let err = certs.reload().unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    }
}
