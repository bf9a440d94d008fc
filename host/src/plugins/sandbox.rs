//! The sandbox of one plugin: what its `allow` entry grants, the store state its
//! calls run with, and the host imports (`host`, `http`) checked against the grant.
//!
//! Input: a [`PluginConfig`] and the project root. Output: a [`Grant`] (folders
//! resolved inside the project, visible variables, reachable hosts, limits) and, per
//! instance, a [`State`] with a WASI context that has exactly those preopens and
//! variables, no argv, no stdio, no sockets. It refuses folders that are absolute,
//! climb out with `..`, or resolve (through symlinks) outside the project root.
//! Every host import passes through [`Grant::check`], one exhaustive `match`.

use std::path::{Component as PathPart, Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::Error;
use super::bindings::discovery_backend::sqlalembic::plugin::project;
use super::bindings::sqlalembic::plugin::{host, http, types};
use super::project::ProjectFiles;
use crate::config::{OnError, PluginConfig};

/// Mebibyte.
const MIB: u64 = 1 << 20;
/// Table elements a plugin may allocate (function tables of large guests fit).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;
/// Core instances one component may create (Python guests use a few dozen).
const MAX_INSTANCES: usize = 200;

/// One folder a plugin may see: where it is on the host and the path the plugin
/// uses for it (the folder as written in `allow`, e.g. `logs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub host: PathBuf,
    pub guest: String,
    pub writable: bool,
}

/// Everything a plugin's `[[plugins]]` entry grants, resolved once at load.
#[derive(Debug, Clone)]
pub struct Grant {
    pub plugin: String,
    pub folders: Vec<Folder>,
    /// `(name, value)` of every `allow.env` variable that is set.
    pub env: Vec<(String, String)>,
    /// Hosts (`name` or `name:port`) that `wasi:http` and `http.send` may reach
    /// (judged by `http::authorize`).
    pub http: Vec<String>,
    /// The plugin's `settings` as JSON text.
    pub settings: String,
    pub settings_value: serde_json::Value,
    pub timeout: Duration,
    pub memory_bytes: usize,
    /// What one call may say: verdict messages, errors and log lines together.
    pub output_bytes: u64,
    /// What the plugin may write in this run, every instance together.
    pub write_bytes: u64,
    /// Bytes written so far in this run.
    pub written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub on_error: OnError,
}

/// A plugin went over one of its quotas; the call traps with this error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the plugin went over its {what} quota of {limit} bytes")]
pub struct QuotaExceeded {
    /// `output` or `write`.
    pub what: &'static str,
    pub limit: u64,
}

