//! Write a SQL dialect: a component that renders operations to SQL for a database
//! sqlalembic reaches through one of its wire protocols (PostgreSQL, MySQL, SQLite).
//!
//! ```ignore
//! use sqlalembic_plugin::dialect::{Capabilities, Dialect, Info, Op, Protocol, Statement, TableOp};
//! use sqlalembic_plugin::schema::{ColumnType, ScalarType, Table};
//!
//! struct Tiny;
//!
//! impl Dialect for Tiny {
//!     fn info() -> Info {
//!         Info { name: "tiny".into(), protocol: Protocol::Postgres, capabilities: Capabilities::POSTGRES }
//!     }
//!
//!     fn type_sql(ty: ColumnType) -> Result<String, String> {
//!         match ty.scalar {
//!             ScalarType::Integer => Ok("INTEGER".into()),
//!             ScalarType::Text => Ok("TEXT".into()),
//!             other => Err(format!("`{other:?}` is not supported")),
//!         }
//!     }
//!
//!     fn render(op: Op, context: Vec<Table>) -> Result<Vec<Statement>, String> {
//!         match op {
//!             Op::DropTable(d) => Ok(vec![Statement::new(format!("DROP TABLE {}", Self::quote_ident(d.table)))]),
//!             other => Err(format!("`{}` is not supported", other.name())),
//!         }
//!     }
//!
//!     // Optional: without it, `alter_table`, `create_primary_key` and
//!     // `drop_primary_key` are refused with their name.
//!     fn render_table_op(op: TableOp, context: Vec<Table>) -> Result<Vec<Statement>, String> {
//!         match op {
//!             TableOp::DropPrimaryKey(d) => Ok(vec![Statement::new(format!(
//!                 "ALTER TABLE {} DROP CONSTRAINT {}",
//!                 Self::quote_ident(d.table.clone()),
//!                 Self::quote_ident(d.name.unwrap_or(format!("{}_pkey", d.table)))
//!             ))]),
//!             other => Err(format!("`{}` is not supported", other.name())),
//!         }
//!     }
//! }
//!
//! sqlalembic_plugin::export_dialect!(Tiny);
//! ```
//!
//! Configure it with `DB_ENGINE = "wasm:plugins/tiny.wasm"` and a `DATABASE_URL`
//! for its protocol. sqlalembic asks [`Dialect::info`] once, then calls the other
//! functions as it renders migrations (`migrate`, `--sql`, `show --sql`) and
//! compares types (autogenerate). They must be pure: the component sees no file,
//! network or environment, only its `settings` ([`crate::settings`]).
//!
//! Operations come in two variants: [`Op`] (tables, columns, indexes, constraints,
//! raw SQL) through [`Dialect::render`], and [`TableOp`] (the table comment and the
//! primary key, added in `sqlalembic:plugin@0.1.2`) through
//! [`Dialect::render_table_op`], the world's `table-ops` export. A dialect built
//! with this crate always has that export; one built against `0.1.1` (without it)
//! still loads, and sqlalembic refuses only the table-level ops for it.
//!
//! A statement made with [`Statement::outside_transaction`] runs on its own: what
//! came before in the revision is committed first (the runner then opens a new
//! transaction for the rest). Only the revision's version-table row decides whether
//! it counts as applied, and that is written last.

/// The generated bindings of the `dialect` world.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)] // generated code
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "dialect",
        with: {
            "sqlalembic:plugin/types@0.1.2": crate::bindings::sqlalembic::plugin::types,
            "sqlalembic:plugin/host@0.1.2": crate::bindings::sqlalembic::plugin::host,
            "sqlalembic:plugin/schema@0.1.2": crate::discovery::bindings::sqlalembic::plugin::schema,
        },
        additional_derives: [PartialEq],
        pub_export_macro: true,
        export_macro_name: "__export_dialect",
        default_bindings_module: "::sqlalembic_plugin::dialect::bindings",
    });
}

pub use bindings::sqlalembic::plugin::dialect_types::{Capabilities, Info, Protocol, Statement};
pub use bindings::sqlalembic::plugin::ops::{
    AddColumn, AlterColumn, AlterTable, CreateCheck, CreateForeignKey, CreateIndex,
    CreatePrimaryKey, CreateUnique, DropCheck, DropColumn, DropForeignKey, DropIndex,
    DropPrimaryKey, DropTable, DropUnique, Op, RawSql, RenameTable, TableOp,
};

