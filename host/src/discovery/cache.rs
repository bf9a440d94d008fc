//! The discovery cache under `.sqlalembic/cache/discovery/`.
//!
//! Input: the walked files and the request. Output: the sha256 of every input file
//! (re-read only when its size or modification time changed, or when that time is too
//! recent to be trusted), and two levels of results:
//!
//! - the whole discovery under a key over every input file plus the tool version, the
//!   backends and their options: an unchanged project is one file read;
//! - per model module of the `sqlalchemy` backend, its [`UnitOutput`], valid while the
//!   sha256 of the module and of every module it read (imports, bases, mixins, enums,
//!   constants, helpers) is unchanged and the options and the set of Python files are
//!   the same: after an edit only the edited module and the modules that read it are
//!   evaluated again.
//!
//! Nothing from a failed discovery is stored; an entry that does not parse or whose
//! checksum does not match is ignored and rebuilt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::python::UnitOutput;
use super::{Request, SourceLocation};
use crate::schema::Table;

/// The folder of the discovery cache in a project.
pub fn dir(project_root: &Path) -> PathBuf {
    project_root
        .join(".sqlalembic")
        .join("cache")
        .join("discovery")
}

/// A file's fingerprint from the last run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub len: u64,
    pub mtime_ns: u128,
    pub sha256: String,
    pub candidate: bool,
}

/// Fingerprints by relative path.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub written_ns: u128,
    pub files: HashMap<String, Entry>,
}

/// Modification times this close to the manifest's writing are not trusted: the file
/// may have changed again within the clock's resolution.
const RACY_NS: u128 = 2_000_000_000;

