//! The WebAssembly plugin host (wasmtime, component model, WASI 0.2), for the three
//! worlds of `wit/plugin.wit`: signal handlers (this page), discovery backends
//! ([`DiscoveryComponent`], `BACKENDS = ["wasm:<path>"]`) and SQL dialects
//! ([`WasmDialect`], `DB_ENGINE = "wasm:<path>"`). Their values cross in
//! `convert.rs` only; components are loaded and called by `component.rs`.
//!
//! Signal handlers. Input: the `[[plugins]]` entries of the settings and the project
//! root (an entry whose path is a dialect or discovery component configures that
//! component instead). Output: [`Plugins`], one [`Plugin`] per entry that loaded, each a
//! [`crate::signals::Handler`] connected to the run's one dispatcher for its
//! `signals` (all signals when the list is empty), plus the entries that failed to
//! load with the reason in plain words (missing file, not a component, wrong world
//! or version, missing export, bad grant).
//!
//! Deny by default: a plugin gets no file, network, environment, argv or terminal
//! unless its `allow` entry grants it (`sandbox.rs`); every call runs under an
//! epoch deadline (`timeout_ms`) and a memory cap (`memory_mb`); a trap is reported
//! with the plugin's name and the trapped instance is never reused (`handler.rs`).
//! A plugin's `deny` stops a command only when the plugin is a policy and the
//! signal is a start signal (the dispatcher's rule); a plugin with
//! `on_error = "abort"` stops the command when it fails. Compiled components are
//! cached on disk (`cache.rs`), so a run with cached plugins pays no compile.

mod bindings;
mod cache;
mod component;
mod convert;
mod dialect;
mod discovery;
mod engine;
mod handler;
mod http;
pub mod project;
mod sandbox;
mod shadow;
#[doc(hidden)]
pub mod testing;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

pub use crate::dialect::context::context as dialect_context;
pub use cache::{CACHE_ENV, CacheState, Stored, cache_dir, clear_cache};
pub use component::{Limits, Spec};
pub use convert::Malformed;
pub use dialect::{DEFAULT_LIMITS as DIALECT_LIMITS, WasmDialect};
pub use discovery::{Answer, DEFAULT_LIMITS as DISCOVERY_LIMITS, DiscoveryComponent, Failed};
pub use handler::{Abort, CallError, Plugin};
pub use sandbox::{Folder, Grant};

use crate::config::{OnError, PluginConfig, Settings};
use crate::signals::{Dispatcher, HandlerId, HandlerMode, names};
use bindings::SignalHandlerPre;
use cache::Cache;
use engine::Runtime;

/// The WIT package and world every signal-handler plugin is built for.
pub const WORLD: &str = "sqlalembic:plugin/signal-handler@0.1.2";

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Component `{}` does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("`{}` is not a WebAssembly component: {message}", path.display())]
    NotComponent { path: PathBuf, message: String },
    #[error("`{}` is not a `{WORLD}` component: {message}", path.display())]
    WrongWorld { path: PathBuf, message: String },
    #[error("`{}` does not export `handle(signal) -> result<verdict, string>`: {message}", path.display())]
    MissingExport { path: PathBuf, message: String },
    #[error("Plugin `{plugin}` cannot be granted folder `{folder}`: {message}")]
    Grant {
        plugin: String,
        folder: String,
        message: String,
    },
    #[error("Plugin cache `{}`: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Cannot set up the WebAssembly engine: {message}")]
    Engine { message: String },
    #[error("`{}` is not a `{world}` component: {message}", path.display())]
    NotWorld {
        path: PathBuf,
        world: &'static str,
        message: String,
    },
    #[error(transparent)]
    Call(#[from] CallError),
}

impl Error {
    /// The same error with paths shown relative to the project root.
    pub fn relative_to(self, root: &Path) -> Error {
        let rel = |path: PathBuf| match path.strip_prefix(root) {
            Ok(p) => p.to_path_buf(),
            Err(_) => path,
        };
        match self {
            Error::Missing { path } => Error::Missing { path: rel(path) },
            Error::NotComponent { path, message } => Error::NotComponent {
                path: rel(path),
                message,
            },
            Error::WrongWorld { path, message } => Error::WrongWorld {
                path: rel(path),
                message,
            },
            Error::MissingExport { path, message } => Error::MissingExport {
                path: rel(path),
                message,
            },
            Error::Cache { path, source } => Error::Cache {
                path: rel(path),
                source,
            },
            Error::NotWorld {
                path,
                world,
                message,
            } => Error::NotWorld {
                path: rel(path),
                world,
                message,
            },
            other @ (Error::Grant { .. } | Error::Engine { .. } | Error::Call(_)) => other,
        }
    }
}

