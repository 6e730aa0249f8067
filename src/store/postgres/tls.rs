//! TLS for PostgreSQL through rustls (ring, as the MySQL driver and the HTTP client already
//! build it), by `sslmode` as libpq reads it: `prefer` and `require` encrypt without checking
//! the certificate, `verify-ca` checks it was signed by a trusted CA, `verify-full` also that
//! it names the host. Trusted: the public roots, and the CA file `sslrootcert` names.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::{PostgresUrl, SslMode};
use crate::error::{Error, Result, one_line};

/// The connector for `url`'s `sslmode`, and the mode the driver negotiates with.
pub(super) fn connector(
    url: &PostgresUrl,
) -> Result<(MakeRustlsConnect, tokio_postgres::config::SslMode)> {
    let provider = Arc::new(ring::default_provider());
    let mode = match url.sslmode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    };
    let checks = match url.sslmode {
        SslMode::VerifyCa => Some(false),
        SslMode::VerifyFull => Some(true),
        _ => None,
    };
    let inner = match checks {
        None => None,
        Some(_) => {
            let roots = roots(url)?;
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| tls_config_error(url, &e.to_string()))?,
            )
        }
    };
    let verifier = Verifier {
        inner,
        check_name: checks.unwrap_or(false),
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_config_error(url, &e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((MakeRustlsConnect::new(config), mode))
}

fn tls_config_error(url: &PostgresUrl, why: &str) -> Error {
    Error::config(format!(
        "cannot set up TLS for PostgreSQL at {}: {}; check sslmode and sslrootcert in {}",
        url.shown(),
        one_line(why),
        url.named
    ))
}

/// The public roots, and the certificates of `sslrootcert` when the URL names one.
fn roots(url: &PostgresUrl) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &url.sslrootcert {
        for cert in read_pem(path).map_err(|why| {
            Error::config(format!(
                "{} sslrootcert '{}' cannot be read ({why}); expected a PEM file of CA certificates",
                url.named,
                path.display()
            ))
        })? {
            roots
                .add(cert)
                .map_err(|e| tls_config_error(url, &e.to_string()))?;
        }
    }
    Ok(roots)
}

fn read_pem(path: &Path) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| one_line(&e.to_string()))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| one_line(&e.to_string()))?;
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
}

/// libpq's checks of the server's certificate: none (`prefer`, `require`), its chain
/// (`verify-ca`), its chain and name (`verify-full`). The handshake's signatures are always
/// checked.
#[derive(Debug)]
struct Verifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
