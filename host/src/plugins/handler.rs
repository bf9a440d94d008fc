//! One loaded plugin: a compiled component, its sandbox grant and at most one live
//! instance, plugged into the dispatcher as a [`Handler`].
//!
//! Input: signals from the [`crate::signals::Dispatcher`]. Output: the plugin's
//! verdict, or its failure in plain words with its name (trap, time limit, memory
//! limit, returned error). An instance is created on the first signal and reused
//! for the next ones while it behaves; a trapped instance is dropped and never
//! called again (the next signal gets a fresh one). Each call, instantiation
//! included, runs under the plugin's epoch deadline and memory limit.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Instant;

use wasmtime::Store;

use super::Inspection;
use super::bindings::sqlalembic::plugin::types;
use super::bindings::{SignalHandler, SignalHandlerPre};
use super::cache::CacheState;
use super::engine::Runtime;
use super::sandbox::{Grant, State};
use crate::config::{OnError, PluginConfig};
use crate::signals::{Handler, Signal, Verdict, is_start_signal};

/// Why a call produced no verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("Plugin `{plugin}` ran past its time limit of {limit_ms} ms and was stopped")]
    Timeout { plugin: String, limit_ms: u64 },
    #[error("Plugin `{plugin}` went over its memory limit of {limit_mb} MiB and was stopped")]
    Memory { plugin: String, limit_mb: u64 },
    #[error("Plugin `{plugin}` overflowed its stack and was stopped ({detail})")]
    StackOverflow { plugin: String, detail: String },
    #[error("Plugin `{plugin}` went over its {what} quota of {limit} and was stopped")]
    Quota {
        plugin: String,
        /// `output` (verdict messages and log lines) or `write` (bytes written).
        what: &'static str,
        /// e.g. `1 MiB`.
        limit: String,
    },
    #[error("Plugin `{plugin}` crashed (trap: {message})")]
    Trap { plugin: String, message: String },
    #[error("Plugin `{plugin}` failed: {message}")]
    Returned { plugin: String, message: String },
    #[error("Plugin `{plugin}` could not start: {message}")]
    Setup { plugin: String, message: String },
}

/// A failure of a policy, or of a plugin whose `on_error` is `abort`, for the
/// command to stop on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abort {
    pub plugin: String,
    pub signal: String,
    pub error: String,
    /// The plugin is a policy (which fails closed whatever its `on_error`).
    pub policy: bool,
}

/// Shared record of abort-worthy failures during a run.
pub type Aborts = Arc<Mutex<Vec<Abort>>>;

/// What [`Plugin::new`] is made of.
pub(super) struct Parts {
    pub config: PluginConfig,
    pub path: PathBuf,
    pub sha256: String,
    pub cache_state: CacheState,
    pub inspection: Inspection,
    pub runtime: Runtime,
    pub grant: Grant,
    pub pre: SignalHandlerPre<State>,
    pub aborts: Aborts,
}

struct Live {
    store: Store<State>,
    bindings: SignalHandler,
}

/// What a call needs, shared with the worker thread that runs calls made from
/// inside an async runtime.
struct Core {
    config: PluginConfig,
    runtime: Runtime,
    grant: Arc<Grant>,
    pre: SignalHandlerPre<State>,
    live: Mutex<Option<Live>>,
    instances: std::sync::atomic::AtomicU64,
}

type Job = (Signal, mpsc::SyncSender<Result<Verdict, CallError>>);

/// A plugin ready to receive signals.
pub struct Plugin {
    core: Arc<Core>,
    /// The component file (absolute).
    pub path: PathBuf,
    pub sha256: String,
    pub cache_state: CacheState,
    /// Its imports and exports.
    pub inspection: Inspection,
    aborts: Aborts,
    /// The worker thread for calls made inside an async runtime (started on the
    /// first such call, ended when the plugin is dropped).
    aside: Mutex<Option<mpsc::Sender<Job>>>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.core.config.name)
            .field("path", &self.path)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// A plugin from its loaded parts (see `load_one`).
    pub(super) fn new(parts: Parts) -> Plugin {
        Plugin {
            core: Arc::new(Core {
                config: parts.config,
                runtime: parts.runtime,
                grant: Arc::new(parts.grant),
                pre: parts.pre,
                live: Mutex::new(None),
                instances: std::sync::atomic::AtomicU64::new(0),
            }),
            path: parts.path,
            sha256: parts.sha256,
            cache_state: parts.cache_state,
            inspection: parts.inspection,
            aborts: parts.aborts,
            aside: Mutex::new(None),
        }
    }

    /// Its `[[plugins]]` entry.
    pub fn config(&self) -> &PluginConfig {
        &self.core.config
    }

    /// What its sandbox grants.
    pub fn grant(&self) -> &Grant {
        &self.core.grant
    }

    /// How many instances were created so far (a trap makes the next call create one).
    pub fn instances_created(&self) -> u64 {
        self.core
            .instances
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends one signal to the plugin, in its sandbox, on this thread.
    pub fn call(&self, signal: &Signal) -> Result<Verdict, CallError> {
        self.core.call(signal)
    }

    /// [`Plugin::call`] off any async runtime: WASI's blocking calls (streams,
    /// polls) enter Tokio themselves and must not run inside a runtime, so there the
    /// call goes to this plugin's worker thread (a channel round trip, not a thread
    /// per call).
    fn call_here_or_aside(&self, signal: &Signal) -> Result<Verdict, CallError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.core.call(signal);
        }
        let lost = || CallError::Setup {
            plugin: self.core.config.name.clone(),
            message: "the plugin's worker thread is gone".into(),
        };
        let mut aside = self.aside.lock().unwrap_or_else(PoisonError::into_inner);
        if aside.is_none() {
            let (jobs, queue) = mpsc::channel::<Job>();
            let core = Arc::clone(&self.core);
            std::thread::Builder::new()
                .name(format!("plugin-{}", core.config.name))
                .spawn(move || {
                    for (signal, reply) in queue {
                        let _ = reply.send(core.call(&signal));
                    }
                })
                .map_err(|e| CallError::Setup {
                    plugin: self.core.config.name.clone(),
                    message: format!("cannot start its worker thread: {e}"),
                })?;
            *aside = Some(jobs);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let jobs = aside.as_ref().ok_or_else(lost)?;
        jobs.send((signal.clone(), reply)).map_err(|_| lost())?;
        answer.recv().map_err(|_| lost())?
    }
}

