//! Masking of secrets in everything that leaves the process: error messages, log
//! lines, printed output, signal payloads.
//!
//! Input: a text or JSON value and the secret strings known for this run. Output: the
//! same with each secret, its encoded forms (percent-encoding in upper and lower case,
//! `+` for spaces, the `url` crate's userinfo encoding) and the password part of every
//! `scheme://user:password@host` URL replaced by `***`; in JSON, the values of keys named
//! like a password, secret or token are masked whole. It refuses nothing: an empty secret
//! is ignored, and clean text is returned unchanged (borrowed, see [`redact_cow`]).

use std::borrow::Cow;

use serde_json::Value;

/// What a hidden value is replaced with.
pub const MASK: &str = "***";

/// [`redact_cow`] as an owned string.
pub fn redact_text(text: &str, secrets: &[String]) -> String {
    redact_cow(text, secrets).into_owned()
}

/// Replaces every secret (and its encoded forms) and every URL password in `text` with
/// [`MASK`]; borrows `text` when there is nothing to mask (the logging hot path).
pub fn redact_cow<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = match mask_url_passwords(text) {
        Some(masked) => Cow::Owned(masked),
        None => Cow::Borrowed(text),
    };
    for needle in needles(secrets) {
        if out.contains(needle.as_str()) {
            out = Cow::Owned(out.replace(needle.as_str(), MASK));
        }
    }
    out
}

/// Redacts every string in `value` and masks the value of every key that names a
/// secret ([`is_secret_key`]); `null`, booleans and empty strings under such keys stay,
/// as they reveal nothing.
pub fn redact_json(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(redacted) = redact_cow(text, secrets) {
                *text = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact_json(item, secrets)),
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let reveals =
                    !matches!(item, Value::Null | Value::Bool(_)) && item.as_str() != Some("");
                if is_secret_key(key) && reveals {
                    *item = Value::String(MASK.to_owned());
                } else {
                    redact_json(item, secrets);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether a key names a secret: one of its words (split at `_`, `-`, `.`, spaces and
/// camelCase humps) is `password`, `passwd`, `pass`, `pwd`, `passphrase`, `secret`,
/// `token`, `apikey`, `credentials`, `authorization`, or it contains `api key` or
/// `private key`. `DB_PASS`, `dbPassword`, `api-key`, `access_token` match;
/// `passenger`, `bypass`, `tokenizer` do not.
pub fn is_secret_key(key: &str) -> bool {
    // Fast path: most keys (`name`, `columns`, ...) hold none of the words' stems, and
    // `Printer::json` asks for every key of large documents.
    const STEMS: [&str; 7] = [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "credential",
        "authoriz",
    ];
    let lower = key.to_ascii_lowercase();
    if !STEMS.iter().any(|stem| lower.contains(stem)) {
        return false;
    }
    let mut words: Vec<String> = Vec::new();
    for part in key
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut word = String::new();
        let mut prev_lower = false;
        for c in part.chars() {
            if c.is_uppercase() && prev_lower && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            word.extend(c.to_lowercase());
        }
        words.push(word);
    }
    let single = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "password"
                | "passwords"
                | "passwd"
                | "pass"
                | "pwd"
                | "passphrase"
                | "secret"
                | "secrets"
                | "token"
                | "tokens"
                | "apikey"
                | "credential"
                | "credentials"
                | "authorization"
        )
    });
    single
        || words
            .windows(2)
            .any(|pair| pair[1] == "key" && (pair[0] == "api" || pair[0] == "private"))
}

