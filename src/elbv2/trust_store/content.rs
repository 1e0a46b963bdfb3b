//! Trust-store content: the DER shape of certificates and CRLs, the count of a CRL's revoked
//! entries, and PEM in and out (through `pem_text`) for `data:` URLs.

pub use super::super::pem_text::base64;
pub(super) use super::super::pem_text::pem_block;
use super::super::pem_text::pem_items;
use rustls::pki_types::pem::SectionKind;

/// Splits one DER TLV off `b`: (tag, content, rest). Definite lengths only.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (l0 as usize, rest)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | x as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The body of a `SEQUENCE { tbs SEQUENCE, algorithm SEQUENCE, signature BIT STRING }` that
/// fills `der` exactly (the outer shape of both certificates and CRLs).
fn signed_body(der: &[u8]) -> Option<&[u8]> {
    let (tag, body, rest) = tlv(der)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (t1, tbs, r) = tlv(body)?;
    let (t2, _, r) = tlv(r)?;
    let (t3, _, r) = tlv(r)?;
    (t1 == SEQUENCE && t2 == SEQUENCE && t3 == BIT_STRING && r.is_empty()).then_some(tbs)
}

/// Whether `der` is shaped like an X.509 certificate.
fn is_certificate(der: &[u8]) -> bool {
    signed_body(der).is_some()
}

/// The number of revoked certificates in a DER CRL, or None if it is not one.
///
/// `TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature AlgorithmIdentifier,
/// issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL, revokedCertificates SEQUENCE OF
/// SEQUENCE OPTIONAL, crlExtensions [0] EXPLICIT Extensions OPTIONAL }`
pub fn crl_entries(der: &[u8]) -> Option<i64> {
    let tbs = signed_body(der)?;
    let (mut tag, _, mut rest) = tlv(tbs)?;
    if tag == INTEGER {
        let (t, _, r) = tlv(rest)?; // version
        (tag, rest) = (t, r);
    }
    if tag != SEQUENCE {
        return None; // signature algorithm
    }
    let (tag, _, rest) = tlv(rest)?;
    if tag != SEQUENCE {
        return None; // issuer
    }
    let (tag, _, mut rest) = tlv(rest)?;
    if tag != UTC_TIME && tag != GENERALIZED_TIME {
        return None; // thisUpdate
    }
    let mut count = 0;
    while !rest.is_empty() {
        let (tag, content, r) = tlv(rest)?;
        match tag {
            UTC_TIME | GENERALIZED_TIME => {} // nextUpdate
            SEQUENCE => {
                let mut entries = content;
                while !entries.is_empty() {
                    let (t, _, r) = tlv(entries)?;
                    if t != SEQUENCE {
                        return None;
                    }
                    count += 1;
                    entries = r;
                }
            }
            0xA0 => {} // crlExtensions
            _ => return None,
        }
        rest = r;
    }
    Some(count)
}

/// A CA bundle: the number of certificates, and the bundle as stored (its PEM text).
pub fn parse_ca_bundle(bytes: &[u8]) -> Result<(i32, String), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the bundle is not PEM text".to_string())?;
    let mut n = 0;
    for item in pem_items(bytes)? {
        match item {
            (SectionKind::Certificate, der) if is_certificate(&der) => n += 1,
            (SectionKind::Certificate, _) => {
                return Err(format!("certificate {} is malformed", n + 1))
            }
            _ => return Err("the bundle contains a PEM block that is not a certificate".into()),
        }
    }
    if n == 0 {
        return Err("the bundle contains no PEM certificates".into());
    }
    Ok((n, text.to_string()))
}

/// A revocation file (PEM `X509 CRL` blocks, or one DER CRL): the number of revoked entries,
/// and the content as PEM.
pub fn parse_crl(bytes: &[u8]) -> Result<(i64, String), String> {
    let looks_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    if !looks_pem {
        let n = crl_entries(bytes).ok_or("the file is neither a PEM nor a DER CRL")?;
        return Ok((n, pem_block("X509 CRL", bytes)));
    }
    let mut total = 0;
    let mut pem = String::new();
    let mut crls = 0;
    for item in pem_items(bytes)? {
        match item {
            (SectionKind::Crl, der) => {
                total +=
                    crl_entries(&der).ok_or_else(|| format!("CRL {} is malformed", crls + 1))?;
                pem.push_str(&pem_block("X509 CRL", &der));
                crls += 1;
            }
            _ => return Err("the file contains a PEM block that is not a CRL".into()),
        }
    }
    if crls == 0 {
        return Err("the file contains no X509 CRL".into());
    }
    Ok((total, pem))
}

/// A `data:` URL carrying PEM text.
pub fn data_url(pem: &str) -> String {
    format!(
        "data:application/x-pem-file;base64,{}",
        base64(pem.as_bytes())
    )
}
