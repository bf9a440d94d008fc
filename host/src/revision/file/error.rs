//! Errors found while reading or writing revision files, each located at `path:line:col`.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::ops::OP_NAMES;

/// A problem with one revision file. Nothing has touched a database when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: Cannot read the file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: Not a revision file: expected a `.toml` or `.sql` extension", path.display())]
    UnsupportedFile { path: PathBuf },

    /// A name like a revision file's that is no regular file: a dangling symbolic link,
    /// a link loop, a FIFO, a socket, a device or a folder. It is never opened.
    #[error("{}: Named like a revision file, but it is {what}", path.display())]
    NotAFile { path: PathBuf, what: String },

    #[error("{}:{line}:{col}: Invalid TOML: {message}", path.display())]
    InvalidToml {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },

    #[error(
        "{}:{line}:{col}: Invalid revision id `{value}` in `{key}`: expected 12 lowercase hex characters",
        path.display()
    )]
    InvalidRevisionId {
        path: PathBuf,
        line: usize,
        col: usize,
        key: String,
        value: String,
    },

    #[error("{}:{line}:{col}: Missing `{key}`: expected `{key} = ...` in the header", path.display())]
    MissingKey {
        path: PathBuf,
        line: usize,
        col: usize,
        key: &'static str,
    },

    #[error("{}:{line}:{col}: Unknown key `{key}`: expected one of {expected}", path.display())]
    UnknownKey {
        path: PathBuf,
        line: usize,
        col: usize,
        key: String,
        expected: String,
        suggestion: Option<String>,
    },

    #[error("{}:{line}:{col}: Wrong type for `{key}`: expected {expected}, found {found}", path.display())]
    WrongType {
        path: PathBuf,
        line: usize,
        col: usize,
        key: String,
        expected: &'static str,
        found: String,
    },

    #[error("{}:{line}:{col}: Missing `op` in a `[[{section}]]` table: expected `op = \"<name>\"`", path.display())]
    MissingOp {
        path: PathBuf,
        line: usize,
        col: usize,
        section: &'static str,
    },

    #[error("{}:{line}:{col}: Unknown op `{op}`", path.display())]
    UnknownOp {
        path: PathBuf,
        line: usize,
        col: usize,
        op: String,
        suggestion: Option<String>,
    },

    #[error("{}:{line}:{col}: Missing field `{field}` in `{op}` op", path.display())]
    MissingField {
        path: PathBuf,
        line: usize,
        col: usize,
        op: String,
        field: String,
    },

    #[error("{}:{line}:{col}: Unknown field `{field}` in `{op}` op", path.display())]
    UnknownField {
        path: PathBuf,
        line: usize,
        col: usize,
        op: String,
        field: String,
        /// The keys the op accepts (from serde's message).
        expected: Vec<String>,
    },

    #[error("{}:{line}:{col}: Invalid `{op}` op: {message}", path.display())]
    InvalidOp {
        path: PathBuf,
        line: usize,
        col: usize,
        op: String,
        message: String,
    },

    #[error("{}:{line}:{col}: Malformed SQL revision: {message}", path.display())]
    SqlHeader {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },

    #[error(
        "{}: File name does not match revision `{revision}`: expected `{revision}_<slug>.{extension}`",
        path.display()
    )]
    FileNameMismatch {
        path: PathBuf,
        revision: String,
        extension: &'static str,
    },

    #[error("{}: Revision `{revision}` is also defined in `{}`", path.display(), other.display())]
    DuplicateRevision {
        path: PathBuf,
        revision: String,
        other: PathBuf,
    },

    #[error("Cannot render the revision template: {message}")]
    Template {
        line: Option<usize>,
        message: String,
    },
}

impl FileError {
    /// The file the error is about (`None` for template errors).
    pub fn path(&self) -> Option<&Path> {
        use FileError as E;
        match self {
            E::Io { path, .. }
            | E::UnsupportedFile { path }
            | E::NotAFile { path, .. }
            | E::InvalidToml { path, .. }
            | E::InvalidRevisionId { path, .. }
            | E::MissingKey { path, .. }
            | E::UnknownKey { path, .. }
            | E::WrongType { path, .. }
            | E::MissingOp { path, .. }
            | E::UnknownOp { path, .. }
            | E::MissingField { path, .. }
            | E::UnknownField { path, .. }
            | E::InvalidOp { path, .. }
            | E::SqlHeader { path, .. }
            | E::FileNameMismatch { path, .. }
            | E::DuplicateRevision { path, .. } => Some(path),
            E::Template { .. } => None,
        }
    }