/// A `[[plugins]]` entry that did not load.
#[derive(Debug)]
pub struct LoadFailure {
    pub plugin: String,
    pub on_error: OnError,
    pub error: Error,
}

/// Where plugin files and caches are, and which environment plugins may read from.
pub struct LoadOptions<'a> {
    /// Plugin paths and `allow` folders are relative to this folder.
    pub project_root: PathBuf,
    /// The compiled-component cache (usually [`cache_dir`]).
    pub cache_dir: PathBuf,
    /// Looks up the `allow.env` variables (usually the process environment).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl LoadOptions<'static> {
    /// The project's own cache and the process environment.
    pub fn for_project(project_root: &Path) -> LoadOptions<'static> {
        LoadOptions {
            project_root: project_root.to_path_buf(),
            cache_dir: cache_dir(project_root),
            env: &process_env,
        }
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The loaded plugins of a run and the entries that failed.
pub struct Plugins {
    runtime: Option<Runtime>,
    plugins: Vec<Arc<Plugin>>,
    failures: Vec<LoadFailure>,
    aborts: handler::Aborts,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins")
            .field("plugins", &self.plugins)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

/// What a component imports and exports, for `plugins inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The `sqlalembic:plugin` version it was built for, from its imports.
    pub version: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// What `plugins list` shows of one entry without compiling anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub name: String,
    /// As written in the configuration.
    pub path: PathBuf,
    pub exists: bool,
    pub sha256: Option<String>,
    /// Whether a compiled artifact is cached for this engine.
    pub cache: Option<Stored>,
}

/// The file and cache state of each entry; hashes are taken from the recorded
/// index when the file is unchanged, nothing is compiled.
pub fn status(configs: &[PluginConfig], options: &LoadOptions<'_>) -> Result<Vec<Status>, Error> {
    let runtime = Runtime::new()?;
    let cache = Cache::open(options.cache_dir.clone())?;
    Ok(configs
        .iter()
        .map(|config| {
            let path = component_path(config, &options.project_root);
            let exists = path.is_file();
            let sha256 = exists
                .then(|| cache.hash(&path).ok())
                .flatten()
                .map(|h| h.sha256);
            let stored = sha256.as_deref().map(|sha| cache.stored(sha, &runtime));
            Status {
                name: config.name.clone(),
                path: config.path.clone(),
                exists,
                sha256,
                cache: stored,
            }
        })
        .collect())
}

/// Loads every `[[plugins]]` entry of `settings` from the project's own cache.
///
/// An entry whose `path` is the dialect plugin of `DB_ENGINE` or a `wasm:` discovery
/// backend is that component's configuration (`timeout_ms`, `memory_mb`,
/// `settings`), not a signal handler: it is left out here.
pub fn load(settings: &Settings) -> Result<Plugins, Error> {
    let handlers: Vec<PluginConfig> = settings
        .plugins
        .iter()
        .filter(|c| !configures_component(settings, c))
        .cloned()
        .collect();
    load_with(&handlers, &LoadOptions::for_project(&settings.project_root))
}

/// The component paths (relative to the project root, as written) that are not
/// signal handlers: the `wasm:` engine and the `wasm:` discovery backends.
pub fn component_paths(settings: &Settings) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let crate::config::Engine::Wasm(path) = settings.engine() {
        paths.push(path.clone());
    }
    for backend in &settings.discovery.backends {
        if let Some(path) = wasm_backend_path(backend) {
            paths.push(path);
        }
    }
    paths
}

/// The component of a `wasm:<path>` discovery backend entry.
pub fn wasm_backend_path(entry: &str) -> Option<PathBuf> {
    let entry = entry.trim();
    let (prefix, path) = entry.split_at_checked(5)?;
    (prefix.eq_ignore_ascii_case("wasm:") && !path.trim().is_empty())
        .then(|| PathBuf::from(path.trim()))
}

/// `a/./b` and `a/b` are one path.
fn same_path(a: &Path, b: &Path) -> bool {
    let parts = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_os_string())
            .collect()
    };
    parts(a) == parts(b)
}

/// The world a `[[plugins]]` entry is loaded as: `dialect` for the `wasm:` engine,
/// `discovery-backend` for a `wasm:` discovery backend, else the signal handler world.
pub fn world_of(settings: &Settings, config: &PluginConfig) -> String {
    match settings.engine() {
        crate::config::Engine::Wasm(path) if same_path(path, &config.path) => {
            WORLD.replace("signal-handler", "dialect")
        }
        _ if configures_component(settings, config) => {
            WORLD.replace("signal-handler", "discovery-backend")
        }
        _ => WORLD.to_owned(),
    }
}

