//! Revision files on disk <-> [`RevisionFile`] headers and [`RevisionBody`] ops.
//!
//! Input: `<rev>_<slug>.toml` files (header keys, then `[[upgrade]]` / `[[downgrade]]` op
//! tables) and raw `<rev>_<slug>.sql` files (`-- key: value` header, `-- +upgrade` /
//! `-- +downgrade` sections). Output: headers for the graph ([`read_header`], [`scan_dir`],
//! fast: only the lines before the first table are looked at), and headers plus ops for
//! applying ([`read_full`]). New files come from the `script.toml.j2` template
//! ([`render_new`]).
//!
//! Refused, with `path:line:col` and what was expected: invalid TOML, revision ids that
//! are not 12 lowercase hex characters, unknown header keys, unknown ops, missing or
//! unknown op fields, malformed `.sql` headers, file names that do not start with their
//! revision id. Nothing here touches a database.

mod error;
mod header;
mod render;
mod sql;
mod toml_body;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use error::FileError;
pub use render::{DEFAULT_TEMPLATE, NewRevision, now_created_at, render_new, render_op};
pub use sql::{split_mysql_statements, split_sql_statements};

use crate::ops::Op;

/// The format of a revision file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RevisionKind {
    /// `.toml`: dialect-neutral ops.
    Toml,
    /// `.sql`: raw SQL sections.
    Sql,
}

impl RevisionKind {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            RevisionKind::Toml => "toml",
            RevisionKind::Sql => "sql",
        }
    }

    /// The kind for a path's extension, if it is a revision file.
    pub fn from_path(path: &Path) -> Option<RevisionKind> {
        match path.extension()?.to_str()? {
            "toml" => Some(RevisionKind::Toml),
            "sql" => Some(RevisionKind::Sql),
            _ => None,
        }
    }
}

/// The header of one revision file: what the revision graph needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevisionFile {
    pub path: PathBuf,
    /// 12 lowercase hex characters.
    pub revision: String,
    /// Empty for a base, several for a merge.
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    /// Revision ids or branch labels this revision also depends on.
    pub depends_on: Vec<String>,
    /// Revisions this one replaces (after `squash`).
    pub replaces: Vec<String>,
    pub message: Option<String>,
    /// As written: a TOML datetime (`2026-11-25T18:00:00Z`) or a string.
    pub created_at: Option<String>,
    pub kind: RevisionKind,
}

/// The ops of a revision. A `.sql` file gives at most one [`Op::Sql`] per section,
/// holding the section's whole text (see [`split_sql_statements`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RevisionBody {
    pub upgrade: Vec<Op>,
    pub downgrade: Vec<Op>,
}

/// True for a valid revision id: 12 lowercase hex characters.
pub fn is_revision_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why `path` is no regular file to read (`None` when it is one), following links.
/// Nothing is opened, so a FIFO never blocks.
fn not_a_file(path: &Path) -> Option<String> {
    let link = std::fs::symlink_metadata(path)
        .ok()
        .is_some_and(|m| m.file_type().is_symlink());
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(m) => Some(describe_type(&m.file_type(), link)),
        Err(e) if link && e.kind() == std::io::ErrorKind::NotFound => Some(format!(
            "a symbolic link to `{}`, which does not exist",
            std::fs::read_link(path).map_or_else(|_| "?".to_owned(), |t| t.display().to_string())
        )),
        Err(e) if link => Some(format!("a symbolic link that cannot be followed ({e})")),
        // Missing or unreadable: the read reports it.
        Err(_) => None,
    }
}

