//! The `wasm:<path>` discovery backend: a component of the `discovery-backend`
//! world (e.g. `plugins/prisma-discovery`), run in the plugin sandbox.
//!
//! Input: the [`Request`] and the component's path (relative to the project root).
//! Output: the tables it defines with their file and line, and its diagnostics, or
//! one error diagnostic naming the plugin when it failed or returned a malformed
//! table (then none of its tables count: never a partial schema).
//!
//! The component sees the files under the discovery paths, listed like the other
//! backends' inputs (hidden entries, `.gitignore`d files, `EXCLUDE_PATHS` and the
//! migrations folder left out) and read through `cap-std` handles of those paths
//! only. Its result is cached under `.sqlalembic/cache/discovery/wasm/`, keyed by the
//! component's sha256, the request, and every glob it listed and file it read: a
//! cached result is served while each glob lists the same files and each file has
//! the same contents, without instantiating the component. [`cache_key`] folds
//! those keys into the whole discovery's cache key.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::walk::{self, Exclusions};
use super::{Backend, Request, SourceLocation, cache};
use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::plugins::project::{self, Inputs, ProjectFiles, Root};
use crate::plugins::{self, DiscoveryComponent, Failed, Spec};
use crate::schema::Table;

/// A `wasm:` backend's component and how it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// As written after `wasm:`, relative to the project root.
    pub path: PathBuf,
    /// Its `[[plugins]]` entry's name, limits and settings, when one has its path;
    /// else it is named after its file and gets [`plugins::DISCOVERY_LIMITS`].
    pub configured: Option<Spec>,
}

impl Component {
    /// The component at `path`, with the default limits.
    pub fn new(path: PathBuf) -> Component {
        Component {
            path,
            configured: None,
        }
    }
}

/// `backend` with its `[[plugins]]` entry's limits and settings, for a `wasm:`
/// backend that has one.
pub fn configure(backend: Backend, settings: &Settings) -> Backend {
    match backend {
        Backend::Wasm(c) if settings.plugins.iter().any(|p| same_path(&p.path, &c.path)) => {
            let spec = plugins::component_spec(settings, &c.path, plugins::DISCOVERY_LIMITS);
            Backend::Wasm(Component {
                path: c.path,
                configured: Some(spec),
            })
        }
        other => other,
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    let parts = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_os_string())
            .collect()
    };
    parts(a) == parts(b)
}

/// What a component's cached result is keyed by (read on every run, so kept
/// apart from the result itself).
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    component: String,
    request: String,
    inputs: Inputs,
    /// The sha256 of the stored [`Body`] file.
    body: String,
}

/// A component's cached result.
#[derive(Debug, Serialize, Deserialize)]
struct Body {
    tables: Vec<Table>,
    sources: Vec<SourceLocation>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `BACKENDS` spells it `wasm:<path>`; messages do too.
fn label(component: &Component) -> String {
    format!("wasm:{}", component.path.display())
}

fn entry_file(req: &Request, component: &Component) -> PathBuf {
    let key = Sha256::digest(
        req.project_root
            .join(&component.path)
            .to_string_lossy()
            .as_bytes(),
    );
    // A folder of its own: the whole discovery's store clears the files beside it.
    cache::dir(&req.project_root)
        .join("wasm")
        .join(format!("{}.json", &hex(&key)[..16]))
}

fn spec(req: &Request, component: &Component) -> Spec {
    let path = req.project_root.join(&component.path);
    if let Some(configured) = &component.configured {
        return Spec {
            path,
            ..configured.clone()
        };
    }
    let stem = component
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| component.path.display().to_string());
    Spec {
        name: stem,
        path,
        limits: plugins::DISCOVERY_LIMITS,
        settings: serde_json::json!({}),
        cache_dir: plugins::cache_dir(&req.project_root),
    }
}

/// The discovery paths relative to the project root (`/`-separated, `""` for the
/// root), and an error for each that lies outside it.
fn relative_roots(req: &Request) -> (Vec<(String, PathBuf)>, Vec<Diagnostic>) {
    let mut roots = Vec::new();
    let mut problems = Vec::new();
    for path in &req.paths {
        match path.strip_prefix(&req.project_root) {
            Ok(rel) => roots.push((super::path_key(rel), path.clone())),
            Err(_) => problems.push(Diagnostic::error(
                "WASM003",
                format!(
                    "Discovery path `{}` is outside the project: discovery plugins see only the project",
                    path.display()
                ),
            )),
        }
    }
    (roots, problems)
}

