//! Python `logging` format strings (`%(asctime)s - %(name)s - %(levelname)s - %(message)s`).
//!
//! Input: a format string as the Python original accepted it. Output: a [`Pattern`]
//! (literal text and placeholders with their `%`-conversion spec) that renders one
//! [`Record`] into one line. It refuses, at parse time, unknown placeholders, a stray
//! `%`, a `*` width, a format without any placeholder (as Python's `Formatter` does)
//! and a numeric conversion (`%(name)d`) of a text placeholder.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};
use tracing::Level;

use super::Error;
use crate::redact::redact_cow as redact_text;

/// Every placeholder name the format understands, in Python's spelling.
pub const PLACEHOLDERS: &[&str] = &[
    "asctime",
    "created",
    "filename",
    "funcName",
    "levelname",
    "levelno",
    "lineno",
    "message",
    "module",
    "msecs",
    "name",
    "pathname",
    "process",
    "processName",
    "relativeCreated",
    "thread",
    "threadName",
];

/// A parsed format string.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Field(Field),
}

/// One `%(key)<flags><width>.<precision><conversion>`.
#[derive(Debug, Clone, PartialEq)]
struct Field {
    key: Key,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Asctime,
    Created,
    Filename,
    FuncName,
    Levelname,
    Levelno,
    Lineno,
    Message,
    Module,
    Msecs,
    Name,
    Pathname,
    Process,
    ProcessName,
    RelativeCreated,
    Thread,
    ThreadName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Float,
}

impl Key {
    fn parse(name: &str) -> Option<Key> {
        Some(match name {
            "asctime" => Key::Asctime,
            "created" => Key::Created,
            "filename" => Key::Filename,
            "funcName" => Key::FuncName,
            "levelname" => Key::Levelname,
            "levelno" => Key::Levelno,
            "lineno" => Key::Lineno,
            "message" => Key::Message,
            "module" => Key::Module,
            "msecs" => Key::Msecs,
            "name" => Key::Name,
            "pathname" => Key::Pathname,
            "process" => Key::Process,
            "processName" => Key::ProcessName,
            "relativeCreated" => Key::RelativeCreated,
            "thread" => Key::Thread,
            "threadName" => Key::ThreadName,
            _ => return None,
        })
    }

    fn kind(self) -> Kind {
        match self {
            Key::Levelno | Key::Lineno | Key::Process | Key::Thread => Kind::Int,
            Key::Created | Key::Msecs | Key::RelativeCreated => Kind::Float,
            _ => Kind::Text,
        }
    }
}

/// Everything a line can show about one event, computed once by the formatter.
#[derive(Debug, Clone)]
pub(crate) struct Record<'a> {
    /// Local time of the event.
    pub time: DateTime<FixedOffset>,
    /// Logger name: the tracing target, e.g. `sqlalembic::runner`.
    pub name: &'a str,
    pub level: Level,
    /// The message with its structured fields appended as ` key=value`.
    pub message: &'a str,
    pub pathname: Option<&'a str>,
    pub lineno: Option<u32>,
    /// The innermost span's name, if the event happened inside one.
    pub span: Option<&'a str>,
    pub process: u32,
    pub thread_id: u64,
    pub thread_name: &'a str,
    /// Milliseconds since logging was set up.
    pub relative_ms: f64,
}

enum Value<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Float(f64),
}

/// Python's name for a tracing level (`TRACE` has none in Python; it keeps its own).
pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARNING",
        Level::ERROR => "ERROR",
    }
}

/// Python's number for a tracing level (`TRACE` is 5).
pub(crate) fn level_number(level: Level) -> i64 {
    match level {
        Level::TRACE => 5,
        Level::DEBUG => 10,
        Level::INFO => 20,
        Level::WARN => 30,
        Level::ERROR => 40,
    }
}

fn level_color(level: Level) -> &'static str {
    match level {
        Level::TRACE => "\x1b[35m",
        Level::DEBUG => "\x1b[34m",
        Level::INFO => "\x1b[32m",
        Level::WARN => "\x1b[33m",
        Level::ERROR => "\x1b[31m",
    }
}

