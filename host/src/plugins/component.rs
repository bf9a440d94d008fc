//! Loading and calling components of the `discovery-backend` and `dialect` worlds.
//!
//! Input: a component file, the world it must implement ([`World`]), its limits and
//! settings. Output: a [`Guest`] that calls the component in its sandbox: no
//! preopened folder, no environment, no network, stdout discarded, stderr kept only
//! to explain a crash; each call (instantiation included) under the time limit
//! (epoch deadline) and the memory cap. A trapped instance is dropped and the next
//! call gets a fresh one. Calls made inside an async runtime run on the guest's
//! worker thread (WASI's blocking host calls must not run inside a runtime).
//! Compiled components come from the shared compiled-component cache. It refuses
//! files that are not components, components of another world or an incompatible
//! WIT version, and components missing an export, naming the file and the world.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::cache::{Cache, CacheState};
use super::engine::Runtime;
use super::handler::CallError;
use super::sandbox::{Grant, State};
use super::{Error, check_header};
use crate::config::{Allow, OnError, PluginConfig};

/// Time and memory limits of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per call, instantiation included.
    pub timeout: Duration,
    pub memory_mb: u64,
}

/// One world a component can implement.
pub(super) trait World: Sized + Send + 'static {
    /// The pre-instantiated bindings.
    type Pre: Send + Sync + 'static;
    /// `sqlalembic:plugin/<world>@<version>`, for messages.
    const NAME: &'static str;
    /// The exports it must have, for messages.
    const EXPORTS: &'static str;

    /// Checks the component's exports.
    fn pre(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre>;

    /// A new instance in `store`.
    fn instantiate(pre: &Self::Pre, store: &mut Store<State>) -> wasmtime::Result<Self>;
}

/// Where a component is and how it may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The name in messages and log lines.
    pub name: String,
    /// The component file (absolute).
    pub path: PathBuf,
    pub limits: Limits,
    /// What `host.settings` returns.
    pub settings: serde_json::Value,
    /// The compiled-component cache folder.
    pub cache_dir: PathBuf,
}

struct Live<W> {
    store: Store<State>,
    bindings: W,
}

struct Core<W: World> {
    name: String,
    limits: Limits,
    runtime: Runtime,
    grant: Arc<Grant>,
    pre: W::Pre,
    live: Mutex<Option<Live<W>>>,
    instances: AtomicU64,
}

type Job<W> = Box<dyn FnOnce(&Core<W>) + Send>;

/// A loaded component of world `W`.
pub(super) struct Guest<W: World> {
    core: Arc<Core<W>>,
    aside: Mutex<Option<mpsc::Sender<Job<W>>>>,
    /// The component file (absolute).
    pub path: PathBuf,
    pub sha256: String,
    pub cache_state: CacheState,
}

impl<W: World> Guest<W> {
    /// Compiles (or takes from the cache) the component of `spec` and checks that it
    /// implements `W`.
    pub fn load(spec: &Spec) -> Result<Guest<W>, Error> {
        let runtime = Runtime::shared()?;
        let cache = Cache::open(spec.cache_dir.clone())?;
        let path = spec.path.clone();
        check_header(&path)?;
        let hashed = cache.hash(&path)?;
        let (component, cache_state) = cache.load(&runtime, &path, &hashed.sha256)?;
        let pre = runtime
            .linker
            .instantiate_pre(&component)
            .map_err(|e| Error::NotWorld {
                path: path.clone(),
                world: W::NAME,
                message: super::version_hint(&runtime, &component, &e),
            })?;
        let pre = W::pre(pre).map_err(|e| Error::NotWorld {
            path: path.clone(),
            world: W::NAME,
            message: format!("it does not export {} ({e:#})", W::EXPORTS),
        })?;
        let config = PluginConfig {
            name: spec.name.clone(),
            path: path.clone(),
            signals: Vec::new(),
            on_error: OnError::Abort,
            policy: false,
            timeout_ms: u64::try_from(spec.limits.timeout.as_millis()).unwrap_or(u64::MAX),
            memory_mb: spec.limits.memory_mb,
            output_kb: crate::config::DEFAULT_OUTPUT_KB,
            write_mb: crate::config::DEFAULT_WRITE_MB,
            allow: Allow::default(),
            settings: spec.settings.clone(),
        };
        let grant = Grant::new(&config, Path::new("/"), &|_| None)?;
        Ok(Guest {
            core: Arc::new(Core {
                name: spec.name.clone(),
                limits: spec.limits,
                runtime,
                grant: Arc::new(grant),
                pre,
                live: Mutex::new(None),
                instances: AtomicU64::new(0),
            }),
            aside: Mutex::new(None),
            path,
            sha256: hashed.sha256,
            cache_state,
        })
    }

