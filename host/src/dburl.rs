//! Database URLs: a strict parser, the canonical form handed to the drivers, and the
//! structural mask every printed URL goes through.
//!
//! Input: a URL as the user wrote it (`postgresql+psycopg2://u:p%40ss@db:5432/app`).
//! Output: a [`DbUrl`] (scheme, driver, user, password, host, port, database, query,
//! all percent-decoded) and its canonical text ([`DbUrl::canonical`]), in which every
//! component is percent-encoded, so the password never holds a space, a quote or a
//! `@` that would make it hard to find in a message. [`mask`] hides the password of
//! a URL by its structure: the password of the userinfo and the value of `password=`
//! (and other secret-named) query parameters become `***`; the password's text is never
//! searched for anywhere else. A string that does not parse is masked conservatively:
//! everything between the scheme and the last `@` that could end a userinfo.
//!
//! It refuses (with what is wrong and how to fix it): a scheme other than `sqlite`,
//! `postgresql`, `postgres`, `mysql` or `mariadb` (each with an optional `+driver`), a
//! server URL without `//` after the scheme or without a host, a port that is not a
//! number from 1 to 65535, a `%` not followed by two hex digits, control characters,
//! a `#` and an `@` after the host (an unencoded `@`, `/`, `?` or `#` in the password).

use std::borrow::Cow;
use std::fmt;

use crate::redact::{MASK, is_secret_key, percent_encode};

/// The database a URL's scheme names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Sqlite,
    Postgresql,
    Mysql,
}

impl Family {
    /// The family of a scheme's base name (`postgres`, `MariaDB`, ...).
    pub fn of_scheme(base: &str) -> Option<Family> {
        match base.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Family::Sqlite),
            "postgresql" | "postgres" => Some(Family::Postgresql),
            "mysql" | "mariadb" => Some(Family::Mysql),
            _ => None,
        }
    }

    /// The scheme of the canonical form.
    pub fn scheme(self) -> &'static str {
        match self {
            Family::Sqlite => "sqlite",
            Family::Postgresql => "postgresql",
            Family::Mysql => "mysql",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Family::Sqlite => "sqlite:///path/to/app.db",
            Family::Postgresql => "postgresql://user:password@localhost:5432/app",
            Family::Mysql => "mysql://user:password@localhost:3306/app",
        }
    }
}

/// The schemes a URL may start with, for messages.
pub const VALID_SCHEMES: &str = "`sqlite:`, `postgresql:` (`postgres:`), `mysql:` or `mariadb:`, each with an optional `+driver`";

/// A parsed database URL; every text field is percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub family: Family,
    /// The SQLAlchemy driver after `+` (`psycopg2`), if any.
    pub driver: Option<String>,
    pub rest: Rest,
}

/// What follows the scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum Rest {
    /// Everything after `sqlite:`, as written (the path is resolved by the caller).
    Sqlite(String),
    Server(Server),
}

/// The parts of a server URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Server {
    pub user: String,
    /// `None` without a `:` in the userinfo; `Some("")` for `user:@host`.
    pub password: Option<String>,
    /// As written, but validated: ASCII letters, digits, `-._~`, `%XX`, or `[IPv6]`.
    pub host: String,
    pub port: Option<u16>,
    pub database: Option<String>,
    /// Decoded `key=value` pairs, in order.
    pub query: Vec<(String, String)>,
}

// Never show the password through `Debug`.
impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({:?})", mask(&self.canonical()))
    }
}

/// Why a URL was refused: what is wrong, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.problem, self.fix)
    }
}

impl std::error::Error for UrlError {}

fn refuse(problem: impl Into<String>, fix: impl Into<String>) -> UrlError {
    UrlError {
        problem: problem.into(),
        fix: fix.into(),
    }
}

const ENCODE_HINT: &str = "percent-encode special characters in the user and password \
                           (`@` as `%40`, `/` as `%2F`, `?` as `%3F`, `#` as `%23`, `%` as `%25`, \
                           a space as `%20`)";

