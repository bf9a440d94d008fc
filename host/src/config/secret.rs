//! Secrets that must never reach output: [`Secret`], [`RedactedUrl`], and the
//! redaction helpers every output path (errors, logs, signal payloads) runs text through.
//!
//! Input: a password or URL, or arbitrary text/JSON plus the list of known secrets.
//! Output: the same with every secret replaced by `***`. It refuses to print a secret
//! through `Debug`, `Display` or `Serialize`; only `expose()` gives the real value.

use std::fmt;

use serde::{Serialize, Serializer};

/// What a hidden value is replaced with.
pub const MASK: &str = "***";

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

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        mask_url_passwords(&self.0)
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

    /// The password, percent-decoded, if the URL has a non-empty one.
    pub fn password(&self) -> Option<String> {
        let (start, end) = password_ranges(&self.0).into_iter().next()?;
        Some(percent_decode(&self.0[start..end]))
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

/// Byte ranges of the non-empty passwords in `scheme://user:password@host` URLs in `text`.
///
/// Follows SQLAlchemy's URL grammar: the user stops at `:`, `/` or `@`; the password runs
/// to the first `@` (so an unencoded `/` or `#` in it is still masked). Whitespace and
/// quotes end a URL inside prose.
fn password_ranges(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let ends_url = |b: u8| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>');
    let mut ranges = Vec::new();
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let authority = search + found + 3;
        search = authority;
        let mut i = authority;
        while i < bytes.len() && !matches!(bytes[i], b':' | b'/' | b'@') && !ends_url(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b':' {
            continue;
        }
        let pass_start = i + 1;
        let mut j = pass_start;
        while j < bytes.len() && bytes[j] != b'@' && !ends_url(bytes[j]) {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'@' && j > pass_start {
            ranges.push((pass_start, j));
            search = j;
        }
    }
    ranges
}

/// Replaces the password of every `scheme://user:password@` URL in `text` with `***`.
fn mask_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in password_ranges(text) {
        out.push_str(&text[last..start]);
        out.push_str(MASK);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// Replaces every occurrence of each secret (and of its percent-encoded forms) in `text`
/// with `***`, and masks `scheme://user:password@` in every URL.
pub fn redact_text(text: &str, secrets: &[String]) -> String {
    let mut needles: Vec<String> = Vec::new();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let encoded = percent_encode(secret);
        let candidates = [
            secret.clone(),
            encoded.clone(),
            lowercase_escapes(&encoded),
            url_userinfo_encoding(secret),
        ];
        for c in candidates {
            if !c.is_empty() && !needles.contains(&c) {
                needles.push(c);
            }
        }
    }
    // Longest first, so a secret containing a shorter one is masked whole.
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = mask_url_passwords(text);
    for needle in &needles {
        if out.contains(needle.as_str()) {
            out = out.replace(needle.as_str(), MASK);
        }
    }
    out
}

/// Masks the values of password-like keys (`password`, `pass`, `passwd`, `pwd`, `secret`,
/// `token`, `api_key`, any case, also as a word of a longer key such as `DB_PASS` or
/// `authToken`) and runs [`redact_text`] on every string.
pub fn redact_json(value: &mut serde_json::Value, secrets: &[String]) {
    match value {
        serde_json::Value::String(s) => *s = redact_text(s, secrets),
        serde_json::Value::Array(items) => {
            for item in items {
                redact_json(item, secrets);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let hidden = !item.is_null() && item.as_str() != Some("");
                if is_secret_key(key) && hidden {
                    *item = serde_json::Value::String(MASK.to_owned());
                } else {
                    redact_json(item, secrets);
                }
            }
        }
        _ => {}
    }
}

/// Whether a key name looks like it holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    const WORDS: [&str; 6] = ["password", "pass", "passwd", "pwd", "secret", "token"];
    // camelCase -> snake_case, then split into words.
    let mut snake = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            snake.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        snake.push(c.to_ascii_lowercase());
    }
    let words: Vec<&str> = snake
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let api_key = words.windows(2).any(|w| w == ["api", "key"]) || words.contains(&"apikey");
    api_key || words.iter().any(|w| WORDS.contains(w))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn lowercase_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

/// How the `url` crate writes this password into a URL (its userinfo encode set leaves
/// some characters such as `!` or `$` alone), so URLs it produced are masked too.
fn url_userinfo_encoding(secret: &str) -> String {
    let Ok(mut url) = url::Url::parse("x://h") else {
        return String::new();
    };
    if url.set_password(Some(secret)).is_err() {
        return String::new();
    }
    url.password().unwrap_or_default().to_owned()
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

    #[test]
    fn unencoded_slash_in_password_is_still_masked() {
        let u = RedactedUrl::new("mysql://root:a/b#c@localhost/db");
        assert_eq!(u.to_string(), "mysql://root:***@localhost/db");
    }

    #[test]
    fn redact_text_masks_secrets_encoded_forms_and_urls() {
        let secrets = vec!["p@ss w!rd".to_owned(), String::new()];
        let text = "failed: p@ss w!rd, p%40ss%20w%21rd, p%40ss%20w!rd, p%40ss%20w%21rd \
                    and mysql://u:other@h/db; email a@b";
        let out = redact_text(text, &secrets);
        assert_eq!(
            out,
            "failed: ***, ***, ***, *** and mysql://u:***@h/db; email a@b"
        );
        let lower = redact_text("x p%40ss%20w%21rd", &["p@ss w!rd".to_owned()]);
        assert_eq!(lower, "x ***");
        let lower_hex = redact_text("x a%2fb", &["a/b".to_owned()]);
        assert_eq!(lower_hex, "x ***");
    }

    #[test]
    fn redact_json_masks_secret_keys_and_strings() {
        let mut v = serde_json::json!({
            "DB_PASS": "hunter2",
            "apiKey": "k",
            "nested": {"auth_token": 5, "password": "", "note": "pw is hunter2"},
            "list": ["postgresql://u:hunter2@h/d"],
            "passenger": "ok",
            "bypass": "ok",
        });
        redact_json(&mut v, &["hunter2".to_owned()]);
        assert_eq!(
            v,
            serde_json::json!({
                "DB_PASS": "***",
                "apiKey": "***",
                "nested": {"auth_token": "***", "password": "", "note": "pw is ***"},
                "list": ["postgresql://u:***@h/d"],
                "passenger": "ok",
                "bypass": "ok",
            })
        );
    }

    #[test]
    fn percent_round_trip() {
        let s = "a b/c@d:é%";
        assert_eq!(percent_decode(&percent_encode(s)), s);
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
