//! The one wasmtime engine of a run, its linker and the epoch clock.
//!
//! Input: nothing but this build's engine settings. Output: a [`Runtime`] whose
//! engine interrupts guests by epoch (a background thread advances the epoch every
//! [`TICK`] while the engine lives) and whose linker offers WASI 0.2 (with outgoing
//! `wasi:http`, judged per request in `http.rs`; symbolic links refused and WASI
//! waits bounded by the call's deadline, in `shadow.rs`) plus the `sqlalembic:plugin`
//! imports, and a [`Runtime::fingerprint`] that changes whenever compiled artifacts
//! stop being compatible. It offers no other imports.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::Error;
use super::bindings::SignalHandler;
use super::bindings::discovery_backend::sqlalembic::plugin::project;
use super::sandbox::State;

/// How often the epoch advances; a call's deadline is counted in ticks.
pub const TICK: Duration = Duration::from_millis(5);

/// The engine and linker shared by every plugin of a run (cheap to clone).
#[derive(Clone)]
pub struct Runtime {
    pub engine: Engine,
    pub linker: Arc<Linker<State>>,
    fingerprint: String,
}

impl Runtime {
    /// An engine with epoch interruption and the linker for every world.
    pub fn new() -> Result<Runtime, Error> {
        let engine_error = |e: wasmtime::Error| Error::Engine {
            message: format!("{e:#}"),
        };
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(engine_error)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        // Standard outgoing `wasi:http`; every request is judged by `http::authorize`.
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).map_err(engine_error)?;
        SignalHandler::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
            .map_err(engine_error)?;
        // The other worlds import `host` (defined above), type-only interfaces (no
        // definition needed) and, for discovery backends, `project`.
        project::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
            .map_err(engine_error)?;
        // No symbolic links, no WASI wait past the call's deadline, writes and log
        // lines within the plugin's quotas.
        super::shadow::shadow(&mut linker).map_err(engine_error)?;
        start_epoch_clock(&engine)?;
        let fingerprint = fingerprint(&engine);
        Ok(Runtime {
            engine,
            linker: Arc::new(linker),
            fingerprint,
        })
    }

    /// One runtime for the whole process (the dialect and discovery components of
    /// a run, and of a test suite, share its engine and epoch clock).
    pub fn shared() -> Result<Runtime, Error> {
        static SHARED: std::sync::OnceLock<Result<Runtime, String>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| {
                Runtime::new().map_err(|e| match e {
                    Error::Engine { message } => message,
                    other => other.to_string(),
                })
            })
            .clone()
            .map_err(|message| Error::Engine { message })
    }

    /// 16 hex digits naming this engine's artifact compatibility (wasmtime version,
    /// target, compiler settings): part of every cache key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Epoch ticks for a time limit (at least one).
    pub fn ticks(limit: Duration) -> u64 {
        let tick = TICK.as_micros().max(1);
        u64::try_from(limit.as_micros().div_ceil(tick))
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Advances the epoch every [`TICK`] until the engine is dropped.
fn start_epoch_clock(engine: &Engine) -> Result<(), Error> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("sqlalembic-plugin-epoch".into())
        .spawn(move || {
            // Ticks follow the wall clock: a late wake-up (a busy machine) catches up
            // instead of stretching every deadline.
            let start = std::time::Instant::now();
            let mut done: u128 = 0;
            loop {
                std::thread::sleep(TICK);
                let Some(engine) = weak.upgrade() else { break };
                let due = start.elapsed().as_micros() / TICK.as_micros().max(1);
                while done < due {
                    engine.increment_epoch();
                    done += 1;
                }
            }
        })
        .map(|_| ())
        .map_err(|e| Error::Engine {
            message: format!("cannot start the epoch clock: {e}"),
        })
}

/// Feeds a `Hash` into SHA-256, so the key is stable across runs (unlike
/// `DefaultHasher`, whose algorithm may change between Rust releases).
struct ShaHasher(Sha256);

impl std::hash::Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn fingerprint(engine: &Engine) -> String {
    use std::hash::Hash;
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    // Our own linker and world: a new tool version recompiles, to be safe.
    crate::VERSION.hash(&mut hasher);
    let digest = hasher.0.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up_and_never_zero() {
        assert_eq!(Runtime::ticks(Duration::from_millis(500)), 100);
        assert_eq!(Runtime::ticks(Duration::from_millis(7)), 2);
        assert_eq!(Runtime::ticks(Duration::ZERO), 1);
    }

    #[test]
    fn fingerprint_is_stable_for_one_engine_configuration() {
        let a = Runtime::new().expect("engine");
        let b = Runtime::new().expect("engine");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
    }
}
