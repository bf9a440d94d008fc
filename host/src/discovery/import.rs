//! The `sqlalchemy-import` backend: the project's own Python imports the model files
//! and reports SQLAlchemy's `MetaData`.
//!
//! Input: the model candidates (dotted module names) and an interpreter. Output: the
//! same IR as the static backend, with the class's file and line where Python knows
//! it, plus one `IMP001` diagnostic per file that failed to import (with the last lines
//! of its traceback). The helper script (`import_helper.py`, embedded) runs in a
//! subprocess with a timeout, never writes bytecode into the project, and prints only
//! JSON on stdout (the imported code's own output goes to stderr). A failed import is
//! an error, never an empty model set.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::SourceLocation;
use crate::diagnostic::Diagnostic;
use crate::schema::Table;

const HELPER: &str = include_str!("import_helper.py");

/// The interpreter to use: the `PYTHON` setting (env `SQLALEMBIC_PYTHON`), else the
/// project's `.venv` or `venv`, else `python3`.
pub fn default_python(project_root: &Path, env: Option<std::ffi::OsString>) -> PathBuf {
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    for venv in [".venv", "venv"] {
        let candidate = project_root.join(venv).join("bin").join("python");
        if candidate.is_file() {
            return candidate;
        }
    }
    PathBuf::from("python3")
}

#[derive(Deserialize)]
struct Output {
    tables: Vec<OutTable>,
    errors: Vec<OutError>,
}

#[derive(Deserialize)]
struct OutTable {
    table: Table,
    file: Option<PathBuf>,
    line: Option<usize>,
}

#[derive(Deserialize)]
struct OutError {
    rel: PathBuf,
    line: Option<usize>,
    message: String,
    traceback: String,
}

/// A module to import: dotted name and path relative to the project root.
pub struct Module {
    pub name: String,
    pub rel: PathBuf,
}

/// Imports `modules` with `python` and reads their tables.
pub fn discover(
    root: &Path,
    python: &Path,
    modules: &[Module],
    timeout: Duration,
) -> (Vec<(Table, SourceLocation)>, Vec<Diagnostic>) {
    let hint_python = "Set `PYTHON` in `[discovery]` (or `SQLALEMBIC_PYTHON`) to the interpreter that has the project's dependencies, or use the static `sqlalchemy` backend";
    let request = serde_json::json!({
        "root": root,
        "modules": modules.iter().map(|m| serde_json::json!({ "name": m.name, "rel": m.rel })).collect::<Vec<_>>(),
    });
    let mut child = match Command::new(python)
        .arg("-c")
        .arg(HELPER)
        .current_dir(root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return (
                Vec::new(),
                vec![
                    Diagnostic::error("IMP004", format!("Cannot run `{}`: {e}", python.display()))
                        .hint(hint_python),
                ],
            );
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.to_string().as_bytes());
    }
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    let tail = |text: &str| -> String {
        let lines: Vec<&str> = text.trim_end().lines().collect();
        lines[lines.len().saturating_sub(6)..].join("\n")
    };
    let Some(status) = status else {
        return (
            Vec::new(),
            vec![
                Diagnostic::error(
                    "IMP003",
                    format!(
                        "Importing the models took longer than {} s and was stopped",
                        timeout.as_secs()
                    ),
                )
                .hint("Model modules should not connect to databases or start work when imported"),
            ],
        );
    };
    let parsed: Result<Output, _> = serde_json::from_slice(&stdout);
    let output = match (status.success(), parsed) {
        (true, Ok(o)) => o,
        (_, _) => {
            return (
                Vec::new(),
                vec![
                    Diagnostic::error(
                        "IMP002",
                        format!("The import helper failed ({status}): {}", tail(&stderr)),
                    )
                    .hint(hint_python),
                ],
            );
        }
    };
    let mut diagnostics = Vec::new();
    for e in output.errors {
        let mut d = Diagnostic::error("IMP001", format!("Import failed: {}", e.message))
            .at(e.rel, e.line, None);
        if !e.traceback.is_empty() {
            d = d.hint(format!("Traceback (last frames):\n{}", e.traceback));
        }
        diagnostics.push(d);
    }
    let tables = output
        .tables
        .into_iter()
        .map(|t| {
            (
                t.table,
                SourceLocation {
                    file: t.file.unwrap_or_default(),
                    line: t.line.unwrap_or(0),
                },
            )
        })
        .collect();
    (tables, diagnostics)
}

/// The dotted module name of a file relative to the project root (`None` for the
/// root package itself).
pub fn module_name(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".py")?.to_owned();
    if stem != "__init__" {
        parts.push(stem);
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(
            module_name(Path::new("app/models/user.py")).as_deref(),
            Some("app.models.user")
        );
        assert_eq!(
            module_name(Path::new("app/__init__.py")).as_deref(),
            Some("app")
        );
        assert_eq!(module_name(Path::new("__init__.py")), None);
    }

    #[test]
    fn missing_interpreter_is_a_diagnostic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tables, diags) = discover(
            dir.path(),
            Path::new("/nonexistent/python"),
            &[],
            Duration::from_secs(5),
        );
        assert!(tables.is_empty());
        assert_eq!(diags[0].code, "IMP004");
        assert!(diags[0].hints[0].contains("SQLALEMBIC_PYTHON"));
    }

    #[test]
    fn prefers_the_project_venv() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(default_python(dir.path(), None), PathBuf::from("python3"));
        assert_eq!(
            default_python(dir.path(), Some("/x/python".into())),
            PathBuf::from("/x/python")
        );
        std::fs::create_dir_all(dir.path().join(".venv/bin")).expect("mkdir");
        std::fs::write(dir.path().join(".venv/bin/python"), "").expect("write");
        assert_eq!(
            default_python(dir.path(), None),
            dir.path().join(".venv/bin/python")
        );
    }
}