/// Every form a secret may take in text, longest first (so a longer encoded form is not
/// half-replaced by a shorter one).
fn needles(secrets: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let encoded = percent_encode(secret);
        for form in [
            secret.clone(),
            lowercase_escapes(&encoded),
            percent_encode_plus(secret),
            url_userinfo_encoding(secret),
            encoded,
        ] {
            if !form.is_empty() && !out.contains(&form) {
                out.push(form);
            }
        }
    }
    out.sort_by_key(|n| std::cmp::Reverse(n.len()));
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters (Python's
/// `quote(s, safe="")`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Like [`percent_encode`] with `+` for spaces (Python's `quote_plus`).
fn percent_encode_plus(text: &str) -> String {
    text.split(' ')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("+")
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
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
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

/// Byte ranges of the non-empty passwords in `scheme://user:password@host` URLs in `text`.
///
/// The user stops at `:`, `/` or `@`; the password runs to the last `@` before the path
/// (so an unencoded `@`, `/` or `#` in it is still masked whole). Whitespace and quotes
/// end a URL inside prose.
pub fn password_ranges(text: &str) -> Vec<(usize, usize)> {
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
        let mut last_at = None;
        let mut j = pass_start;
        while j < bytes.len() && !ends_url(bytes[j]) {
            match bytes[j] {
                b'@' => last_at = Some(j),
                b'/' if last_at.is_some() => break,
                _ => {}
            }
            j += 1;
        }
        if let Some(at) = last_at
            && at > pass_start
        {
            ranges.push((pass_start, at));
            search = at;
        }
    }
    ranges
}

/// Replaces the password of every `scheme://user:password@` URL in `text` with `***`;
/// `None` when there is none.
pub fn mask_url_passwords(text: &str) -> Option<String> {
    let ranges = password_ranges(text);
    if ranges.iter().all(|&(s, e)| &text[s..e] == MASK) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in ranges {
        out.push_str(&text[last..start]);
        out.push_str(MASK);
        last = end;
    }
    out.push_str(&text[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn replaces_plain_and_encoded_secrets() {
        let s = secrets(&["p@ss word"]);
        assert_eq!(redact_text("pw is p@ss word!", &s), "pw is ***!");
        assert_eq!(redact_text("q=p%40ss%20word", &s), "q=***");
        assert_eq!(redact_text("q=p%40ss+word", &s), "q=***");
        let s = secrets(&["p@ss w!rd", ""]);
        let text = "failed: p@ss w!rd, p%40ss%20w%21rd, p%40ss%20w!rd, p%40ss%20w%21rd \
                    and mysql://u:other@h/db; email a@b";
        assert_eq!(
            redact_text(text, &s),
            "failed: ***, ***, ***, *** and mysql://u:***@h/db; email a@b"
        );
        assert_eq!(redact_text("x a%2fb", &secrets(&["a/b"])), "x ***");
    }

    #[test]
    fn leaves_clean_text_borrowed() {
        let s = secrets(&["hunter2", ""]);
        assert!(matches!(redact_cow("nothing here", &s), Cow::Borrowed(_)));
        assert!(matches!(
            redact_cow("postgresql://bob:***@db/app", &s),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn masks_passwords_in_urls() {
        let s = Vec::new();
        assert_eq!(
            redact_text("connect postgresql://bob:s3cr3t@db:5432/app failed", &s),
            "connect postgresql://bob:***@db:5432/app failed"
        );
        assert_eq!(
            redact_text("'mysql://u:p@w@h/db' and sqlite:///x.db", &s),
            "'mysql://u:***@h/db' and sqlite:///x.db"
        );
        assert_eq!(
            redact_text("mysql://root:a/b#c@localhost/db", &s),
            "mysql://root:***@localhost/db"
        );
        assert_eq!(
            redact_text("postgresql://u:pw@host/db?x=a@b", &s),
            "postgresql://u:***@host/db?x=a@b"
        );
        // A user without a password is not a secret.
        assert_eq!(
            redact_text("postgres://bob@db/app", &s),
            "postgres://bob@db/app"
        );
    }

    #[test]
    fn secret_inside_url_is_masked_once() {
        let s = secrets(&["s3cr3t"]);
        assert_eq!(
            redact_text("postgresql://bob:s3cr3t@db/app", &s),
            "postgresql://bob:***@db/app"
        );
    }

    #[test]
    fn secret_keys() {
        for key in [
            "password",
            "DB_PASS",
            "dbPassword",
            "api_key",
            "API-KEY",
            "apiKey",
            "access_token",
            "client.secret",
            "private_key",
            "authToken",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "passenger",
            "bypass",
            "tokenizer",
            "key",
            "db_user",
            "database_url",
            "monkey",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn json_values_are_redacted_deeply() {
        let mut value = serde_json::json!({
            "db_pass": "hunter2",
            "nested": {"token": 1234, "api_key": null, "password": "", "note": "the pw is hunter2"},
            "urls": ["mysql://root:toor@localhost/app"],
            "secret": true,
            "passenger": "ok",
            "port": 5432
        });
        redact_json(&mut value, &["hunter2".to_owned()]);
        assert_eq!(
            value,
            serde_json::json!({
                "db_pass": "***",
                "nested": {"token": "***", "api_key": null, "password": "", "note": "the pw is ***"},
                "urls": ["mysql://root:***@localhost/app"],
                "secret": true,
                "passenger": "ok",
                "port": 5432
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
