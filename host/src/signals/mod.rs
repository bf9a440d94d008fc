//! The signal dispatcher: one per run, created by the CLI (or an embedding program)
//! and handed to every stage.
//!
//! Input: handlers connected to a signal name (or `*`), each as an observer or a
//! policy, and signals sent by the stages. Output: a [`SendReport`] with each
//! handler's result in connection order. A handler that fails or panics is reported
//! and logged, never stops the others or the command; a `deny` only counts from a
//! policy on a start signal or `migration_generated` (see [`names::is_gate_signal`]),
//! anywhere else it is downgraded to a warning. Payloads are redacted before any handler sees them.
//!
//! There is deliberately no global dispatcher: the Python original's CLI built a
//! second one, so handlers connected by the project never fired. A [`Dispatcher`]
//! clone is the same dispatcher (shared handlers), not a new one.

mod lifecycle;
pub mod names;

use std::cell::Cell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

pub use lifecycle::{CommandRun, Denied};
pub use names::{is_gate_signal, is_start_signal, start_signal};

use crate::redact::redact_json;

/// One signal as handlers receive it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    /// e.g. `migration_migrate_command`, `revision_applied`.
    pub name: String,
    /// The command during which it was sent, e.g. `migrate`.
    pub command: String,
    /// Command, arguments, revisions, durations, error text: redacted JSON.
    pub payload: serde_json::Value,
    #[serde(serialize_with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
}

fn rfc3339<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Micros, true))
}

impl Signal {
    /// A signal stamped with the current time.
    pub fn new(
        name: impl Into<String>,
        command: impl Into<String>,
        payload: serde_json::Value,
    ) -> Signal {
        Signal {
            name: name.into(),
            command: command.into(),
            payload,
            timestamp: Utc::now(),
        }
    }
}

/// What a handler says about a signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Proceed,
    /// Go on, but show this message.
    Warn(String),
    /// Stop the command (only from a policy on a start signal).
    Deny(String),
}

/// Whether a handler's `deny` can stop a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandlerMode {
    /// Sees signals; a deny is only a warning.
    #[default]
    Observer,
    /// May deny a start signal, which aborts the command cleanly.
    Policy,
}

/// Something that receives signals: a Rust closure, a Rust type, a WebAssembly
/// component. Object-safe; a handler may connect or disconnect handlers while it runs.
pub trait Handler: Send + Sync {
    /// The name shown in reports and logs.
    fn name(&self) -> &str;
    /// Looks at one signal. `Err` is reported as a failure of this handler only.
    fn handle(&self, signal: &Signal) -> Result<Verdict, String>;
}

/// A [`Handler`] made of a name and a closure.
pub struct FnHandler<F> {
    name: String,
    func: F,
}

impl<F> FnHandler<F>
where
    F: Fn(&Signal) -> Result<Verdict, String> + Send + Sync,
{
    pub fn new(name: impl Into<String>, func: F) -> Self {
        FnHandler {
            name: name.into(),
            func,
        }
    }
}

impl<F> Handler for FnHandler<F>
where
    F: Fn(&Signal) -> Result<Verdict, String> + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn handle(&self, signal: &Signal) -> Result<Verdict, String> {
        (self.func)(signal)
    }
}

/// Identifies one connection, for [`Dispatcher::disconnect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandlerId(u64);

/// One handler connected to one signal name, as listed by [`Dispatcher::connections`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    #[serde(skip)]
    pub id: HandlerId,
    /// A signal name or `*`.
    pub signal: String,
    pub handler: String,
    pub mode: HandlerMode,
}

struct Entry {
    id: HandlerId,
    signal: String,
    mode: HandlerMode,
    handler: Arc<dyn Handler>,
}

struct Inner {
    entries: Mutex<Vec<Entry>>,
    next_id: AtomicU64,
    /// Keys put into every object payload (see [`Dispatcher::set_context`]).
    context: Mutex<serde_json::Map<String, serde_json::Value>>,
}

/// Connects handlers and sends signals to them. Create one per run and pass it down.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Default for Dispatcher {
    fn default() -> Dispatcher {
        Dispatcher::new()
    }
}