/// The scheme at the start of `text` (`[A-Za-z][A-Za-z0-9+.-]*` before a `:`), if any.
fn scheme_of(text: &str) -> Option<&str> {
    let end = text.find(':')?;
    let scheme = &text[..end];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

impl DbUrl {
    /// Parses a database URL strictly (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<DbUrl, UrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(refuse(
                "the URL is empty",
                format!("write a URL such as `{}`", Family::Postgresql.example()),
            ));
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(refuse(
                format!(
                    "the URL contains a control character (U+{:04X})",
                    u32::from(c)
                ),
                format!("remove it, or percent-encode it in the password (`{}`)", {
                    let mut buf = [0u8; 4];
                    percent_encode(c.encode_utf8(&mut buf))
                }),
            ));
        }
        let Some(scheme) = scheme_of(text) else {
            return Err(refuse(
                "it does not start with a scheme",
                format!(
                    "start it with {VALID_SCHEMES}, e.g. `{}`",
                    Family::Postgresql.example()
                ),
            ));
        };
        let (base, driver) = match scheme.split_once('+') {
            Some((base, driver)) => (base, Some(driver)),
            None => (scheme, None),
        };
        let Some(family) = Family::of_scheme(base) else {
            return Err(refuse(
                format!("unknown scheme `{scheme}`"),
                format!("use {VALID_SCHEMES}"),
            ));
        };
        if let Some(d) = driver
            && (d.is_empty() || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(refuse(
                format!("the driver `{d}` after `+` in the scheme is not a name"),
                format!("write `{base}+<driver>` (e.g. `postgresql+psycopg2`) or just `{base}`"),
            ));
        }
        let driver = driver.map(str::to_owned);
        let after = &text[scheme.len() + 1..];
        if family == Family::Sqlite {
            check_escapes(after, "the path")?;
            return Ok(DbUrl {
                family,
                driver,
                rest: Rest::Sqlite(after.to_owned()),
            });
        }
        let Some(hier) = after.strip_prefix("//") else {
            let fix = format!(
                "write `{}://` followed by the host, e.g. `{}`",
                scheme,
                family.example()
            );
            return Err(refuse(
                format!("a server URL needs `//` after `{scheme}:`"),
                fix,
            ));
        };
        if hier.contains('#') {
            return Err(refuse(
                "the URL contains `#`, which would cut it short",
                ENCODE_HINT,
            ));
        }
        let authority_end = hier.find(['/', '?']).unwrap_or(hier.len());
        let authority = &hier[..authority_end];
        let tail = &hier[authority_end..];
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (tail, None),
        };
        if tail.contains('@') {
            return Err(refuse(
                "there is an `@` after the host (is there an unencoded `/`, `?` or `@` in the password?)",
                ENCODE_HINT,
            ));
        }
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (String::new(), None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = decode_component(user, "the user")?;
                let password = password
                    .map(|p| decode_component(p, "the password"))
                    .transpose()?;
                (user, password)
            }
        };
        let (host, port) = split_host_port(hostport, scheme, family)?;
        let database = match path.strip_prefix('/') {
            Some(name) if !name.is_empty() => Some(decode_component(name, "the database name")?),
            _ => None,
        };
        let mut pairs = Vec::new();
        if let Some(query) = query {
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                pairs.push((
                    decode_query(k, "a query parameter")?,
                    decode_query(v, "a query parameter")?,
                ));
            }
        }
        let url = DbUrl {
            family,
            driver,
            rest: Rest::Server(Server {
                user,
                password,
                host,
                port,
                database,
                query: pairs,
            }),
        };
        url.check_driver_reads_the_same()?;
        Ok(url)
    }

    /// The server parts; `None` for SQLite.
    pub fn server(&self) -> Option<&Server> {
        match &self.rest {
            Rest::Server(s) => Some(s),
            Rest::Sqlite(_) => None,
        }
    }

    /// The URL with the canonical scheme and every component percent-encoded; what the
    /// drivers are given. Never print it: use [`mask`].
    pub fn canonical(&self) -> String {
        let scheme = self.family.scheme();
        let s = match &self.rest {
            Rest::Sqlite(rest) => return format!("{scheme}:{rest}"),
            Rest::Server(s) => s,
        };
        let mut out = format!("{scheme}://");
        if !s.user.is_empty() || s.password.is_some() {
            out.push_str(&percent_encode(&s.user));
            if let Some(p) = &s.password {
                out.push(':');
                out.push_str(&percent_encode(p));
            }
            out.push('@');
        }
        out.push_str(&s.host);
        if let Some(port) = s.port {
            out.push_str(&format!(":{port}"));
        }
        if let Some(db) = &s.database {
            out.push('/');
            out.push_str(&percent_encode(db));
        }
        if !s.query.is_empty() {
            let query: Vec<String> = s
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            out.push('?');
            out.push_str(&query.join("&"));
        }
        out
    }

    /// The drivers read URLs with the `url` crate: make sure it sees the same host,
    /// port, user and password as we do, so nothing goes to a server the user did not
    /// name.
    fn check_driver_reads_the_same(&self) -> Result<(), UrlError> {
        let Some(s) = self.server() else {
            return Ok(());
        };
        let canonical = self.canonical();
        let same = url::Url::parse(&canonical).is_ok_and(|u| {
            let host = u.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case(s.host.trim_start_matches('[').trim_end_matches(']'))
                && u.port() == s.port
                && crate::redact::percent_decode(u.username()) == s.user
                && u.password().map(crate::redact::percent_decode)
                    == s.password.clone().filter(|p| !p.is_empty())
        });
        if same {
            Ok(())
        } else {
            Err(refuse(
                "the URL cannot be read unambiguously",
                format!("{ENCODE_HINT}, and write the host as a name or an IP address"),
            ))
        }
    }
}