    /// 1-based line and column, when the error points into the file.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        use FileError as E;
        match self {
            E::InvalidToml { line, col, .. }
            | E::InvalidRevisionId { line, col, .. }
            | E::MissingKey { line, col, .. }
            | E::UnknownKey { line, col, .. }
            | E::WrongType { line, col, .. }
            | E::MissingOp { line, col, .. }
            | E::UnknownOp { line, col, .. }
            | E::MissingField { line, col, .. }
            | E::UnknownField { line, col, .. }
            | E::InvalidOp { line, col, .. }
            | E::SqlHeader { line, col, .. } => Some((*line, *col)),
            _ => None,
        }
    }

    /// Stable code for the diagnostic (`REV0xx`).
    pub fn code(&self) -> &'static str {
        use FileError as E;
        match self {
            E::Io { .. } => "REV001",
            E::UnsupportedFile { .. } => "REV002",
            E::NotAFile { .. } => "REV023",
            E::InvalidToml { .. } => "REV003",
            E::InvalidRevisionId { .. } => "REV004",
            E::MissingKey { .. } => "REV005",
            E::UnknownKey { .. } => "REV006",
            E::WrongType { .. } => "REV007",
            E::MissingOp { .. } => "REV010",
            E::UnknownOp { .. } => "REV011",
            E::MissingField { .. } => "REV012",
            E::UnknownField { .. } => "REV013",
            E::InvalidOp { .. } => "REV014",
            E::SqlHeader { .. } => "REV020",
            E::FileNameMismatch { .. } => "REV021",
            E::DuplicateRevision { .. } => "REV022",
            E::Template { .. } => "REV030",
        }
    }

    /// `hint:` lines: the closest known name, the accepted keys, the known ops.
    pub fn hints(&self) -> Vec<String> {
        use FileError as E;
        match self {
            E::UnknownKey {
                suggestion: Some(s),
                ..
            } => vec![format!("did you mean `{s}`?")],
            E::UnknownOp { suggestion, .. } => {
                let mut hints = Vec::new();
                if let Some(s) = suggestion {
                    hints.push(format!("did you mean `{s}`?"));
                }
                hints.push(format!("known ops: {}", backticked(OP_NAMES)));
                hints
            }
            E::UnknownField {
                field, expected, ..
            } => {
                let mut hints = Vec::new();
                if let Some(s) = closest(field, expected.iter().map(String::as_str)) {
                    hints.push(format!("did you mean `{s}`?"));
                }
                if !expected.is_empty() {
                    hints.push(format!("accepted fields: {}", backticked(expected)));
                }
                hints
            }
            E::NotAFile { .. } => vec![
                "make it a regular file (or a link to one), or move it out of the versions folder"
                    .to_owned(),
            ],
            E::FileNameMismatch { revision, .. } => {
                vec![format!(
                    "rename the file, or set `revision = \"{revision}\"` to match the name"
                )]
            }
            _ => Vec::new(),
        }
    }

    /// The error as a [`Diagnostic`] for `cli` to print (message without the location,
    /// which the diagnostic carries separately).
    pub fn diagnostic(&self) -> Diagnostic {
        let full = self.to_string();
        let message = match self.path() {
            // Strip the `path:line:col: ` prefix the Display form starts with.
            Some(_) => full
                .split_once(": ")
                .map_or(full.clone(), |(_, m)| m.to_owned()),
            None => full,
        };
        let (line, col) = self.line_col().unzip();
        let mut diagnostic = Diagnostic::error(self.code(), message);
        if let Some(path) = self.path() {
            diagnostic = diagnostic.at(path, line, col);
        }
        for hint in self.hints() {
            diagnostic = diagnostic.hint(hint);
        }
        diagnostic
    }
}

/// `` `a`, `b`, `c` ``
pub(crate) fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `word` (Jaro-Winkler >= 0.8), for "did you mean" hints.
pub(crate) fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}