impl Dispatcher {
    /// A dispatcher without handlers. Every payload is masked before handlers see it
    /// (see [`crate::redact::redact_json`]).
    pub fn new() -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner {
                entries: Mutex::new(Vec::new()),
                next_id: AtomicU64::new(1),
                context: Mutex::new(serde_json::Map::new()),
            }),
        }
    }

    /// Connects `handler` to `signal` (a name, or `*` for every signal).
    pub fn connect(&self, signal: &str, handler: Arc<dyn Handler>, mode: HandlerMode) -> HandlerId {
        let id = HandlerId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        self.entries().push(Entry {
            id,
            signal: signal.to_owned(),
            mode,
            handler,
        });
        id
    }

    /// Connects a closure under `name`.
    pub fn connect_fn<F>(&self, signal: &str, name: &str, mode: HandlerMode, func: F) -> HandlerId
    where
        F: Fn(&Signal) -> Result<Verdict, String> + Send + Sync + 'static,
    {
        self.connect(signal, Arc::new(FnHandler::new(name, func)), mode)
    }

    /// Removes one connection; `false` if it was not connected (any more).
    pub fn disconnect(&self, id: HandlerId) -> bool {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|e| e.id != id);
        entries.len() != before
    }

    /// Every connection, in connection order.
    pub fn connections(&self) -> Vec<Connection> {
        self.entries()
            .iter()
            .map(|e| Connection {
                id: e.id,
                signal: e.signal.clone(),
                handler: e.handler.name().to_owned(),
                mode: e.mode,
            })
            .collect()
    }

    /// Keys every later signal's payload (an object) carries, over any key of the
    /// same name the sender put there: the CLI sets the effective `environment`
    /// and the project `settings` a policy judges by, so they are the values the
    /// command runs with whatever source they came from.
    pub fn set_context(&self, context: serde_json::Map<String, serde_json::Value>) {
        *self
            .inner
            .context
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = context;
    }

    /// Redacts the payload, then calls every handler connected to the signal's name
    /// or to `*`, in connection order, and reports each result. No lock is held while
    /// handlers run; handlers connected during the send get the next signal.
    pub fn send(&self, mut signal: Signal) -> SendReport {
        if let serde_json::Value::Object(payload) = &mut signal.payload {
            let context = self
                .inner
                .context
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for (key, value) in context.iter() {
                payload.insert(key.clone(), value.clone());
            }
        }
        redact_json(&mut signal.payload);
        let targets: Vec<(Arc<dyn Handler>, HandlerMode)> = self
            .entries()
            .iter()
            .filter(|e| e.signal == signal.name || e.signal == names::ALL_SIGNALS)
            .map(|e| (Arc::clone(&e.handler), e.mode))
            .collect();
        tracing::debug!(signal = %signal.name, handlers = targets.len(), "Sending signal");
        let start = is_gate_signal(&signal.name);
        let outcomes = targets
            .into_iter()
            .map(|(handler, mode)| call(handler.as_ref(), mode, &signal, start))
            .collect();
        SendReport {
            signal: signal.name,
            outcomes,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // Handlers never run under this lock, so a poisoned lock still holds a
        // consistent list.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

thread_local! {
    /// Set while this thread runs a handler, whose panics [`call`] contains.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with [`IN_HANDLER`] set, catching its panic; the flag is cleared either way.
fn contained<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    let outer = IN_HANDLER.with(|flag| flag.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_HANDLER.with(|flag| flag.set(outer));
    result
}

/// Keeps the process's panic hook from printing panics of signal handlers: the
/// dispatcher contains them and reports each with the handler's name (a warning and
/// the handler's outcome), so Rust's `thread 'main' panicked at ...` lines would only
/// be noise on stderr. Every other panic still goes to the previous hook. The CLI
/// installs it; a program embedding the library may call it too (it sets a global
/// hook, hence opt-in). Idempotent.
pub fn quiet_handler_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_HANDLER.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs one handler, containing its failure or panic.
fn call(handler: &dyn Handler, mode: HandlerMode, signal: &Signal, start: bool) -> HandlerOutcome {
    let name = contained(|| handler.name().to_owned()).unwrap_or_else(|_| "<unnamed>".to_owned());
    let (result, note) = match contained(|| handler.handle(signal)) {
        Ok(Ok(Verdict::Deny(reason))) if !(start && mode == HandlerMode::Policy) => {
            let note = if mode == HandlerMode::Observer {
                "`deny` from an observer counts as a warning".to_owned()
            } else {
                format!(
                    "`deny` counts only on a start signal, not on `{}`; treated as a warning",
                    signal.name
                )
            };
            tracing::warn!(handler = %name, signal = %signal.name, reason = %reason, "{note}");
            (Ok(Verdict::Warn(reason)), Some(note))
        }
        Ok(Ok(verdict)) => (Ok(verdict), None),
        Ok(Err(error)) => {
            tracing::warn!(handler = %name, signal = %signal.name, error = %error, "Signal handler failed");
            (Err(error), None)
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            let error = format!("Handler panicked: {message}");
            tracing::warn!(handler = %name, signal = %signal.name, error = %error, "Signal handler failed");
            (Err(error), None)
        }
    };
    HandlerOutcome {
        handler: name,
        mode,
        result,
        note,
    }
}

/// What one handler did with one signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerOutcome {
    pub handler: String,
    pub mode: HandlerMode,
    /// The verdict that counts (a downgraded deny is a `Warn`), or the handler's
    /// error or panic message.
    pub result: Result<Verdict, String>,
    /// Why the verdict differs from what the handler returned, if it does.
    pub note: Option<String>,
}

impl Serialize for HandlerOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("HandlerOutcome", 4)?;
        s.serialize_field("handler", &self.handler)?;
        s.serialize_field("mode", &self.mode)?;
        match &self.result {
            Ok(verdict) => s.serialize_field("verdict", verdict)?,
            Err(error) => s.serialize_field("error", error)?,
        }
        s.serialize_field("note", &self.note)?;
        s.end()
    }
}