use crate::schema::{ColumnType, Table};

/// A SQL dialect: implement this on a unit type and export it with
/// [`crate::export_dialect!`]. Only [`Dialect::info`], [`Dialect::type_sql`] and
/// [`Dialect::render`] are required; [`Dialect::render_table_op`] is needed for
/// the table comment and primary-key ops.
pub trait Dialect {
    /// Its name (used in `sql` op variants and messages), wire protocol and
    /// capabilities.
    fn info() -> Info;

    /// `name` as an identifier; double quotes by default.
    fn quote_ident(name: String) -> String {
        crate::sql::quote_ident(&name, '"')
    }

    /// `text` as a string literal; standard SQL by default.
    fn literal(text: String) -> String {
        crate::sql::string_literal(&text)
    }

    /// The database's spelling of a column type, or why it cannot have it.
    fn type_sql(ty: ColumnType) -> Result<String, String>;

    /// The spelling autogenerate compares types by; [`Dialect::type_sql`] by
    /// default, upper case without spaces.
    fn normalize_type(ty: ColumnType) -> Result<String, String> {
        Self::type_sql(ty).map(|t| {
            t.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_uppercase)
                .collect()
        })
    }

    /// The statements that carry out `op`. `context` holds the current
    /// definitions of the tables it touches (see [`crate::schema::find`]).
    fn render(op: Op, context: Vec<Table>) -> Result<Vec<Statement>, String>;

    /// Whether `op` is a table rebuild; `false` by default.
    fn needs_rebuild(_op: Op, _context: Vec<Table>) -> bool {
        false
    }

    /// The statements that carry out a table-level op: the table comment
    /// (`alter_table`; `comment: Some(None)` removes it) or the primary key
    /// (`create_primary_key`, `drop_primary_key`). `context` holds the table's
    /// current definition. By default every one is refused with its name.
    fn render_table_op(op: TableOp, _context: Vec<Table>) -> Result<Vec<Statement>, String> {
        Err(format!(
            "dialect `{}` does not render `{}`",
            Self::info().name,
            op.name()
        ))
    }

    /// Whether a table-level op is a table rebuild (e.g. a primary-key change on a
    /// database without `ALTER TABLE ... ADD PRIMARY KEY`); `false` by default.
    fn needs_rebuild_table_op(_op: TableOp, _context: Vec<Table>) -> bool {
        false
    }
}

/// Exports a [`Dialect`] as the component's functions.
#[macro_export]
macro_rules! export_dialect {
    ($dialect:ty) => {
        #[doc(hidden)]
        pub struct __SqlalembicDialect;

        impl $crate::dialect::bindings::Guest for __SqlalembicDialect {
            fn info() -> $crate::dialect::Info {
                <$dialect as $crate::dialect::Dialect>::info()
            }
            fn quote_ident(name: ::std::string::String) -> ::std::string::String {
                <$dialect as $crate::dialect::Dialect>::quote_ident(name)
            }
            fn literal(text: ::std::string::String) -> ::std::string::String {
                <$dialect as $crate::dialect::Dialect>::literal(text)
            }
            fn type_sql(
                ty: $crate::schema::ColumnType,
            ) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                <$dialect as $crate::dialect::Dialect>::type_sql(ty)
            }
            fn normalize_type(
                ty: $crate::schema::ColumnType,
            ) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                <$dialect as $crate::dialect::Dialect>::normalize_type(ty)
            }
            fn render(
                op: $crate::dialect::Op,
                context: ::std::vec::Vec<$crate::schema::Table>,
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::dialect::Statement>,
                ::std::string::String,
            > {
                <$dialect as $crate::dialect::Dialect>::render(op, context)
            }
            fn needs_rebuild(
                op: $crate::dialect::Op,
                context: ::std::vec::Vec<$crate::schema::Table>,
            ) -> bool {
                <$dialect as $crate::dialect::Dialect>::needs_rebuild(op, context)
            }
        }

        impl $crate::dialect::bindings::exports::sqlalembic::plugin::table_ops::Guest
            for __SqlalembicDialect
        {
            fn render(
                op: $crate::dialect::TableOp,
                context: ::std::vec::Vec<$crate::schema::Table>,
            ) -> ::core::result::Result<
                ::std::vec::Vec<$crate::dialect::Statement>,
                ::std::string::String,
            > {
                <$dialect as $crate::dialect::Dialect>::render_table_op(op, context)
            }
            fn needs_rebuild(
                op: $crate::dialect::TableOp,
                context: ::std::vec::Vec<$crate::schema::Table>,
            ) -> bool {
                <$dialect as $crate::dialect::Dialect>::needs_rebuild_table_op(op, context)
            }
        }

        $crate::dialect::bindings::__export_dialect!(__SqlalembicDialect with_types_in $crate::dialect::bindings);
    };
}

