//! The walker: which files under the discovery paths are inputs, and which of them are
//! worth parsing.
//!
//! Input: the discovery roots, `EXCLUDE_PATHS`, the migrations folder. Output: every
//! `.py` and `.sql` file under the roots, sorted by path, with its size and modification
//! time (nothing is read here). The walk is parallel (`ignore::WalkParallel`), honours
//! `.gitignore`/`.ignore` files even outside a git repository, skips hidden entries, and
//! never enters the migrations folder. Exclusions match whole path components or globs,
//! never substrings: `env` excludes a folder called `env`, not `models/envelope.py`.
//!
//! [`prefilter`] is the cheap byte test that decides which Python files can define
//! models and are parsed up front; other Python files are parsed only when a model
//! file imports them.

use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

use crate::diagnostic::Diagnostic;

/// The kind of an input file, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// `.py`
    Python,
    /// `.sql`
    Sql,
}

/// One input file found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkedFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Path relative to the project root (or absolute when outside it), for messages.
    pub rel: PathBuf,
    pub kind: FileKind,
    pub len: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u128,
}

/// Where to look and what to leave out.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub project_root: PathBuf,
    /// Absolute folders (or single files) to search.
    pub roots: Vec<PathBuf>,
    /// `EXCLUDE_PATHS` entries as configured.
    pub exclude: Vec<String>,
    /// Always excluded (the migrations folder), absolute.
    pub always_exclude: Vec<PathBuf>,
}

/// `EXCLUDE_PATHS`, compiled.
///
/// An entry with glob characters (`*?[{`) is a glob matched against the path relative to
/// the project root (`**/generated/*.py`); an entry with a `/` is a relative path whose
/// components must start the file's relative path (`app/legacy`); any other entry names
/// one path component (`venv`) anywhere below the root.
#[derive(Debug, Clone)]
pub struct Exclusions {
    components: Vec<String>,
    prefixes: Vec<PathBuf>,
    globs: GlobSet,
    absolute: Vec<PathBuf>,
}

/// A bad `EXCLUDE_PATHS` entry.
#[derive(Debug, thiserror::Error)]
#[error("Invalid `EXCLUDE_PATHS` glob `{pattern}`: {source}")]
pub struct PatternError {
    pub pattern: String,
    #[source]
    pub source: globset::Error,
}

impl Exclusions {
    /// Compiles the entries; `always` are absolute folders excluded whatever the entries say.
    pub fn new(entries: &[String], always: &[PathBuf]) -> Result<Self, PatternError> {
        let mut components = Vec::new();
        let mut prefixes = Vec::new();
        let mut globs = GlobSetBuilder::new();
        for entry in entries {
            let entry = entry.trim().trim_end_matches('/');
            if entry.is_empty() {
                continue;
            }
            if entry.contains(['*', '?', '[', '{']) {
                let glob = Glob::new(entry).map_err(|source| PatternError {
                    pattern: entry.to_owned(),
                    source,
                })?;
                globs.add(glob);
                // `build/*` should also exclude what lies below `build/x/`.
                if let Ok(deeper) = Glob::new(&format!("{entry}/**")) {
                    globs.add(deeper);
                }
            } else if entry.contains('/') {
                prefixes.push(PathBuf::from(entry.trim_start_matches("./")));
            } else {
                components.push(entry.to_owned());
            }
        }
        let globs = globs.build().map_err(|source| PatternError {
            pattern: entries.join(","),
            source,
        })?;
        Ok(Exclusions {
            components,
            prefixes,
            globs,
            absolute: always.to_vec(),
        })
    }

    /// True when `path` (absolute; `rel` relative to the project root) is excluded.
    pub fn excludes(&self, path: &Path, rel: &Path) -> bool {
        if self.absolute.iter().any(|a| path.starts_with(a)) {
            return true;
        }
        let is_component = |c: Component<'_>| match c {
            Component::Normal(name) => self.components.iter().any(|x| name == x.as_str()),
            _ => false,
        };
        if rel.components().any(is_component) {
            return true;
        }
        if self.prefixes.iter().any(|p| rel.starts_with(p)) {
            return true;
        }
        !self.globs.is_empty() && self.globs.is_match(rel)
    }
}