impl Manifest {
    /// Loads the manifest; a missing or corrupt one is empty.
    pub fn load(project_root: &Path) -> Manifest {
        std::fs::read(dir(project_root).join("manifest.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// The fingerprint of `rel` when its size and time still match and can be trusted.
    pub fn reuse(&self, rel: &str, len: u64, mtime_ns: u128) -> Option<&Entry> {
        let e = self.files.get(rel)?;
        (e.len == len
            && e.mtime_ns == mtime_ns
            && mtime_ns != 0
            && mtime_ns + RACY_NS < self.written_ns)
            .then_some(e)
    }

    pub fn save(&mut self, project_root: &Path) -> std::io::Result<()> {
        self.written_ns = now_ns();
        let text = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        write_atomic(&dir(project_root).join("manifest.json"), &text)
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The cache key of a request over files `(rel, sha256)` (sorted by the caller).
pub fn key(req: &Request, files: &[(String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(b"sqlalembic-discovery-v1\0");
    h.update(crate::VERSION.as_bytes());
    for b in &req.backends {
        h.update(b"\0backend\0");
        h.update(b.name().as_bytes());
    }
    for p in &req.paths {
        h.update(b"\0path\0");
        h.update(p.to_string_lossy().as_bytes());
    }
    if req.backends.contains(&super::Backend::SqlAlchemyImport) {
        h.update(b"\0python\0");
        h.update(req.python.to_string_lossy().as_bytes());
    }
    for e in &req.exclude {
        h.update(b"\0exclude\0");
        h.update(e.as_bytes());
    }
    roots_and_values(&mut h, req);
    for (rel, sha) in files {
        h.update(b"\0file\0");
        h.update(rel.as_bytes());
        h.update(b"\0");
        h.update(sha.as_bytes());
    }
    hex(&h.finalize())
}

/// A stored discovery: the file is `<sha256 of the body>\n<JSON body>`, so damage is
/// found by hashing the bytes, before anything is parsed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stored {
    pub key: String,
    pub tables: Vec<Table>,
    pub sources: Vec<SourceLocation>,
    /// Files outside the walk that the models imported (library sources, project
    /// modules outside `MODEL_DISCOVERY_PATHS`), with their sha256: the key does not
    /// cover them, so each is checked when the result is loaded.
    #[serde(default)]
    pub outside: Vec<(String, String)>,
}

/// The sha256 of files outside the walk, each read at most once per run.
#[derive(Debug)]
pub struct Outside {
    root: PathBuf,
    seen: std::sync::Mutex<HashMap<String, Option<String>>>,
}

impl Outside {
    pub fn new(root: &Path) -> Self {
        Outside {
            root: root.to_path_buf(),
            seen: std::sync::Mutex::default(),
        }
    }

    /// True when the file `key` (relative to the project root, or absolute) still has
    /// the sha256 `sha`.
    pub fn unchanged(&self, key: &str, sha: &str) -> bool {
        let mut seen = self.seen.lock().expect("outside lock poisoned");
        let now = seen
            .entry(key.to_owned())
            .or_insert_with(|| std::fs::read(self.root.join(key)).ok().map(|b| sha256(&b)));
        now.as_deref() == Some(sha)
    }
}

/// The stored result for `key`, if present and intact.
pub fn load(project_root: &Path, key: &str) -> Option<Stored> {
    let bytes = std::fs::read(dir(project_root).join(format!("{key}.json"))).ok()?;
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let (sum, body) = (&bytes[..newline], &bytes[newline + 1..]);
    if sum != sha256(body).as_bytes() {
        return None;
    }
    let stored: Stored = serde_json::from_slice(body).ok()?;
    (stored.key == key && stored.sources.len() == stored.tables.len()).then_some(stored)
}

/// Stores a successful result under `key` (replacing older results).
pub fn store(
    project_root: &Path,
    key: &str,
    tables: &[Table],
    sources: &[SourceLocation],
    outside: &[(String, String)],
) -> std::io::Result<()> {
    let dir = dir(project_root);
    std::fs::create_dir_all(&dir)?;
    // One result per project: older keys can never be asked for again.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".json") && name != "manifest.json" && name != UNITS {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let body = serde_json::to_vec(&serde_json::json!({
        "key": key,
        "tables": tables,
        "sources": sources,
        "outside": outside,
    }))
    .map_err(std::io::Error::other)?;
    let mut bytes = sha256(&body).into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    write_atomic(&dir.join(format!("{key}.json")), &bytes)
}

const UNITS: &str = "units.json";

/// A model module's cached unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitEntry {
    /// [`unit_context`] when it was evaluated.
    pub context: String,
    /// `(relative path, sha256)` of every module it read, itself included.
    pub deps: Vec<(String, String)>,
    pub output: UnitOutput,
}

/// `SOURCE_ROOTS` and `STATIC_VALUES`: they change what a name resolves to.
fn roots_and_values(h: &mut Sha256, req: &Request) {
    for r in &req.source_roots {
        h.update(b"\0root\0");
        h.update(r.to_string_lossy().as_bytes());
    }
    for v in &req.static_values {
        h.update(b"\0value\0");
        h.update(v.trim().as_bytes());
    }
}

/// What every unit also depends on: tool version, backend, discovery options, and the
/// set of Python files (adding or removing one can change how imports resolve).
pub fn unit_context(req: &Request, python_files: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(b"sqlalembic-discovery-unit-v1\0");
    h.update(crate::VERSION.as_bytes());
    h.update(b"\0backend\0sqlalchemy");
    for p in &req.paths {
        h.update(b"\0path\0");
        h.update(p.to_string_lossy().as_bytes());
    }
    for e in &req.exclude {
        h.update(b"\0exclude\0");
        h.update(e.as_bytes());
    }
    roots_and_values(&mut h, req);
    for f in python_files {
        h.update(b"\0file\0");
        h.update(f.as_bytes());
    }
    hex(&h.finalize())
}

/// The cached units by relative path; missing or damaged means none.
pub fn load_units(project_root: &Path) -> HashMap<String, UnitEntry> {
    std::fs::read(dir(project_root).join(UNITS))
        .ok()
        .and_then(|bytes| {
            let newline = bytes.iter().position(|&b| b == b'\n')?;
            let (sum, body) = (&bytes[..newline], &bytes[newline + 1..]);
            if sum != sha256(body).as_bytes() {
                return None;
            }
            serde_json::from_slice(body).ok()
        })
        .unwrap_or_default()
}

/// Stores the units (replacing the previous ones), checksummed like results.
pub fn store_units(project_root: &Path, units: &HashMap<String, UnitEntry>) -> std::io::Result<()> {
    let body = serde_json::to_vec(units).map_err(std::io::Error::other)?;
    let mut bytes = sha256(&body).into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    write_atomic(&dir(project_root).join(UNITS), &bytes)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of `bytes` in hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnType};

    #[test]
    fn stores_loads_and_detects_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut t = Table::new("users");
        t.columns = vec![Column::primary("id", ColumnType::Integer)];
        let sources = vec![SourceLocation {
            file: "models.py".into(),
            line: 3,
        }];
        store(dir.path(), "abc", &[t.clone()], &sources, &[]).expect("store");
        let back = load(dir.path(), "abc").expect("cached");
        assert_eq!(back.tables, vec![t]);
        assert!(load(dir.path(), "other").is_none());
        let file = super::dir(dir.path()).join("abc.json");
        let text = std::fs::read_to_string(&file).expect("read");
        std::fs::write(&file, text.replace("users", "usurs")).expect("damage");
        assert!(
            load(dir.path(), "abc").is_none(),
            "checksum must catch the edit"
        );
        std::fs::write(&file, "{not json").expect("damage");
        assert!(load(dir.path(), "abc").is_none());
    }

    #[test]
    fn manifest_reuses_only_old_unchanged_files() {
        let mut m = Manifest {
            written_ns: 10_000_000_000,
            ..Manifest::default()
        };
        let e = Entry {
            len: 5,
            mtime_ns: 1_000_000_000,
            sha256: "x".into(),
            candidate: true,
        };
        m.files.insert("a.py".into(), e.clone());
        m.files.insert(
            "b.py".into(),
            Entry {
                mtime_ns: 9_000_000_000,
                ..e
            },
        );
        assert!(m.reuse("a.py", 5, 1_000_000_000).is_some());
        assert!(m.reuse("a.py", 6, 1_000_000_000).is_none());
        assert!(m.reuse("a.py", 5, 1_000_000_001).is_none());
        assert!(m.reuse("b.py", 5, 9_000_000_000).is_none(), "too recent");
    }
}