/// Whether a `[[plugins]]` entry configures the dialect or a discovery backend (its
/// component is loaded by `DB_ENGINE` / `BACKENDS`, not as a signal handler).
pub fn configures_component(settings: &Settings, config: &PluginConfig) -> bool {
    component_paths(settings)
        .iter()
        .any(|p| same_path(p, &config.path))
}

/// How to load the component at `path` (relative to the project root): its
/// `[[plugins]]` entry, if one has this path, gives its name, limits and settings;
/// else it is named after its file and gets `defaults`.
pub fn component_spec(settings: &Settings, path: &Path, defaults: Limits) -> Spec {
    let root = &settings.project_root;
    let entry = settings.plugins.iter().find(|c| same_path(&c.path, path));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Spec {
        name: entry.map_or(stem, |e| e.name.clone()),
        path: root.join(path),
        limits: entry.map_or(defaults, |e| Limits {
            timeout: std::time::Duration::from_millis(e.timeout_ms),
            memory_mb: e.memory_mb,
        }),
        settings: entry.map_or_else(|| serde_json::json!({}), |e| e.settings.clone()),
        cache_dir: cache_dir(root),
    }
}

/// The sha256 of the component at `path` (absolute), from the cache's index when
/// the file is unchanged (no re-hash).
pub fn component_sha256(cache_dir: &Path, path: &Path) -> Result<String, Error> {
    Ok(Cache::open(cache_dir.to_path_buf())?.hash(path)?.sha256)
}

/// The dialect plugin `DB_ENGINE = "wasm:<path>"` names, loaded (`None` for a
/// built-in engine). Errors name the file relative to the project root.
pub fn load_dialect(settings: &Settings) -> Result<Option<WasmDialect>, Error> {
    let crate::config::Engine::Wasm(path) = settings.engine() else {
        return Ok(None);
    };
    let spec = component_spec(settings, path, DIALECT_LIMITS);
    // A command asks for its dialect several times (target, connect, render): load
    // each component once per process while its file is unchanged.
    type Loaded = Vec<(String, WasmDialect)>;
    static LOADED: Mutex<Loaded> = Mutex::new(Vec::new());
    let stamp = std::fs::metadata(&spec.path)
        .map(|m| format!("{:?}:{}:{:?}", spec, m.len(), m.modified().ok()))
        .unwrap_or_default();
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, d)) = loaded
        .iter()
        .find(|(k, _)| !stamp.is_empty() && *k == stamp)
    {
        return Ok(Some(d.clone()));
    }
    let dialect = WasmDialect::load(&spec).map_err(|e| e.relative_to(&settings.project_root))?;
    if !stamp.is_empty() {
        loaded.push((stamp, dialect.clone()));
    }
    Ok(Some(dialect))
}

/// Loads `configs`: each is hashed, compiled (or taken from the cache), checked
/// against the `signal-handler` world and given its sandbox grant. An entry that
/// fails lands in [`Plugins::failures`]; only an engine or cache folder that cannot
/// be set up fails the whole load.
pub fn load_with(configs: &[PluginConfig], options: &LoadOptions<'_>) -> Result<Plugins, Error> {
    let aborts: handler::Aborts = Arc::new(Mutex::new(Vec::new()));
    if configs.is_empty() {
        return Ok(Plugins {
            runtime: None,
            plugins: Vec::new(),
            failures: Vec::new(),
            aborts,
        });
    }
    let runtime = Runtime::new()?;
    let cache = Cache::open(options.cache_dir.clone())?;
    let mut plugins = Vec::new();
    let mut failures = Vec::new();
    for config in configs {
        match load_one(&runtime, &cache, config, options, &aborts) {
            Ok(plugin) => plugins.push(Arc::new(plugin)),
            Err(error) => {
                let error = error.relative_to(&options.project_root);
                // The caller reports it (a warning, an error, a `plugins check` line).
                tracing::debug!(plugin = %config.name, %error, "Plugin did not load");
                failures.push(LoadFailure {
                    plugin: config.name.clone(),
                    on_error: config.on_error,
                    error,
                });
            }
        }
    }
    Ok(Plugins {
        runtime: Some(runtime),
        plugins,
        failures,
        aborts,
    })
}