/// The results of one [`Dispatcher::send`], in connection order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendReport {
    pub signal: String,
    pub outcomes: Vec<HandlerOutcome>,
}

impl SendReport {
    /// `(handler, message)` for every warning verdict (including downgraded denies)
    /// and every failed or panicked handler.
    pub fn warnings(&self) -> Vec<(&str, &str)> {
        self.outcomes
            .iter()
            .filter_map(|o| match &o.result {
                Ok(Verdict::Warn(message)) | Err(message) => {
                    Some((o.handler.as_str(), message.as_str()))
                }
                Ok(Verdict::Proceed | Verdict::Deny(_)) => None,
            })
            .collect()
    }

    /// The first policy that denied a start signal: `(handler, reason)`.
    pub fn denied(&self) -> Option<(&str, &str)> {
        self.outcomes.iter().find_map(|o| match &o.result {
            Ok(Verdict::Deny(reason)) => Some((o.handler.as_str(), reason.as_str())),
            _ => None,
        })
    }

    /// The first policy that failed (error, panic, trap, time or memory limit) on
    /// this signal: `(handler, error)`. A policy that cannot judge refuses.
    pub fn policy_failed(&self) -> Option<(&str, &str)> {
        self.outcomes.iter().find_map(|o| match &o.result {
            Err(error) if o.mode == HandlerMode::Policy => {
                Some((o.handler.as_str(), error.as_str()))
            }
            _ => None,
        })
    }

    /// Why the command must stop at this signal: a policy's deny, or on a gate
    /// signal ([`is_gate_signal`]) a policy that failed. `(handler, reason)`.
    pub fn refused(&self) -> Option<(String, String)> {
        if let Some((handler, reason)) = self.denied() {
            return Some((handler.to_owned(), reason.to_owned()));
        }
        if !is_gate_signal(&self.signal) {
            return None;
        }
        self.policy_failed()
            .map(|(handler, error)| (handler.to_owned(), refusal(error)))
    }
}