    /// The component's name in messages.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// Drops the live instance: the next call gets a fresh one.
    pub fn reset(&self) {
        *self
            .core
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Runs `f` against the component, in its sandbox, under its limits; on this
    /// thread, or on the guest's worker thread inside an async runtime.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&W, &mut Store<State>) -> wasmtime::Result<R> + Send + 'static,
    ) -> Result<R, CallError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.core.call(f);
        }
        let lost = || CallError::Setup {
            plugin: self.core.name.clone(),
            message: "the plugin's worker thread is gone".into(),
        };
        let mut aside = self.aside.lock().unwrap_or_else(PoisonError::into_inner);
        if aside.is_none() {
            let (jobs, queue) = mpsc::channel::<Job<W>>();
            let core = Arc::clone(&self.core);
            std::thread::Builder::new()
                .name(format!("plugin-{}", core.name))
                .spawn(move || {
                    for job in queue {
                        job(&core);
                    }
                })
                .map_err(|e| CallError::Setup {
                    plugin: self.core.name.clone(),
                    message: format!("cannot start its worker thread: {e}"),
                })?;
            *aside = Some(jobs);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job<W> = Box::new(move |core| {
            let _ = reply.send(core.call(f));
        });
        aside
            .as_ref()
            .ok_or_else(lost)?
            .send(job)
            .map_err(|_| lost())?;
        drop(aside);
        answer.recv().map_err(|_| lost())?
    }
}

impl<W: World> Core<W> {
    fn instantiate(&self) -> Result<Live<W>, CallError> {
        let state = State::new(Arc::clone(&self.grant)).map_err(|e| CallError::Setup {
            plugin: self.name.clone(),
            message: e.to_string(),
        })?;
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|state| state as &mut dyn wasmtime::ResourceLimiter);
        store.set_epoch_deadline(Runtime::ticks(self.limits.timeout));
        store.data_mut().deadline = Instant::now() + self.limits.timeout;
        self.instances.fetch_add(1, Ordering::Relaxed);
        match W::instantiate(&self.pre, &mut store) {
            Ok(bindings) => Ok(Live { store, bindings }),
            Err(e) => Err(classify(&self.name, self.limits, e, store.data())),
        }
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&W, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let mut slot = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(self.instantiate()?);
        }
        let live = slot.as_mut().expect("an instance was just created");
        live.store
            .set_epoch_deadline(Runtime::ticks(self.limits.timeout));
        live.store.data_mut().deadline = Instant::now() + self.limits.timeout;
        live.store.data_mut().said = 0;
        match f(&live.bindings, &mut live.store) {
            Ok(r) => Ok(r),
            Err(error) => {
                let failure = classify(&self.name, self.limits, error, live.store.data());
                // A trapped instance is in an unknown state: never call it again.
                *slot = None;
                Err(failure)
            }
        }
    }
}

/// A trap, a time-out or a refused memory grow, in plain words.
/// The function at the top of the trapped call stack when it fills the whole
/// recorded backtrace (at least 16 frames): a recursion that did not end.
fn recursion(error: &wasmtime::Error) -> Option<String> {
    let trace = error.downcast_ref::<wasmtime::WasmBacktrace>()?;
    let frames = trace.frames();
    let top = frames.first()?;
    let same = frames
        .iter()
        .take_while(|f| f.func_index() == top.func_index())
        .count();
    (same >= 16).then(|| {
        top.func_name()
            .map_or_else(|| format!("function {}", top.func_index()), str::to_owned)
    })
}

pub(super) fn classify(
    plugin: &str,
    limits: Limits,
    error: wasmtime::Error,
    state: &State,
) -> CallError {
    let plugin = plugin.to_owned();
    if state.memory_exceeded {
        return CallError::Memory {
            plugin,
            limit_mb: limits.memory_mb,
        };
    }
    // Stopped in guest code (epoch) or while the host waited for it (`shadow.rs`).
    let waited_too_long = error
        .downcast_ref::<super::shadow::DeadlineReached>()
        .is_some();
    match error.downcast_ref::<wasmtime::Trap>() {
        _ if waited_too_long => CallError::Timeout {
            plugin,
            limit_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        },
        Some(wasmtime::Trap::Interrupt) => CallError::Timeout {
            plugin,
            limit_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        },
        _ if let Some(quota) = error.downcast_ref::<super::sandbox::QuotaExceeded>() => {
            CallError::Quota {
                plugin,
                what: quota.what,
                limit: super::sandbox::show_bytes(quota.limit),
            }
        }
        // The native stack of wasm calls ran out.
        Some(wasmtime::Trap::StackOverflow) => CallError::StackOverflow {
            plugin,
            detail: recursion(&error).map_or_else(
                || "its calls nest too deeply".to_owned(),
                |f| format!("`{f}` calls itself without end"),
            ),
        },
        // A guest's own stack lives in its linear memory (Rust, C): running past
        // its start is an out-of-bounds access with one function repeated on top.
        Some(wasmtime::Trap::MemoryOutOfBounds) if let Some(f) = recursion(&error) => {
            CallError::StackOverflow {
                plugin,
                detail: format!("`{f}` calls itself without end"),
            }
        }
        Some(trap) => {
            let text = trap.to_string();
            let mut message = text.strip_prefix("wasm trap: ").unwrap_or(&text).to_owned();
            if let Some(said) = state.stderr.last_lines() {
                message = format!("{message}; it said: {said}");
            }
            CallError::Trap { plugin, message }
        }
        None => CallError::Trap {
            plugin,
            message: format!("{error:#}"),
        },
    }
}
