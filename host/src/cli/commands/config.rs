//! `config`: every effective setting and where it came from, secrets masked.

use crate::cli::{Context, Failure, Outcome};
use crate::config::Origin;

pub fn run(ctx: &Context<'_>) -> Result<Outcome, Failure> {
    let loaded = ctx.loaded()?;
    let entries = loaded.entries();
    let root = &loaded.settings.project_root;
    if ctx.printer.is_json() {
        ctx.printer.json(&serde_json::json!({
            "project_root": root,
            "file": loaded.file,
            "settings": entries,
        }));
        return Ok(Outcome::ok());
    }
    match &loaded.file {
        Some(f) => ctx.printer.line(format!("# file: {}", relative(f, root))),
        None => ctx.printer.line("# file: none (defaults)"),
    }
    let width = entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
    let mut section = String::new();
    for e in &entries {
        if e.section != section {
            section = e.section.clone();
            ctx.printer.line(format!("[{section}]"));
        }
        let origin = match &e.origin {
            Origin::Default => "default".to_owned(),
            Origin::File(p) => format!("file {}", relative(p, root)),
            Origin::DotEnv(p) => format!(".env {}", relative(p, root)),
            Origin::Env(var) => format!("env {var}"),
            Origin::Flag(flag) => format!("flag {flag}"),
        };
        ctx.printer
            .line(format!("{:<width$} = {:<30} # {origin}", e.key, e.value));
    }
    Ok(Outcome::ok())
}

fn relative(path: &std::path::Path, root: &std::path::Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
