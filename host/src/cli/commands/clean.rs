//! `clean [--cache-only]`: removes what sqlalembic generated under `.sqlalembic/`.
//! The discovery and compiled-plugin caches live in `.sqlalembic/cache/`; without
//! `--cache-only` the whole `.sqlalembic/` folder goes. Revision files, the database
//! and the configuration are never touched.

use serde_json::json;

use crate::cli::{Context, Exit, Failure, Outcome};

pub fn run(ctx: &Context<'_>, cache_only: bool) -> Result<Outcome, Failure> {
    let root = &ctx.loaded()?.settings.project_root;
    let state = root.join(".sqlalembic");
    let target = if cache_only {
        state.join("cache")
    } else {
        state
    };
    // The compiled-plugin cache may live elsewhere (SQLALEMBIC_PLUGIN_CACHE).
    crate::plugins::clear_cache(root).map_err(|e| Failure::new(Exit::Usage, e))?;
    let existed = target.exists();
    if existed {
        std::fs::remove_dir_all(&target).map_err(|e| {
            Failure::new(
                Exit::Usage,
                anyhow::anyhow!("Cannot remove `{}`: {e}", target.display()),
            )
        })?;
    }
    let shown = target
        .strip_prefix(root)
        .unwrap_or(&target)
        .display()
        .to_string();
    if ctx.printer.is_json() {
        ctx.printer
            .json(&json!({ "removed": existed.then_some(&shown) }));
    } else if existed {
        ctx.printer.line(format!("Removed {shown}/"));
    } else {
        ctx.printer
            .line(format!("Nothing to clean: {shown}/ does not exist"));
    }
    Ok(Outcome::with(json!({ "removed": existed })))
}