/// `1 MiB`, `512 KiB`, `10 bytes`: a quota for messages.
pub fn show_bytes(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// A host import, as checked against the grant.
#[derive(Debug, Clone, Copy)]
pub enum Capability<'a> {
    /// `host.log`: always allowed (it is how plugins talk).
    Log,
    /// `host.settings` / `host.setting`: the plugin's own settings, always allowed.
    Settings,
    /// `host.read-file`: a path relative to the project root.
    ReadFile { path: &'a str },
    /// `host.append-file`: a path relative to the project root.
    AppendFile { path: &'a str },
    /// Outgoing HTTP (`wasi:http` or `http.send`) to this host and port.
    Http { host: &'a str, port: u16 },
}

impl Grant {
    /// Resolves `config` against the project root `root`; `env` looks variables up.
    pub fn new(
        config: &PluginConfig,
        root: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Grant, Error> {
        let mut folders = Vec::new();
        for (list, writable) in [(&config.allow.read, false), (&config.allow.write, true)] {
            for written in list {
                folders.push(resolve_folder(&config.name, root, written, writable)?);
            }
        }
        let env = config
            .allow
            .env
            .iter()
            .filter_map(|name| env(name).map(|value| (name.clone(), value)))
            .collect();
        let memory = config.memory_mb.saturating_mul(MIB);
        Ok(Grant {
            plugin: config.name.clone(),
            folders,
            env,
            http: config
                .allow
                .http
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            settings: config.settings.to_string(),
            settings_value: config.settings.clone(),
            timeout: Duration::from_millis(config.timeout_ms),
            memory_bytes: usize::try_from(memory).unwrap_or(usize::MAX),
            output_bytes: config.output_kb.saturating_mul(1024),
            write_bytes: config.write_mb.saturating_mul(MIB),
            written: std::sync::Arc::default(),
            on_error: config.on_error,
        })
    }

    /// Whether the plugin may use `capability`; `Err` says why not.
    pub fn check(&self, capability: Capability<'_>) -> Result<(), String> {
        match capability {
            Capability::Log | Capability::Settings => Ok(()),
            Capability::ReadFile { path } => self.folder_for(path, false).map(|_| ()),
            Capability::AppendFile { path } => self.folder_for(path, true).map(|_| ()),
            Capability::Http { host, port } => {
                let host = host.to_ascii_lowercase();
                let with_port = format!("{host}:{port}");
                if self.http.iter().any(|h| *h == host || *h == with_port) {
                    Ok(())
                } else {
                    Err(format!(
                        "HTTP to `{with_port}` is not allowed: add `{host}` to `allow.http` of plugin `{}`",
                        self.plugin
                    ))
                }
            }
        }
    }

    /// The granted folder holding `path` (relative to the project root) and the
    /// path inside it; `write` asks for an `allow.write` folder. Refuses absolute
    /// paths, `..` and paths outside every granted folder.
    pub fn folder_for(&self, path: &str, write: bool) -> Result<(&Folder, PathBuf), String> {
        let mut parts = Vec::new();
        for part in Path::new(path).components() {
            match part {
                PathPart::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                PathPart::CurDir => {}
                PathPart::ParentDir | PathPart::RootDir | PathPart::Prefix(_) => {
                    return Err(format!(
                        "`{path}` is refused: use a path relative to the project root, without `..`"
                    ));
                }
            }
        }
        let best = self
            .folders
            .iter()
            .filter(|f| !write || f.writable)
            .filter_map(|f| {
                let prefix: Vec<&str> = f.guest.split('/').collect();
                let inside =
                    parts.len() > prefix.len() && parts.iter().zip(&prefix).all(|(a, b)| a == b);
                inside.then_some((f, prefix.len()))
            })
            .max_by_key(|(_, depth)| *depth);
        match best {
            Some((folder, depth)) => Ok((folder, parts[depth..].iter().collect())),
            None => {
                let kind = if write {
                    "allow.write"
                } else {
                    "allow.read` or `allow.write"
                };
                Err(format!(
                    "`{path}` is outside the folders of `{kind}` of plugin `{}`",
                    self.plugin
                ))
            }
        }
    }

    /// A WASI context with exactly this grant: the folders as preopens (read-only
    /// for `allow.read`), the `allow.env` variables, no argv, no stdin, stdout
    /// discarded, stderr kept in `stderr` (only to explain a crash), no sockets and
    /// no name lookup.
    pub fn wasi(&self, stderr: &Tail) -> Result<WasiCtx, Error> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .allow_blocking_current_thread(true)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .stderr(stderr.clone())
            .envs(&self.env);
        for folder in &self.folders {
            let perms = if folder.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            builder
                .preopened_dir(&folder.host, &folder.guest, perms)
                .map_err(|e| Error::Grant {
                    plugin: self.plugin.clone(),
                    folder: folder.guest.clone(),
                    message: format!("cannot open it: {e}"),
                })?;
        }
        Ok(builder.build())
    }
}

/// `written` (relative to `root`) as a folder the plugin may use.
fn resolve_folder(
    plugin: &str,
    root: &Path,
    written: &str,
    writable: bool,
) -> Result<Folder, Error> {
    let refuse = |message: String| Error::Grant {
        plugin: plugin.to_owned(),
        folder: written.to_owned(),
        message,
    };
    let relative = Path::new(written);
    let mut guest = Vec::new();
    for part in relative.components() {
        match part {
            PathPart::Normal(p) => guest.push(p.to_string_lossy().into_owned()),
            PathPart::CurDir => {}
            PathPart::ParentDir => {
                return Err(refuse(
                    "`..` is not allowed: grant folders inside the project".into(),
                ));
            }
            PathPart::RootDir | PathPart::Prefix(_) => {
                return Err(refuse(
                    "absolute paths are not allowed: grant folders relative to the project root"
                        .into(),
                ));
            }
        }
    }
    if guest.is_empty() {
        return Err(refuse(
            "the whole project cannot be granted: name a folder inside it".into(),
        ));
    }
    let host = root.join(guest.join("/"));
    if writable && !host.exists() {
        std::fs::create_dir_all(&host).map_err(|e| refuse(format!("cannot create it: {e}")))?;
    }
    let real = host.canonicalize().map_err(|e| {
        refuse(if e.kind() == std::io::ErrorKind::NotFound {
            "it does not exist".to_owned()
        } else {
            format!("cannot open it: {e}")
        })
    })?;
    let real_root = root
        .canonicalize()
        .map_err(|e| refuse(format!("cannot open the project root: {e}")))?;
    if !real.starts_with(&real_root) {
        return Err(refuse(format!(
            "it leads outside the project (to `{}`)",
            real.display()
        )));
    }
    if !real.is_dir() {
        return Err(refuse("it is not a folder".into()));
    }
    Ok(Folder {
        host: real,
        guest: guest.join("/"),
        writable,
    })
}

/// The last [`Tail::KEEP`] bytes a plugin wrote to stderr. Never shown as they
/// are: a crash report quotes the last lines (a Rust panic message, a Python
/// traceback's last line).
#[derive(Clone, Default)]
pub struct Tail(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Tail {
    /// How much stderr is kept.
    pub const KEEP: usize = 4096;

    fn push(&self, bytes: &[u8]) {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.extend_from_slice(bytes);
        if kept.len() > Self::KEEP {
            let cut = kept.len() - Self::KEEP;
            kept.drain(..cut);
        }
    }

    /// The last meaningful lines (at most three, `note:` lines left out), joined.
    pub fn last_lines(&self) -> Option<String> {
        let kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = String::from_utf8_lossy(&kept);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note:"))
            .collect();
        let start = lines.len().saturating_sub(3);
        let tail = lines[start..].join(" ");
        // The end says why: keep the last 500 characters.
        let skip = tail.chars().count().saturating_sub(500);
        let tail: String = tail.chars().skip(skip).collect();
        (!tail.is_empty()).then_some(tail)
    }
}

impl wasmtime_wasi::cli::IsTerminal for Tail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for Tail {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.clone())
    }
}

impl wasmtime_wasi::p2::OutputStream for Tail {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Tail {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Tail {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The state of one plugin instance.
pub struct State {
    pub grant: std::sync::Arc<Grant>,
    /// What the instance wrote to stderr, for crash reports.
    pub stderr: Tail,
    wasi: WasiCtx,
    pub(super) table: ResourceTable,
    /// Outgoing `wasi:http`, checked against the grant (`http.rs`).
    pub(super) outgoing: super::http::Outgoing,
    /// Set when a memory grow was refused, to name the trap.
    pub memory_exceeded: bool,
    /// Deadline of the current call, for blocking host imports (HTTP).
    pub deadline: Instant,
    /// What the current call said so far (log lines), against `output_bytes`.
    pub said: u64,
    /// What a discovery component may list and read (`project`); `None` for the
    /// other worlds, whose `project` calls are refused.
    pub project: Option<ProjectFiles>,
}

impl State {
    pub fn new(grant: std::sync::Arc<Grant>) -> Result<State, Error> {
        let stderr = Tail::default();
        let wasi = grant.wasi(&stderr)?;
        Ok(State {
            outgoing: super::http::Outgoing::new(std::sync::Arc::clone(&grant)),
            grant,
            stderr,
            wasi,
            table: ResourceTable::new(),
            memory_exceeded: false,
            deadline: Instant::now(),
            said: 0,
            project: None,
        })
    }
}

impl State {
    /// Counts `bytes` the current call says (a log line); over the output quota
    /// the call traps with [`QuotaExceeded`].
    pub fn say(&mut self, bytes: usize) -> wasmtime::Result<()> {
        self.said = self
            .said
            .saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX));
        if self.said > self.grant.output_bytes {
            return Err(wasmtime::Error::new(QuotaExceeded {
                what: "output",
                limit: self.grant.output_bytes,
            }));
        }
        Ok(())
    }

    /// Counts `bytes` about to be written; over the write quota the call traps
    /// with [`QuotaExceeded`] and nothing more is written.
    pub fn spend_write(&self, bytes: u64) -> wasmtime::Result<()> {
        use std::sync::atomic::Ordering;
        let before = self.grant.written.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > self.grant.write_bytes {
            self.grant.written.fetch_sub(bytes, Ordering::Relaxed);
            return Err(wasmtime::Error::new(QuotaExceeded {
                what: "write",
                limit: self.grant.write_bytes,
            }));
        }
        Ok(())
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.grant.memory_bytes {
            self.memory_exceeded = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB reached (wanted {} MiB)",
                self.grant.memory_bytes >> 20,
                desired.div_ceil(1 << 20)
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
}

impl types::Host for State {}

impl host::Host for State {
    fn log(&mut self, level: types::LogLevel, message: String) {
        if self.grant.check(Capability::Log).is_err() {
            return;
        }
        let plugin = self.grant.plugin.as_str();
        match tracing::Level::from(level) {
            tracing::Level::TRACE => tracing::trace!(plugin, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(plugin, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin, "{message}"),
            _ => tracing::error!(plugin, "{message}"),
        }
    }

    fn settings(&mut self) -> String {
        match self.grant.check(Capability::Settings) {
            Ok(()) => self.grant.settings.clone(),
            Err(_) => "{}".to_owned(),
        }
    }

    fn setting(&mut self, key: String) -> Option<String> {
        self.grant.check(Capability::Settings).ok()?;
        self.grant
            .settings_value
            .get(&key)
            .map(serde_json::Value::to_string)
    }

    fn read_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        let (dir, inside) = self.granted_dir(&path, false)?;
        let size = dir
            .metadata(&inside)
            .map_err(|e| format!("Cannot read `{path}`: {e}"))?
            .len();
        if size > u64::try_from(self.grant.memory_bytes).unwrap_or(u64::MAX) {
            return Err(format!(
                "`{path}` ({size} bytes) is larger than the plugin's memory limit"
            ));
        }
        dir.read(&inside)
            .map_err(|e| format!("Cannot read `{path}`: {e}"))
    }

    fn append_file(&mut self, path: String, data: Vec<u8>) -> Result<(), String> {
        use std::io::Write;
        let (dir, inside) = self.granted_dir(&path, true)?;
        let mut options = cap_std::fs::OpenOptions::new();
        options.append(true).create(true);
        let mut file = dir
            .open_with(&inside, &options)
            .map_err(|e| format!("Cannot open `{path}`: {e}"))?;
        file.write_all(&data)
            .map_err(|e| format!("Cannot append to `{path}`: {e}"))
    }
}

impl State {
    fn granted_dir(&self, path: &str, write: bool) -> Result<(cap_std::fs::Dir, PathBuf), String> {
        let capability = if write {
            Capability::AppendFile { path }
        } else {
            Capability::ReadFile { path }
        };
        self.grant.check(capability)?;
        let (folder, inside) = self.grant.folder_for(path, write)?;
        // cap-std resolves `inside` within the folder: no `..`, absolute path or
        // symlink can lead out of it.
        let dir = cap_std::fs::Dir::open_ambient_dir(&folder.host, cap_std::ambient_authority())
            .map_err(|e| format!("Cannot open folder `{}`: {e}", folder.guest))?;
        Ok((dir, inside))
    }
}

impl project::Host for State {
    fn list_files(&mut self, pattern: String) -> Result<Vec<String>, String> {
        match &mut self.project {
            Some(files) => files.list(&pattern),
            None => Err(self.no_project()),
        }
    }

    fn read_file(&mut self, path: String) -> Result<Vec<u8>, String> {
        match &mut self.project {
            Some(files) => files.read(&path),
            None => Err(self.no_project()),
        }
    }
}

impl State {
    fn no_project(&self) -> String {
        format!(
            "Plugin `{}` sees no project files: only a discovery backend does",
            self.grant.plugin
        )
    }
}

impl http::Host for State {
    fn send(&mut self, request: http::Request) -> Result<http::Response, String> {
        super::http::send(&self.grant, self.deadline, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Allow;

    fn config(allow: Allow) -> PluginConfig {
        PluginConfig {
            name: "p".into(),
            path: PathBuf::from("p.wasm"),
            signals: Vec::new(),
            on_error: OnError::Warn,
            policy: false,
            timeout_ms: 250,
            memory_mb: 16,
            output_kb: crate::config::DEFAULT_OUTPUT_KB,
            write_mb: crate::config::DEFAULT_WRITE_MB,
            allow,
            settings: serde_json::json!({"channel": "#deploys"}),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn folders_resolve_inside_the_project_and_refuse_escapes() {
        let root = tempfile::tempdir().expect("temp");
        std::fs::create_dir_all(root.path().join("migrations/versions")).expect("mkdir");
        let grant = Grant::new(
            &config(Allow {
                read: vec!["./migrations/versions".into()],
                write: vec!["logs".into()],
                ..Allow::default()
            }),
            root.path(),
            &no_env,
        )
        .expect("valid grant");
        assert_eq!(grant.folders.len(), 2);
        assert_eq!(grant.folders[0].guest, "migrations/versions");
        assert!(!grant.folders[0].writable);
        assert_eq!(grant.folders[1].guest, "logs");
        assert!(
            root.path().join("logs").is_dir(),
            "write folders are created"
        );
        for (bad, why) in [
            ("../outside", "`..` is not allowed"),
            ("/etc", "absolute paths"),
            (".", "the whole project"),
            ("missing", "does not exist"),
        ] {
            let err = Grant::new(
                &config(Allow {
                    read: vec![bad.into()],
                    ..Allow::default()
                }),
                root.path(),
                &no_env,
            )
            .expect_err(bad);
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn file_paths_map_to_the_deepest_granted_folder() {
        let root = tempfile::tempdir().expect("temp");
        std::fs::create_dir_all(root.path().join("migrations/versions")).expect("mkdir");
        let grant = Grant::new(
            &config(Allow {
                read: vec!["migrations".into()],
                write: vec!["migrations/versions".into(), "logs".into()],
                ..Allow::default()
            }),
            root.path(),
            &no_env,
        )
        .expect("valid grant");
        let (folder, inside) = grant
            .folder_for("migrations/versions/a.toml", false)
            .expect("readable");
        assert_eq!(
            (folder.guest.as_str(), inside),
            ("migrations/versions", PathBuf::from("a.toml"))
        );
        let (folder, inside) = grant
            .folder_for("./migrations/env.toml", false)
            .expect("readable");
        assert_eq!(
            (folder.guest.as_str(), inside),
            ("migrations", PathBuf::from("env.toml"))
        );
        assert!(
            grant.folder_for("migrations/env.toml", true).is_err(),
            "read-only"
        );
        assert!(grant.folder_for("logs/audit.jsonl", true).is_ok());
        for bad in ["/etc/passwd", "logs/../x", "../x", "logs", "models/user.py"] {
            let err = grant.folder_for(bad, false).expect_err(bad);
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        assert!(
            grant
                .check(Capability::AppendFile {
                    path: "migrations/x"
                })
                .is_err()
        );
        assert!(grant.check(Capability::ReadFile { path: "logs/x" }).is_ok());
    }

    #[test]
    fn stderr_keeps_only_its_tail_and_quotes_the_last_lines() {
        let tail = Tail::default();
        assert_eq!(tail.last_lines(), None);
        tail.push(&vec![b'x'; Tail::KEEP]);
        tail.push(b"\nthread '<unnamed>' panicked at src/lib.rs:1:1:\nboom\nnote: run with `RUST_BACKTRACE=1`\n");
        assert_eq!(tail.0.lock().expect("lock").len(), Tail::KEEP);
        assert_eq!(
            tail.last_lines()
                .as_deref()
                .map(|l| l.ends_with("panicked at src/lib.rs:1:1: boom")),
            Some(true)
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_folder_leading_out_is_refused() {
        let root = tempfile::tempdir().expect("temp");
        let outside = tempfile::tempdir().expect("temp");
        std::os::unix::fs::symlink(outside.path(), root.path().join("logs")).expect("symlink");
        let err = Grant::new(
            &config(Allow {
                write: vec!["logs".into()],
                ..Allow::default()
            }),
            root.path(),
            &no_env,
        )
        .expect_err("escape");
        assert!(
            err.to_string().contains("leads outside the project"),
            "{err}"
        );
    }

    #[test]
    fn only_granted_variables_and_hosts() {
        let root = tempfile::tempdir().expect("temp");
        let env = |name: &str| match name {
            "SLACK" => Some("https://hooks".to_owned()),
            _ => None,
        };
        let grant = Grant::new(
            &config(Allow {
                env: vec!["SLACK".into(), "UNSET".into()],
                http: vec!["Hooks.Example.com".into(), "127.0.0.1:8080".into()],
                ..Allow::default()
            }),
            root.path(),
            &env,
        )
        .expect("valid");
        assert_eq!(
            grant.env,
            [("SLACK".to_owned(), "https://hooks".to_owned())]
        );
        assert!(
            grant
                .check(Capability::Http {
                    host: "hooks.example.com",
                    port: 443
                })
                .is_ok()
        );
        assert!(
            grant
                .check(Capability::Http {
                    host: "127.0.0.1",
                    port: 8080
                })
                .is_ok()
        );
        let err = grant
            .check(Capability::Http {
                host: "127.0.0.1",
                port: 9090,
            })
            .expect_err("other port");
        assert!(err.contains("`127.0.0.1:9090` is not allowed"), "{err}");
        assert!(
            grant
                .check(Capability::Http {
                    host: "evil.test",
                    port: 80
                })
                .is_err()
        );
        assert_eq!(grant.timeout, Duration::from_millis(250));
        assert_eq!(grant.memory_bytes, 16 << 20);
    }
}
