//! All terminal output goes through a [`Printer`]: results on stdout, warnings, errors
//! and progress on stderr; text for people or JSON for machines; colours only when
//! wanted; every line scrubbed of secrets.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::config::redact_text;
use crate::diagnostic::{Diagnostic, Severity};

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Text,
    Json,
}

/// Writes everything the CLI shows.
#[derive(Debug, Clone)]
pub struct Printer {
    pub mode: Mode,
    color: bool,
    quiet: u8,
    /// The project root: diagnostics name files under it relative to it, as the
    /// discovery and config diagnostics do.
    root: Option<std::path::PathBuf>,
}

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Printer {
    /// `color` is the user's wish; colours are used only when stderr is a terminal too.
    pub fn new(mode: Mode, color: bool, quiet: u8) -> Self {
        Printer {
            mode,
            color: color && io::stderr().is_terminal(),
            quiet,
            root: None,
        }
    }

    /// Files under `root` are named relative to it in diagnostics.
    pub fn set_root(&mut self, root: std::path::PathBuf) {
        self.root = Some(root);
    }

    pub fn is_json(&self) -> bool {
        self.mode == Mode::Json
    }

    fn scrub(&self, text: &str) -> String {
        redact_text(text)
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// A result line on stdout (text mode).
    pub fn line(&self, text: impl AsRef<str>) {
        let mut out = io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = writeln!(out, "{}", self.scrub(text.as_ref()));
    }

    /// A JSON document on stdout.
    pub fn json<T: Serialize>(&self, value: &T) {
        let value = match serde_json::to_value(value) {
            Ok(v) => v,
            Err(e) => serde_json::Value::String(format!("Unserializable output: {e}")),
        };
        self.json_value(value);
    }

    /// [`Printer::json`] for a document already built as a value: masked in place
    /// and written pretty-printed through a buffer, without another copy of the tree.
    pub fn json_value(&self, mut value: serde_json::Value) {
        crate::config::redact_json(&mut value);
        let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = serde_json::to_writer_pretty(&mut out, &value)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush());
    }

    /// Progress or confirmation for people, on stderr; hidden by `-q`.
    pub fn info(&self, text: impl AsRef<str>) {
        if self.quiet == 0 {
            self.err_line(&self.scrub(text.as_ref()));
        }
    }

    /// A warning on stderr (shown even with `-q`, hidden by `-qq`).
    pub fn warn(&self, text: impl AsRef<str>) {
        if self.quiet < 2 {
            let label = self.paint(&format!("{BOLD}{YELLOW}"), "warning");
            self.err_line(&format!("{label}: {}", self.scrub(text.as_ref())));
        }
    }

    /// An error with its hints on stderr (always shown).
    pub fn error(&self, text: impl AsRef<str>, hints: &[String]) {
        let label = self.paint(&format!("{BOLD}{RED}"), "error");
        self.err_line(&format!("{label}: {}", self.scrub(text.as_ref())));
        for hint in hints {
            let label = self.paint(&format!("{BOLD}{CYAN}"), "hint");
            self.err_line(&format!("  {label}: {}", self.scrub(hint)));
        }
    }

    /// A diagnostic about a user file, as `path:line:col: severity[code]: message`.
    pub fn diagnostic(&self, d: &Diagnostic) {
        if d.severity < Severity::Warning && self.quiet > 0 {
            return;
        }
        if d.severity == Severity::Warning && self.quiet > 1 {
            return;
        }
        let style = match d.severity {
            Severity::Error => format!("{BOLD}{RED}"),
            Severity::Warning => format!("{BOLD}{YELLOW}"),
            Severity::Info => BOLD.to_owned(),
        };
        let mut head = String::new();
        let relative = match (&d.path, &self.root) {
            (Some(path), Some(root)) => path.strip_prefix(root).ok().map(|rel| Diagnostic {
                path: Some(rel.to_path_buf()),
                ..d.clone()
            }),
            _ => None,
        };
        let d = relative.as_ref().unwrap_or(d);
        if let Some(loc) = d.location() {
            head.push_str(&loc);
            head.push_str(": ");
        }
        head.push_str(&self.paint(&style, &format!("{}[{}]", d.severity, d.code)));
        self.err_line(&format!("{head}: {}", self.scrub(&d.message)));
        for hint in &d.hints {
            let label = self.paint(&format!("{BOLD}{CYAN}"), "hint");
            self.err_line(&format!("  {label}: {}", self.scrub(hint)));
        }
    }

    fn err_line(&self, text: &str) {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }
}
