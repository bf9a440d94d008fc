//! SQL text helpers for dialects: quoting, literals, splitting a script.

/// `name` quoted with `quote` (`"` for PostgreSQL and SQLite, `` ` `` for MySQL),
/// the quote character doubled inside.
pub fn quote_ident(name: &str, quote: char) -> String {
    let doubled: String = [quote, quote].iter().collect();
    format!("{quote}{}{quote}", name.replace(quote, &doubled))
}

/// `'text'` with single quotes doubled (standard SQL; PostgreSQL, SQLite).
pub fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Splits a script into statements at `;`, leaving `;` inside quotes, comments and
/// PostgreSQL dollar quotes alone; drops empty statements and trailing `;`.
pub fn split_statements(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut code) = (0, 0, false);
    let push = |out: &mut Vec<String>, s: &str| {
        let s = s.trim();
        if !s.is_empty() {
            out.push(s.to_owned());
        }
    };
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                code = true;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let tag_end = b[i + 1..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    .map(|p| i + 1 + p);
                match tag_end {
                    Some(end) if b[end] == b'$' => {
                        let tag = &text[i..=end];
                        i = text[end + 1..]
                            .find(tag)
                            .map_or(b.len(), |p| end + 1 + p + tag.len());
                    }
                    _ => i += 1,
                }
                code = true;
            }
            b';' => {
                if code {
                    push(&mut out, &text[start..i]);
                }
                i += 1;
                start = i;
                code = false;
            }
            c => {
                code |= !c.is_ascii_whitespace();
                i += 1;
            }
        }
    }
    if code {
        push(&mut out, &text[start.min(b.len())..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote() {
        assert_eq!(quote_ident(r#"a"b"#, '"'), r#""a""b""#);
        assert_eq!(quote_ident("t", '`'), "`t`");
        assert_eq!(string_literal("it's"), "'it''s'");
    }

    #[test]
    fn scripts_split_outside_quotes_comments_and_dollar_quotes() {
        let script = "UPDATE t SET a = 'x;y'; -- c;\nSELECT \"a;b\";\n/* ; */ DO $f$ BEGIN PERFORM 1; END $f$;;";
        assert_eq!(
            split_statements(script),
            [
                "UPDATE t SET a = 'x;y'",
                "-- c;\nSELECT \"a;b\"",
                "/* ; */ DO $f$ BEGIN PERFORM 1; END $f$"
            ]
        );
        assert_eq!(split_statements("SELECT 1"), ["SELECT 1"]);
        assert!(split_statements(" ; -- only\n").is_empty());
    }
}
