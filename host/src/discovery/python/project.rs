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
use std::sync::{Mutex, OnceLock};

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
    sha256: OnceLock<String>,
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
    /// The sha256 of the file as it was read (empty when it cannot be read).
    pub fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| {
            self.parsed();
            match self.text.get() {
                Some(Some(t)) => super::super::cache::sha256(t.as_bytes()),
                _ => String::new(),
            }
        })
    }

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

/// Where imports resolve: the project's source roots, then installed libraries.
#[derive(Debug, Clone, Default)]
pub struct SourceRoots {
    /// The project root (for relative paths in messages).
    pub project_root: PathBuf,
    /// Absolute folders whose children are top-level packages, deepest first, the
    /// project root last.
    pub project: Vec<PathBuf>,
    /// The `site-packages` folders of the project's virtual environment, read-only:
    /// the source of pure-Python dependencies (a base class or mixin from a library).
    pub libraries: Vec<PathBuf>,
}

/// Libraries whose names the evaluator knows by path (`sqlalchemy.orm.mapped_column`,
/// `typing_extensions.Annotated`): their source is never parsed.
const KNOWN_LIBRARIES: &[&str] = &[
    "sqlalchemy",
    "sqlmodel",
    "flask_sqlalchemy",
    "sqlalchemy_utils",
    "typing_extensions",
    "pydantic",
    "pydantic_core",
    "alembic",
    "enum",
    "typing",
    "six",
];

/// Top-level modules of Python's standard library (`sys.stdlib_module_names` of 3.11,
/// private ones left out): always importable, never read.
const STDLIB: &[&str] = &[
    "abc",
    "aifc",
    "antigravity",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "distutils",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "msilib",
    "msvcrt",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "nt",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "this",
    "threading",
    "time",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "winreg",
    "winsound",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

/// Every Python module of the project, and those it imports from libraries (added
/// when first imported; indices never change).
#[derive(Debug, Default)]
pub struct Project {
    pub modules: boxcar::Vec<Module>,
    /// Dotted name -> module; `None` remembers that nothing on disk has that name.
    by_name: Mutex<HashMap<String, Option<usize>>>,
    by_path: Mutex<HashMap<PathBuf, usize>>,
    /// Last dotted component -> walked modules, for imports relative to a package
    /// root that is not a source root.
    by_last: HashMap<String, Vec<usize>>,
    roots: SourceRoots,
    /// `STATIC_VALUES`: module-level names taken as given.
    values: super::StaticValues,
}

/// A file handed to [`Project::new`].
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub rel: PathBuf,
    pub candidate: bool,
    /// The text, when already read.
    pub text: Option<String>,
    /// Its sha256, when known (the walk fingerprints every input).
    pub sha256: Option<String>,
}

/// The dotted module name of `rel` (a path below a source root): `__init__` and the
/// `.py` suffix dropped.
fn dotted(rel: &std::path::Path) -> Option<(String, bool)> {
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".py").unwrap_or(&last).to_owned();
    let is_package = stem == "__init__";
    if !is_package {
        parts.push(stem);
    }
    Some((parts.join("."), is_package))
}

impl Project {
    #[cfg(test)]
    pub fn new(inputs: Vec<Input>) -> Self {
        Self::with_roots(
            inputs,
            SourceRoots::default(),
            &super::StaticValues::default(),
        )
    }

    /// The project of `inputs` (paths absolute, `rel` relative to the project root),
    /// named and resolved through `roots`.
    pub fn with_roots(
        inputs: Vec<Input>,
        roots: SourceRoots,
        values: &super::StaticValues,
    ) -> Self {
        let mut project = Project {
            roots,
            values: values.clone(),
            ..Project::default()
        };
        let mut by_name = HashMap::new();
        let mut by_path = HashMap::new();
        for input in inputs {
            // Named below the deepest source root holding it, as Python imports it.
            let below = project
                .roots
                .project
                .iter()
                .find_map(|r| input.path.strip_prefix(r).ok())
                .map(std::path::Path::to_path_buf)
                .unwrap_or_else(|| input.rel.clone());
            let Some((name, is_package)) = dotted(&below) else {
                continue;
            };
            let text = OnceLock::new();
            if let Some(t) = input.text {
                let _ = text.set(Some(t));
            }
            let sha = OnceLock::new();
            if let Some(s) = input.sha256 {
                let _ = sha.set(s);
            }
            let index = project.modules.push(Module {
                name: name.clone(),
                is_package,
                path: input.path.clone(),
                rel: input.rel,
                candidate: input.candidate,
                text,
                sha256: sha,
                parsed: OnceLock::new(),
            });
            by_name.entry(name.clone()).or_insert(Some(index));
            by_path.insert(input.path, index);
            if let Some(last) = name.rsplit('.').next() {
                project
                    .by_last
                    .entry(last.to_owned())
                    .or_default()
                    .push(index);
            }
        }
        project.by_name = Mutex::new(by_name);
        project.by_path = Mutex::new(by_path);
        project
    }

