//! Revision arguments and the relative-target syntax.
//!
//! Input: what a user or the version table gives: one identifier (`head`, `ae1f@head`,
//! `-1`), several identifiers, or nothing. Output: [`RevSpec`] and the parsed pieces of
//! `[label@][symbol](+|-)N`, matched like Alembic's `_relative_destination` regex
//! (`(?:(.+?)@)?(\w+)?((?:\+|-)\d+)`, anchored at the start only).

use std::fmt;

/// A revision argument: nothing (`None`, meaning base), one identifier, or several.
///
/// Alembic treats a string and a tuple differently: only a single string can be a
/// relative target (`+2`) or carry a branch (`label@head`); each element of a tuple is
/// resolved on its own. Version-table contents are passed as [`RevSpec::Many`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RevSpec {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl RevSpec {
    /// The identifiers as a list (Alembic's `util.to_tuple`).
    pub fn to_list(&self) -> Vec<String> {
        match self {
            RevSpec::None => Vec::new(),
            RevSpec::One(s) => vec![s.clone()],
            RevSpec::Many(v) => v.clone(),
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            RevSpec::One(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for RevSpec {
    /// How messages show the argument; empty arguments read as `base` like Alembic's
    /// `RangeNotAncestorError`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevSpec::None => f.write_str("base"),
            RevSpec::One(s) if s.is_empty() => f.write_str("base"),
            RevSpec::One(s) => f.write_str(s),
            RevSpec::Many(v) if v.is_empty() => f.write_str("base"),
            RevSpec::Many(v) => f.write_str(&v.join(", ")),
        }
    }
}

impl From<&str> for RevSpec {
    fn from(s: &str) -> Self {
        RevSpec::One(s.to_string())
    }
}

impl From<String> for RevSpec {
    fn from(s: String) -> Self {
        RevSpec::One(s)
    }
}

impl From<Option<&str>> for RevSpec {
    fn from(s: Option<&str>) -> Self {
        s.map_or(RevSpec::None, RevSpec::from)
    }
}

impl From<&[&str]> for RevSpec {
    fn from(v: &[&str]) -> Self {
        RevSpec::Many(v.iter().map(|s| s.to_string()).collect())
    }
}

impl<const N: usize> From<[&str; N]> for RevSpec {
    fn from(v: [&str; N]) -> Self {
        RevSpec::Many(v.iter().map(|s| s.to_string()).collect())
    }
}

impl From<&[String]> for RevSpec {
    fn from(v: &[String]) -> Self {
        RevSpec::Many(v.to_vec())
    }
}

impl From<Vec<String>> for RevSpec {
    fn from(v: Vec<String>) -> Self {
        RevSpec::Many(v)
    }
}

/// `[label@][symbol](+|-)N`, the pieces of a relative target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Relative<'a> {
    pub label: Option<&'a str>,
    pub symbol: Option<&'a str>,
    /// The signed number as written, e.g. `+2`, `-1`.
    pub text: &'a str,
    /// Its value, saturated (walks stop at the graph's edge long before).
    pub value: i64,
}

/// Matches `s` against `(?:(.+?)@)?(\w+)?((?:\+|-)\d+)` at its start.
pub(super) fn parse_relative(s: &str) -> Option<Relative<'_>> {
    // The lazy label tries each `@` from the left (a label is at least one character),
    // then no label at all.
    for (at, _) in s.match_indices('@') {
        if at == 0 {
            continue;
        }
        if let Some((symbol, text, value)) = match_rest(&s[at + 1..]) {
            return Some(Relative {
                label: Some(&s[..at]),
                symbol,
                text,
                value,
            });
        }
    }
    match_rest(s).map(|(symbol, text, value)| Relative {
        label: None,
        symbol,
        text,
        value,
    })
}

/// `(\w+)?((?:\+|-)\d+)` at the start of `s`. `\w` never matches a sign, so the
/// greedy word is the only candidate.
fn match_rest(s: &str) -> Option<(Option<&str>, &str, i64)> {
    let word_end = s
        .char_indices()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(s.len(), |(i, _)| i);
    let rest = &s[word_end..];
    let mut chars = rest.chars();
    let sign = chars.next()?;
    if sign != '+' && sign != '-' {
        return None;
    }
    let digits_len = rest[1..]
        .char_indices()
        .find(|&(_, c)| !c.is_ascii_digit())
        .map_or(rest.len() - 1, |(i, _)| i);
    if digits_len == 0 {
        return None;
    }
    let text = &rest[..1 + digits_len];
    let magnitude = rest[1..1 + digits_len].parse::<i64>().unwrap_or(i64::MAX);
    let value = if sign == '-' { -magnitude } else { magnitude };
    let symbol = (word_end > 0).then(|| &s[..word_end]);
    Some((symbol, text, value))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Python's `int(s)` for the forms that matter here: optional sign, ASCII digits,
/// surrounding whitespace.
pub(super) fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if t.starts_with('-') {
        -magnitude
    } else {
        magnitude
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> Option<(Option<&str>, Option<&str>, &str, i64)> {
        parse_relative(s).map(|r| (r.label, r.symbol, r.text, r.value))
    }

    #[test]
    fn relative_forms() {
        assert_eq!(parts("+2"), Some((None, None, "+2", 2)));
        assert_eq!(parts("-1"), Some((None, None, "-1", -1)));
        assert_eq!(parts("ae10+2"), Some((None, Some("ae10"), "+2", 2)));
        assert_eq!(parts("base+2"), Some((None, Some("base"), "+2", 2)));
        assert_eq!(
            parts("c2branch@head-1"),
            Some((Some("c2branch"), Some("head"), "-1", -1))
        );
        assert_eq!(
            parts("c1branch@-1"),
            Some((Some("c1branch"), None, "-1", -1))
        );
        assert_eq!(
            parts("c2branch@+1"),
            Some((Some("c2branch"), None, "+1", 1))
        );
        assert_eq!(
            parts("c2branch@base+3"),
            Some((Some("c2branch"), Some("base"), "+3", 3))
        );
    }

    #[test]
    fn non_relative_forms() {
        assert_eq!(parts("heads"), None);
        assert_eq!(parts("ae10"), None);
        assert_eq!(parts("abranch@head"), None);
        assert_eq!(parts("my-branch"), None);
        assert_eq!(parts("@-1"), None);
    }

    #[test]
    fn relative_match_is_anchored_at_the_start_only() {
        assert_eq!(parts("ae10+2xyz"), Some((None, Some("ae10"), "+2", 2)));
        // The lazy label skips an `@` whose remainder does not match.
        assert_eq!(parts("a@b@c-1"), Some((Some("a@b"), Some("c"), "-1", -1)));
    }

    #[test]
    fn python_int() {
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("+3"), Some(3));
        assert_eq!(parse_int("1234"), Some(1234));
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("ae10"), None);
    }

    #[test]
    fn display_reads_empty_as_base() {
        assert_eq!(RevSpec::None.to_string(), "base");
        assert_eq!(RevSpec::Many(vec![]).to_string(), "base");
        assert_eq!(RevSpec::from("d1cb1").to_string(), "d1cb1");
    }
}
