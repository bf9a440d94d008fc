//! Model discovery: project files -> [`Schema`].
//!
//! Input: a [`Request`] (discovery paths, `EXCLUDE_PATHS`, the migrations folder, the
//! backends, usually built from [`Settings`]). Output: a [`Discovery`] with every table
//! the models define, where each was defined, and warnings. The walker
//! ([`walk`]) lists the inputs in parallel, a byte prefilter picks the Python files
//! that can define models, and each backend reads them: `sqlalchemy` (static, no
//! Python needed), `sqlalchemy-import` (the project's own Python) and `sql`
//! (`CREATE TABLE` files).
//!
//! It refuses to return a partial schema: a file that does not parse, an expression
//! that cannot be evaluated, a failed import, two definitions of one table, or no table
//! at all make [`discover`] fail with [`Error::Invalid`] / [`Error::Empty`], carrying
//! every diagnostic, so `makemigrations` can never drop a table because a model file
//! was skipped.

pub mod cache;
pub mod import;
pub mod python;
pub mod sql;
pub mod walk;
pub mod wasm;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::diagnostic::{Diagnostic, Severity};
use crate::schema::{Schema, Table};
use walk::{FileKind, WalkOptions, WalkedFile};

/// Where a table is defined: a file relative to the project root, and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: PathBuf,
    pub line: usize,
}

/// A discovery backend (`BACKENDS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Static reading of SQLAlchemy / SQLModel / Flask-SQLAlchemy models.
    SqlAlchemy,
    /// Importing the models with the project's Python and reading `MetaData`.
    SqlAlchemyImport,
    /// `CREATE TABLE` / `CREATE INDEX` files.
    Sql,
    /// A discovery-backend component (`wasm:<path>`, relative to the project root).
    Wasm(wasm::Component),
}

impl Backend {
    /// Parses a `BACKENDS` entry.
    pub fn parse(name: &str) -> Result<Backend, Error> {
        if let Some(path) = crate::plugins::wasm_backend_path(name) {
            return Ok(Backend::Wasm(wasm::Component::new(path)));
        }
        match name.trim().to_ascii_lowercase().as_str() {
            "sqlalchemy" | "static" => Ok(Backend::SqlAlchemy),
            "sqlalchemy-import" | "import" => Ok(Backend::SqlAlchemyImport),
            "sql" => Ok(Backend::Sql),
            _ => Err(Error::UnknownBackend {
                name: name.trim().to_owned(),
            }),
        }
    }

    /// The name used in `BACKENDS`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::SqlAlchemy => "sqlalchemy",
            Backend::SqlAlchemyImport => "sqlalchemy-import",
            Backend::Sql => "sql",
            Backend::Wasm(_) => "wasm",
        }
    }
}

/// What to discover.
#[derive(Debug, Clone)]
pub struct Request {
    pub project_root: PathBuf,
    /// Absolute folders to search.
    pub paths: Vec<PathBuf>,
    /// `EXCLUDE_PATHS` entries.
    pub exclude: Vec<String>,
    /// `SOURCE_ROOTS`: folders (relative to the project root) imports resolve in.
    pub source_roots: Vec<PathBuf>,
    /// `STATIC_VALUES`: `module.NAME=<literal>` entries static discovery takes as given.
    pub static_values: Vec<String>,
    /// Never searched (migration scripts are not models).
    pub migrations_dir: PathBuf,
    pub backends: Vec<Backend>,
    /// Serve an unchanged project from `.sqlalembic/cache/discovery/` and store results.
    pub use_cache: bool,
    /// The interpreter of the `sqlalchemy-import` backend.
    pub python: PathBuf,
    /// How long the `sqlalchemy-import` backend may take.
    pub import_timeout: std::time::Duration,
}

