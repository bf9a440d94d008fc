//! Masking of secrets in rendered text (log lines) and JSON values (log fields,
//! signal payloads).
//!
//! Input: a text or JSON value and the secret strings known for this run. Output: the
//! same with each secret, its percent-encoded forms and the password part of every
//! `scheme://user:password@host` URL replaced by `***`; in JSON, the values of keys
//! named like a password, secret or token are masked whole. It refuses nothing: an
//! empty secret is ignored, and clean text is returned unchanged (borrowed).

use std::borrow::Cow;

use serde_json::Value;

/// What a masked secret looks like in output.
pub(crate) const MASK: &str = "***";

/// Replaces every secret (and its percent-encoded forms) and every URL password in
/// `text` with [`MASK`].
pub(crate) fn redact_text<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        for form in secret_forms(secret) {
            if out.contains(form.as_str()) {
                out = Cow::Owned(out.replace(form.as_str(), MASK));
            }
        }
    }
    match mask_url_passwords(&out) {
        Some(masked) => Cow::Owned(masked),
        None => out,
    }
}

/// Redacts every string in `value` with [`redact_text`] and masks the value of every
/// key that names a secret ([`is_secret_key`]); `null` and booleans under such keys
/// stay, as they reveal nothing.
pub(crate) fn redact_json(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(redacted) = redact_text(text, secrets) {
                *text = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact_json(item, secrets)),
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if is_secret_key(key) && !matches!(item, Value::Null | Value::Bool(_)) {
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
pub(crate) fn is_secret_key(key: &str) -> bool {
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

/// The secret as written, percent-encoded (`quote(s, safe="")`) and form-encoded
/// (`quote_plus`), the two ways Python code puts passwords into database URLs.
fn secret_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    for form in [percent_encode(secret, false), percent_encode(secret, true)] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    // Longest first, so a longer encoded form is not half-replaced by a shorter one.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms
}

fn percent_encode(text: &str, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' if plus_for_space => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Masks `password` in every `scheme://user:password@host`; `None` when nothing changed.
fn mask_url_passwords(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut changed = false;
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let authority_start = pos + 3;
        let (head, tail) = rest.split_at(authority_start);
        out.push_str(head);
        // The authority ends at the path, query, fragment, whitespace or a quote.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) if &userinfo[colon + 1..] != MASK => {
                        out.push_str(&userinfo[..=colon]);
                        out.push_str(MASK);
                        out.push_str(&authority[at..]);
                        changed = true;
                    }
                    _ => out.push_str(authority),
                }
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    if !changed {
        return None;
    }
    out.push_str(rest);
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
    }

    #[test]
    fn leaves_clean_text_borrowed() {
        let s = secrets(&["hunter2", ""]);
        assert!(matches!(redact_text("nothing here", &s), Cow::Borrowed(_)));
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
        // A user without a password is not a secret.
        assert_eq!(
            redact_text("postgres://bob@db/app", &s),
            "postgres://bob@db/app"
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
            "nested": {"token": 1234, "api_key": null, "note": "the pw is hunter2"},
            "urls": ["mysql://root:toor@localhost/app"],
            "secret": true,
            "port": 5432
        });
        redact_json(&mut value, &["hunter2".to_owned()]);
        assert_eq!(
            value,
            serde_json::json!({
                "db_pass": "***",
                "nested": {"token": "***", "api_key": null, "note": "the pw is ***"},
                "urls": ["mysql://root:***@localhost/app"],
                "secret": true,
                "port": 5432
            })
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
}