    /// The `STATIC_VALUES` entry for `name` in module `m`.
    pub fn static_value(&self, m: usize, name: &str) -> Option<&ruff_python_ast::Expr> {
        if self.values.is_empty() {
            return None;
        }
        self.values.get(&self.modules[m].name, name)
    }

    /// A module named `dotted` on disk below a source root or in a library folder,
    /// added to the project.
    fn load(&self, dotted: &str) -> Option<usize> {
        if dotted.is_empty()
            || dotted
                .split('.')
                .any(|p| p.is_empty() || p.contains(['/', '\\']))
        {
            return None;
        }
        let first = dotted.split('.').next()?;
        let parts: PathBuf = dotted.split('.').collect();
        let libraries = if KNOWN_LIBRARIES.contains(&first) {
            &[][..]
        } else {
            &self.roots.libraries[..]
        };
        for root in self.roots.project.iter().chain(libraries) {
            let base = root.join(&parts);
            for (path, is_package) in [
                (base.with_extension("py"), false),
                (base.join("__init__.py"), true),
            ] {
                if !path.is_file() {
                    continue;
                }
                let mut by_path = self.by_path.lock().expect("project lock poisoned");
                if let Some(&i) = by_path.get(&path) {
                    return Some(i);
                }
                let rel = path
                    .strip_prefix(&self.roots.project_root)
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_else(|_| path.clone());
                let index = self.modules.push(Module {
                    name: dotted.to_owned(),
                    is_package,
                    path: path.clone(),
                    rel,
                    candidate: false,
                    text: OnceLock::new(),
                    sha256: OnceLock::new(),
                    parsed: OnceLock::new(),
                });
                by_path.insert(path, index);
                return Some(index);
            }
        }
        None
    }

    /// Parses every model candidate, in parallel.
    #[cfg(test)]
    pub fn parse_candidates(&self) {
        let candidates: Vec<&Module> = self
            .modules
            .iter()
            .map(|(_, m)| m)
            .filter(|m| m.candidate)
            .collect();
        super::super::par_for_each(&candidates, |m| {
            m.parsed();
        });
    }

    /// The module called `dotted` (absolute import), if it is a project file or the
    /// source of an installed library.
    ///
    /// Tries the walked modules, then the source roots and library folders on disk,
    /// then any walked module whose dotted name ends with `.{dotted}` when exactly one
    /// does (a package root that is not a source root).
    pub fn find(&self, dotted: &str) -> Option<usize> {
        if let Some(&known) = self
            .by_name
            .lock()
            .expect("project lock poisoned")
            .get(dotted)
        {
            return known;
        }
        let found = self.load(dotted).or_else(|| self.find_suffix(dotted));
        self.by_name
            .lock()
            .expect("project lock poisoned")
            .insert(dotted.to_owned(), found);
        found
    }

    /// Whether `import {top}` would succeed: `Some(false)` only when the project's
    /// library folders are known and neither they, the source roots nor the standard
    /// library have it (so `try: import x / except ImportError:` takes the handler).
    pub fn importable(&self, top: &str) -> Option<bool> {
        if STDLIB.contains(&top) || self.find(top).is_some() {
            return Some(true);
        }
        if self.roots.libraries.is_empty() {
            return None;
        }
        for dir in self.roots.project.iter().chain(&self.roots.libraries) {
            if dir.join(top).is_dir() {
                return Some(true);
            }
            // Compiled extension modules: `name.cpython-311-x86_64-linux-gnu.so`, `name.pyd`.
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let compiled = entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.strip_prefix(top).is_some_and(|rest| {
                    rest.starts_with('.') && (rest.ends_with(".so") || rest.ends_with(".pyd"))
                })
            });
            if compiled {
                return Some(true);
            }
        }
        Some(false)
    }

    fn find_suffix(&self, dotted: &str) -> Option<usize> {
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
            sha256: None,
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
