//! The project's Python modules: dotted names, import resolution, parsing on demand.
//!
//! Input: the walked `.py` files (model candidates already read). Output: a [`Project`]
//! that maps dotted module names (`app.models.user`, relative to the project root or to
//! any parent package root) to files, and parses each file at most once (model
//! candidates up front and in parallel, helper modules when a model imports them).
//! A file that does not parse yields `SA001` diagnostics with the parser's exact
//! location; its syntax tree is never used.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use ruff_python_ast::{ModModule, PySourceType};
use ruff_text_size::TextSize;

use crate::diagnostic::{Diagnostic, line_col};

/// One Python file of the project.
#[derive(Debug)]
pub struct Module {
    /// Dotted name relative to the project root (`app.models`, `__init__` dropped).
    pub name: String,
    /// True for `__init__.py`.
    pub is_package: bool,
    pub path: PathBuf,
    /// Relative path for messages.
    pub rel: PathBuf,
    /// Passed the prefilter: scanned for models.
    pub candidate: bool,
    text: OnceLock<Option<String>>,
    parsed: OnceLock<Parsed>,
}

/// A parsed module, or the reasons it could not be.
#[derive(Debug)]
pub struct Parsed {
    pub text: String,
    /// `None` when the file has syntax errors (see `diagnostics`).
    pub ast: Option<ModModule>,
    pub line_starts: Vec<usize>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: TextSize) -> (usize, usize) {
        let offset = offset.to_usize().min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let col = self.text[start..self.text.floor_char_boundary(offset)]
            .chars()
            .count()
            + 1;
        (line.max(1), col)
    }
}

impl Module {
    /// The parsed module (parsed on first use).
    pub fn parsed(&self) -> &Parsed {
        self.parsed.get_or_init(|| {
            let text = self
                .text
                .get_or_init(|| std::fs::read_to_string(&self.path).ok())
                .clone();
            match text {
                Some(text) => parse(&self.rel, text),
                None => Parsed {
                    text: String::new(),
                    ast: None,
                    line_starts: vec![0],
                    diagnostics: vec![
                        Diagnostic::error("SA002", "Cannot read the file as UTF-8 text".to_owned())
                            .at(self.rel.clone(), None, None),
                    ],
                },
            }
        })
    }
}

/// Parses `text`; syntax errors become `SA001` diagnostics (at most 5 per file).
pub fn parse(rel: &std::path::Path, text: String) -> Parsed {
    let parsed = ruff_python_parser::parse_unchecked_source(&text, PySourceType::Python);
    let mut line_starts = vec![0];
    line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    let mut diagnostics = Vec::new();
    for error in parsed.errors().iter().take(5) {
        let (line, col) = line_col(&text, error.location.start().to_usize());
        diagnostics.push(
            Diagnostic::error("SA001", format!("Syntax error: {}", error.error))
                .at(rel.to_path_buf(), Some(line), Some(col))
                .hint("A model file that does not parse would silently lose its tables: fix it, or add it to `EXCLUDE_PATHS`"),
        );
    }
    let ast = parsed.errors().is_empty().then(|| parsed.into_syntax());
    Parsed {
        text,
        ast,
        line_starts,
        diagnostics,
    }
}

/// Every Python module of the project.
#[derive(Debug, Default)]
pub struct Project {
    pub modules: Vec<Module>,
    by_name: HashMap<String, usize>,
    /// Last dotted component -> modules, for imports relative to a package root that is
    /// not the project root (`src/app/...` imported as `app...`).
    by_last: HashMap<String, Vec<usize>>,
}

/// A file handed to [`Project::new`].
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub rel: PathBuf,
    pub candidate: bool,
    /// The text, when already read.
    pub text: Option<String>,
}

