//! `MIGRATION_TIMEZONE`: the zone the `created_at` of new revisions is written in, as
//! Alembic's `timezone` option does for its `Create Date`.
//!
//! Input: the setting's text: `UTC` (the default), an IANA zone name (`Europe/Berlin`,
//! matched case-insensitively, as Python's `zoneinfo` lookups on most systems are), or
//! a fixed offset (`+02:00`, `-0530`). Output: a [`Timezone`] that gives the current
//! time as a TOML offset datetime. It refuses anything else, suggesting the closest
//! zone name.

use std::fmt;
use std::str::FromStr;

use chrono::{FixedOffset, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

/// Where `created_at` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timezone {
    #[default]
    Utc,
    Named(Tz),
    Fixed(FixedOffset),
}

impl Timezone {
    /// The current time in this zone, to the second, as a TOML datetime:
    /// `2026-11-25T18:00:00Z` in UTC, `2026-11-25T19:00:00+01:00` elsewhere.
    pub fn now_toml(self) -> String {
        let now = Utc::now();
        match self {
            Self::Utc => now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Self::Named(tz) => now.with_timezone(&tz).format(OFFSET_FORMAT).to_string(),
            Self::Fixed(offset) => now.with_timezone(&offset).format(OFFSET_FORMAT).to_string(),
        }
    }

    /// The zone names closest to `text`, for "did you mean" hints.
    pub fn closest_name(text: &str) -> Option<&'static str> {
        let lower = text.to_ascii_lowercase();
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| {
                (
                    strsim::jaro_winkler(&lower, &tz.name().to_ascii_lowercase()),
                    tz.name(),
                )
            })
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, name)| name)
    }
}

const OFFSET_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%:z";

/// Why a `MIGRATION_TIMEZONE` value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTimezone;

impl FromStr for Timezone {
    type Err = UnknownTimezone;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("utc") || text.eq_ignore_ascii_case("z") {
            return Ok(Self::Utc);
        }
        if let Some(offset) = parse_offset(text) {
            return Ok(Self::Fixed(offset));
        }
        text.parse::<Tz>()
            .ok()
            .or_else(|| {
                chrono_tz::TZ_VARIANTS
                    .iter()
                    .copied()
                    .find(|tz| tz.name().eq_ignore_ascii_case(text))
            })
            .map(Self::Named)
            .ok_or(UnknownTimezone)
    }
}

/// `+02:00`, `-0530`, `+2`: hours and optional minutes after a sign.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Utc => f.write_str("UTC"),
            Self::Named(tz) => f.write_str(tz.name()),
            Self::Fixed(offset) => write!(f, "{offset}"),
        }
    }
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_offsets_and_utc_parse() {
        assert_eq!("UTC".parse(), Ok(Timezone::Utc));
        assert_eq!("utc".parse(), Ok(Timezone::Utc));
        assert_eq!(
            "europe/berlin".parse(),
            Ok(Timezone::Named(chrono_tz::Europe::Berlin))
        );
        let east = |s| Timezone::Fixed(FixedOffset::east_opt(s).expect("offset"));
        assert_eq!("+02:00".parse(), Ok(east(7200)));
        assert_eq!("-0530".parse(), Ok(east(-19800)));
        assert_eq!("+2".parse(), Ok(east(7200)));
        for bad in ["Europe/Berln", "+25:00", "+02:61", "2", "", "+", "+0a:00"] {
            assert_eq!(bad.parse::<Timezone>(), Err(UnknownTimezone), "{bad}");
        }
    }

    #[test]
    fn now_is_a_toml_datetime_in_the_zone() {
        let utc = Timezone::Utc.now_toml();
        assert!(utc.ends_with('Z'), "{utc}");
        let fixed: Timezone = "+05:30".parse().expect("offset");
        let text = fixed.now_toml();
        assert!(text.ends_with("+05:30"), "{text}");
        let parsed: toml::value::Datetime = text.parse().expect("a TOML datetime");
        assert!(parsed.offset.is_some());
        let named: Timezone = "Asia/Kolkata".parse().expect("zone");
        assert!(named.now_toml().ends_with("+05:30"));
    }

    #[test]
    fn misspelt_names_get_the_closest_one() {
        assert_eq!(
            Timezone::closest_name("Europe/Berln"),
            Some("Europe/Berlin")
        );
        assert_eq!(Timezone::closest_name("nothing like a zone at all"), None);
    }
}
