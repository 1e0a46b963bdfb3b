//! TLS termination for HTTPS listeners (rustls, ring provider only).
//!
//! Certificate ARNs name ACM certificates that do not exist locally, so each load balancer gets
//! a self-signed certificate for its DNS name (and `*.<DNS name>`), generated once and cached.
//! Load balancers sharing a port are chosen by SNI; an unknown or missing SNI gets the oldest
//! load balancer's certificate.

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Generated certificates by DNS name.
#[derive(Default)]
pub struct CertCache {
    certs: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl CertCache {
    /// The certificate for `dns_name`, generating it on first use.
    pub fn get(&self, dns_name: &str) -> Result<Arc<CertifiedKey>, String> {
        if let Some(c) = self.certs.lock().unwrap().get(dns_name) {
            return Ok(c.clone());
        }
        let ck = generate(dns_name)?;
        self.certs
            .lock()
            .unwrap()
            .insert(dns_name.to_string(), ck.clone());
        Ok(ck)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn generate(dns_name: &str) -> Result<Arc<CertifiedKey>, String> {
    let names = vec![dns_name.to_string(), format!("*.{dns_name}")];
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(signing_key.serialize_der())
        .map_err(|e| e.to_string())?;
    let key = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(CertifiedKey::new(vec![cert.der().clone()], key)))
}

/// Picks a listener port's certificate by SNI.
#[derive(Debug)]
struct BySni {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name().map(str::to_ascii_lowercase);
        Some(
            sni.and_then(|s| self.by_name.get(&s).cloned())
                .unwrap_or_else(|| self.default.clone()),
        )
    }
}

/// A TLS acceptor for a port whose HTTPS listeners belong to `dns_names` (oldest first).
pub fn acceptor(
    cache: &CertCache,
    dns_names: &[String],
) -> Result<tokio_rustls::TlsAcceptor, String> {
    let mut by_name = HashMap::new();
    let mut default = None;
    for n in dns_names {
        let ck = cache.get(n)?;
        default.get_or_insert_with(|| ck.clone());
        by_name.insert(n.clone(), ck);
    }
    let default = default.ok_or("no HTTPS listener on this port")?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySni { by_name, default }));
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_generated_once_per_name() {
        let cache = CertCache::default();
        let a = cache.get("a-1.us-east-1.elb.localhost").unwrap();
        let b = cache.get("a-1.us-east-1.elb.localhost").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(acceptor(&cache, &["a-1.us-east-1.elb.localhost".into()]).is_ok());
        assert!(acceptor(&cache, &[]).is_err());
    }
}
