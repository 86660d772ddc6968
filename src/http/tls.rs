//! TLS set up for the run's client, with the system's root certificates read
//! only when the first certificate has to be checked.
//!
//! Reading and parsing the roots costs a few milliseconds (hundreds of files
//! under /etc/ssl/certs); most runs in CI talk plain HTTP to a local service or
//! the embedded mock and never need them. Certificates are still checked exactly
//! as reqwest does it by default: the platform verifier, same crypto provider.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// How server certificates are checked (`--insecure`, `--cacert`).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Accept any certificate: for a test server with a self-signed one.
    pub insecure: bool,
    /// CA certificates trusted besides the system's (a company CA, a staging CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// The certificates of a PEM file (`-----BEGIN CERTIFICATE-----` blocks).
pub fn read_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject as _;
    let bytes = crate::scenario::read::read_capped(path, 16 << 20)
        .map_err(|why| format!("cannot read {}: {why}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no certificate (no -----BEGIN CERTIFICATE----- block)",
            path.display()
        ));
    }
    Ok(certs)
}

/// The client's TLS configuration: HTTP/1.1 over TLS 1.2/1.3, roots loaded lazily.
pub fn client_config(options: &TlsOptions) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut verifier = LazyPlatformVerifier::new(provider.clone());
    verifier.insecure = options.insecure;
    if !options.extra_roots.is_empty() {
        let mut roots = rustls::RootCertStore::empty();
        for cert in &options.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| format!("a --cacert certificate cannot be used as a CA: {e}"))?;
        }
        let extra = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| format!("cannot use the --cacert certificates: {e}"))?;
        verifier.extra = Some(extra);
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The platform verifier, built on first use; before it, the `--cacert` roots, and
/// with `--insecure`, no check of the certificate at all (the handshake's signatures
/// are still checked).
#[derive(Debug)]
struct LazyPlatformVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
    extra: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    insecure: bool,
}

impl LazyPlatformVerifier {
    fn new(provider: Arc<CryptoProvider>) -> Self {
        LazyPlatformVerifier {
            provider,
            inner: OnceLock::new(),
            extra: None,
            insecure: false,
        }
    }

    fn get(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(extra) = &self.extra
            && let Ok(ok) =
                extra.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            return Ok(ok);
        }
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // Signatures are checked with the provider's algorithms alone (as
    // WebPKI does): no need for the roots, so no need to load them here.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_the_config_reads_no_roots() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let v = LazyPlatformVerifier::new(provider);
        assert!(!v.supported_verify_schemes().is_empty());
        assert!(v.inner.get().is_none());
        assert!(client_config(&TlsOptions::default()).is_ok());
    }

    /// A self-signed certificate for `localhost`, valid until 2126.
    const SELF_SIGNED: &str = "MIIBlDCCATugAwIBAgIUQnuIfFM82fgscJHxNKuohnfb8wEwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNzEzMjc1M1oYDzIxMjYxMTAzMTMyNzUzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASz9fn+oipos5zIqwmJsSsWtSGX/l9E7QokH3jyE0llHMGe20YVy+R7fOSPz88hlN72Ndsai/CI4s5QqGUYrwnbo2kwZzAdBgNVHQ4EFgQUD9FQC72RB2Cbflb971TBKgHzqfQwHwYDVR0jBBgwFoAUD9FQC72RB2Cbflb971TBKgHzqfQwDwYDVR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwIDRwAwRAIgfKQfc14gxGzHrZkcwFfOfFWk0eRn/qdxGP2DLGTE/kgCIHj3JPIPkKVQ4A8UnEQkLj2Be+F3aMGLP3lfj/npZjH3";

    #[test]
    fn an_untrusted_certificate_is_refused_once_roots_load() {
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(SELF_SIGNED)
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let v = LazyPlatformVerifier::new(provider);
        let name = ServerName::try_from("localhost").unwrap();
        let verdict =
            v.verify_server_cert(&CertificateDer::from(der), &[], &name, &[], UnixTime::now());
        assert!(v.inner.get().is_some(), "the roots load on first use");
        match verdict {
            // No CA certificates on the machine at all is refused too.
            Err(rustls::Error::InvalidCertificate(_)) | Err(rustls::Error::General(_)) => {}
            other => panic!("a self-signed certificate was not refused: {other:?}"),
        }
    }
}