/// `host[:port]` or `[v6][:port]`.
fn split_host_port(
    hostport: &str,
    scheme: &str,
    family: Family,
) -> Result<(String, Option<u16>), UrlError> {
    let missing_host = || {
        refuse(
            "the URL names no host",
            format!(
                "write the server's host after `{scheme}://` (and after `user:password@`), e.g. `{}`",
                family.example()
            ),
        )
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some(close) = v6.find(']') else {
            return Err(refuse(
                "the IPv6 host has no closing `]`",
                "write it as `[::1]`",
            ));
        };
        let host = &hostport[..close + 2];
        let after = &v6[close + 1..];
        let port = match after {
            "" => None,
            p if p.starts_with(':') => Some(&p[1..]),
            _ => {
                return Err(refuse(
                    "unexpected text after the IPv6 host",
                    "write `[address]:port`",
                ));
            }
        };
        if !v6[..close]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))
            || close == 0
        {
            return Err(refuse(
                "the IPv6 host is not an IPv6 address",
                "write it as `[::1]`",
            ));
        }
        (host, port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(missing_host());
    }
    if !host.starts_with('[') {
        check_escapes(host, "the host")?;
        if let Some(c) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%')))
        {
            return Err(refuse(
                format!("the host contains `{c}`, which a host name cannot"),
                format!(
                    "write the host as a name or an IP address; if `{c}` belongs to the password, {ENCODE_HINT}"
                ),
            ));
        }
    }
    let port = match port {
        None => None,
        Some(p) => {
            let number = (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u16>().ok())
                .flatten()
                .filter(|n| *n > 0);
            match number {
                Some(n) => Some(n),
                None => {
                    // The "port" may be a password whose `@host` is missing: never echo it.
                    return Err(refuse(
                        "the port is not a number from 1 to 65535",
                        format!(
                            "write `host:port` with a numeric port, or leave the port out (default {})",
                            if family == Family::Mysql { 3306 } else { 5432 }
                        ),
                    ));
                }
            }
        }
    };
    Ok((host.to_owned(), port))
}

/// Whether `host` can stand as the host of a URL as it is: a name or IPv4 address of
/// ASCII letters, digits, `-`, `.`, `_`, `~`, or an IPv6 address (bare or in brackets).
pub fn valid_host(host: &str) -> bool {
    let v6 = host.trim_start_matches('[').trim_end_matches(']');
    if v6.contains(':') {
        return v6
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'));
    }
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Every `%` in `text` starts a `%XX` escape.
fn check_escapes(text: &str, what: &str) -> Result<(), UrlError> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let escape = || {
            bytes.get(i + 1).copied().and_then(hex).is_some()
                && bytes.get(i + 2).copied().and_then(hex).is_some()
        };
        if b == b'%' && !escape() {
            return Err(bad_escape(what));
        }
    }
    Ok(())
}

fn bad_escape(what: &str) -> UrlError {
    refuse(
        format!("{what} has a `%` that is not followed by two hex digits"),
        "write a literal `%` as `%25` (percent-encode special characters)",
    )
}