impl Pattern {
    /// Parses a Python `%`-style logging format.
    pub fn parse(format: &str) -> Result<Pattern, Error> {
        let bad = |position: usize, reason: String| Error::BadFormat {
            format: format.to_owned(),
            position: format[..position].chars().count() + 1,
            reason,
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = format.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '%')) => {
                    literal.push('%');
                    continue;
                }
                Some((_, '(')) => {}
                _ => {
                    return Err(bad(
                        start,
                        "a `%` must start a `%(name)s` placeholder; write `%%` for a literal percent sign"
                            .to_owned(),
                    ));
                }
            }
            let name_start = start + 2;
            let mut name_end = None;
            for (i, c) in chars.by_ref() {
                if c == ')' {
                    name_end = Some(i);
                    break;
                }
            }
            let name_end = name_end
                .ok_or_else(|| bad(start, "the placeholder has no closing `)`".to_owned()))?;
            let name = &format[name_start..name_end];
            let key = Key::parse(name).ok_or_else(|| Error::UnknownPlaceholder {
                name: name.to_owned(),
                format: format.to_owned(),
                suggestion: closest_placeholder(name),
            })?;
            let mut field = Field {
                key,
                left: false,
                zero: false,
                plus: false,
                space: false,
                alternate: false,
                width: 0,
                precision: None,
                conversion: 's',
            };
            while let Some(&(_, flag)) = chars.peek() {
                match flag {
                    '-' => field.left = true,
                    '0' => field.zero = true,
                    '+' => field.plus = true,
                    ' ' => field.space = true,
                    '#' => field.alternate = true,
                    _ => break,
                }
                chars.next();
            }
            field.width = take_number(&mut chars).unwrap_or(0);
            if let Some(&(_, '.')) = chars.peek() {
                chars.next();
                field.precision = Some(take_number(&mut chars).unwrap_or(0));
            }
            let conversion = match chars.next() {
                Some((_, '*')) => {
                    return Err(bad(
                        start,
                        "a `*` width or precision cannot be used in a logging format".to_owned(),
                    ));
                }
                Some((_, c)) => c,
                None => {
                    return Err(bad(
                        start,
                        format!("`%({name})` needs a conversion such as `s` or `d`"),
                    ));
                }
            };
            field.conversion = conversion;
            let kind = key.kind();
            let fits = match conversion {
                's' | 'r' | 'a' => true,
                'd' | 'i' | 'u' | 'f' | 'F' | 'e' | 'E' | 'g' | 'G' => kind != Kind::Text,
                'x' | 'X' | 'o' | 'c' => kind == Kind::Int,
                other => {
                    return Err(bad(
                        start,
                        format!(
                            "`{other}` is not a conversion; use one of `s`, `r`, `d`, `i`, `f`, `e`, `g`, `x`, `o`"
                        ),
                    ));
                }
            };
            if !fits {
                let what = match kind {
                    Kind::Text => "text",
                    Kind::Int => "an integer",
                    Kind::Float => "a number with a fraction",
                };
                return Err(bad(
                    start,
                    format!("`%({name}){conversion}` cannot format `{name}`, which is {what}"),
                ));
            }
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(field));
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Field(_))) {
            return Err(Error::BadFormat {
                format: format.to_owned(),
                position: 1,
                reason: "it has no placeholder such as `%(message)s`".to_owned(),
            });
        }
        Ok(Pattern { pieces })
    }

    /// Renders one record; text values are redacted before they are cut or padded.
    pub(crate) fn render(&self, record: &Record<'_>, color: bool) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field(field) => {
                    let text = field.render(record_value(field.key, record));
                    if color && field.key == Key::Levelname {
                        out.push_str(level_color(record.level));
                        out.push_str(&text);
                        out.push_str("\x1b[0m");
                    } else {
                        out.push_str(&text);
                    }
                }
            }
        }
        out
    }
}

fn take_number(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut number: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(digit) = c.to_digit(10) else { break };
        number = Some(
            number
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(digit as usize),
        );
        chars.next();
    }
    number
}

fn closest_placeholder(name: &str) -> Option<String> {
    PLACEHOLDERS
        .iter()
        .map(|p| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &p.to_lowercase()),
                *p,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p.to_owned())
}

