//! `Marker`/`PageSize` pagination. Markers are opaque to clients: ours is the index of the next
//! item, so a page boundary survives unrelated inserts well enough for local use.

use super::{ApiError, ApiResult};

/// One page of `items` and the marker of the next page, if any.
pub fn page<T: Clone>(
    items: &[T],
    marker: Option<&str>,
    page_size: Option<i32>,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let size = page_size.unwrap_or(400).clamp(1, 400) as usize;
    let start = match marker {
        None => 0,
        Some(m) => decode(m)
            .ok_or_else(|| ApiError::validation(format!("The marker '{m}' is not valid")))?,
    };
    let start = start.min(items.len());
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| encode(end));
    Ok((items[start..end].to_vec(), next))
}

fn encode(i: usize) -> String {
    format!("lelb-{i:x}")
}

fn decode(m: &str) -> Option<usize> {
    usize::from_str_radix(m.strip_prefix("lelb-")?, 16).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_cover_everything_once() {
        let v: Vec<u32> = (0..7).collect();
        let (a, m) = super::page(&v, None, Some(3)).unwrap();
        let (b, m) = super::page(&v, m.as_deref(), Some(3)).unwrap();
        let (c, m) = super::page(&v, m.as_deref(), Some(3)).unwrap();
        assert_eq!([a, b, c].concat(), v);
        assert!(m.is_none());
        assert!(super::page(&v, Some("bogus"), None).is_err());
    }
}
