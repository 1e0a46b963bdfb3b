//! Timestamps as AWS's query protocol writes them: `2016-03-25T21:29:48.850Z`.

use aws_smithy_types::DateTime;

/// A point in time, millisecond precision. Stored as epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime);

impl Timestamp {
    /// Now, truncated to milliseconds.
    pub fn now() -> Self {
        Self::from_millis(
            DateTime::from(std::time::SystemTime::now())
                .to_millis()
                .unwrap_or(0),
        )
    }
    /// From epoch milliseconds.
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(DateTime::from_millis(ms))
    }
    /// Epoch milliseconds.
    pub fn millis(&self) -> i64 {
        self.0.to_millis().unwrap_or(0)
    }
    /// ISO-8601 UTC with milliseconds and `Z`, as AWS sends it.
    pub fn to_iso8601(&self) -> String {
        let ms = self.millis();
        let secs = ms.div_euclid(1000);
        let milli = ms.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
            sod / 3600,
            (sod % 3600) / 60,
            sod % 60
        )
    }
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    pub fn parse_iso8601(s: &str) -> Option<Self> {
        let dt = DateTime::from_str(s, aws_smithy_types::date_time::Format::DateTime).ok()?;
        Some(Timestamp::from_millis(dt.to_millis().ok()?))
    }
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.millis())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ms = <i64 as serde::Deserialize>::deserialize(d)?;
        Ok(Timestamp::from_millis(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_aws() {
        let t = Timestamp::parse_iso8601("2016-03-25T21:29:48.850Z").unwrap();
        assert_eq!(t.to_iso8601(), "2016-03-25T21:29:48.850Z");
        assert_eq!(
            Timestamp::from_millis(0).to_iso8601(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_iso8601(),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
