//! `guard`: a policy that denies destructive migrations in production.
//!
//! On the start signal of a guarded command (`migrate` by default), when the
//! command runs in production (the payload's `environment`, which the host fills
//! from whichever source set `ENVIRONMENT`, or the variable `ENVIRONMENT` itself if
//! the plugin may see it) and the approval variable
//! (`SQLALEMBIC_APPROVE_DESTRUCTIVE` by default) is not set to a non-empty value, it
//! reads the revision files in the migrations folder and denies the command if an
//! `[[upgrade]]` step drops a table or a column (`.sql` revisions: `DROP TABLE`,
//! `DROP COLUMN`, `TRUNCATE` in the `-- +upgrade` section). A payload with a
//! `revisions` list limits the check to those revisions.
//!
//! ```toml
//! [[plugins]]
//! name = "guard"
//! path = "plugins/guard.wasm"
//! policy = true
//! signals = ["migration_migrate_command"]
//! allow = { read = ["migrations"], env = ["ENVIRONMENT", "SQLALEMBIC_APPROVE_DESTRUCTIVE"] }
//! settings = { migrations = "migrations/versions" }
//! ```
//!
//! Settings: `migrations` (folder, default the payload's `settings.versions_dir`,
//! else `migrations/versions`), `approval_env`,
//! `commands` (list, default `["migrate"]`).

use std::fs;

use sqlalembic_plugin::{Handler, Signal, Value, Verdict, log, settings};

struct Guard;

impl Handler for Guard {
    fn handle(signal: Signal) -> Result<Verdict, String> {
        if !signal.is_start() || !guarded(&signal.command) {
            return Ok(Verdict::Proceed);
        }
        let payload = signal.payload();
        // The host puts the environment the command runs in (from the file, `.env`,
        // a variable or a flag) into every payload; a variable the plugin sees
        // counts too, so either saying `production` is enough.
        let from_host = payload.get("environment").and_then(Value::as_str);
        let from_env = std::env::var("ENVIRONMENT").ok();
        let production = [from_host, from_env.as_deref()]
            .into_iter()
            .flatten()
            .any(|e| e.trim().eq_ignore_ascii_case("production"));
        if !production {
            return Ok(Verdict::Proceed);
        }
        let approval = settings::string("approval_env")
            .unwrap_or_else(|| "SQLALEMBIC_APPROVE_DESTRUCTIVE".to_owned());
        if std::env::var(&approval).is_ok_and(|v| !v.trim().is_empty()) {
            log::info(&format!("Destructive migrations approved by `{approval}`"));
            return Ok(Verdict::Proceed);
        }
        let folder = settings::string("migrations")
            .or_else(|| {
                payload
                    .pointer("/settings/versions_dir")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "migrations/versions".to_owned());
        let only: Vec<String> = match payload.get("revisions") {
            Some(Value::Array(ids)) => ids
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let entries = fs::read_dir(&folder).map_err(|e| format!("Cannot read `{folder}`: {e}"))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml") || n.ends_with(".sql"))
            .filter(|n| only.is_empty() || only.iter().any(|id| n.starts_with(id.as_str())))
            .collect();
        names.sort();
        for name in names {
            let path = format!("{folder}/{name}");
            let text =
                fs::read_to_string(&path).map_err(|e| format!("Cannot read `{path}`: {e}"))?;
            if let Some(what) = destructive(&name, &text) {
                return Ok(Verdict::Deny(format!(
                    "`{name}` {what} in production; set `{approval}` to approve"
                )));
            }
        }
        Ok(Verdict::Proceed)
    }
}

fn guarded(command: &str) -> bool {
    match settings::get("commands") {
        Some(Value::Array(list)) => list.iter().any(|c| c.as_str() == Some(command)),
        _ => command == "migrate",
    }
}

/// What destructive thing the upgrade part of a revision does, if any.
fn destructive(name: &str, text: &str) -> Option<String> {
    if name.ends_with(".sql") {
        let mut upgrade = false;
        for line in text.lines() {
            let trimmed = line.trim();
            let lower = trimmed.to_ascii_lowercase();
            if lower.starts_with("-- +upgrade") {
                upgrade = true;
            } else if lower.starts_with("-- +downgrade") {
                upgrade = false;
            } else if upgrade {
                let upper = trimmed.to_ascii_uppercase();
                for keyword in ["DROP TABLE", "DROP COLUMN", "TRUNCATE"] {
                    if upper.contains(keyword) {
                        return Some(format!("runs `{keyword}`"));
                    }
                }
            }
        }
        return None;
    }
    let mut upgrade = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("[[") {
            upgrade = trimmed == "[[upgrade]]";
        } else if upgrade
            && let Some(op) = op_value(trimmed)
            && (op == "drop_table" || op == "drop_column")
        {
            return Some(format!("has a `{op}` step"));
        }
    }
    None
}

/// `drop_table` from `op = "drop_table"`.
fn op_value(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("op")?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    rest.strip_prefix('"')?.split('"').next()
}

sqlalembic_plugin::export_handler!(Guard);
