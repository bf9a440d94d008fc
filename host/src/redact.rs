//! Masking of secrets in everything that leaves the process: error messages, log
//! lines, printed output, signal payloads.
//!
//! Input: a text or JSON value. Output: the same with the password of every database
//! URL in it masked by the URL's structure ([`crate::dburl::mask`]: the userinfo
//! password and `password=` query values become `***`); in JSON, the values of keys
//! named like a password, secret or token are masked whole. The text of a password is
//! never searched for: a word that happens to equal it elsewhere is left alone, so the
//! mask gives nothing away. Clean text is returned unchanged (borrowed, see
//! [`redact_cow`]).

use std::borrow::Cow;

use serde_json::Value;

/// What a hidden value is replaced with.
pub const MASK: &str = "***";

/// [`redact_cow`] as an owned string.
pub fn redact_text(text: &str) -> String {
    redact_cow(text).into_owned()
}

/// Masks the password of every URL in `text` ([`crate::dburl::find_urls`]); borrows
/// `text` when there is nothing to mask (the logging hot path).
pub fn redact_cow(text: &str) -> Cow<'_, str> {
    let urls = crate::dburl::find_urls(text);
    let mut out: Option<String> = None;
    let mut last = 0;
    for (start, end) in urls {
        let masked = crate::dburl::mask(&text[start..end]);
        if let Cow::Owned(masked) = masked {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[last..start]);
            buf.push_str(&masked);
            last = end;
        }
    }
    match out {
        Some(mut buf) => {
            buf.push_str(&text[last..]);
            Cow::Owned(buf)
        }
        None => Cow::Borrowed(text),
    }
}