/// Every file under the discovery paths, relative to the project root, sorted.
fn listing(req: &Request, roots: &[(String, PathBuf)]) -> Vec<String> {
    let existing: Vec<&PathBuf> = roots
        .iter()
        .map(|(_, abs)| abs)
        .filter(|p| p.is_dir())
        .collect();
    let Some((first, rest)) = existing.split_first() else {
        return Vec::new();
    };
    let Ok(exclusions) = Exclusions::new(&req.exclude, std::slice::from_ref(&req.migrations_dir))
    else {
        // A bad EXCLUDE_PATHS glob is reported by the walk of the other backends.
        return Vec::new();
    };
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    let project_root = req.project_root.clone();
    builder
        .hidden(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            let rel = walk::relative(&project_root, entry.path());
            !exclusions.excludes(entry.path(), &rel)
        });
    let found = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            if let Ok(entry) = entry
                && entry.file_type().is_some_and(|t| t.is_file())
                && let Ok(rel) = entry.path().strip_prefix(&req.project_root)
            {
                found
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(super::path_key(rel));
            }
            WalkState::Continue
        })
    });
    let mut files = found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    files.sort();
    files.dedup();
    files
}

/// The request as the component sees it, and its digest.
fn request_parts(
    req: &Request,
    component: &Component,
    roots: &[(String, PathBuf)],
) -> (Vec<String>, Vec<String>, String) {
    let paths: Vec<String> = roots.iter().map(|(rel, _)| rel.clone()).collect();
    let exclude = req.exclude.clone();
    let mut h = Sha256::new();
    h.update(b"sqlalembic-wasm-discovery-v1\0");
    h.update(crate::VERSION.as_bytes());
    for p in &paths {
        h.update(b"\0path\0");
        h.update(p.as_bytes());
    }
    for e in &exclude {
        h.update(b"\0exclude\0");
        h.update(e.as_bytes());
    }
    // Its settings may change what it finds.
    h.update(b"\0settings\0");
    h.update(spec(req, component).settings.to_string().as_bytes());
    (paths, exclude, hex(&h.finalize()))
}

/// Whether every recorded input is unchanged.
fn fresh(req: &Request, inputs: &Inputs, listing: &[String]) -> bool {
    let globs_same = inputs
        .globs
        .iter()
        .all(|(glob, files)| project::select(listing, glob).is_ok_and(|now| now == *files));
    globs_same
        && inputs.files.iter().all(|(rel, sha)| {
            let now = std::fs::read(req.project_root.join(rel))
                .ok()
                .map(|b| project::sha256(&b));
            now == *sha
        })
}

/// The stored entry of `component` when it is still right for this project.
fn cached(
    req: &Request,
    component: &Component,
    listing: &[String],
    request: &str,
) -> Option<Entry> {
    let text = std::fs::read(entry_file(req, component)).ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    let sha = plugins::component_sha256(
        &plugins::cache_dir(&req.project_root),
        &req.project_root.join(&component.path),
    )
    .ok()?;
    (entry.component == sha && entry.request == request && fresh(req, &entry.inputs, listing))
        .then_some(entry)
}

fn body_file(entry: &Path) -> PathBuf {
    entry.with_extension("body.json")
}

/// The stored result of a fresh `entry`, if intact.
fn body(req: &Request, component: &Component, entry: &Entry) -> Option<Body> {
    let bytes = std::fs::read(body_file(&entry_file(req, component))).ok()?;
    (project::sha256(&bytes) == entry.body)
        .then(|| serde_json::from_slice(&bytes).ok())
        .flatten()
}

