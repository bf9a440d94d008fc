//! Secrets that must never reach output: [`Secret`] and [`RedactedUrl`]; the redaction
//! helpers every output path runs text through live in [`crate::redact`].
//!
//! Input: a password or URL, or arbitrary text/JSON plus the list of known secrets.
//! Output: the same with every secret replaced by `***`. It refuses to print a secret
//! through `Debug`, `Display` or `Serialize`; only `expose()` gives the real value.

use std::fmt;

use serde::{Serialize, Serializer};

pub use crate::redact::{MASK, is_secret_key, percent_encode, redact_json, redact_text};

/// A secret string (DB_PASS). `Debug`, `Display` and `Serialize` print `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value; never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

/// A database URL whose password is masked as `***` by `Debug`, `Display` and
/// `Serialize`; [`RedactedUrl::expose`] gives the real string.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        RedactedUrl(url.into())
    }

    /// The real URL, password included; pass it to the driver, never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`, by the URL's structure
    /// ([`crate::dburl::mask`]); a malformed URL is masked conservatively.
    pub fn redacted(&self) -> String {
        crate::dburl::mask(&self.0).into_owned()
    }

    /// The scheme before `:`, e.g. `postgresql+psycopg2`.
    pub fn scheme(&self) -> Option<&str> {
        let (scheme, _) = self.0.split_once(':')?;
        let valid = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        valid.then_some(scheme)
    }

    /// The password, percent-decoded, if the URL parses and has a non-empty one.
    pub fn password(&self) -> Option<String> {
        let parsed = crate::dburl::DbUrl::parse(&self.0).ok()?;
        parsed.server()?.password.clone().filter(|p| !p.is_empty())
    }

    /// Whether the URL is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactedUrl({:?})", self.redacted())
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for RedactedUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(serde_json::to_string(&s).expect("serializes"), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn redacted_url_masks_password_only() {
        let u = RedactedUrl::new("postgresql://bob:p%40ss@db.example:5432/app");
        assert_eq!(u.to_string(), "postgresql://bob:***@db.example:5432/app");
        assert!(!format!("{u:?}").contains("p%40ss"));
        assert_eq!(
            serde_json::to_string(&u).expect("serializes"),
            "\"postgresql://bob:***@db.example:5432/app\""
        );
        assert_eq!(u.password().as_deref(), Some("p@ss"));
        assert_eq!(u.scheme(), Some("postgresql"));
        assert_eq!(u.expose(), "postgresql://bob:p%40ss@db.example:5432/app");
    }

    #[test]
    fn url_without_password_is_unchanged() {
        for s in [
            "postgresql://bob@db:5432/app",
            "postgresql://db:5432/app",
            "sqlite:///tmp/x.db",
        ] {
            let u = RedactedUrl::new(s);
            assert_eq!(u.to_string(), s);
            assert_eq!(u.password(), None);
        }
    }
}