impl Project {
    pub fn new(inputs: Vec<Input>) -> Self {
        let mut project = Project::default();
        for input in inputs {
            let mut parts: Vec<String> = input
                .rel
                .components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect();
            let Some(last) = parts.pop() else { continue };
            let stem = last.strip_suffix(".py").unwrap_or(&last).to_owned();
            let is_package = stem == "__init__";
            if !is_package {
                parts.push(stem);
            }
            let name = parts.join(".");
            let text = OnceLock::new();
            if let Some(t) = input.text {
                let _ = text.set(Some(t));
            }
            let index = project.modules.len();
            project.by_name.insert(name.clone(), index);
            if let Some(last) = name.rsplit('.').next() {
                project
                    .by_last
                    .entry(last.to_owned())
                    .or_default()
                    .push(index);
            }
            project.modules.push(Module {
                name,
                is_package,
                path: input.path,
                rel: input.rel,
                candidate: input.candidate,
                text,
                parsed: OnceLock::new(),
            });
        }
        project
    }

    /// Parses every model candidate, in parallel.
    #[cfg(test)]
    pub fn parse_candidates(&self) {
        let candidates: Vec<&Module> = self.modules.iter().filter(|m| m.candidate).collect();
        super::super::par_for_each(&candidates, |m| {
            m.parsed();
        });
    }

    /// The module called `dotted` (absolute import), if it is a project file.
    ///
    /// Tries the name relative to the project root, then any module whose dotted name
    /// ends with `.{dotted}` when exactly one does (a package root below the project
    /// root, such as `src/`).
    pub fn find(&self, dotted: &str) -> Option<usize> {
        if let Some(&i) = self.by_name.get(dotted) {
            return Some(i);
        }
        let last = dotted.rsplit('.').next()?;
        let suffix = format!(".{dotted}");
        let mut found = self.by_last.get(last)?.iter().filter(|&&i| {
            let name = &self.modules[i].name;
            name.ends_with(&suffix)
        });
        let first = *found.next()?;
        found.next().is_none().then_some(first)
    }

    /// The absolute module named by `from <level dots><module> import ...` inside `from`.
    pub fn absolute_name(&self, from: usize, level: u32, module: Option<&str>) -> String {
        if level == 0 {
            return module.unwrap_or_default().to_owned();
        }
        let m = &self.modules[from];
        let mut parts: Vec<&str> = if m.name.is_empty() {
            Vec::new()
        } else {
            m.name.split('.').collect()
        };
        // The package of a plain module is its parent; `__init__` is its own package.
        if !m.is_package {
            parts.pop();
        }
        for _ in 1..level {
            parts.pop();
        }
        let mut name = parts.join(".");
        if let Some(module) = module {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(module);
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rel: &str) -> Input {
        Input {
            path: PathBuf::from("/p").join(rel),
            rel: PathBuf::from(rel),
            candidate: true,
            text: Some(String::new()),
        }
    }

    #[test]
    fn names_and_relative_imports() {
        let p = Project::new(vec![
            input("src/app/__init__.py"),
            input("src/app/models/__init__.py"),
            input("src/app/models/user.py"),
            input("other/user.py"),
        ]);
        assert_eq!(p.modules[0].name, "src.app");
        assert_eq!(p.find("app.models.user"), Some(2));
        assert_eq!(p.find("src.app.models"), Some(1));
        // Two modules end with `.user`: ambiguous, so not guessed.
        assert_eq!(p.find("user"), None);
        assert_eq!(p.absolute_name(2, 1, Some("base")), "src.app.models.base");
        assert_eq!(p.absolute_name(2, 2, Some("db")), "src.app.db");
        assert_eq!(p.absolute_name(1, 1, Some("user")), "src.app.models.user");
        assert_eq!(p.absolute_name(1, 1, None), "src.app.models");
    }

    #[test]
    fn syntax_errors_are_located() {
        let parsed = parse(
            std::path::Path::new("models/bad.py"),
            "class A(Base):\n    x = Column(Integer\n".into(),
        );
        assert!(parsed.ast.is_none());
        let d = &parsed.diagnostics[0];
        assert_eq!(d.code, "SA001");
        assert_eq!(d.line, Some(3));
        assert!(d.message.starts_with("Syntax error"), "{}", d.message);
        let ok = parse(std::path::Path::new("m.py"), "x = 1\ny = 2\n".into());
        assert!(ok.ast.is_some());
        assert_eq!(ok.line_col(TextSize::new(6)), (2, 1));
    }
}