/// The reason a failed policy refuses with: what happened and the fix.
pub fn refusal(error: &str) -> String {
    format!(
        "the policy failed and a policy that cannot judge refuses ({error}); fix the plugin or raise its limits, or remove `policy = true` from its entry to run without it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn signal(name: &str) -> Signal {
        Signal::new(name, "migrate", json!({"command": "migrate"}))
    }

    fn proceed(_: &Signal) -> Result<Verdict, String> {
        Ok(Verdict::Proceed)
    }

    fn handlers(report: &SendReport) -> Vec<&str> {
        report.outcomes.iter().map(|o| o.handler.as_str()).collect()
    }

    #[test]
    fn send_calls_matching_handlers_in_connection_order() {
        let d = Dispatcher::new();
        d.connect_fn("revision_applied", "first", HandlerMode::Observer, proceed);
        d.connect_fn("command_finished", "other", HandlerMode::Observer, proceed);
        d.connect_fn("*", "wildcard", HandlerMode::Observer, |s: &Signal| {
            Ok(Verdict::Warn(format!("saw {}", s.name)))
        });
        d.connect_fn("revision_applied", "last", HandlerMode::Observer, proceed);
        let report = d.send(signal("revision_applied"));
        assert_eq!(report.signal, "revision_applied");
        assert_eq!(handlers(&report), ["first", "wildcard", "last"]);
        assert_eq!(
            report.outcomes[1].result,
            Ok(Verdict::Warn("saw revision_applied".into()))
        );
        assert_eq!(report.warnings(), [("wildcard", "saw revision_applied")]);
        assert_eq!(report.denied(), None);
        assert_eq!(
            handlers(&d.send(signal("command_finished"))),
            ["other", "wildcard"]
        );
        assert!(d.send(signal("models_discovered")).outcomes.len() == 1);
    }

    #[test]
    fn disconnect_removes_exactly_one_connection() {
        let d = Dispatcher::new();
        let a = d.connect_fn("*", "a", HandlerMode::Observer, proceed);
        d.connect_fn("*", "b", HandlerMode::Observer, proceed);
        assert!(d.disconnect(a));
        assert!(!d.disconnect(a));
        assert_eq!(handlers(&d.send(signal("x"))), ["b"]);
        assert_eq!(d.connections().len(), 1);
        assert_eq!(d.connections()[0].handler, "b");
    }

    #[test]
    fn clones_share_the_handlers() {
        let d = Dispatcher::new();
        let clone = d.clone();
        clone.connect_fn("*", "late", HandlerMode::Observer, proceed);
        assert_eq!(handlers(&d.send(signal("x"))), ["late"]);
    }

    #[test]
    fn failing_and_panicking_handlers_are_contained() {
        let d = Dispatcher::new();
        d.connect_fn("*", "fails", HandlerMode::Policy, |_: &Signal| {
            Err("database down".to_owned())
        });
        d.connect_fn(
            "*",
            "panics",
            HandlerMode::Observer,
            |_: &Signal| -> Result<Verdict, String> { panic!("handler bug") },
        );
        d.connect_fn("*", "fine", HandlerMode::Observer, proceed);
        let report = d.send(signal("migration_migrate_command"));
        assert_eq!(handlers(&report), ["fails", "panics", "fine"]);
        assert_eq!(report.outcomes[0].result, Err("database down".to_owned()));
        assert_eq!(
            report.outcomes[1].result,
            Err("Handler panicked: handler bug".to_owned())
        );
        assert_eq!(report.outcomes[2].result, Ok(Verdict::Proceed));
        assert_eq!(report.denied(), None);
        assert_eq!(report.warnings().len(), 2);
    }

    #[test]
    fn the_quiet_hook_knows_when_a_handler_runs() {
        quiet_handler_panics();
        let d = Dispatcher::new();
        d.connect_fn("*", "looks", HandlerMode::Observer, |_: &Signal| {
            Ok(if IN_HANDLER.with(Cell::get) {
                Verdict::Proceed
            } else {
                Verdict::Warn("flag not set".into())
            })
        });
        d.connect_fn(
            "*",
            "panics",
            HandlerMode::Observer,
            |_: &Signal| -> Result<Verdict, String> { panic!("contained") },
        );
        let report = d.send(signal("x"));
        assert_eq!(report.outcomes[0].result, Ok(Verdict::Proceed));
        assert_eq!(
            report.outcomes[1].result,
            Err("Handler panicked: contained".to_owned())
        );
        // Cleared after the panic: a panic of the command itself is printed again.
        assert!(!IN_HANDLER.with(Cell::get));
    }

    #[test]
    fn policy_deny_counts_only_on_start_signals() {
        let d = Dispatcher::new();
        d.connect_fn("*", "policy", HandlerMode::Policy, |_: &Signal| {
            Ok(Verdict::Deny("frozen".into()))
        });
        for name in ["migration_migrate_command", "alembic_command_started"] {
            let report = d.send(signal(name));
            assert_eq!(report.denied(), Some(("policy", "frozen")), "{name}");
            assert!(report.warnings().is_empty());
        }
        let report = d.send(signal("revision_applied"));
        assert_eq!(report.denied(), None);
        assert_eq!(
            report.outcomes[0].result,
            Ok(Verdict::Warn("frozen".into()))
        );
        let note = report.outcomes[0]
            .note
            .as_deref()
            .expect("downgrade is explained");
        assert!(note.contains("only on a start signal"), "{note}");
    }

    #[test]
    fn observer_deny_is_a_warning() {
        let d = Dispatcher::new();
        d.connect_fn("*", "observer", HandlerMode::Observer, |_: &Signal| {
            Ok(Verdict::Deny("no".into()))
        });
        let report = d.send(signal("migration_migrate_command"));
        assert_eq!(report.denied(), None);
        assert_eq!(report.warnings(), [("observer", "no")]);
        assert_eq!(
            report.outcomes[0].note.as_deref(),
            Some("`deny` from an observer counts as a warning")
        );
    }

    #[test]
    fn payloads_are_redacted_before_handlers_see_them() {
        let d = Dispatcher::new();
        let seen = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&seen);
        d.connect_fn("*", "spy", HandlerMode::Observer, move |s: &Signal| {
            *sink.lock().expect("lock") = Some(s.payload.clone());
            Ok(Verdict::Proceed)
        });
        d.send(Signal::new(
            "command_failed",
            "migrate",
            json!({
                "arguments": {"db_pass": "x", "apiKey": "y", "database_url": "postgresql://app:pw@db/app"},
                "error": "auth failed for mysql:/u:s3cr3t%21@h/db (not s3cr3t!) with 'postgresql://u:tok-123@h'",
                "revisions": ["ae1f"]
            }),
        ));
        let payload = seen.lock().expect("lock").clone().expect("handler ran");
        assert_eq!(
            payload,
            json!({
                "arguments": {"db_pass": "***", "apiKey": "***", "database_url": "postgresql://app:***@db/app"},
                "error": "auth failed for mysql:/u:***@h/db (not s3cr3t!) with 'postgresql://u:***@h'",
                "revisions": ["ae1f"]
            })
        );
    }

    #[test]
    fn a_handler_may_connect_and_disconnect_during_send() {
        let d = Dispatcher::new();
        let inner = d.clone();
        let victim = d.connect_fn("*", "victim", HandlerMode::Observer, proceed);
        d.connect_fn(
            "*",
            "connector",
            HandlerMode::Observer,
            move |_: &Signal| {
                inner.connect_fn("*", "added", HandlerMode::Observer, proceed);
                inner.disconnect(victim);
                Ok(Verdict::Proceed)
            },
        );
        // Handlers run from a snapshot: the first send still reaches `victim`.
        assert_eq!(handlers(&d.send(signal("x"))), ["victim", "connector"]);
        assert_eq!(handlers(&d.send(signal("x"))), ["connector", "added"]);
    }

    #[test]
    fn reports_and_signals_serialize() {
        let d = Dispatcher::new();
        d.connect_fn("*", "ok", HandlerMode::Policy, proceed);
        d.connect_fn("*", "bad", HandlerMode::Observer, |_: &Signal| {
            Err("boom".into())
        });
        let report = d.send(signal("x"));
        assert_eq!(
            serde_json::to_value(&report).expect("serialize"),
            json!({"signal": "x", "outcomes": [
                {"handler": "ok", "mode": "policy", "verdict": "proceed", "note": null},
                {"handler": "bad", "mode": "observer", "error": "boom", "note": null}
            ]})
        );
        let value = serde_json::to_value(signal("x")).expect("serialize");
        assert_eq!(value["name"], "x");
        assert_eq!(value["command"], "migrate");
        let timestamp = value["timestamp"].as_str().expect("timestamp string");
        assert!(
            DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{timestamp}"
        );
        assert_eq!(
            serde_json::to_value(Verdict::Deny("r".into())).expect("serialize"),
            json!({"deny": "r"})
        );
    }
}
