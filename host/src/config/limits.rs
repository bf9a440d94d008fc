//! Size and nesting bounds for configuration files, checked before any parser sees them.
//!
//! Input: a file's length, or its text and [`Format`]. Output: `Ok` or the limit it
//! breaks, located. A configuration nests a few levels at most (section, key, plugin
//! entry, its `allow` table); parsers of YAML in particular take far more than linear
//! time on deeply nested input, so anything past [`MAX_DEPTH`] levels or [`MAX_BYTES`]
//! bytes is refused with the limit and the fix instead of being parsed. The scan is one
//! linear pass that skips strings and comments; it may count a level too many on odd
//! input (never too few), which only matters past the limit.

use std::io::Read;
use std::path::Path;

use super::Error;
use super::file::Format;
use crate::diagnostic::line_col;

/// Largest configuration, `.env` or `pyproject.toml` file read, in bytes (1 MiB).
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Deepest nesting of tables and lists accepted in a configuration file.
pub const MAX_DEPTH: usize = 32;

/// Reads `path` as text, refusing a file longer than [`MAX_BYTES`] without reading
/// more than that; `shown` is the path as messages print it. `None` when the file
/// does not exist and `missing_ok`.
pub(crate) fn read_bounded(
    path: &Path,
    shown: &Path,
    missing_ok: bool,
) -> Result<Option<String>, Error> {
    let read_error = |source| Error::Read {
        path: shown.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_BYTES {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(Error::TooLarge {
            path: shown.to_path_buf(),
            size,
            limit: MAX_BYTES,
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Refuses `text` when its tables and lists nest deeper than [`MAX_DEPTH`].
pub(crate) fn check_depth(text: &str, format: Format, shown: &Path) -> Result<(), Error> {
    let found = match format {
        Format::Json => json_depth(text.as_bytes()),
        Format::Toml => toml_depth(text.as_bytes()),
        Format::Yaml => yaml_depth(text.as_bytes()),
    };
    match found {
        None => Ok(()),
        Some(offset) => {
            let (line, col) = line_col(text, offset.min(text.len()));
            Err(Error::TooDeep {
                path: shown.to_path_buf(),
                line,
                col,
                format: format.name(),
                limit: MAX_DEPTH,
            })
        }
    }
}

/// Index just past a `"..."` string with backslash escapes starting at `open`.
fn skip_escaped(b: &[u8], open: usize, quote: u8) -> usize {
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Index just past a string without escapes (`'...'`, doubled quotes included).
fn skip_literal(b: &[u8], open: usize, quote: u8) -> usize {
    memchr::memchr(quote, &b[open + 1..]).map_or(b.len(), |p| open + 1 + p + 1)
}

fn skip_line(b: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &b[from..]).map_or(b.len(), |p| from + p)
}

/// Offset of the first bracket past the limit in JSON, if any.
fn json_depth(b: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_escaped(b, i, b'"');
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// TOML: brackets of values, plus the dots of dotted keys and table headers (each dot
/// is one more table).
fn toml_depth(b: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut dots = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let quote = b[i];
                let triple = b.get(i..i + 3) == Some(&[quote, quote, quote][..]);
                i = if triple {
                    let close = [quote, quote, quote];
                    b[i + 3..]
                        .windows(3)
                        .position(|w| w == close)
                        .map_or(b.len(), |p| i + 3 + p + 3)
                } else if quote == b'"' {
                    skip_escaped(b, i, quote)
                } else {
                    skip_literal(b, i, quote)
                };
                continue;
            }
            b'#' => {
                i = skip_line(b, i);
                continue;
            }
            b'\n' => dots = 0,
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => dots += 1,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth + dots > MAX_DEPTH {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// YAML: flow brackets, plus block nesting (one level per deeper indentation and per
/// `- ` or `key:` opening a collection on the same line). Block scalars (`|`, `>`) are
/// skipped as text.
fn yaml_depth(b: &[u8]) -> Option<usize> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut scalar_parent: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        let line_start = i;
        let line_end = skip_line(b, i);
        let line = &b[line_start..line_end];
        i = line_end + 1;
        let indent = line.iter().take_while(|&&c| c == b' ').count();
        let body = &line[indent..];
        let blank = body.iter().all(u8::is_ascii_whitespace) || body.first() == Some(&b'#');
        if let Some(parent) = scalar_parent {
            if blank || indent > parent {
                continue;
            }
            scalar_parent = None;
        }
        if blank {
            continue;
        }
        if flow == 0 {
            while indents.last().is_some_and(|&top| top > indent) {
                indents.pop();
            }
            if indents.last() != Some(&indent) {
                indents.push(indent);
            }
        }
        // `- - - x` and `- key: value` open one level per marker on the line.
        let mut inline = 0usize;
        let mut j = 0;
        loop {
            while j < body.len() && body[j] == b' ' {
                j += 1;
            }
            if body.get(j) == Some(&b'-')
                && body.get(j + 1).is_none_or(|c| matches!(c, b' ' | b'\t'))
            {
                inline += 1;
                j += 1;
            } else {
                break;
            }
        }
        let mut k = j;
        let mut last_code = None;
        while k < body.len() {
            match body[k] {
                b'"' => {
                    k = skip_escaped(body, k, b'"');
                    last_code = Some(k - 1);
                    continue;
                }
                b'\'' => {
                    k = skip_literal(body, k, b'\'');
                    last_code = Some(k - 1);
                    continue;
                }
                b'#' if k == 0 || matches!(body[k - 1], b' ' | b'\t') => break,
                b'[' | b'{' => flow += 1,
                b']' | b'}' => flow = flow.saturating_sub(1),
                b':' if body.get(k + 1).is_none_or(|c| matches!(c, b' ' | b'\t')) => {
                    inline += 1;
                }
                _ => {}
            }
            if !body[k].is_ascii_whitespace() {
                last_code = Some(k);
            }
            if indents.len() + inline + flow > MAX_DEPTH {
                return Some(line_start + indent + k);
            }
            k += 1;
        }
        if indents.len() + inline + flow > MAX_DEPTH {
            return Some(line_start + indent);
        }
        // A block scalar: the lines indented below this one are text.
        let ends_scalar = last_code.is_some_and(|end| {
            let tail = &body[..=end];
            let start = tail
                .iter()
                .rposition(|c| !matches!(c, b'|' | b'>' | b'+' | b'-' | b'0'..=b'9'))
                .map_or(0, |p| p + 1);
            let marker = &tail[start..];
            marker.first().is_some_and(|c| matches!(c, b'|' | b'>'))
                && (start == 0 || matches!(tail[start - 1], b' ' | b'\t'))
        });
        if ends_scalar && flow == 0 {
            scalar_parent = Some(indent);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, format: Format) -> bool {
        check_depth(text, format, Path::new("c")).is_ok()
    }

    #[test]
    fn ordinary_configs_pass() {
        let toml = "[database]\nDB_HOST = \"a.b.c\"\nx = 1.5\n[[plugins]]\nname = \"p\"\nallow.http = [\"h\"]\n";
        let yaml = "database:\n  DB_HOST: 'a: [b'\n  script: |\n    a:\n      b:\n        c: [[[\nplugins:\n  - name: p\n    allow: {http: [h]}\n";
        let json =
            r#"{"database": {"DB_HOST": "[[[[{{{{"}, "plugins": [{"allow": {"http": ["h"]}}]}"#;
        assert!(depth_ok(toml, Format::Toml));
        assert!(depth_ok(yaml, Format::Yaml));
        assert!(depth_ok(json, Format::Json));
    }

    #[test]
    fn deep_nesting_is_located_in_every_format() {
        let n = MAX_DEPTH + 1;
        let json = format!("{}{}", "[".repeat(n), "]".repeat(n));
        let toml = format!("a = {}{}", "[".repeat(n), "]".repeat(n));
        let dotted = format!("{} = 1", vec!["k"; n + 1].join("."));
        let flow = format!("a: {}{}", "[".repeat(n), "]".repeat(n));
        let block: String = (0..n).map(|d| format!("{}k:\n", "  ".repeat(d))).collect();
        let dashes = format!("{}x\n", "- ".repeat(n));
        for (text, format) in [
            (json.as_str(), Format::Json),
            (toml.as_str(), Format::Toml),
            (dotted.as_str(), Format::Toml),
            (flow.as_str(), Format::Yaml),
            (block.as_str(), Format::Yaml),
            (dashes.as_str(), Format::Yaml),
        ] {
            let err = check_depth(text, format, Path::new("c")).expect_err(text);
            let Error::TooDeep { line, limit, .. } = &err else {
                panic!("{err}")
            };
            assert_eq!(*limit, MAX_DEPTH);
            assert!(*line >= 1, "{err}");
        }
        let at_limit: String = (0..MAX_DEPTH - 1)
            .map(|d| format!("{}k:\n", "  ".repeat(d)))
            .collect();
        assert!(depth_ok(&at_limit, Format::Yaml));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any text in any format: an error or a table, never a panic, and nesting past
        /// the limit is always refused.
        #[test]
        fn config_parsing_never_panics(text in "[\\[\\]{}:\\-=., a-z\"'#\n]{0,300}") {
            for format in [Format::Toml, Format::Yaml, Format::Json] {
                let _ = super::super::file::parse(&text, format, Path::new("c"));
            }
        }

        #[test]
        fn nesting_past_the_limit_is_refused(extra in 1usize..64, format in prop_oneof![Just(Format::Json), Just(Format::Toml), Just(Format::Yaml)]) {
            let n = MAX_DEPTH + extra;
            let prefix = if format == Format::Json { "{\"a\": " } else if format == Format::Toml { "a = " } else { "a: " };
            let close = if format == Format::Json { "}" } else { "" };
            let text = format!("{prefix}{}{}{close}", "[".repeat(n), "]".repeat(n));
            let refused = matches!(super::super::file::parse(&text, format, Path::new("c")), Err(Error::TooDeep { .. }));
            prop_assert!(refused);
        }
    }
}