/// True for another tool's migration scripts, which are never models: an Alembic
/// script directory (`env.py` beside `versions/`) and a Django `migrations` package.
pub fn is_migration_scripts(dir: &Path) -> bool {
    if dir.join("env.py").is_file() && dir.join("versions").is_dir() {
        return true;
    }
    dir.file_name().is_some_and(|n| n == "migrations") && dir.join("__init__.py").is_file() && {
        // Django names its files `0001_initial.py`; a package of models that happens to
        // be called `migrations` has none.
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.len() > 5
                    && name.ends_with(".py")
                    && name.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            })
        })
    }
}

/// Walks the roots in parallel and returns the input files, sorted by `rel`.
///
/// Missing roots and unreadable entries become diagnostics; the caller decides that
/// they make discovery fail.
pub fn walk(opts: &WalkOptions) -> Result<(Vec<WalkedFile>, Vec<Diagnostic>), PatternError> {
    let exclusions = Exclusions::new(&opts.exclude, &opts.always_exclude)?;
    let mut diagnostics = Vec::new();
    let mut roots = Vec::new();
    for root in &opts.roots {
        if root.exists() {
            roots.push(root.clone());
        } else {
            diagnostics.push(
                Diagnostic::error(
                    "DSC001",
                    format!(
                        "Discovery path `{}` does not exist",
                        relative(&opts.project_root, root).display()
                    ),
                )
                .hint("Fix `MODEL_DISCOVERY_PATHS` in the configuration (`:`-separated, relative to the project root)"),
            );
        }
    }
    let Some((first, rest)) = roots.split_first() else {
        return Ok((Vec::new(), diagnostics));
    };
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    let root_dir = opts.project_root.clone();
    let filter_exclusions = exclusions.clone();
    builder
        .hidden(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            let rel = relative(&root_dir, entry.path());
            if filter_exclusions.excludes(entry.path(), &rel) {
                return false;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && entry.depth() > 0 && is_migration_scripts(entry.path()))
        });
    let found = Mutex::new(Vec::new());
    let problems = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            match entry {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|t| t.is_file());
                    let kind = match entry.path().extension().and_then(|e| e.to_str()) {
                        Some("py") => Some(FileKind::Python),
                        Some("sql") => Some(FileKind::Sql),
                        _ => None,
                    };
                    if let (true, Some(kind)) = (is_file, kind) {
                        let meta = entry.metadata().ok();
                        let path = entry.path().to_path_buf();
                        let file = WalkedFile {
                            rel: relative(&opts.project_root, &path),
                            path,
                            kind,
                            len: meta.as_ref().map_or(0, |m| m.len()),
                            mtime_ns: meta
                                .and_then(|m| m.modified().ok())
                                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                                .map_or(0, |d| d.as_nanos()),
                        };
                        found.lock().expect("walker lock poisoned").push(file);
                    }
                }
                Err(err) => {
                    problems
                        .lock()
                        .expect("walker lock poisoned")
                        .push(err.to_string());
                }
            }
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().expect("walker lock poisoned");
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    files.dedup_by(|a, b| a.path == b.path);
    for problem in problems.into_inner().expect("walker lock poisoned") {
        diagnostics.push(
            Diagnostic::error("DSC002", format!("Cannot read a discovery path: {problem}"))
                .hint("Fix the permissions, or add the folder to `EXCLUDE_PATHS`"),
        );
    }
    Ok((files, diagnostics))
}

/// `path` relative to `root` when it lies below it, else `path` itself.
pub fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The words that make a Python file worth parsing for models.
const NEEDLES: &[&[u8]] = &[
    b"sqlalchemy",
    b"sqlmodel",
    b"SQLModel",
    b"__tablename__",
    b"__table__",
    b"Table(",
    b"Column(",
    b"mapped_column(",
    b"Model)",
    b"Index(",
];

/// True when a Python file can define tables: it mentions SQLAlchemy, SQLModel,
/// `__tablename__`, `Table(`, `Column(`, `db.Model` ... A file that fails this test
/// defines no table itself, but may still be read when a model file imports it.
pub fn prefilter(bytes: &[u8]) -> bool {
    NEEDLES
        .iter()
        .any(|needle| memchr::memmem::find(bytes, needle).is_some())
}