impl Request {
    /// The request the configuration describes.
    pub fn from_settings(settings: &Settings) -> Result<Request, Error> {
        let mut backends = Vec::new();
        for name in &settings.discovery.backends {
            if name.trim().is_empty() {
                continue;
            }
            let b = wasm::configure(Backend::parse(name)?, settings);
            if !backends.contains(&b) {
                backends.push(b);
            }
        }
        if backends.is_empty() {
            backends.push(Backend::SqlAlchemy);
        }
        Ok(Request {
            project_root: settings.project_root.clone(),
            paths: settings.discovery_paths(),
            exclude: settings.discovery.exclude.clone(),
            source_roots: settings.discovery.source_roots.clone(),
            static_values: settings.discovery.static_values.clone(),
            migrations_dir: settings.migrations_dir(),
            backends,
            use_cache: true,
            // `PYTHON` (also `SQLALEMBIC_PYTHON` in the environment) is a setting.
            python: import::default_python(
                &settings.project_root,
                settings.discovery.python.as_ref().map(|p| {
                    // A bare name (`python3.12`) is looked up on PATH; a path is
                    // relative to the project root.
                    if p.components().count() == 1 {
                        p.clone().into_os_string()
                    } else {
                        settings.resolve(p).into_os_string()
                    }
                }),
            ),
            import_timeout: std::time::Duration::from_secs(120),
        })
    }
}

/// Counters for people and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Input files found by the walk.
    pub files: usize,
    /// Python files that passed the prefilter.
    pub candidates: usize,
    /// Served from the cache.
    pub cached: bool,
    /// Model modules of the `sqlalchemy` backend evaluated in this run.
    pub modules_evaluated: usize,
    /// Model modules of the `sqlalchemy` backend served from the cache (all of them
    /// when the whole result was).
    pub modules_cached: usize,
    pub elapsed_ms: u128,
}

/// The discovered models.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Tables sorted by (schema, name), constraints in a canonical order.
    pub schema: Schema,
    /// Where each table of `schema.tables` is defined (same order).
    pub sources: Vec<SourceLocation>,
    /// Warnings and notes (never errors: those make discovery fail).
    pub diagnostics: Vec<Diagnostic>,
    pub stats: Stats,
}

/// Why discovery produced no schema.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Unknown discovery backend `{name}`: expected `sqlalchemy`, `sqlalchemy-import`, `sql` or `wasm:<path>`"
    )]
    UnknownBackend { name: String },
    #[error(transparent)]
    Pattern(#[from] walk::PatternError),
    #[error("Invalid `STATIC_VALUES` entry: {message}")]
    StaticValues { message: String },
    /// The models have errors; `partial` is what could be read, for listings only.
    #[error("Model discovery failed with {count} error(s); no schema was produced", count = .diagnostics.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid {
        diagnostics: Vec<Diagnostic>,
        partial: Box<Discovery>,
    },
    /// Nothing defines a table.
    #[error("No models found in {paths}")]
    Empty {
        paths: String,
        diagnostics: Vec<Diagnostic>,
        stats: Stats,
    },
}

impl Error {
    /// What a stopped discovery did get: how many tables were resolved and which files
    /// could not be, grouped by cause (the message with its names left out), most
    /// frequent first.
    pub fn summary(&self) -> Option<String> {
        let Error::Invalid {
            diagnostics,
            partial,
        } = self
        else {
            return None;
        };
        let mut causes: Vec<(String, String, std::collections::BTreeSet<String>, usize)> =
            Vec::new();
        for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
            let cause = generic_message(&d.message);
            let file = d
                .path
                .as_ref()
                .map_or_else(|| "(no file)".to_owned(), |p| p.display().to_string());
            match causes
                .iter_mut()
                .find(|(code, c, _, _)| *code == d.code && *c == cause)
            {
                Some((_, _, files, n)) => {
                    files.insert(file);
                    *n += 1;
                }
                None => causes.push((d.code.clone(), cause, [file].into(), 1)),
            }
        }
        causes.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.0.cmp(&b.0)));
        let files: std::collections::BTreeSet<&String> = causes.iter().flat_map(|c| &c.2).collect();
        let mut out = format!(
            "{} table(s) were resolved; {} file(s) could not be, by cause:",
            partial.schema.tables.len(),
            files.len()
        );
        for (code, cause, files, n) in &causes {
            let shown: Vec<&str> = files.iter().take(3).map(String::as_str).collect();
            let more = if files.len() > 3 {
                format!(" and {} more", files.len() - 3)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "\n  {n} x {code} {cause} ({}{more})",
                shown.join(", ")
            ));
        }
        Some(out)
    }

    /// The diagnostics behind the error.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Invalid { diagnostics, .. } | Error::Empty { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}