impl Core {
    fn instantiate(&self) -> Result<Live, CallError> {
        let setup = |message: String| CallError::Setup {
            plugin: self.config.name.clone(),
            message,
        };
        let state = State::new(Arc::clone(&self.grant)).map_err(|e| setup(e.to_string()))?;
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|state| state as &mut dyn wasmtime::ResourceLimiter);
        store.set_epoch_deadline(Runtime::ticks(self.grant.timeout));
        store.data_mut().deadline = Instant::now() + self.grant.timeout;
        self.instances
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.pre.instantiate(&mut store) {
            Ok(bindings) => Ok(Live { store, bindings }),
            Err(e) => Err(self.classify(e, store.data())),
        }
    }

    fn classify(&self, error: wasmtime::Error, state: &State) -> CallError {
        let limits = super::component::Limits {
            timeout: self.grant.timeout,
            memory_mb: self.config.memory_mb,
        };
        super::component::classify(&self.config.name, limits, error, state)
    }

    /// Sends one signal to the plugin, in its sandbox, on this thread.
    fn call(&self, signal: &Signal) -> Result<Verdict, CallError> {
        let mut slot = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(self.instantiate()?);
        }
        let live = slot.as_mut().expect("an instance was just created");
        live.store
            .set_epoch_deadline(Runtime::ticks(self.grant.timeout));
        live.store.data_mut().deadline = Instant::now() + self.grant.timeout;
        live.store.data_mut().said = 0;
        let wit = types::Signal::from(signal);
        let result = live.bindings.call_handle(&mut live.store, &wit);
        let logged = live.store.data().said;
        let over = |said: usize| {
            let said = u64::try_from(said).unwrap_or(u64::MAX);
            (logged.saturating_add(said) > self.grant.output_bytes).then(|| CallError::Quota {
                plugin: self.config.name.clone(),
                what: "output",
                limit: super::sandbox::show_bytes(self.grant.output_bytes),
            })
        };
        // A message over the output quota is never printed, logged or sent on.
        let said = match &result {
            Ok(Ok(types::Verdict::Warn(m) | types::Verdict::Deny(m)) | Err(m)) => over(m.len()),
            _ => None,
        };
        if let Some(quota) = said {
            return Err(quota);
        }
        match result {
            Ok(Ok(verdict)) => Ok(verdict.into()),
            Ok(Err(message)) => Err(CallError::Returned {
                plugin: self.config.name.clone(),
                message,
            }),
            Err(error) => {
                let failure = self.classify(error, live.store.data());
                // A trapped instance is in an unknown state: never call it again.
                *slot = None;
                Err(failure)
            }
        }
    }
}

impl Handler for Plugin {
    fn name(&self) -> &str {
        &self.core.config.name
    }

    fn handle(&self, signal: &Signal) -> Result<Verdict, String> {
        match self.call_here_or_aside(signal) {
            // Connected as a policy only so that `on_error = "abort"` can stop a
            // command: its own deny is just a warning.
            Ok(Verdict::Deny(reason)) if !self.core.config.policy => Ok(Verdict::Warn(format!(
                "{reason} (`deny` ignored: the plugin is not a policy)"
            ))),
            Ok(verdict) => Ok(verdict),
            Err(error) => {
                let text = error.to_string();
                let policy = self.core.config.policy;
                // A policy that cannot judge fails closed, whatever its `on_error`.
                if policy || self.core.config.on_error == OnError::Abort {
                    self.aborts
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(Abort {
                            plugin: self.core.config.name.clone(),
                            signal: signal.name.clone(),
                            error: text.clone(),
                            policy,
                        });
                    // A policy's failure is refused by the dispatcher on every gate
                    // signal (see `SendReport::refused`).
                    if !policy && is_start_signal(&signal.name) {
                        return Ok(Verdict::Deny(format!("{text}; its `on_error` is `abort`")));
                    }
                }
                Err(text)
            }
        }
    }
}
