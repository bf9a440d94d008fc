//! Migration files <-> revisions, and the revision DAG with Alembic's semantics.
//!
//! `file` reads and writes revision files (TOML ops or raw `.sql`); `graph` builds the
//! DAG from their headers and resolves targets (`head`, `-1`, `ae1f@head`, ...) into
//! upgrade/downgrade plans; `scripts` loads a whole versions folder into both. Nothing
//! here touches a database.

pub mod file;
pub mod graph;
pub mod scripts;

pub use scripts::{LoadError, ScriptDir};
