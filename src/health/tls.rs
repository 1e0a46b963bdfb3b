//! TLS client configurations for health checks. They accept any server certificate: ALB's
//! health checks do not validate certificates either.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use tokio::net::TcpStream;

/// Accepts any server certificate (health checks do not validate certificates, as on AWS).
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

pub(super) static TLS: LazyLock<Option<Arc<rustls::ClientConfig>>> = LazyLock::new(|| {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    Some(Arc::new(cfg))
});

/// The same, offering HTTP/2 by ALPN (gRPC checks).
pub(super) static TLS_H2: LazyLock<Option<Arc<rustls::ClientConfig>>> = LazyLock::new(|| {
    let mut cfg = (**TLS.as_ref()?).clone();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Some(Arc::new(cfg))
});

/// TLS over `stream` to the target at `addr` (its certificate is not verified, as ALB's
/// checks do not); None when the handshake fails or no client configuration exists.
pub(super) async fn tls_connect(
    cfg: &Option<Arc<rustls::ClientConfig>>,
    addr: SocketAddr,
    stream: TcpStream,
) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    tokio_rustls::TlsConnector::from(cfg.clone()?)
        .connect(name, stream)
        .await
        .ok()
}