fn record_value<'a>(key: Key, r: &Record<'a>) -> Value<'a> {
    let unknown_file = "(unknown file)";
    let filename = || {
        r.pathname
            .map_or(unknown_file, |p| p.rsplit(['/', '\\']).next().unwrap_or(p))
    };
    let module = || {
        let file = filename();
        if file == unknown_file {
            return "Unknown module";
        }
        file.split_once('.').map_or(file, |(stem, _)| stem)
    };
    let nanos = r.time.timestamp_subsec_nanos();
    match key {
        Key::Asctime => Value::Text(Cow::Owned(format!(
            "{},{:03}",
            r.time.format("%Y-%m-%d %H:%M:%S"),
            nanos / 1_000_000
        ))),
        Key::Created => Value::Float(r.time.timestamp() as f64 + f64::from(nanos) / 1e9),
        Key::Filename => Value::Text(Cow::Borrowed(filename())),
        Key::FuncName => Value::Text(Cow::Borrowed(r.span.unwrap_or_else(module))),
        Key::Levelname => Value::Text(Cow::Borrowed(level_name(r.level))),
        Key::Levelno => Value::Int(level_number(r.level)),
        Key::Lineno => Value::Int(r.lineno.map_or(0, i64::from)),
        Key::Message => Value::Text(Cow::Borrowed(r.message)),
        Key::Module => Value::Text(Cow::Borrowed(module())),
        Key::Msecs => Value::Float(f64::from(nanos / 1_000_000)),
        Key::Name => Value::Text(Cow::Borrowed(r.name)),
        Key::Pathname => Value::Text(Cow::Borrowed(r.pathname.unwrap_or(unknown_file))),
        Key::Process => Value::Int(i64::from(r.process)),
        Key::ProcessName => Value::Text(Cow::Borrowed("MainProcess")),
        Key::RelativeCreated => Value::Float(r.relative_ms),
        Key::Thread => Value::Int(i64::try_from(r.thread_id).unwrap_or(i64::MAX)),
        Key::ThreadName => Value::Text(Cow::Borrowed(r.thread_name)),
    }
}

impl Field {
    fn render(&self, value: Value<'_>) -> String {
        match self.conversion {
            's' | 'r' | 'a' => {
                let text = match value {
                    Value::Text(text) => {
                        let text = redact_text(&text).into_owned();
                        if self.conversion == 's' {
                            text
                        } else {
                            python_repr(&text)
                        }
                    }
                    Value::Int(n) => n.to_string(),
                    Value::Float(x) => python_float(x),
                };
                let text = match self.precision {
                    Some(p) => text.chars().take(p).collect(),
                    None => text,
                };
                self.pad(String::new(), text, false)
            }
            'c' => {
                let c = match value {
                    Value::Int(n) => u32::try_from(n)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{fffd}'),
                    _ => '\u{fffd}',
                };
                self.pad(String::new(), c.to_string(), false)
            }
            conversion => {
                let x = match value {
                    Value::Int(n) => n as f64,
                    Value::Float(x) => x,
                    Value::Text(_) => 0.0,
                };
                let int = match value {
                    Value::Int(n) => n,
                    _ => x.trunc() as i64,
                };
                let negative = if matches!(conversion, 'd' | 'i' | 'u' | 'x' | 'X' | 'o') {
                    int < 0
                } else {
                    x.is_sign_negative() && x != 0.0
                };
                let digits = match conversion {
                    'd' | 'i' | 'u' => int.unsigned_abs().to_string(),
                    'x' => format!(
                        "{}{:x}",
                        if self.alternate { "0x" } else { "" },
                        int.unsigned_abs()
                    ),
                    'X' => format!(
                        "{}{:X}",
                        if self.alternate { "0X" } else { "" },
                        int.unsigned_abs()
                    ),
                    'o' => format!(
                        "{}{:o}",
                        if self.alternate { "0o" } else { "" },
                        int.unsigned_abs()
                    ),
                    'f' | 'F' => format!("{:.*}", self.precision.unwrap_or(6), x.abs()),
                    'e' | 'E' => {
                        let s = exponent(x.abs(), self.precision.unwrap_or(6));
                        if conversion == 'E' {
                            s.to_uppercase()
                        } else {
                            s
                        }
                    }
                    _ => {
                        let s = general(x.abs(), self.precision.unwrap_or(6), self.alternate);
                        if conversion == 'G' {
                            s.to_uppercase()
                        } else {
                            s
                        }
                    }
                };
                let sign = if negative {
                    "-"
                } else if self.plus {
                    "+"
                } else if self.space {
                    " "
                } else {
                    ""
                };
                self.pad(sign.to_owned(), digits, true)
            }
        }
    }

