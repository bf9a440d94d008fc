//! Write a discovery backend: a component that reads model files of its own kind
//! and returns the tables they define.
//!
//! ```ignore
//! use sqlalembic_plugin::discovery::{Backend, Diagnostic, Discovered, LocatedTable, Request, project};
//! use sqlalembic_plugin::schema::{Column, ColumnType, ScalarType, Table};
//!
//! struct Csv;
//!
//! impl Backend for Csv {
//!     fn discover(_request: Request) -> Result<Discovered, Vec<Diagnostic>> {
//!         let mut found = Discovered::default();
//!         for path in project::list("**/*.table").map_err(|e| vec![Diagnostic::error("CSV001", &e)])? {
//!             let text = project::read_to_string(&path).map_err(|e| vec![Diagnostic::error("CSV002", &e).at(&path, None, None)])?;
//!             let mut table = Table::new(text.lines().next().unwrap_or("t").trim());
//!             table.columns.push(Column::primary("id", ColumnType::of(ScalarType::Integer)));
//!             found.tables.push(LocatedTable { table, path, line: 1 });
//!         }
//!         Ok(found)
//!     }
//! }
//!
//! sqlalembic_plugin::export_discovery_backend!(Csv);
//! ```
//!
//! Configure it with `[discovery] BACKENDS = ["sqlalchemy", "wasm:plugins/csv.wasm"]`.
//! The component sees the project only through [`project`]: the files under the
//! discovery paths (minus `EXCLUDE_PATHS`, hidden entries and the migrations
//! folder), read-only. No WASI preopen, no network, no environment. Everything it
//! lists and reads is recorded: sqlalembic reuses its cached result while those
//! files are unchanged, so it must read its inputs through [`project`] only.
//!
//! Diagnostics: an `error` anywhere (or `Err`) makes discovery fail as a whole, so
//! a model file that could not be read never drops its tables from a migration.
//! Locate them (`at(path, line, column)`, 1-based; [`line_col`] turns a byte
//! offset into both).

/// The generated bindings of the `discovery-backend` world.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)] // generated code
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "discovery-backend",
        with: {
            "sqlalembic:plugin/types@0.1.2": crate::bindings::sqlalembic::plugin::types,
            "sqlalembic:plugin/host@0.1.2": crate::bindings::sqlalembic::plugin::host,
        },
        additional_derives: [PartialEq],
        pub_export_macro: true,
        export_macro_name: "__export_discovery_backend",
        default_bindings_module: "::sqlalembic_plugin::discovery::bindings",
    });
}

pub use bindings::sqlalembic::plugin::discovery::{
    Diagnostic, Discovered, LocatedTable, Request, Severity,
};

/// A discovery backend: implement this on a unit type and export it with
/// [`crate::export_discovery_backend!`].
pub trait Backend {
    /// Reads the project (through [`project`]) and returns every table its files
    /// define, with warnings. `Err` (at least one diagnostic) means nothing usable.
    fn discover(request: Request) -> Result<Discovered, Vec<Diagnostic>>;
}

/// Exports a [`Backend`] as the component's `discover` function.
#[macro_export]
macro_rules! export_discovery_backend {
    ($backend:ty) => {
        #[doc(hidden)]
        pub struct __SqlalembicDiscovery;

        impl $crate::discovery::bindings::Guest for __SqlalembicDiscovery {
            fn discover(
                request: $crate::discovery::Request,
            ) -> ::core::result::Result<
                $crate::discovery::Discovered,
                ::std::vec::Vec<$crate::discovery::Diagnostic>,
            > {
                <$backend as $crate::discovery::Backend>::discover(request)
            }
        }

        $crate::discovery::bindings::__export_discovery_backend!(__SqlalembicDiscovery with_types_in $crate::discovery::bindings);
    };
}

// The type is generated: a derive cannot be added to it alone.
#[allow(clippy::derivable_impls)]
impl Default for Discovered {
    fn default() -> Self {
        Discovered {
            tables: Vec::new(),
            diagnostics: Vec::new(),
        }
    }
}

impl Diagnostic {
    fn with(severity: Severity, code: &str, message: &str) -> Diagnostic {
        Diagnostic {
            code: code.to_owned(),
            severity,
            path: None,
            line: None,
            column: None,
            message: message.to_owned(),
            hints: Vec::new(),
        }
    }

    /// An error: discovery fails, nothing reaches autogenerate.
    pub fn error(code: &str, message: &str) -> Diagnostic {
        Diagnostic::with(Severity::Error, code, message)
    }

    /// A warning: shown, discovery goes on.
    pub fn warning(code: &str, message: &str) -> Diagnostic {
        Diagnostic::with(Severity::Warning, code, message)
    }

    /// The same diagnostic at `path` (relative to the project root), 1-based line
    /// and column.
    pub fn at(mut self, path: &str, line: Option<u32>, column: Option<u32>) -> Diagnostic {
        self.path = Some(path.to_owned());
        self.line = line;
        self.column = column;
        self
    }

    /// Adds a `hint:` line.
    pub fn hint(mut self, hint: &str) -> Diagnostic {
        self.hints.push(hint.to_owned());
        self
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// The project files the backend may see (read-only, recorded for the cache).
pub mod project {
    use super::bindings::sqlalembic::plugin::project as host;

    /// The files (relative to the project root, `/`-separated, sorted) whose path
    /// matches `glob`: `*` stays within a folder, `**` crosses folders
    /// (`**/*.prisma`, `db/*.sql`).
    pub fn list(glob: &str) -> Result<Vec<String>, String> {
        host::list_files(glob)
    }

    /// A whole file by its path relative to the project root.
    pub fn read(path: &str) -> Result<Vec<u8>, String> {
        host::read_file(path)
    }

    /// A whole file as UTF-8 text.
    pub fn read_to_string(path: &str) -> Result<String, String> {
        String::from_utf8(read(path)?).map_err(|_| format!("`{path}` is not UTF-8 text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, text.find('f').unwrap_or(0)), (3, 1));
        assert_eq!(line_col(text, 7), (2, 4));
    }

    #[test]
    fn diagnostics_build_up() {
        let d = Diagnostic::error("X1", "bad")
            .at("a.prisma", Some(2), Some(3))
            .hint("fix it");
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(d.path.as_deref(), Some("a.prisma"));
        assert_eq!((d.line, d.column), (Some(2), Some(3)));
        assert_eq!(d.hints, ["fix it"]);
    }
}