/// Redacts every string in `value` and masks the value of every key that names a
/// secret ([`is_secret_key`]); `null`, booleans and empty strings under such keys stay,
/// as they reveal nothing.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(redacted) = redact_cow(text) {
                *text = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let reveals =
                    !matches!(item, Value::Null | Value::Bool(_)) && item.as_str() != Some("");
                if is_secret_key(key) && reveals {
                    *item = Value::String(MASK.to_owned());
                } else {
                    redact_json(item);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// What every key [`is_secret_key`] accepts contains.
const SECRET_STEMS: [&str; 7] = [
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "authoriz",
];

/// Whether a key names a secret: one of its words (split at `_`, `-`, `.`, spaces and
/// camelCase humps) is `password`, `passwd`, `pass`, `pwd`, `passphrase`, `secret`,
/// `token`, `apikey`, `credentials`, `authorization`, or it contains `api key` or
/// `private key`. `DB_PASS`, `dbPassword`, `api-key`, `access_token` match;
/// `passenger`, `bypass`, `tokenizer` do not.
pub fn is_secret_key(key: &str) -> bool {
    // Fast path: most keys (`name`, `columns`, ...) hold none of the words' stems, and
    // `Printer::json` asks for every key of large documents.
    let bytes = key.as_bytes();
    let holds = |stem: &str| {
        bytes
            .windows(stem.len())
            .any(|w| w.eq_ignore_ascii_case(stem.as_bytes()))
    };
    if !SECRET_STEMS.iter().any(|stem| holds(stem)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn leaves_clean_text_borrowed() {
        assert!(matches!(redact_cow("nothing here"), Cow::Borrowed(_)));
        assert!(matches!(
            redact_cow("postgresql://bob:***@db/app"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn masks_passwords_in_urls() {
        assert_eq!(
            redact_text("connect postgresql://bob:s3cr3t@db:5432/app failed"),
            "connect postgresql://bob:***@db:5432/app failed"
        );
        assert_eq!(
            redact_text("'mysql://u:p%40w@h/db' and sqlite:///x.db"),
            "'mysql://u:***@h/db' and sqlite:///x.db"
        );
        assert_eq!(
            redact_text("`postgresql:/u:PW@db:5432/app` has one slash"),
            "`postgresql:/u:***@db:5432/app` has one slash"
        );
        assert_eq!(
            redact_text("postgresql://u:pw@host/db?x=a@b"),
            "postgresql://u:***@b"
        );
        assert_eq!(
            redact_text("dsn postgresql://u@host/db?password=pw&sslmode=require"),
            "dsn postgresql://u@host/db?password=***&sslmode=require"
        );
        // A user without a password is not a secret.
        assert_eq!(
            redact_text("postgres://bob@db/app"),
            "postgres://bob@db/app"
        );
    }

    #[test]
    fn the_password_as_a_word_elsewhere_is_left_alone() {
        let text = "migrate postgresql://app:migrate@db/app: run `migrate` again";
        assert_eq!(
            redact_text(text),
            "migrate postgresql://app:***@db/app: run `migrate` again"
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
        redact_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "db_pass": "***",
                "nested": {"token": "***", "api_key": null, "password": "", "note": "the pw is hunter2"},
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

    /// Passwords with the characters that broke the old masking: quotes, whitespace,
    /// `@`, `/`, `%`, `:`, `?`, `#`, `=`, `&`, non-ASCII.
    fn password() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::range('a', 'z'),
                1 => proptest::char::range('0', '9'),
                6 => proptest::sample::select(vec![
                    '\'', '"', ' ', '\t', '\n', '@', '/', '%', ':', '?', '#', '=', '&', '+',
                    '`', '\\', 'é', 'ß', '→', '密', '🔑',
                ]),
            ],
            1..24,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    /// The number of cases each URL property runs.
    const CASES: u32 = 2000;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(CASES))]

        #[test]
        fn an_encoded_password_is_masked_and_the_same_word_elsewhere_is_kept(
            pw in password(),
            scheme in proptest::sample::select(vec!["postgresql", "postgres+psycopg2", "mysql", "mariadb"]),
        ) {
            let url = format!("{scheme}://app:{}@db.example:5432/shop?sslmode=require", percent_encode(&pw));
            let parsed = crate::dburl::DbUrl::parse(&url).expect("parses");
            prop_assert_eq!(parsed.server().and_then(|s| s.password.clone()), Some(pw.clone()));
            let masked_url = format!("{scheme}://app:***@db.example:5432/shop?sslmode=require");
            prop_assert_eq!(crate::dburl::mask(&url), masked_url.as_str());
            let canonical = parsed.canonical();
            prop_assert_eq!(
                crate::dburl::mask(&canonical),
                format!("{}://app:***@db.example:5432/shop?sslmode=require", parsed.family.scheme())
            );
            // In prose, the password's text elsewhere is not touched.
            let text = format!("login {pw} failed for {url} (password {pw})");
            let expected = format!("login {pw} failed for {masked_url} (password {pw})");
            if !pw.contains(":/") {
                prop_assert_eq!(redact_text(&text), expected);
            }
            // In a query parameter.
            let url = format!("{scheme}://app@db.example/shop?password={}&x=1", percent_encode(&pw));
            prop_assert_eq!(
                redact_text(&format!("dsn {url}")),
                format!("dsn {scheme}://app@db.example/shop?password=***&x=1")
            );
            // Masking is idempotent.
            prop_assert_eq!(crate::dburl::mask(&masked_url), masked_url.as_str());
        }

        #[test]
        fn a_malformed_url_never_shows_the_password(pw in password()) {
            let encoded = percent_encode(&pw);
            for (url, expected) in [
                (format!("postgresql:/app:{encoded}@db:5432/shop"), "postgresql:/app:***@db:5432/shop"),
                (format!("app:{encoded}@db:5432/shop"), "app:***@db:5432/shop"),
                (format!("//app:{encoded}@db/shop"), "//app:***@db/shop"),
                (format!("postgresql://app:{pw}@db/shop"), "postgresql://app:***@db/shop"),
                (format!("mysql:/app:{pw}@db/shop"), "mysql:/app:***@db/shop"),
            ] {
                prop_assert_eq!(crate::dburl::mask(&url), expected, "{:?}", url);
                if let Err(problem) = crate::dburl::DbUrl::parse(&url) {
                    let problem = problem.to_string();
                    prop_assert!(encoded.len() < 4 || !problem.contains(&encoded), "{}", problem);
                }
            }
        }
    }
}