fn describe_type(t: &std::fs::FileType, link: bool) -> String {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt as _;
    let what = if t.is_dir() {
        "a folder"
    } else {
        #[cfg(unix)]
        let special = if t.is_fifo() {
            "a FIFO (named pipe)"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else {
            "not a regular file"
        };
        #[cfg(not(unix))]
        let special = "not a regular file";
        special
    };
    if link {
        format!("a symbolic link to {what}")
    } else {
        what.to_owned()
    }
}

fn read_text(path: &Path) -> Result<(RevisionKind, String), FileError> {
    let kind = RevisionKind::from_path(path).ok_or_else(|| FileError::UnsupportedFile {
        path: path.to_path_buf(),
    })?;
    if let Some(what) = not_a_file(path) {
        return Err(FileError::NotAFile {
            path: path.to_path_buf(),
            what,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((kind, text))
}

/// Reads only the header of a revision file (fast path: the op bodies are not parsed
/// unless the header uses an unusual TOML form).
pub fn read_header(path: &Path) -> Result<RevisionFile, FileError> {
    let (kind, text) = read_text(path)?;
    parse_header_str(path, kind, &text)
}

/// [`read_header`] on text already in memory; `path` is used for the result and errors.
pub fn parse_header_str(
    path: &Path,
    kind: RevisionKind,
    text: &str,
) -> Result<RevisionFile, FileError> {
    match kind {
        RevisionKind::Sql => sql::parse_sql(path, text, true).map(|(file, _)| file),
        RevisionKind::Toml => {
            if let Some(entries) = header::scan_toml_header(text)
                && entries.iter().any(|e| e.key == "revision")
            {
                return header::finish(path, kind, entries);
            }
            toml_body::parse_toml(path, text, true).map(|(file, _)| file)
        }
    }
}

/// Reads a revision file with its ops, as used when applying it.
pub fn read_full(path: &Path) -> Result<(RevisionFile, RevisionBody), FileError> {
    let (kind, text) = read_text(path)?;
    parse_str(path, kind, &text)
}

/// [`read_full`] on text already in memory; `path` is used for the result and errors.
pub fn parse_str(
    path: &Path,
    kind: RevisionKind,
    text: &str,
) -> Result<(RevisionFile, RevisionBody), FileError> {
    match kind {
        RevisionKind::Toml => toml_body::parse_toml(path, text, false),
        RevisionKind::Sql => sql::parse_sql(path, text, false),
    }
}

/// Reads the headers of every revision file in `versions_dir`, sorted by file name.
///
/// Considers `*.toml` and `*.sql` files whose name does not start with `.`; everything
/// else (README, `__pycache__`, editor backups) is ignored. Such a name that is no
/// regular file (a dangling link, a link loop, a FIFO, a folder) is an error, and is
/// never opened. Collects every problem
/// instead of stopping at the first: unreadable or invalid files, a file name whose
/// prefix (before the first `_`) is not its `revision`, two files with one revision.
pub fn scan_dir(versions_dir: &Path) -> Result<Vec<RevisionFile>, Vec<FileError>> {
    let io_error = |source| {
        vec![FileError::Io {
            path: versions_dir.to_path_buf(),
            source,
        }]
    };
    let mut paths = Vec::new();
    let mut odd = Vec::new();
    for entry in std::fs::read_dir(versions_dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || RevisionKind::from_path(Path::new(name)).is_none() {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_file() => paths.push(path),
            // Links, FIFOs, sockets, folders: reported, never opened (a FIFO blocks).
            _ => match not_a_file(&path) {
                None => paths.push(path),
                Some(what) => odd.push(FileError::NotAFile { path, what }),
            },
        }
    }
    paths.sort();
    odd.sort_by(|a, b| a.path().cmp(&b.path()));

    let results = read_headers(&paths);
    let mut files: Vec<RevisionFile> = Vec::with_capacity(paths.len());
    let mut errors = odd;
    let mut seen: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
    for result in results {
        match result {
            Err(e) => errors.push(e),
            Ok(file) => {
                let stem = file.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                let prefix = stem.split_once('_').map_or(stem, |(p, _)| p);
                if prefix != file.revision {
                    errors.push(FileError::FileNameMismatch {
                        path: file.path.clone(),
                        revision: file.revision.clone(),
                        extension: file.kind.extension(),
                    });
                } else if let Some(other) = seen.get(&file.revision) {
                    errors.push(FileError::DuplicateRevision {
                        path: file.path.clone(),
                        revision: file.revision.clone(),
                        other: other.clone(),
                    });
                } else {
                    seen.insert(file.revision.clone(), file.path.clone());
                    files.push(file);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// Reads headers in order; large directories are split across two threads (the
/// machines this targets have two cores and reading is mostly syscalls).
fn read_headers(paths: &[PathBuf]) -> Vec<Result<RevisionFile, FileError>> {
    const PARALLEL_FROM: usize = 256;
    if paths.len() < PARALLEL_FROM {
        return paths.iter().map(|p| read_header(p)).collect();
    }
    let (first, second) = paths.split_at(paths.len() / 2);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| second.iter().map(|p| read_header(p)).collect::<Vec<_>>());
        let mut results: Vec<_> = first.iter().map(|p| read_header(p)).collect();
        match handle.join() {
            Ok(rest) => results.extend(rest),
            // A panic in the helper thread is a bug; read those files here instead.
            Err(_) => results.extend(second.iter().map(|p| read_header(p))),
        }
        results
    })
}

/// sha256 of a file's bytes as lowercase hex, with CRLF normalised to LF so a checkout
/// on Windows does not change the checksum recorded in the history table.
pub fn checksum(bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let mut start = 0;
    for (i, pair) in bytes.windows(2).enumerate() {
        if pair == b"\r\n" {
            hasher.update(&bytes[start..i]);
            start = i + 1;
        }
    }
    hasher.update(&bytes[start..]);
    hex(&hasher.finalize())
}

/// sha256 of a revision's ops (upgrade and downgrade, as parsed): what a run does.
/// Two files that differ only in their message, date, comments or layout have the
/// same ops checksum, which is how `validate --repair` tells a harmless edit of an
/// applied revision from a changed migration.
pub fn ops_checksum(body: &RevisionBody) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    hex(&Sha256::digest(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The file-name slug of a message: lowercase words joined by `_`, cut at a word
/// boundary to at most 40 characters (Alembic's default); empty for an empty message.
pub fn slugify(message: &str) -> String {
    const MAX: usize = 40;
    let mut slug = String::new();
    for word in message
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        let extra = word.chars().count() + usize::from(!slug.is_empty());
        if slug.chars().count() + extra > MAX {
            if slug.is_empty() {
                slug = word.chars().take(MAX).collect();
            }
            break;
        }
        if !slug.is_empty() {
            slug.push('_');
        }
        slug.push_str(&word);
    }
    slug
}

/// `<rev>_<slug>.<ext>`, or `<rev>.<ext>` when the message has no slug.
pub fn file_name(revision: &str, message: &str, kind: RevisionKind) -> String {
    let slug = slugify(message);
    if slug.is_empty() {
        format!("{revision}.{}", kind.extension())
    } else {
        format!("{revision}_{slug}.{}", kind.extension())
    }
}

/// A fresh revision id: 12 hex characters from sha256 of the time, the process id, a
/// per-process counter and a stack address. Not cryptographic; callers that must
/// avoid a clash with existing files check the directory.
pub fn new_revision_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let local = 0u8;
    let mut hasher = Sha256::new();
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(count.to_le_bytes());
    hasher.update((std::ptr::addr_of!(local) as usize).to_le_bytes());
    hex(&hasher.finalize()[..6])
}

#[cfg(test)]
mod tests;