/// A message with its backticked names left out: `Cannot resolve the name `x`` and
/// `Cannot resolve the name `y`` are one cause.
fn generic_message(message: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in message.chars() {
        if c == '`' {
            if !inside {
                out.push_str("`…`");
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// A file read for discovery.
struct Loaded {
    file: WalkedFile,
    candidate: bool,
    /// Read now for model candidates whose fingerprint changed; else read on demand.
    text: Option<String>,
    sha256: String,
    /// The fingerprint came from the manifest (the file was not read).
    reused: bool,
    problem: Option<Diagnostic>,
}

/// Discovers the models `req` describes.
pub fn discover(req: &Request) -> Result<Discovery, Error> {
    let started = Instant::now();
    let static_values = python::StaticValues::parse(&req.static_values)
        .map_err(|message| Error::StaticValues { message })?;
    let (files, mut diagnostics) = walk::walk(&WalkOptions {
        project_root: req.project_root.clone(),
        roots: req.paths.clone(),
        exclude: req.exclude.clone(),
        always_exclude: vec![req.migrations_dir.clone()],
    })?;
    let mut manifest = if req.use_cache {
        cache::Manifest::load(&req.project_root)
    } else {
        cache::Manifest::default()
    };
    tracing::debug!(
        files = files.len(),
        ms = started.elapsed().as_millis(),
        "Discovery walk done"
    );
    let loaded = load(files, &manifest);
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "Discovery inputs fingerprinted"
    );
    let mut stats = Stats {
        files: loaded.len(),
        candidates: loaded.iter().filter(|l| l.candidate).count(),
        cached: false,
        modules_evaluated: 0,
        modules_cached: 0,
        elapsed_ms: 0,
    };
    let fingerprints: Vec<(String, String)> = loaded
        .iter()
        .map(|l| (rel_key(&l.file), l.sha256.clone()))
        .collect();
    let key = wasm::cache_key(req, &cache::key(req, &fingerprints));
    // Rewritten only when a file was read, added or removed.
    let manifest_stale = loaded.iter().any(|l| !l.reused) || manifest.files.len() != loaded.len();
    if req.use_cache && manifest_stale {
        manifest.files = loaded
            .iter()
            .filter(|l| l.problem.is_none())
            .map(|l| {
                (
                    rel_key(&l.file),
                    cache::Entry {
                        len: l.file.len,
                        mtime_ns: l.file.mtime_ns,
                        sha256: l.sha256.clone(),
                        candidate: l.candidate,
                    },
                )
            })
            .collect();
        // The cache is an optimisation: failing to write it is not a discovery error.
        let _ = manifest.save(&req.project_root);
    }
    if req.use_cache
        && diagnostics.is_empty()
        && let Some(stored) = cache::load(&req.project_root, &key)
        && {
            let outside = cache::Outside::new(&req.project_root);
            stored
                .outside
                .iter()
                .all(|(k, sha)| outside.unchanged(k, sha))
        }
    {
        stats.cached = true;
        if req.backends.contains(&Backend::SqlAlchemy) {
            stats.modules_cached = loaded
                .iter()
                .filter(|l| l.file.kind == FileKind::Python && l.candidate)
                .count();
        }
        count_component_files(&mut stats, &loaded, &stored.sources);
        stats.elapsed_ms = started.elapsed().as_millis();
        let discovery = Discovery {
            schema: Schema {
                tables: stored.tables,
            },
            sources: stored.sources,
            diagnostics: Vec::new(),
            stats,
        };
        return finish(req, discovery);
    }
    let mut found: Vec<(Table, SourceLocation)> = Vec::new();
    // Units to store when discovery succeeds: `Some` when any changed.
    let mut units_to_store: Option<HashMap<String, cache::UnitEntry>> = None;
    let mut outside_files: Vec<(String, String)> = Vec::new();
    for backend in &req.backends {
        match backend {
            Backend::SqlAlchemy => {
                let mut inputs = Vec::new();
                let mut python_files = Vec::new();
                for l in &loaded {
                    if l.file.kind != FileKind::Python {
                        continue;
                    }
                    if let Some(p) = &l.problem {
                        diagnostics.push(p.clone());
                    }
                    python_files.push(rel_key(&l.file));
                    inputs.push(python::Input {
                        path: l.file.path.clone(),
                        rel: l.file.rel.clone(),
                        candidate: l.candidate,
                        text: l.text.clone(),
                        sha256: (l.problem.is_none()).then(|| l.sha256.clone()),
                    });
                }
                let units = python_units(
                    req,
                    &loaded,
                    &python_files,
                    inputs,
                    &static_values,
                    &mut stats,
                );
                tracing::debug!(ms = started.elapsed().as_millis(), "Python models read");
                diagnostics.extend(units.diagnostics);
                found.extend(units.found.into_iter().map(|f| (f.table, f.source)));
                units_to_store = units.store;
                outside_files = units.outside;
            }
            Backend::SqlAlchemyImport => {
                let modules: Vec<import::Module> = loaded
                    .iter()
                    .filter(|l| l.file.kind == FileKind::Python && l.candidate)
                    .filter_map(|l| {
                        Some(import::Module {
                            name: import::module_name(&l.file.rel)?,
                            rel: l.file.rel.clone(),
                        })
                    })
                    .collect();
                let (tables, diags) =
                    import::discover(&req.project_root, &req.python, &modules, req.import_timeout);
                diagnostics.extend(diags);
                found.extend(tables);
            }
            Backend::Sql => {
                let mut texts = Vec::new();
                for l in loaded.iter().filter(|l| l.file.kind == FileKind::Sql) {
                    if let Some(p) = &l.problem {
                        diagnostics.push(p.clone());
                        continue;
                    }
                    let text = match &l.text {
                        Some(t) => t.clone(),
                        None => match std::fs::read_to_string(&l.file.path) {
                            Ok(t) => t,
                            Err(e) => {
                                diagnostics.push(
                                    Diagnostic::error(
                                        "DSC002",
                                        format!("Cannot read the file: {e}"),
                                    )
                                    .at(
                                        l.file.rel.clone(),
                                        None,
                                        None,
                                    ),
                                );
                                continue;
                            }
                        },
                    };
                    texts.push((l.file.rel.as_path(), text));
                }
                let refs: Vec<(&std::path::Path, &str)> =
                    texts.iter().map(|(p, t)| (*p, t.as_str())).collect();
                let (tables, diags) = sql::discover(&refs);
                diagnostics.extend(diags);
                found.extend(tables);
            }
            Backend::Wasm(component) => {
                let (tables, diags) = wasm::discover(req, component);
                diagnostics.extend(diags);
                found.extend(tables);
            }
        }
    }
    diagnostics.extend(duplicates(&found));
    found.sort_by(|a, b| {
        (a.0.schema.as_deref(), a.0.name.as_str()).cmp(&(b.0.schema.as_deref(), b.0.name.as_str()))
    });
    let (tables, sources): (Vec<Table>, Vec<SourceLocation>) = found
        .into_iter()
        .map(|(mut t, s)| {
            normalize(&mut t);
            (t, s)
        })
        .unzip();
    count_component_files(&mut stats, &loaded, &sources);
    stats.elapsed_ms = started.elapsed().as_millis();
    let discovery = Discovery {
        schema: Schema { tables },
        sources,
        diagnostics,
        stats,
    };
    let discovery = finish(req, discovery)?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "Discovery result checked"
    );
    // Only a clean result is stored: an error, even a warning, is shown again next time.
    if req.use_cache && discovery.diagnostics.is_empty() {
        if let Some(units) = &units_to_store {
            let _ = cache::store_units(&req.project_root, units);
        }
        // The wasm backends' results are stored by now: key them as they are.
        let key = wasm::cache_key(req, &cache::key(req, &fingerprints));
        let _ = cache::store(
            &req.project_root,
            &key,
            &discovery.schema.tables,
            &discovery.sources,
            &outside_files,
        );
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "Discovery result cached"
        );
    }
    Ok(discovery)
}

fn rel_key(f: &WalkedFile) -> String {
    path_key(&f.rel)
}

fn path_key(rel: &std::path::Path) -> String {
    rel.to_string_lossy().replace('\\', "/")
}

/// The `sqlalchemy` backend's result, with the units to cache.
struct PythonUnits {
    found: Vec<python::Found>,
    diagnostics: Vec<Diagnostic>,
    /// Every unit to store when discovery succeeds; `None` when the stored ones are
    /// still exactly right (or the cache is off).
    store: Option<HashMap<String, cache::UnitEntry>>,
    /// Files read outside the walk, with their sha256.
    outside: Vec<(String, String)>,
}

/// Runs the `sqlalchemy` backend, reusing every cached unit whose inputs are unchanged.
fn python_units(
    req: &Request,
    loaded: &[Loaded],
    python_files: &[String],
    inputs: Vec<python::Input>,
    static_values: &python::StaticValues,
    stats: &mut Stats,
) -> PythonUnits {
    let context = cache::unit_context(req, python_files);
    let outside = cache::Outside::new(&req.project_root);
    let shas: HashMap<String, &str> = loaded
        .iter()
        .filter(|l| l.file.kind == FileKind::Python && l.problem.is_none())
        .map(|l| (rel_key(&l.file), l.sha256.as_str()))
        .collect();
    let mut stored = if req.use_cache {
        cache::load_units(&req.project_root)
    } else {
        HashMap::new()
    };
    let stored_count = stored.len();
    let mut kept_deps: HashMap<PathBuf, Vec<(String, String)>> = HashMap::new();
    let mut reused = HashMap::new();
    for l in loaded {
        if l.file.kind != FileKind::Python || !l.candidate || l.problem.is_some() {
            continue;
        }
        let Some(entry) = stored.remove(&rel_key(&l.file)) else {
            continue;
        };
        let fresh = entry.context == context
            && entry.deps.iter().all(|(rel, sha)| match shas.get(rel) {
                Some(s) => *s == sha,
                None => outside.unchanged(rel, sha),
            });
        if fresh {
            kept_deps.insert(l.file.rel.clone(), entry.deps);
            reused.insert(l.file.rel.clone(), entry.output);
        }
    }
    let roots = python::roots::detect(&req.project_root, &req.source_roots, &req.python);
    let outcome = python::discover(inputs, roots, static_values, reused);
    stats.modules_cached = outcome.units.iter().filter(|u| u.deps.is_none()).count();
    stats.modules_evaluated = outcome.units.len() - stats.modules_cached;
    tracing::debug!(
        evaluated = stats.modules_evaluated,
        cached = stats.modules_cached,
        "Model modules evaluated"
    );
    // Files read outside the walk, for the whole-result cache to check.
    let mut outside_deps: Vec<(String, String)> = outcome
        .units
        .iter()
        .flat_map(|u| match &u.deps {
            Some(d) => d
                .iter()
                .map(|(p, sha)| (path_key(p), sha.clone()))
                .collect::<Vec<_>>(),
            None => kept_deps.get(&u.rel).cloned().unwrap_or_default(),
        })
        .filter(|(key, _)| !shas.contains_key(key))
        .collect();
    outside_deps.sort();
    outside_deps.dedup();
    let changed = stats.modules_evaluated > 0 || kept_deps.len() != stored_count;
    let store = (req.use_cache && changed).then(|| {
        let mut out = HashMap::new();
        for u in outcome.units {
            // A unit with diagnostics is evaluated again next time.
            if !u.output.diagnostics.is_empty() {
                continue;
            }
            let deps = match u.deps {
                None => kept_deps.remove(&u.rel),
                Some(deps) => Some(
                    deps.iter()
                        .map(|(d, sha)| (path_key(d), sha.clone()))
                        .collect::<Vec<_>>(),
                ),
            };
            // A unit that read a file it cannot fingerprint is evaluated again next time.
            let deps = deps.filter(|d| d.iter().all(|(_, sha)| !sha.is_empty()));
            if let Some(deps) = deps {
                out.insert(
                    path_key(&u.rel),
                    cache::UnitEntry {
                        context: context.clone(),
                        deps,
                        output: u.output,
                    },
                );
            }
        }
        out
    });
    PythonUnits {
        found: outcome.found,
        diagnostics: outcome.diagnostics,
        store,
        outside: outside_deps,
    }
}

/// Applies the never-partial rules.
/// Counts the files that `wasm:` backends found tables in (their own kinds of files,
/// which the walk does not list) as input files with models.
fn count_component_files(stats: &mut Stats, loaded: &[Loaded], sources: &[SourceLocation]) {
    let walked: HashSet<&Path> = loaded.iter().map(|l| l.file.rel.as_path()).collect();
    let others: HashSet<&Path> = sources
        .iter()
        .map(|s| s.file.as_path())
        .filter(|file| !walked.contains(file))
        .collect();
    stats.files += others.len();
    stats.candidates += others.len();
}

fn finish(req: &Request, mut d: Discovery) -> Result<Discovery, Error> {
    dedup_diagnostics(&mut d.diagnostics);
    if d.diagnostics.iter().any(|x| x.severity == Severity::Error) {
        return Err(Error::Invalid {
            diagnostics: std::mem::take(&mut d.diagnostics),
            partial: Box::new(d),
        });
    }
    if d.schema.tables.is_empty() {
        let paths = req
            .paths
            .iter()
            .map(|p| format!("`{}`", walk::relative(&req.project_root, p).display()))
            .collect::<Vec<_>>()
            .join(", ");
        let paths = if paths == "``" {
            "the project root".to_owned()
        } else {
            paths
        };
        return Err(Error::Empty {
            paths,
            diagnostics: std::mem::take(&mut d.diagnostics),
            stats: d.stats,
        });
    }
    Ok(d)
}

fn dedup_diagnostics(diags: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| {
        seen.insert((
            d.path.clone(),
            d.line,
            d.col,
            d.code.clone(),
            d.message.clone(),
        ))
    });
}

