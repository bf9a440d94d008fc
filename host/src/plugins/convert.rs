//! Conversions between the tool's signal types and the WIT types.
//!
//! Input: a [`crate::signals::Signal`] or a WIT verdict. Output: the other side. The
//! payload crosses as JSON text and the time as RFC 3339 with microseconds; nothing
//! is dropped.

use chrono::SecondsFormat;

use super::bindings::sqlalembic::plugin::types;
use crate::signals::{Signal, Verdict};

impl From<&Signal> for types::Signal {
    fn from(signal: &Signal) -> Self {
        types::Signal {
            name: signal.name.clone(),
            command: signal.command.clone(),
            payload: signal.payload.to_string(),
            timestamp: signal
                .timestamp
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

impl From<types::Verdict> for Verdict {
    fn from(verdict: types::Verdict) -> Self {
        match verdict {
            types::Verdict::Proceed => Verdict::Proceed,
            types::Verdict::Warn(message) => Verdict::Warn(message),
            types::Verdict::Deny(reason) => Verdict::Deny(reason),
        }
    }
}

impl From<types::LogLevel> for tracing::Level {
    fn from(level: types::LogLevel) -> Self {
        match level {
            types::LogLevel::Trace => tracing::Level::TRACE,
            types::LogLevel::Debug => tracing::Level::DEBUG,
            types::LogLevel::Info => tracing::Level::INFO,
            types::LogLevel::Warn => tracing::Level::WARN,
            types::LogLevel::Error => tracing::Level::ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn signal_crosses_as_json_text_and_rfc3339() {
        let mut signal = Signal::new("revision_applied", "migrate", json!({"revision": "ae1f"}));
        signal.timestamp = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 18, 0, 0)
            .single()
            .expect("valid time");
        let wit = types::Signal::from(&signal);
        assert_eq!(wit.name, "revision_applied");
        assert_eq!(wit.command, "migrate");
        assert_eq!(wit.payload, r#"{"revision":"ae1f"}"#);
        assert_eq!(wit.timestamp, "2026-11-25T18:00:00.000000Z");
    }

    #[test]
    fn verdicts_map_one_to_one() {
        assert_eq!(Verdict::from(types::Verdict::Proceed), Verdict::Proceed);
        assert_eq!(
            Verdict::from(types::Verdict::Warn("w".into())),
            Verdict::Warn("w".into())
        );
        assert_eq!(
            Verdict::from(types::Verdict::Deny("d".into())),
            Verdict::Deny("d".into())
        );
        assert_eq!(
            tracing::Level::from(types::LogLevel::Warn),
            tracing::Level::WARN
        );
    }
}