impl Statement {
    /// A statement that runs inside the revision's transaction.
    pub fn new(sql: impl Into<String>) -> Statement {
        Statement {
            sql: sql.into(),
            transactional: true,
        }
    }

    /// A statement that must run outside any transaction (`CREATE INDEX
    /// CONCURRENTLY`, `ALTER TYPE ... ADD VALUE`, `VALIDATE CONSTRAINT` in its own
    /// short transaction).
    pub fn outside_transaction(sql: impl Into<String>) -> Statement {
        Statement {
            sql: sql.into(),
            transactional: false,
        }
    }
}

impl Capabilities {
    /// What PostgreSQL can do.
    pub const POSTGRES: Capabilities = Capabilities {
        transactional_ddl: true,
        alter_column: true,
        comments: true,
        partial_indexes: true,
        named_enums: true,
        arrays: true,
        check_constraints: true,
    };
}

impl Op {
    /// The `op = "..."` name of migration files (`create_table`, `sql` ...).
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateTable(_) => "create_table",
            Op::DropTable(_) => "drop_table",
            Op::RenameTable(_) => "rename_table",
            Op::AddColumn(_) => "add_column",
            Op::DropColumn(_) => "drop_column",
            Op::AlterColumn(_) => "alter_column",
            Op::CreateIndex(_) => "create_index",
            Op::DropIndex(_) => "drop_index",
            Op::CreateUnique(_) => "create_unique",
            Op::DropUnique(_) => "drop_unique",
            Op::CreateForeignKey(_) => "create_foreign_key",
            Op::DropForeignKey(_) => "drop_foreign_key",
            Op::CreateCheck(_) => "create_check",
            Op::DropCheck(_) => "drop_check",
            Op::Sql(_) => "sql",
        }
    }
}

impl TableOp {
    /// The `op = "..."` name of migration files (`alter_table`,
    /// `create_primary_key`, `drop_primary_key`).
    pub fn name(&self) -> &'static str {
        match self {
            TableOp::AlterTable(_) => "alter_table",
            TableOp::CreatePrimaryKey(_) => "create_primary_key",
            TableOp::DropPrimaryKey(_) => "drop_primary_key",
        }
    }

    /// The table it changes.
    pub fn table(&self) -> &str {
        match self {
            TableOp::AlterTable(a) => &a.table,
            TableOp::CreatePrimaryKey(c) => &c.table,
            TableOp::DropPrimaryKey(d) => &d.table,
        }
    }

    /// The schema of that table (`None`: the default one).
    pub fn schema(&self) -> Option<&str> {
        match self {
            TableOp::AlterTable(a) => a.schema.as_deref(),
            TableOp::CreatePrimaryKey(c) => c.schema.as_deref(),
            TableOp::DropPrimaryKey(d) => d.schema.as_deref(),
        }
    }
}

impl RawSql {
    /// The text to run: the first variant among `names` (e.g. `["pg-online",
    /// "postgresql"]`), else the generic `sql`; `None` when that is empty.
    pub fn for_dialect(&self, names: &[&str]) -> Option<&str> {
        let text = names
            .iter()
            .find_map(|n| self.dialects.iter().find(|(d, _)| d == n).map(|(_, s)| s))
            .unwrap_or(&self.sql);
        (!text.trim().is_empty()).then_some(text.as_str())
    }
}