/// Two definitions of one table are an error naming both places.
fn duplicates(found: &[(Table, SourceLocation)]) -> Vec<Diagnostic> {
    let mut first: HashMap<String, &SourceLocation> = HashMap::new();
    let mut out = Vec::new();
    for (table, source) in found {
        let name = table.qualified_name();
        match first.get(&name) {
            Some(prev) => out.push(
                Diagnostic::error("DSC005", format!("Table `{name}` is defined twice"))
                    .at(source.file.clone(), Some(source.line), None)
                    .hint(format!(
                        "The other definition is at {}:{}; rename one table, or exclude one file with `EXCLUDE_PATHS`",
                        prev.file.display(),
                        prev.line
                    )),
            ),
            None => {
                first.insert(name, source);
            }
        }
    }
    out
}

/// Puts a table's constraints in a canonical order, so every backend yields equal IR.
pub fn normalize(t: &mut Table) {
    t.indexes
        .sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    for ix in &mut t.indexes {
        if ix.table.is_empty() {
            ix.table.clone_from(&t.name);
        }
    }
    // Unique constraints keep SQLAlchemy's DDL order (those written in the table's
    // arguments, then the column flags' own): where two cover the same columns, SQLite
    // and Alembic's reflection tell them apart by that order.
    t.checks
        .sort_by(|a, b| (&a.name, &a.sqltext).cmp(&(&b.name, &b.sqltext)));
    t.foreign_keys.sort_by(|a, b| {
        (&a.name, &a.columns, &a.ref_table).cmp(&(&b.name, &b.columns, &b.ref_table))
    });
    // An unnamed primary key in column order says nothing the column flags do not.
    if let Some(pk) = &t.primary_key {
        let flagged: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.as_str())
            .collect();
        if pk.name.is_none() && pk.columns.iter().map(String::as_str).eq(flagged) {
            t.primary_key = None;
        }
    }
}

