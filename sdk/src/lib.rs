//! Write a sqlalembic signal handler in a few lines of Rust.
//!
//! A plugin is a WebAssembly component of the `signal-handler` world of the WIT
//! package `sqlalembic:plugin@0.1.0` (the `wit/` folder of the repository). This crate
//! generates the bindings once and hides them behind a trait and a macro:
//!
//! ```ignore
//! use sqlalembic_plugin::{Handler, Signal, Verdict, log};
//!
//! struct Hello;
//!
//! impl Handler for Hello {
//!     fn handle(signal: Signal) -> Result<Verdict, String> {
//!         log::info(&format!("{} during `{}`", signal.name, signal.command));
//!         Ok(Verdict::Proceed)
//!     }
//! }
//!
//! sqlalembic_plugin::export_handler!(Hello);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2` and point a
//! `[[plugins]]` entry at `target/wasm32-wasip2/release/<crate>.wasm`.
//!
//! Inside the sandbox the standard library works as usual for what the plugin's
//! `allow` entry grants: `std::fs` in the `allow.read` / `allow.write` folders (by
//! their path relative to the project root, e.g. `logs/audit.jsonl`), `std::env::var`
//! for the `allow.env` variables, [`http::send`] for the `allow.http` hosts. Nothing
//! else is there: no argv, no stdout (log through [`log`]), no other files.

/// The generated bindings (`wit-bindgen`); use the re-exports below instead.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)] // generated code
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "signal-handler",
        pub_export_macro: true,
        export_macro_name: "__export_signal_handler",
        default_bindings_module: "::sqlalembic_plugin::bindings",
    });
}

use bindings::sqlalembic::plugin::{host, types};

pub use serde_json::{self, Value};

/// One signal: its name, the command it belongs to, its JSON payload and when it
/// was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// e.g. `migration_migrate_command`, `revision_applied`, `command_finished`.
    pub name: String,
    /// e.g. `migrate`.
    pub command: String,
    /// The payload as JSON text (secrets already masked).
    pub payload_json: String,
    /// RFC 3339 UTC, e.g. `2026-11-25T18:00:00.123456Z`.
    pub timestamp: String,
}

impl Signal {
    /// The payload parsed (`Value::Null` if the host ever sent invalid JSON).
    pub fn payload(&self) -> Value {
        serde_json::from_str(&self.payload_json).unwrap_or(Value::Null)
    }

    /// Whether this is a start signal, the only kind a policy's deny counts on.
    pub fn is_start(&self) -> bool {
        self.name == "alembic_command_started"
            || (self.name.starts_with("migration_") && self.name.ends_with("_command"))
    }
}

/// What the handler says about a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on.
    Proceed,
    /// Go on, and show this message.
    Warn(String),
    /// Stop the command (counts only for a policy plugin on a start signal).
    Deny(String),
}

/// A signal handler: implement this on a unit type and export it with
/// [`export_handler!`].
pub trait Handler {
    /// Looks at one signal. `Err` is reported with the plugin's name; the command
    /// goes on or stops as the plugin's `on_error` says.
    fn handle(signal: Signal) -> Result<Verdict, String>;
}

/// Exports a [`Handler`] as the component's `handle` function.
#[macro_export]
macro_rules! export_handler {
    ($handler:ty) => {
        #[doc(hidden)]
        pub struct __SqlalembicExport;

        impl $crate::bindings::Guest for __SqlalembicExport {
            fn handle(
                signal: $crate::bindings::sqlalembic::plugin::types::Signal,
            ) -> ::core::result::Result<
                $crate::bindings::sqlalembic::plugin::types::Verdict,
                ::std::string::String,
            > {
                $crate::__private::call::<$handler>(signal)
            }
        }

        $crate::bindings::__export_signal_handler!(__SqlalembicExport with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub mod __private {
    use super::{Handler, Signal, Verdict, types};

    pub fn call<H: Handler>(signal: types::Signal) -> Result<types::Verdict, String> {
        let signal = Signal {
            name: signal.name,
            command: signal.command,
            payload_json: signal.payload,
            timestamp: signal.timestamp,
        };
        H::handle(signal).map(|v| match v {
            Verdict::Proceed => types::Verdict::Proceed,
            Verdict::Warn(m) => types::Verdict::Warn(m),
            Verdict::Deny(r) => types::Verdict::Deny(r),
        })
    }
}

/// Lines in the tool's log, tagged with the plugin's name.
pub mod log {
    use super::{host, types::LogLevel};

    pub fn trace(message: &str) {
        host::log(LogLevel::Trace, message);
    }
    pub fn debug(message: &str) {
        host::log(LogLevel::Debug, message);
    }
    pub fn info(message: &str) {
        host::log(LogLevel::Info, message);
    }
    pub fn warn(message: &str) {
        host::log(LogLevel::Warn, message);
    }
    pub fn error(message: &str) {
        host::log(LogLevel::Error, message);
    }
}

/// The plugin's own `settings` table, read-only.
pub mod settings {
    use super::{Value, host};

    /// Every setting as a JSON object.
    pub fn all() -> Value {
        serde_json::from_str(&host::settings()).unwrap_or(Value::Null)
    }

    /// One setting, or `None` when it is not set.
    pub fn get(key: &str) -> Option<Value> {
        host::setting(key).and_then(|text| serde_json::from_str(&text).ok())
    }

    /// One string setting, or `None` when it is not set or not a string.
    pub fn string(key: &str) -> Option<String> {
        match get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// Files in the plugin's granted folders, through the host (paths relative to the
/// project root). `std::fs` works too; these calls are what Python and JavaScript
/// guests use, and they refuse any path that leaves a granted folder.
pub mod files {
    use super::host;

    /// A whole file inside an `allow.read` or `allow.write` folder.
    pub fn read(path: &str) -> Result<Vec<u8>, String> {
        host::read_file(path)
    }

    /// Appends `data` (one write) to a file inside an `allow.write` folder.
    pub fn append(path: &str, data: &[u8]) -> Result<(), String> {
        host::append_file(path, data)
    }
}

/// Outgoing HTTP to the hosts of the plugin's `allow.http`.
pub mod http {
    pub use super::bindings::sqlalembic::plugin::http::{Request, Response};

    /// Sends a request; `Err` says why it was refused or failed.
    pub fn send(request: &Request) -> Result<Response, String> {
        super::bindings::sqlalembic::plugin::http::send(request)
    }

    /// `POST`s a JSON body to `url`.
    pub fn post_json(url: &str, body: &super::Value) -> Result<Response, String> {
        send(&Request {
            method: "POST".to_owned(),
            url: url.to_owned(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        })
    }
}