fn write_atomic(path: &Path, bytes: &[u8]) -> bool {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_ok();
    if !written {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn store(req: &Request, component: &Component, mut entry: Entry, body: &Body) {
    // The cache is an optimisation: failing to write it is not a discovery error.
    let Ok(bytes) = serde_json::to_vec(body) else {
        return;
    };
    entry.body = project::sha256(&bytes);
    let path = entry_file(req, component);
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    // The body first: an entry never points to a body that is not there.
    if write_atomic(&body_file(&path), &bytes)
        && let Ok(text) = serde_json::to_vec(&entry)
    {
        write_atomic(&path, &text);
    }
}

/// Runs the component at `component` (relative to the project root), or serves its
/// cached result.
pub fn discover(
    req: &Request,
    component: &Component,
) -> (Vec<(Table, SourceLocation)>, Vec<Diagnostic>) {
    let (roots, mut diagnostics) = relative_roots(req);
    if !diagnostics.is_empty() {
        return (Vec::new(), diagnostics);
    }
    let files = listing(req, &roots);
    let (paths, exclude, request) = request_parts(req, component, &roots);
    if req.use_cache
        && let Some(entry) = cached(req, component, &files, &request)
        && let Some(body) = body(req, component, &entry)
    {
        return (
            body.tables.into_iter().zip(body.sources).collect(),
            Vec::new(),
        );
    }
    let fail = |message: String| {
        Diagnostic::error("WASM001", message).hint(format!(
            "`{}` in `BACKENDS` names a component of the `discovery-backend` world (see sdk/README.md)",
            label(component)
        ))
    };
    let plugin = match DiscoveryComponent::load(&spec(req, component)) {
        Ok(p) => p,
        Err(e) => {
            let e = e.relative_to(&req.project_root);
            diagnostics.push(fail(format!(
                "Discovery backend `{}`: {e}",
                label(component)
            )));
            return (Vec::new(), diagnostics);
        }
    };
    let mut handles = Vec::new();
    for (rel, abs) in &roots {
        match cap_std::fs::Dir::open_ambient_dir(abs, cap_std::ambient_authority()) {
            Ok(dir) => handles.push(Root {
                rel: rel.clone(),
                dir,
            }),
            // A missing discovery path is reported by the walk.
            Err(_) => continue,
        }
    }
    let max_bytes = plugins::DISCOVERY_LIMITS.memory_mb << 20;
    let project_files = ProjectFiles::new(handles, files, max_bytes);
    match plugin.discover(paths, exclude, project_files) {
        Ok(answer) => {
            let found: Vec<(Table, SourceLocation)> = answer
                .tables
                .into_iter()
                .map(|(table, file, line)| {
                    (
                        table,
                        SourceLocation {
                            file: PathBuf::from(file),
                            line,
                        },
                    )
                })
                .collect();
            if req.use_cache && answer.diagnostics.is_empty() {
                let (tables, sources) = found.iter().cloned().unzip();
                store(
                    req,
                    component,
                    Entry {
                        component: plugin.sha256().to_owned(),
                        request,
                        inputs: answer.inputs,
                        body: String::new(),
                    },
                    &Body { tables, sources },
                );
            }
            diagnostics.extend(answer.diagnostics);
            (found, diagnostics)
        }
        Err(Failed::Refused {
            diagnostics: said, ..
        }) => {
            diagnostics.extend(said);
            (Vec::new(), diagnostics)
        }
        Err(e @ Failed::Malformed { .. }) => {
            diagnostics.push(fail(format!(
                "Discovery backend `{}`: {e}; none of its tables were used",
                label(component)
            )));
            if let Failed::Malformed {
                diagnostics: said, ..
            } = e
            {
                diagnostics.extend(said);
            }
            (Vec::new(), diagnostics)
        }
        Err(e) => {
            diagnostics.push(fail(format!(
                "Discovery backend `{}`: {e}; none of its tables were used",
                label(component)
            )));
            (Vec::new(), diagnostics)
        }
    }
}

/// `base` (the cache key over the other backends' inputs) extended with each wasm
/// backend's cached result, or a key that matches nothing when one of them must
/// run again.
pub fn cache_key(req: &Request, base: &str) -> String {
    let components: Vec<&Component> = req
        .backends
        .iter()
        .filter_map(|b| match b {
            Backend::Wasm(component) => Some(component),
            _ => None,
        })
        .collect();
    if components.is_empty() {
        return base.to_owned();
    }
    let (roots, problems) = relative_roots(req);
    let files = listing(req, &roots);
    let mut h = Sha256::new();
    h.update(base.as_bytes());
    for component in components {
        let (_, _, request) = request_parts(req, component, &roots);
        match cached(req, component, &files, &request).filter(|_| problems.is_empty()) {
            Some(entry) => {
                h.update(b"\0wasm\0");
                h.update(component.path.to_string_lossy().as_bytes());
                h.update(b"\0");
                h.update(entry.component.as_bytes());
                h.update(entry.inputs.digest().as_bytes());
                h.update(entry.body.as_bytes());
            }
            // Unique, so a result stored under it can never be served.
            None => {
                let nonce = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                return format!("{base}-stale-{}-{nonce}", std::process::id());
            }
        }
    }
    hex(&h.finalize())
}

#[cfg(test)]
mod tests;
