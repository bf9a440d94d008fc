//! sqlalembic: discover models, autogenerate migrations, apply and roll them back on
//! SQLite, PostgreSQL and MySQL/MariaDB with Alembic's revision-graph semantics, and
//! dispatch every command signal to native and sandboxed WebAssembly handlers.
//!
//! The modules follow the data flow: `config` -> `discovery` ->
//! `introspect` -> `diff` -> `ops` -> `dialect` -> `revision` -> `runner`, wrapped by
//! `signals`; only `cli` writes to the terminal. A Rust program can embed the library:
//! load [`config::Settings`], connect handlers to a [`signals::Dispatcher`], and run
//! commands through [`cli::run`].

pub mod cli;
pub mod config;
pub mod confined;
pub mod db;
pub mod dburl;
pub mod diagnostic;
pub mod dialect;
pub mod diff;
pub mod discovery;
pub mod introspect;
pub mod logging;
pub mod ops;
pub mod plugins;
pub mod redact;
pub mod revision;
pub mod runner;
pub mod schema;
pub mod signals;
pub mod templates;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod proptests;

/// The version of this tool, recorded in the history table and signal payloads.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