/// Fingerprints every input file in parallel: files unchanged since the last run are
/// not read; the others are hashed, prefiltered, and model candidates keep their text.
fn load(files: Vec<WalkedFile>, manifest: &cache::Manifest) -> Vec<Loaded> {
    let mut out: Vec<Loaded> = files
        .into_iter()
        .map(|file| Loaded {
            file,
            candidate: false,
            text: None,
            sha256: String::new(),
            reused: false,
            problem: None,
        })
        .collect();
    par_for_each_mut(&mut out, |l| {
        if let Some(e) = manifest.reuse(&rel_key(&l.file), l.file.len, l.file.mtime_ns) {
            l.sha256.clone_from(&e.sha256);
            l.candidate = e.candidate;
            l.reused = true;
            return;
        }
        let bytes = match std::fs::read(&l.file.path) {
            Ok(b) => b,
            Err(e) => {
                l.problem = Some(
                    Diagnostic::error("DSC002", format!("Cannot read the file: {e}")).at(
                        l.file.rel.clone(),
                        None,
                        None,
                    ),
                );
                return;
            }
        };
        l.sha256 = cache::sha256(&bytes);
        l.candidate = match l.file.kind {
            FileKind::Python => walk::prefilter(&bytes),
            FileKind::Sql => true,
        };
        if l.candidate {
            match String::from_utf8(bytes) {
                Ok(text) => l.text = Some(text),
                Err(_) => {
                    l.problem = Some(
                        Diagnostic::error("DSC003", "The file is not UTF-8 text")
                            .at(l.file.rel.clone(), None, None)
                            .hint("Save it as UTF-8, or exclude it with `EXCLUDE_PATHS`"),
                    );
                    l.candidate = false;
                }
            }
        }
    });
    out
}

fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(16)
}

/// The stack of a discovery thread: the Python evaluator recurses as deeply as the
/// model code it reads nests (its own depth limit keeps it within this).
pub(crate) const DISCOVERY_STACK: usize = 256 << 20;

/// Runs `f` on every item, on all cores.
pub(crate) fn par_for_each<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    let next = AtomicUsize::new(0);
    let n = workers().min(items.len().max(1));
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            f(item);
        }
    };
    std::thread::scope(|s| {
        let mut started = 0;
        for _ in 0..n {
            if std::thread::Builder::new()
                .name("discovery".into())
                .stack_size(DISCOVERY_STACK)
                .spawn_scoped(s, work)
                .is_ok()
            {
                started += 1;
            }
        }
        // No thread could be started (a tight ulimit): do the work here.
        if started == 0 {
            work();
        }
    });
}

/// Runs `f` on every item, on all cores, with mutable access (contiguous chunks).
pub(crate) fn par_for_each_mut<T: Send>(items: &mut [T], f: impl Fn(&mut T) + Sync) {
    let n = workers();
    let chunk = items.len().div_ceil(n * 8).max(1);
    let chunks = std::sync::Mutex::new(items.chunks_mut(chunk));
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {
                loop {
                    let next = chunks.lock().expect("chunk lock poisoned").next();
                    let Some(chunk) = next else { break };
                    chunk.iter_mut().for_each(&f);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests;
