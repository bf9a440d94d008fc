//! The schema IR as plugins see it: tables, columns, column types, constraints.
//!
//! These are the WIT records of the `schema` interface (one Rust type each, shared
//! by the discovery and dialect worlds), plus constructors so a discovery backend
//! can build a table in a few lines:
//!
//! ```ignore
//! use sqlalembic_plugin::schema::{Column, ColumnType, ScalarType, Table};
//!
//! let mut users = Table::new("users");
//! users.columns.push(Column::primary("id", ColumnType::of(ScalarType::Integer)));
//! users.columns.push(Column::new("email", ColumnType::of(ScalarType::String(Some(255)))).not_null());
//! ```
//!
//! Names are unquoted, as the database spells them; `server_default`, check
//! conditions and index expressions are SQL, passed verbatim.

pub use crate::discovery::bindings::sqlalembic::plugin::schema::{
    CheckConstraint, Column, ColumnType, EnumType, ForeignKey, Index, Precision, PrimaryKey,
    ScalarType, Table, UniqueConstraint,
};

impl ColumnType {
    /// A scalar column type.
    pub fn of(scalar: ScalarType) -> ColumnType {
        ColumnType {
            scalar,
            array_dimensions: 0,
        }
    }

    /// An array of `scalar` with `dimensions` dimensions (`integer[][]`: 2).
    pub fn array(scalar: ScalarType, dimensions: u32) -> ColumnType {
        ColumnType {
            scalar,
            array_dimensions: dimensions,
        }
    }

    /// A type by its database spelling (`jsonb`, `citext`, `char(3)`).
    pub fn custom(spelling: &str) -> ColumnType {
        ColumnType::of(ScalarType::Custom(spelling.to_owned()))
    }

    /// True for `integer`, `bigint` and `smallint` (not arrays of them).
    pub fn is_integer(&self) -> bool {
        self.array_dimensions == 0
            && matches!(
                self.scalar,
                ScalarType::Integer | ScalarType::BigInteger | ScalarType::SmallInteger
            )
    }
}

impl Column {
    /// A nullable, non-key column.
    pub fn new(name: &str, ty: ColumnType) -> Column {
        Column {
            name: name.to_owned(),
            type_: ty,
            nullable: true,
            primary_key: false,
            autoincrement: None,
            server_default: None,
            comment: None,
            unique: false,
        }
    }

    /// A primary-key column (not nullable).
    pub fn primary(name: &str, ty: ColumnType) -> Column {
        Column {
            nullable: false,
            primary_key: true,
            ..Column::new(name, ty)
        }
    }

    /// The same column, `NOT NULL`.
    pub fn not_null(mut self) -> Column {
        self.nullable = false;
        self
    }

    /// The same column with a server default (SQL, verbatim: `0`, `'draft'`, `now()`).
    pub fn default_sql(mut self, sql: &str) -> Column {
        self.server_default = Some(sql.to_owned());
        self
    }
}

impl Table {
    /// An empty table in the default schema.
    pub fn new(name: &str) -> Table {
        Table {
            name: name.to_owned(),
            schema: None,
            columns: Vec::new(),
            primary_key: None,
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            comment: None,
        }
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The primary-key columns: the explicit key, else the flagged columns.
    pub fn primary_key_columns(&self) -> Vec<&str> {
        match &self.primary_key {
            Some(pk) => pk.columns.iter().map(String::as_str).collect(),
            None => self
                .columns
                .iter()
                .filter(|c| c.primary_key)
                .map(|c| c.name.as_str())
                .collect(),
        }
    }

    /// `schema.name`, or `name` in the default schema.
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Index {
    /// True when an index entry is an SQL expression rather than a column name.
    pub fn is_expression(entry: &str) -> bool {
        entry.is_empty() || !entry.chars().all(|c| c.is_alphanumeric() || c == '_')
    }
}

/// The table `name` of `schema` among `tables` (a dialect's `context`).
pub fn find<'a>(tables: &'a [Table], schema: Option<&str>, name: &str) -> Option<&'a Table> {
    tables
        .iter()
        .find(|t| t.name == name && t.schema.as_deref() == schema)
}
