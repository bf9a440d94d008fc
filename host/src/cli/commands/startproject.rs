//! `startproject NAME`: writes a new project from the embedded templates.
//!
//! Refuses a folder that exists and is not empty, and never overwrites a file: each
//! file is created with `create_new`, so even a file that appears meanwhile is kept.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

use crate::cli::{Context, Exit, Failure, Outcome};
use crate::templates::{PROJECT_DIRS, PROJECT_FILES, PROJECT_NAME_PLACEHOLDER};

pub fn run(ctx: &Context<'_>, name: &Path) -> Result<Outcome, Failure> {
    let root = ctx.cwd.join(name);
    let root = std::path::absolute(&root).unwrap_or(root);
    let shown = name.display().to_string();
    if root.exists() {
        if !root.is_dir() {
            return Err(Failure::usage(format!(
                "`{shown}` exists and is not a folder"
            )));
        }
        let non_empty = fs::read_dir(&root)
            .with_context(|| format!("Cannot read `{shown}`"))
            .map_err(|e| Failure::new(Exit::Usage, e))?
            .next()
            .is_some();
        if non_empty {
            return Err(Failure::usage(format!(
                "`{shown}` already exists and is not empty; nothing was written"
            ))
            .hint("Choose a new folder name, or run `startproject` in an empty folder"));
        }
    }
    let project_name = project_name(&root);
    validate_name(&project_name)?;

    let mut written = Vec::new();
    for dir in PROJECT_DIRS {
        create_dir(&root.join(dir))?;
    }
    for (rel, contents) in PROJECT_FILES {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
        let text = contents.replace(PROJECT_NAME_PLACEHOLDER, &project_name);
        write_new(&path, &text).map_err(|e| Failure::new(Exit::Usage, e))?;
        written.push(*rel);
    }

    if ctx.printer.is_json() {
        ctx.printer.json(&serde_json::json!({
            "project": project_name,
            "path": root,
            "files": written,
        }));
    } else {
        ctx.printer
            .line(format!("Created project `{project_name}` in {shown}"));
        for rel in &written {
            ctx.printer.line(format!("  {rel}"));
        }
        ctx.printer.line("");
        ctx.printer.line("Next:");
        if name != Path::new(".") {
            ctx.printer.line(format!("  cd {shown}"));
        }
        ctx.printer
            .line("  sqlalembic makemigrations \"Initial schema\"");
        ctx.printer.line("  sqlalembic migrate");
    }
    Ok(Outcome::with(
        serde_json::json!({ "project": project_name, "files": written }),
    ))
}

fn project_name(root: &Path) -> String {
    root.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".to_owned())
}

fn validate_name(name: &str) -> Result<(), Failure> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "`{name}` is not a usable project name: use letters, digits, `_`, `-` or `.`"
        )))
    }
}

fn create_dir(dir: &Path) -> Result<(), Failure> {
    fs::create_dir_all(dir)
        .with_context(|| format!("Cannot create folder `{}`", dir.display()))
        .map_err(|e| Failure::new(Exit::Usage, e))
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            format!(
                "Cannot create `{}` (it is never overwritten)",
                path.display()
            )
        })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("Cannot write `{}`", path.display()))?;
    Ok(())
}
