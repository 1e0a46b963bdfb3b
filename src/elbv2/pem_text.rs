//! PEM and base64 text for trust stores: reading PEM blocks (rustls-pki-types' parser),
//! writing them (`pem`) and base64 for `data:` URLs (`base64`).

use base64::Engine as _;
use rustls::pki_types::pem::{PemObject, SectionKind};

/// The PEM blocks of `bytes` whose label rustls knows (others are skipped), in order.
pub fn pem_items(bytes: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, String> {
    <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not valid PEM: {e}"))
}

/// `der` as one PEM block labelled `label`: 64-column lines, LF line ends.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    let lf = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der), lf)
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}