fn load_one(
    runtime: &Runtime,
    cache: &Cache,
    config: &PluginConfig,
    options: &LoadOptions<'_>,
    aborts: &handler::Aborts,
) -> Result<Plugin, Error> {
    let path = component_path(config, &options.project_root);
    check_header(&path)?;
    let hashed = cache.hash(&path)?;
    let (component, cache_state) = cache.load(runtime, &path, &hashed.sha256)?;
    let pre = runtime
        .linker
        .instantiate_pre(&component)
        .map_err(|e| Error::WrongWorld {
            path: path.clone(),
            message: version_hint(runtime, &component, &e),
        })?;
    let pre = SignalHandlerPre::new(pre).map_err(|e| Error::MissingExport {
        path: path.clone(),
        message: format!("{e:#}"),
    })?;
    let grant = Grant::new(config, &options.project_root, options.env)?;
    Ok(Plugin::new(handler::Parts {
        config: config.clone(),
        path,
        sha256: hashed.sha256,
        cache_state,
        inspection: inspect(runtime, &component),
        runtime: runtime.clone(),
        grant,
        pre,
        aborts: Arc::clone(aborts),
    }))
}

/// The component file of `config`, absolute.
pub fn component_path(config: &PluginConfig, project_root: &Path) -> PathBuf {
    project_root.join(&config.path)
}

/// Why a component does not link, naming the WIT version it was built for when
/// that is not ours.
fn version_hint(
    runtime: &Runtime,
    component: &wasmtime::component::Component,
    error: &wasmtime::Error,
) -> String {
    match inspect(runtime, component).version {
        Some(v) if !v.starts_with("0.1.") => format!(
            "it was built for `sqlalembic:plugin@{v}`, this sqlalembic speaks `0.1.x` ({error:#})"
        ),
        _ => format!("{error:#}"),
    }
}

/// Refuses missing files and core modules before compiling anything.
fn check_header(path: &Path) -> Result<(), Error> {
    let mut header = [0u8; 8];
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Missing {
            path: path.to_path_buf(),
        },
        _ => Error::Cache {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    let read = file.read(&mut header).unwrap_or(0);
    let not = |message: &str| Error::NotComponent {
        path: path.to_path_buf(),
        message: message.to_owned(),
    };
    if read < 8 || &header[..4] != b"\0asm" {
        return Err(not("it does not start with the WebAssembly magic bytes"));
    }
    // Bytes 6..8 are the layer: 0 for a core module, 1 for a component.
    if header[6..8] == [0, 0] {
        return Err(not(
            "it is a core module; build a component (`--target wasm32-wasip2`, componentize-py, componentize-qjs)",
        ));
    }
    Ok(())
}

impl Plugins {
    /// Connects every loaded plugin to `dispatcher`, in configuration order, for
    /// each of its signals. Policies, and plugins whose failure must abort the
    /// command, connect as [`HandlerMode::Policy`] (a non-policy's own deny is
    /// turned into a warning by the plugin itself).
    pub fn connect(&self, dispatcher: &Dispatcher) -> Vec<HandlerId> {
        let mut ids = Vec::new();
        for plugin in &self.plugins {
            let config = plugin.config();
            let mode = if config.policy || config.on_error == OnError::Abort {
                HandlerMode::Policy
            } else {
                HandlerMode::Observer
            };
            let signals: Vec<&str> = if config.signals.is_empty() {
                vec![names::ALL_SIGNALS]
            } else {
                config.signals.iter().map(String::as_str).collect()
            };
            for signal in signals {
                let handler: Arc<dyn crate::signals::Handler> = plugin.clone();
                ids.push(dispatcher.connect(signal, handler, mode));
            }
        }
        ids
    }

    /// The plugins that loaded, in configuration order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The entries that did not load.
    pub fn failures(&self) -> &[LoadFailure] {
        &self.failures
    }

    /// Failures during the run of plugins whose `on_error` is `abort`.
    pub fn aborts(&self) -> Vec<Abort> {
        self.aborts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether a compiled artifact of `sha256` is cached for this engine.
    pub fn stored(&self, cache_dir: &Path, sha256: &str) -> Option<Stored> {
        let runtime = self.runtime.as_ref()?;
        Cache::open(cache_dir.to_path_buf())
            .ok()
            .map(|c| c.stored(sha256, runtime))
    }
}

fn inspect(runtime: &Runtime, component: &wasmtime::component::Component) -> Inspection {
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(&runtime.engine)
        .map(|(n, _)| n.to_owned())
        .collect();
    let exports: Vec<String> = ty
        .exports(&runtime.engine)
        .map(|(n, _)| n.to_owned())
        .collect();
    let version = imports
        .iter()
        .find_map(|i| i.strip_prefix("sqlalembic:plugin/"))
        .and_then(|rest| rest.split_once('@'))
        .map(|(_, v)| v.to_owned());
    Inspection {
        version,
        imports,
        exports,
    }
}

#[cfg(test)]
mod tests;