#[cfg(test)]
mod tests {
    #[test]
    fn other_tools_migration_folders_are_not_walked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for (rel, text) in [
            ("app/models.py", "x = 1\n"),
            ("app/alembic/env.py", "x = 1\n"),
            ("app/alembic/versions/abc_init.py", "x = 1\n"),
            ("shop/migrations/__init__.py", ""),
            ("shop/migrations/0001_initial.py", "x = 1\n"),
            ("billing/migrations/__init__.py", ""),
            ("billing/migrations/tables.py", "x = 1\n"),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let (files, _) = super::walk(&super::WalkOptions {
            project_root: root.to_path_buf(),
            roots: vec![root.to_path_buf()],
            exclude: Vec::new(),
            always_exclude: Vec::new(),
        })
        .expect("walk");
        let rels: Vec<String> = files
            .iter()
            .map(|f| f.rel.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(
            rels,
            [
                "app/models.py",
                "billing/migrations/__init__.py",
                "billing/migrations/tables.py"
            ]
        );
    }

    use super::*;

    fn opts(root: &Path, exclude: &[&str]) -> WalkOptions {
        WalkOptions {
            project_root: root.to_path_buf(),
            roots: vec![root.to_path_buf()],
            exclude: exclude.iter().map(|s| (*s).to_owned()).collect(),
            always_exclude: vec![root.join("migrations")],
        }
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn rels(files: &[WalkedFile]) -> Vec<String> {
        files
            .iter()
            .map(|f| f.rel.to_string_lossy().replace('\\', "/"))
            .collect()
    }

    #[test]
    fn excludes_components_never_substrings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "models/envelope.py", "");
        write(root, "env/models.py", "");
        write(root, "app/env/x.py", "");
        write(root, "venvy/y.py", "");
        write(root, "migrations/versions/abc.py", "");
        write(root, "migrations/env.py", "");
        write(root, "schema.sql", "");
        write(root, "notes.txt", "");
        let (files, diags) = walk(&opts(root, &["env"])).expect("walk");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            rels(&files),
            ["models/envelope.py", "schema.sql", "venvy/y.py"]
        );
        assert_eq!(files[1].kind, FileKind::Sql);
    }

    #[test]
    fn excludes_relative_paths_and_globs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "app/legacy/a.py", "");
        write(root, "app/legacy_new/b.py", "");
        write(root, "app/gen/c_pb2.py", "");
        write(root, "app/gen/deep/d.py", "");
        write(root, "app/models.py", "");
        let (files, _) =
            walk(&opts(root, &["app/legacy", "**/*_pb2.py", "app/gen/deep"])).expect("walk");
        assert_eq!(rels(&files), ["app/legacy_new/b.py", "app/models.py"]);
    }

    #[test]
    fn honours_gitignore_without_a_repository_and_skips_hidden() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, ".gitignore", "generated/\n");
        write(root, "generated/a.py", "");
        write(root, ".venv/lib/sqlalchemy/b.py", "");
        write(root, "models.py", "");
        let (files, _) = walk(&opts(root, &[])).expect("walk");
        assert_eq!(rels(&files), ["models.py"]);
    }

    #[test]
    fn missing_root_is_a_diagnostic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut o = opts(dir.path(), &[]);
        o.roots = vec![dir.path().join("nope")];
        let (files, diags) = walk(&o).expect("walk");
        assert!(files.is_empty());
        assert_eq!(diags[0].code, "DSC001");
        assert!(diags[0].message.contains("`nope`"), "{}", diags[0].message);
    }

    #[test]
    fn bad_glob_is_an_error() {
        let err = Exclusions::new(&["a[".to_owned()], &[]).expect_err("bad glob");
        assert!(err.to_string().contains("`a[`"), "{err}");
    }

    #[test]
    fn prefilter_finds_model_files_only() {
        assert!(prefilter(b"from sqlalchemy import Column"));
        assert!(prefilter(b"class A(SQLModel, table=True): pass"));
        assert!(prefilter(b"class A(db.Model):\n    __tablename__ = 'a'"));
        assert!(prefilter(b"t = Table('t', md)"));
        assert!(!prefilter(b"import os\nprint('hello')\n"));
        assert!(!prefilter(b"class Status(enum.Enum):\n    A = 1\n"));
    }
}