/// Percent-decodes a userinfo, host or path component (`+` stays `+`).
fn decode_component(text: &str, what: &str) -> Result<String, UrlError> {
    check_escapes(text, what)?;
    decode_bytes(text.as_bytes(), false).ok_or_else(|| {
        refuse(
            format!("{what} is not valid UTF-8 once percent-decoded"),
            "percent-encode the UTF-8 bytes of each character",
        )
    })
}

/// Percent-decodes a query key or value as the drivers do (`+` is a space).
fn decode_query(text: &str, what: &str) -> Result<String, UrlError> {
    check_escapes(text, what)?;
    decode_bytes(text.as_bytes(), true).ok_or_else(|| {
        refuse(
            format!("{what} is not valid UTF-8 once percent-decoded"),
            "percent-encode the UTF-8 bytes of each character",
        )
    })
}

fn decode_bytes(bytes: &[u8], plus_is_space: bool) -> Option<String> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = hex(*bytes.get(i + 1)?)?;
                let lo = hex(*bytes.get(i + 2)?)?;
                out.push(hi * 16 + lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Whether a query parameter holds a secret (`password`, `sslpassword`, `pwd`, ...).
fn secret_param(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.contains("password") || lower.contains("passwd") || is_secret_key(key)
}

/// Masks the values of secret query parameters in `query` (the text after `?`).
fn mask_query(query: &str) -> Cow<'_, str> {
    if !query.split('&').any(|pair| {
        pair.split_once('=')
            .is_some_and(|(k, v)| secret_param(k) && v != MASK && !v.is_empty())
    }) {
        return Cow::Borrowed(query);
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if secret_param(k) && !v.is_empty() => format!("{k}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect();
    Cow::Owned(pairs.join("&"))
}

/// `url` (one whole URL, well-formed or not) with its password masked as `***`.
///
/// A URL that parses keeps everything but the password (and secret query values). One
/// that does not is masked conservatively: from the userinfo's start to the last `@`,
/// or, without any `@`, a `host:port` whose port is not a number (it may be a password
/// whose `@host` is missing).
pub fn mask(url: &str) -> Cow<'_, str> {
    if let Ok(parsed) = DbUrl::parse(url) {
        return mask_parsed(url, &parsed);
    }
    mask_lenient(url)
}

/// Masks a URL that parsed: its text is kept as written except the password.
fn mask_parsed<'a>(url: &'a str, parsed: &DbUrl) -> Cow<'a, str> {
    if parsed.server().is_none() {
        return match url.split_once('?') {
            Some((head, query)) => match mask_query(query) {
                Cow::Borrowed(_) => Cow::Borrowed(url),
                Cow::Owned(q) => Cow::Owned(format!("{head}?{q}")),
            },
            None => Cow::Borrowed(url),
        };
    }
    mask_lenient(url)
}

/// The conservative mask; exact for URLs that parse, over-masking for others.
fn mask_lenient(url: &str) -> Cow<'_, str> {
    // The scheme (only when `//` follows, or it is one of ours) and the slashes.
    let mut start = 0;
    let mut authority_marked = false;
    if let Some(scheme) = scheme_of(url) {
        let after = &url[scheme.len() + 1..];
        let base = scheme.split('+').next().unwrap_or(scheme);
        if after.starts_with("//") || Family::of_scheme(base).is_some() {
            start = scheme.len() + 1;
            authority_marked = after.starts_with("//");
        }
    }
    let slashes = url[start..].len() - url[start..].trim_start_matches('/').len();
    start += slashes;
    let rest = &url[start..];
    // The query: from the first `?` after the last `@` (a `?` before it may be part of
    // the password).
    let last_at = rest.rfind('@');
    let query_at = rest[last_at.map_or(0, |a| a + 1)..]
        .find('?')
        .map(|q| q + last_at.map_or(0, |a| a + 1));
    let (body, query) = match query_at {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..start]);
    match body.rfind('@') {
        Some(at) => {
            let info = &body[..at];
            match info.split_once(':') {
                // `user:password@`: the user is kept unless it cannot be a user name.
                Some((user, password)) if !password.is_empty() => {
                    if user.contains(['/', '?', '#']) {
                        out.push_str(MASK);
                    } else {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(MASK);
                    }
                }
                Some(_) => out.push_str(info),
                // No `:`: a user name, when the `//` says this is an authority; else it
                // may be a password written without its user.
                None if authority_marked && !info.contains(['/', '?', '#']) => out.push_str(info),
                None if info.is_empty() => {}
                None => out.push_str(MASK),
            }
            out.push_str(&body[at..]);
        }
        None => {
            let end = body.find('/').unwrap_or(body.len());
            let hostport = &body[..end];
            match hostport.rsplit_once(':') {
                Some((host, port))
                    if !host.ends_with(']')
                        && !port.is_empty()
                        && !port.bytes().all(|b| b.is_ascii_digit())
                        && port != MASK =>
                {
                    out.push_str(host);
                    out.push(':');
                    out.push_str(MASK);
                    out.push_str(&body[end..]);
                }
                _ => out.push_str(body),
            }
        }
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(&mask_query(query));
    }
    if out == url {
        Cow::Borrowed(url)
    } else {
        Cow::Owned(out)
    }
}