    /// Pads `sign + body` to the width: left-justified with `-`, zero-filled after the
    /// sign with `0` for numbers, right-justified with spaces otherwise.
    fn pad(&self, sign: String, body: String, numeric: bool) -> String {
        let len = sign.chars().count() + body.chars().count();
        let fill = self.width.saturating_sub(len);
        if fill == 0 {
            return sign + &body;
        }
        if self.left {
            format!("{sign}{body}{}", " ".repeat(fill))
        } else if self.zero && numeric {
            format!("{sign}{}{body}", "0".repeat(fill))
        } else {
            format!("{}{sign}{body}", " ".repeat(fill))
        }
    }
}

/// Python's `str(float)`: shortest round-trip digits, always with a fraction.
fn python_float(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// Python's `repr(str)` for the common cases: single quotes, escaped quotes,
/// backslashes and control characters.
fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `%e`: mantissa with `precision` decimals and an exponent of at least two digits.
fn exponent(x: f64, precision: usize) -> String {
    let s = format!("{x:.precision$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// `%g`: `%e` or `%f` depending on the exponent, trailing zeros removed unless `#`.
fn general(x: f64, precision: usize, alternate: bool) -> String {
    let p = precision.max(1);
    if x == 0.0 {
        return if alternate {
            format!("{:.*}", p - 1, 0.0)
        } else {
            "0".to_owned()
        };
    }
    let rounded = format!("{x:.prec$e}", prec = p - 1);
    let exp: i64 = rounded
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let strip = |s: String| {
        if alternate || !s.contains('.') {
            s
        } else {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    };
    if exp < -4 || exp >= p as i64 {
        let s = exponent(x, p - 1);
        match s.split_once('e') {
            Some((mantissa, e)) => format!("{}e{e}", strip(mantissa.to_owned())),
            None => s,
        }
    } else {
        let decimals = usize::try_from(p as i64 - 1 - exp).unwrap_or(0);
        strip(format!("{x:.decimals$}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record() -> Record<'static> {
        let tz = FixedOffset::east_opt(3600).expect("valid offset");
        let time = tz
            .with_ymd_and_hms(2026, 11, 26, 1, 2, 3)
            .single()
            .expect("valid time")
            + chrono::Duration::microseconds(456_789);
        Record {
            time,
            name: "sqlalembic::runner",
            level: Level::WARN,
            message: "Applied revision=ae1f",
            pathname: Some("host/src/runner/apply.rs"),
            lineno: Some(42),
            span: None,
            process: 4321,
            thread_id: 7,
            thread_name: "main",
            relative_ms: 12.5,
        }
    }

    fn render(format: &str) -> String {
        Pattern::parse(format)
            .expect("valid format")
            .render(&record(), false)
    }

    #[test]
    fn renders_each_placeholder() {
        assert_eq!(render("%(asctime)s"), "2026-11-26 01:02:03,456");
        assert_eq!(render("%(name)s"), "sqlalembic::runner");
        assert_eq!(render("%(levelname)s"), "WARNING");
        assert_eq!(render("%(levelno)d"), "30");
        assert_eq!(render("%(message)s"), "Applied revision=ae1f");
        assert_eq!(render("%(filename)s"), "apply.rs");
        assert_eq!(render("%(pathname)s"), "host/src/runner/apply.rs");
        assert_eq!(render("%(lineno)d"), "42");
        assert_eq!(render("%(module)s"), "apply");
        assert_eq!(render("%(funcName)s"), "apply");
        assert_eq!(render("%(process)d"), "4321");
        assert_eq!(render("%(processName)s"), "MainProcess");
        assert_eq!(render("%(thread)d"), "7");
        assert_eq!(render("%(threadName)s"), "main");
        assert_eq!(render("%(created)f"), "1795651323.456789");
        assert_eq!(render("%(created).3f"), "1795651323.457");
        assert_eq!(render("%(msecs)03d"), "456");
        assert_eq!(render("%(msecs)s"), "456.0");
        assert_eq!(render("%(relativeCreated)s"), "12.5");
    }

    #[test]
    fn func_name_is_the_span_inside_a_span() {
        let mut r = record();
        r.span = Some("apply_revision");
        let p = Pattern::parse("%(funcName)s").expect("valid format");
        assert_eq!(p.render(&r, false), "apply_revision");
    }

    #[test]
    fn unknown_location_uses_python_placeholders() {
        let mut r = record();
        r.pathname = None;
        r.lineno = None;
        let p = Pattern::parse("%(filename)s:%(lineno)d %(module)s").expect("valid format");
        assert_eq!(p.render(&r, false), "(unknown file):0 Unknown module");
    }

    #[test]
    fn the_default_python_format() {
        assert_eq!(
            render("%(asctime)s - %(name)s - %(levelname)s - %(message)s"),
            "2026-11-26 01:02:03,456 - sqlalembic::runner - WARNING - Applied revision=ae1f"
        );
    }

    #[test]
    fn widths_precision_and_flags() {
        assert_eq!(render("[%(levelname)-8s]"), "[WARNING ]");
        assert_eq!(render("[%(levelname)10s]"), "[   WARNING]");
        assert_eq!(render("[%(levelname).4s]"), "[WARN]");
        assert_eq!(render("[%(lineno)5d]"), "[   42]");
        assert_eq!(render("[%(lineno)-5d]"), "[42   ]");
        assert_eq!(render("[%(lineno)05d]"), "[00042]");
        assert_eq!(render("[%(lineno)+d]"), "[+42]");
        assert_eq!(
            render("[%(lineno)x|%(lineno)#X|%(lineno)o]"),
            "[2a|0X2A|52]"
        );
        assert_eq!(render("[%(relativeCreated)08.2f]"), "[00012.50]");
        assert_eq!(render("[%(relativeCreated)e]"), "[1.250000e+01]");
        assert_eq!(
            render("[%(relativeCreated)g|%(created)g]"),
            "[12.5|1.79565e+09]"
        );
        assert_eq!(render("[%(levelname)r]"), "['WARNING']");
        assert_eq!(render("100%% %(levelname)s"), "100% WARNING");
    }

    #[test]
    fn colour_wraps_only_the_level_name_after_padding() {
        let p = Pattern::parse("%(levelname)-8s|%(name)s").expect("valid format");
        assert_eq!(
            p.render(&record(), true),
            "\x1b[33mWARNING \x1b[0m|sqlalembic::runner"
        );
    }

    #[test]
    fn redacts_before_cutting() {
        let mut r = record();
        r.message = "connect to mysql://u:hunter2@h/db failed";
        let p = Pattern::parse("%(message).25s").expect("valid format");
        assert_eq!(p.render(&r, false), "connect to mysql://u:***@");
    }

    #[test]
    fn unknown_placeholder_is_named() {
        let err = Pattern::parse("%(asctime)s %(levelnmae)s").expect_err("unknown placeholder");
        match &err {
            Error::UnknownPlaceholder {
                name, suggestion, ..
            } => {
                assert_eq!(name, "levelnmae");
                assert_eq!(suggestion.as_deref(), Some("levelname"));
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("`%(levelnmae)s`"), "{err}");
    }

    #[test]
    fn malformed_formats_are_refused() {
        for (format, needle) in [
            ("%(message)", "needs a conversion"),
            ("%(message", "no closing"),
            ("50% %(message)s", "literal percent"),
            ("%(message)*s", "`*`"),
            ("%(message)q", "`q` is not a conversion"),
            ("%(message)d", "which is text"),
            ("%(created)x", "fraction"),
            ("just text", "no placeholder"),
        ] {
            let err = Pattern::parse(format).expect_err(format);
            assert!(err.to_string().contains(needle), "{format}: {err}");
        }
    }

    #[test]
    fn position_is_reported_in_characters() {
        match Pattern::parse("é %q") {
            Err(Error::BadFormat { position, .. }) => assert_eq!(position, 3),
            other => panic!("unexpected result {other:?}"),
        }
    }
}
