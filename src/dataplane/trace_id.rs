//! ALB's `X-Amzn-Trace-Id` request header: `Root=1-<epoch s, 8 hex>-<24 hex>` added when the
//! request has none; a request that carries a `Root` gets a `Self` field inserted in front (or
//! its `Self` updated in place), other fields kept as they are.

/// The header name.
pub const HEADER: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-amzn-trace-id");

/// One trace identifier `1-<time>-<id>`.
fn trace_id(now_s: u64, random: u128) -> String {
    format!(
        "1-{:08x}-{:024x}",
        now_s as u32,
        random & ((1u128 << 96) - 1)
    )
}

fn field_name(f: &str) -> &str {
    f.split_once('=').map_or(f, |(k, _)| k).trim()
}

/// The header value to forward, given what the client sent.
pub fn next(prev: Option<&str>, now_s: u64, random: u128) -> String {
    let id = trace_id(now_s, random);
    let Some(prev) = prev.map(str::trim).filter(|p| !p.is_empty()) else {
        return format!("Root={id}");
    };
    let fields: Vec<&str> = prev.split(';').map(str::trim).collect();
    if fields.iter().any(|f| field_name(f) == "Self") {
        return fields
            .iter()
            .map(|f| {
                if field_name(f) == "Self" {
                    format!("Self={id}")
                } else {
                    f.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(";");
    }
    if fields.iter().any(|f| field_name(f) == "Root") {
        format!("Self={id};{prev}")
    } else {
        // Fields without a Root: the load balancer starts the trace and keeps them.
        format!("Root={id};{prev}")
    }
}

/// `Root=1-<8 hex>-<24 hex>`, written without formatting machinery: the value of nearly every
/// request (clients rarely send the header).
fn root_value(now_s: u64, random: u128) -> [u8; 40] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = *b"Root=1-00000000-000000000000000000000000";
    let t = now_s as u32;
    for i in 0..8 {
        out[7 + i] = HEX[((t >> (28 - 4 * i)) & 0xf) as usize];
    }
    for i in 0..24 {
        out[16 + i] = HEX[((random >> (92 - 4 * i)) & 0xf) as usize];
    }
    out
}

/// Sets the header on a request about to be forwarded at `now_s` (Unix seconds).
pub fn apply(headers: &mut hyper::header::HeaderMap, now_s: u64) {
    let random: u128 = rand::random();
    let value = match headers.get(&HEADER).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => {
            hyper::header::HeaderValue::from_str(&next(Some(prev), now_s, random))
        }
        _ => hyper::header::HeaderValue::from_bytes(&root_value(now_s, random)),
    };
    if let Ok(v) = value {
        headers.insert(HEADER, v);
    }
}

#[cfg(test)]
mod tests {
    use super::next;

    const T: u64 = 0x6789_1233;
    const R: u128 = 0xabcdef012345678912345678;

    #[test]
    fn absent_gets_a_root() {
        assert_eq!(next(None, T, R), "Root=1-67891233-abcdef012345678912345678");
        assert_eq!(
            next(Some(" "), T, R),
            "Root=1-67891233-abcdef012345678912345678"
        );
    }

    #[test]
    fn root_gets_self_in_front_and_custom_fields_stay() {
        assert_eq!(
            next(Some("Root=1-67891233-000000000000000000000001;CalledFrom=app"), T, R),
            "Self=1-67891233-abcdef012345678912345678;Root=1-67891233-000000000000000000000001;CalledFrom=app"
        );
    }

    #[test]
    fn self_is_updated_in_place() {
        assert_eq!(
            next(
                Some("Self=1-00000000-000000000000000000000000;Root=1-1-2"),
                T,
                R
            ),
            "Self=1-67891233-abcdef012345678912345678;Root=1-1-2"
        );
    }

    #[test]
    fn the_fast_root_value_matches_next() {
        for (t, r) in [
            (T, R),
            (0, 0),
            (u64::MAX, u128::MAX),
            (0x1234_5678, 1 << 95),
        ] {
            let fast = super::root_value(t, r);
            assert_eq!(std::str::from_utf8(&fast).unwrap(), next(None, t, r));
        }
    }

    #[test]
    fn id_is_24_hex_digits_even_for_large_randoms() {
        let v = next(None, T, u128::MAX);
        assert_eq!(v, "Root=1-67891233-ffffffffffffffffffffffff");
        assert_eq!(
            next(Some("Foo=bar"), T, 1),
            "Root=1-67891233-000000000000000000000001;Foo=bar"
        );
    }
}