/// Byte ranges of the URLs in free text: a scheme followed by `//` (or by `/` for
/// the database schemes), up to whitespace, a quote, a backtick, `<` or `>`.
pub fn find_urls(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let ends = |b: u8| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>');
    let scheme_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.');
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = memchr::memmem::find(&bytes[from..], b":/") {
        let colon = from + found;
        from = colon + 1;
        let mut start = colon;
        while start > 0 && scheme_byte(bytes[start - 1]) {
            start -= 1;
        }
        // The scheme starts with a letter; skip leading `+`, `-`, `.`, digits.
        while start < colon && !bytes[start].is_ascii_alphabetic() {
            start += 1;
        }
        if start == colon {
            continue;
        }
        if out.last().is_some_and(|&(_, end)| start < end) {
            continue;
        }
        let scheme = &text[start..colon];
        let base = scheme.split('+').next().unwrap_or(scheme);
        let double = bytes.get(colon + 2) == Some(&b'/');
        if !double && Family::of_scheme(base).is_none() {
            continue;
        }
        let mut end = colon + 1;
        while end < bytes.len() && !ends(bytes[end]) {
            end += 1;
        }
        out.push((start, end));
        from = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> DbUrl {
        DbUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn problem(s: &str) -> String {
        DbUrl::parse(s).expect_err(s).to_string()
    }

    #[test]
    fn parses_server_urls() {
        let u = parse("postgresql+psycopg2://bob:p%40ss%20w@db.example:6543/shop?sslmode=require");
        assert_eq!(u.family, Family::Postgresql);
        assert_eq!(u.driver.as_deref(), Some("psycopg2"));
        let s = u.server().expect("server");
        assert_eq!(s.user, "bob");
        assert_eq!(s.password.as_deref(), Some("p@ss w"));
        assert_eq!(s.host, "db.example");
        assert_eq!(s.port, Some(6543));
        assert_eq!(s.database.as_deref(), Some("shop"));
        assert_eq!(s.query, [("sslmode".to_owned(), "require".to_owned())]);
        assert_eq!(
            u.canonical(),
            "postgresql://bob:p%40ss%20w@db.example:6543/shop?sslmode=require"
        );
        // An unencoded `@`, `:`, space or quote in the password reads as SQLAlchemy and
        // the drivers read it; the canonical form encodes them.
        let u = parse("mariadb://root:it's a p@ss:w@127.0.0.1/app");
        let s = u.server().expect("server");
        assert_eq!(s.password.as_deref(), Some("it's a p@ss:w"));
        assert_eq!(s.host, "127.0.0.1");
        assert_eq!(
            u.canonical(),
            "mysql://root:it%27s%20a%20p%40ss%3Aw@127.0.0.1/app"
        );
        let u = parse("postgres://[::1]:5432");
        assert_eq!(u.server().map(|s| s.host.as_str()), Some("[::1]"));
        assert_eq!(u.canonical(), "postgresql://[::1]:5432");
        assert_eq!(parse("mysql://h").canonical(), "mysql://h");
        assert_eq!(parse("sqlite:///x.db").canonical(), "sqlite:///x.db");
        assert_eq!(parse("SQLite+pysqlite://").canonical(), "sqlite://");
    }

    #[test]
    fn refuses_malformed_urls_with_the_fix() {
        for (url, expected) in [
            (
                "postgresql:/u:PW@db:5432/app",
                "a server URL needs `//` after `postgresql:`",
            ),
            ("postgresql:u:PW@db:5432/app", "a server URL needs `//`"),
            ("u:PW@db:5432/app", "unknown scheme `u`"),
            ("//u:PW@db/app", "does not start with a scheme"),
            ("db.example/app", "does not start with a scheme"),
            ("oracle://u:PW@h/db", "unknown scheme `oracle`"),
            ("postgresql+://h/db", "the driver `` after `+`"),
            ("postgresql://u:PW@/app", "the URL names no host"),
            ("postgresql:///app", "the URL names no host"),
            ("postgresql://u:PW@h:54x2/app", "the port is not a number"),
            ("postgresql://u:PW@h:0/app", "the port is not a number"),
            ("postgresql://u:PW@h:/app", "the port is not a number"),
            ("postgresql://u:PW/app", "the port is not a number"),
            ("postgresql://u:a/b@h/app", "there is an `@` after the host"),
            ("postgresql://u:5?x@h/app", "there is an `@` after the host"),
            (
                "postgresql://u@h/app?x=a@b",
                "there is an `@` after the host",
            ),
            ("postgresql://u:a#b@h/app", "`#`"),
            (
                "postgresql://u:100%@h/app",
                "the password has a `%` that is not followed",
            ),
            ("postgresql://u:%zz@h/app", "the password has a `%`"),
            ("postgresql://u:%ff@h/app", "not valid UTF-8"),
            ("postgresql://u:p\tw@h/app", "control character (U+0009)"),
            ("postgresql://u:p\nw@h/app", "control character (U+000A)"),
            ("mysql://u:pw@h h/app", "the host contains ` `"),
            ("mysql://u:pw@h,i/app", "the host contains `,`"),
            ("", "the URL is empty"),
        ] {
            let text = problem(url);
            assert!(text.contains(expected), "{url:?}: {text}");
            assert!(!text.contains("PW"), "{url:?}: {text}");
        }
        assert!(problem("postgresql:/u:PW@db:5432/app").contains("write `postgresql://`"));
    }

    #[test]
    fn masks_by_structure() {
        for (url, masked) in [
            (
                "postgresql://bob:s3cr3t@db:5432/app",
                "postgresql://bob:***@db:5432/app",
            ),
            ("mysql://root:a%2Fb@h/db", "mysql://root:***@h/db"),
            ("postgresql://bob@db/app", "postgresql://bob@db/app"),
            ("postgresql://bob:@db/app", "postgresql://bob:@db/app"),
            (
                "postgresql://u@h/db?sslmode=require&password=x%20y&sslpassword=z",
                "postgresql://u@h/db?sslmode=require&password=***&sslpassword=***",
            ),
            ("sqlite:///x.db?password=k", "sqlite:///x.db?password=***"),
            // Malformed: conservative.
            (
                "postgresql:/u:PW@db:5432/app",
                "postgresql:/u:***@db:5432/app",
            ),
            (
                "postgresql:u:PW@db:5432/app",
                "postgresql:u:***@db:5432/app",
            ),
            ("u:PW@db:5432/app", "u:***@db:5432/app"),
            ("//u:PW@db/app", "//u:***@db/app"),
            ("mysql:PW@db/app", "mysql:***@db/app"),
            ("oracle://u:PW@h/db", "oracle://u:***@h/db"),
            ("postgresql://u:PW/app", "postgresql://u:***/app"),
            ("postgresql://u:a/b@h/app", "postgresql://u:***@h/app"),
            ("postgresql://u:a#b@c@h/app", "postgresql://u:***@h/app"),
            ("postgresql://u:p w'q@h h/app", "postgresql://u:***@h h/app"),
            ("postgresql://bob:***@db/app", "postgresql://bob:***@db/app"),
        ] {
            assert_eq!(mask(url), masked, "{url}");
        }
        assert!(matches!(mask("postgresql://u@h/db"), Cow::Borrowed(_)));
    }

    #[test]
    fn finds_urls_in_prose() {
        let text = "connect to `postgresql://u:pw@h/db` failed, see mysql:/x and 'sqlite:///a.db' or https://e.x/y; not a: /b";
        let found: Vec<&str> = find_urls(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(
            found,
            [
                "postgresql://u:pw@h/db",
                "mysql:/x",
                "sqlite:///a.db",
                "https://e.x/y;"
            ]
        );
    }
}
