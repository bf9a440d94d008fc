//! End-to-end tests: run the real `sqlalembic` binary in temporary projects.
//!
//! Every command runs with a cleared environment (plus `PATH` and `HOME`) so the
//! developer's own `DB_*` or `DATABASE_URL` variables cannot leak into a test.

mod autogenerate;
mod cli;
mod config;
mod discovery;
mod harness;
mod hostile;
mod logging;
mod plugins;
mod reliability;
mod revisions;
mod safety;
mod secrets;
mod signals;
mod startproject;
mod wasm_worlds;
