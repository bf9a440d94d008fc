//! The schema IR shared by discovery, introspection, diff and ops.
//!
//! Input: whatever a stage builds (models, catalog rows, migration files). Output: plain
//! data — [`Schema`] > [`Table`] > [`Column`], [`ForeignKey`], [`Index`], constraints —
//! with serde spelled like migration files (`type = "varchar(200)"`,
//! `references = "users(id)"`). It holds no dialect knowledge and renders no SQL;
//! [`ColumnType::Custom`] carries dialect-specific types by name.

mod types;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use types::{ColumnType, DIALECT_NAMES};

/// A set of tables: what the models describe, or what a database holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    #[serde(default)]
    pub tables: Vec<Table>,
}

impl Schema {
    /// This schema with each column's type as the dialect named `dialect` has it;
    /// borrowed when no column has variants.
    pub fn for_dialect(&self, dialect: &str) -> std::borrow::Cow<'_, Schema> {
        use std::borrow::Cow;
        if !self.tables.iter().any(Table::is_dialect_specific) {
            return Cow::Borrowed(self);
        }
        Cow::Owned(Schema {
            tables: self
                .tables
                .iter()
                .map(|t| t.for_dialect(dialect).into_owned())
                .collect(),
        })
    }

    /// The table called `name` in `schema` (`None` = the default schema).
    pub fn table(&self, schema: Option<&str>, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name == name && t.schema.as_deref() == schema)
    }
}

/// One table with its columns and constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default)]
    pub columns: Vec<Column>,
    /// An explicit (possibly named or composite) primary key; when `None` the columns
    /// flagged `primary_key` form it, see [`Table::primary_key_columns`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<PrimaryKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uniques: Vec<UniqueConstraint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Table {
    /// An empty table called `name` in the default schema.
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            ..Table::default()
        }
    }

    /// `schema.name`, or `name` in the default schema.
    pub fn qualified_name(&self) -> String {
        qualified(self.schema.as_deref(), &self.name)
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether an index, a unique constraint or a `unique` column flag (not the
    /// primary key) starts with `columns`: an index that can serve a foreign key on
    /// them.
    pub fn has_index_leading_with(&self, columns: &[String]) -> bool {
        self.indexes.iter().any(|i| i.columns.starts_with(columns))
            || self.uniques.iter().any(|u| u.columns.starts_with(columns))
            || matches!(columns, [c] if self.column(c).is_some_and(|c| c.unique))
    }

    /// The primary-key columns: the explicit [`Table::primary_key`], else the columns
    /// flagged `primary_key`, in table order.
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
}

/// `schema.name`, or `name` without a schema.
pub fn qualified(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(schema) => format!("{schema}.{name}"),
        None => name.to_owned(),
    }
}

/// The name a database with identifiers of at most `max` characters gets for a
/// constraint or index named `name`: SQLAlchemy's rule for names made by a naming
/// convention (and Alembic's `op.f`), the first `max - 8` characters, `_`, and the last
/// four hex digits of the MD5 of the whole name. Shorter names are kept as they are, so
/// a revision can carry the full name and each database gets its own form.
pub fn db_identifier(name: &str, max: Option<usize>) -> std::borrow::Cow<'_, str> {
    use md5::Digest;
    match max {
        Some(max) if max > 8 && name.chars().count() > max => {
            let digest = md5::Md5::digest(name.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let head: String = name.chars().take(max - 8).collect();
            std::borrow::Cow::Owned(format!("{head}_{}", &hex[hex.len() - 4..]))
        }
        _ => std::borrow::Cow::Borrowed(name),
    }
}

/// True when `actual`, a name read from a database with identifiers of at most `max`
/// characters, is the constraint or index name `desired` there.
pub fn same_db_identifier(desired: &str, actual: &str, max: Option<usize>) -> bool {
    desired == actual || db_identifier(desired, max) == actual
}

impl Table {
    /// True when a column's type differs per dialect ([`ColumnType::Variant`]).
    pub fn has_variants(&self) -> bool {
        self.columns.iter().any(|c| c.ty.is_variant())
    }

    /// True when the table differs between dialects: a column type with variants or
    /// an index limited to some dialects.
    pub fn is_dialect_specific(&self) -> bool {
        self.has_variants() || self.indexes.iter().any(|i| !i.dialects.is_empty())
    }

    /// This table as the dialect named `dialect` has it: each column's type resolved
    /// ([`ColumnType::for_dialect`]), the indexes of other dialects left out
    /// ([`Index::applies_to`]); borrowed when nothing differs between dialects.
    pub fn for_dialect(&self, dialect: &str) -> std::borrow::Cow<'_, Table> {
        if !self.is_dialect_specific() {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut table = self.clone();
        for c in &mut table.columns {
            c.ty = c.ty.for_dialect(dialect).clone();
        }
        table.indexes.retain(|i| i.applies_to(dialect));
        std::borrow::Cow::Owned(table)
    }

    /// This table with its constraint and index names as a database with identifiers
    /// of at most `max` characters stores them ([`db_identifier`]).
    pub fn with_db_identifiers(&self, max: Option<usize>) -> std::borrow::Cow<'_, Table> {
        let long = |n: &str| db_identifier(n, max) != n;
        let long_opt = |n: &Option<String>| n.as_deref().is_some_and(long);
        let any = self.primary_key.as_ref().is_some_and(|p| long_opt(&p.name))
            || self.indexes.iter().any(|i| long(&i.name))
            || self.uniques.iter().any(|u| long_opt(&u.name))
            || self.checks.iter().any(|c| long_opt(&c.name))
            || self.foreign_keys.iter().any(|f| long_opt(&f.name));
        if !any {
            return std::borrow::Cow::Borrowed(self);
        }
        let short = |n: &mut String| *n = db_identifier(n, max).into_owned();
        let short_opt = |n: &mut Option<String>| {
            if let Some(n) = n {
                short(n);
            }
        };
        let mut table = self.clone();
        if let Some(pk) = &mut table.primary_key {
            short_opt(&mut pk.name);
        }
        table.indexes.iter_mut().for_each(|i| short(&mut i.name));
        table
            .uniques
            .iter_mut()
            .for_each(|u| short_opt(&mut u.name));
        table.checks.iter_mut().for_each(|c| short_opt(&mut c.name));
        table
            .foreign_keys
            .iter_mut()
            .for_each(|f| short_opt(&mut f.name));
        std::borrow::Cow::Owned(table)
    }
}

/// One column.
///
/// In files: `{ name = "id", type = "integer", primary_key = true }`. `nullable` defaults
/// to `true`, except for primary-key columns where it defaults to `false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ColumnSpec", into = "ColumnSpec")]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    pub primary_key: bool,
    /// `None`: the dialect's default (SQLAlchemy's `"auto"`).
    pub autoincrement: Option<bool>,
    /// SQL expression, rendered verbatim: `"now()"`, `"0"`, `"'draft'"` (quotes included).
    pub server_default: Option<String>,
    pub comment: Option<String>,
    pub unique: bool,
}

impl Column {
    /// A nullable, non-key column.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Column {
            name: name.into(),
            ty,
            nullable: true,
            primary_key: false,
            autoincrement: None,
            server_default: None,
            comment: None,
            unique: false,
        }
    }

    /// A primary-key column (not nullable).
    pub fn primary(name: impl Into<String>, ty: ColumnType) -> Self {
        Column {
            nullable: false,
            primary_key: true,
            ..Column::new(name, ty)
        }
    }

    /// The same column with `nullable = false`.
    pub fn not_null(mut self) -> Self {
        self.nullable = false;
        self
    }
}

/// The file spelling of a [`Column`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnSpec {
    name: String,
    #[serde(rename = "type")]
    ty: ColumnType,
    #[serde(default, skip_serializing_if = "is_false")]
    primary_key: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nullable: Option<bool>,
    #[serde(default, skip_serializing_if = "is_false")]
    unique: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    autoincrement: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server_default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl From<ColumnSpec> for Column {
    fn from(spec: ColumnSpec) -> Self {
        Column {
            nullable: spec.nullable.unwrap_or(!spec.primary_key),
            name: spec.name,
            ty: spec.ty,
            primary_key: spec.primary_key,
            autoincrement: spec.autoincrement,
            server_default: spec.server_default,
            comment: spec.comment,
            unique: spec.unique,
        }
    }
}

impl From<Column> for ColumnSpec {
    fn from(c: Column) -> Self {
        ColumnSpec {
            // Written only when it differs from the default, so files stay short.
            nullable: (c.nullable == c.primary_key).then_some(c.nullable),
            name: c.name,
            ty: c.ty,
            primary_key: c.primary_key,
            autoincrement: c.autoincrement,
            server_default: c.server_default,
            comment: c.comment,
            unique: c.unique,
        }
    }
}

/// An explicit primary key: `{ name = "pk_posts", columns = ["id", "lang"] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrimaryKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// A foreign key.
///
/// In files: `{ columns = ["user_id"], references = "users(id)", ondelete = "cascade" }`;
/// `references` may name a schema (`"auth.users(id)"`) and several columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ForeignKeySpec", into = "ForeignKeySpec")]
pub struct ForeignKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_schema: Option<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `cascade`, `set null`, `restrict`, ... as written.
    pub ondelete: Option<String>,
    pub onupdate: Option<String>,
    /// `DEFERRABLE` (`true`) or `NOT DEFERRABLE` (`false`); `None`: the database's default.
    pub deferrable: Option<bool>,
    /// `INITIALLY DEFERRED` / `IMMEDIATE`, as written.
    pub initially: Option<String>,
}

impl ForeignKey {
    /// The `references` spelling: `schema.table(a, b)`.
    pub fn references(&self) -> String {
        format!(
            "{}({})",
            qualified(self.ref_schema.as_deref(), &self.ref_table),
            self.ref_columns.join(", ")
        )
    }
}

/// Parses `users(id)`, `users(id, org)` or `auth.users(id)` into (schema, table, columns).
pub fn parse_references(text: &str) -> Result<(Option<String>, String, Vec<String>), String> {
    let expected = || format!("Invalid `references` value `{text}`: expected `table(column, ...)`");
    let text = text.trim();
    let (target, rest) = text.split_once('(').ok_or_else(expected)?;
    let inner = rest.strip_suffix(')').ok_or_else(expected)?;
    let columns: Vec<String> = inner.split(',').map(|c| c.trim().to_owned()).collect();
    let target = target.trim();
    if target.is_empty()
        || columns
            .iter()
            .any(|c| c.is_empty() || c.contains(['(', ')']))
    {
        return Err(expected());
    }
    let (schema, table) = match target.rsplit_once('.') {
        Some((schema, table)) if !schema.trim().is_empty() && !table.trim().is_empty() => {
            (Some(schema.trim().to_owned()), table.trim().to_owned())
        }
        Some(_) => return Err(expected()),
        None => (None, target.to_owned()),
    };
    Ok((schema, table, columns))
}

/// The file spelling of a [`ForeignKey`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForeignKeySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    columns: Vec<String>,
    references: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ondelete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    onupdate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deferrable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initially: Option<String>,
}

impl TryFrom<ForeignKeySpec> for ForeignKey {
    type Error = String;

    fn try_from(spec: ForeignKeySpec) -> Result<Self, String> {
        let (ref_schema, ref_table, ref_columns) = parse_references(&spec.references)?;
        if ref_columns.len() != spec.columns.len() {
            return Err(format!(
                "Foreign key has {} column(s) but `references` names {}",
                spec.columns.len(),
                ref_columns.len()
            ));
        }
        Ok(ForeignKey {
            name: spec.name,
            columns: spec.columns,
            ref_schema,
            ref_table,
            ref_columns,
            ondelete: spec.ondelete,
            onupdate: spec.onupdate,
            deferrable: spec.deferrable,
            initially: spec.initially,
        })
    }
}

impl From<ForeignKey> for ForeignKeySpec {
    fn from(fk: ForeignKey) -> Self {
        ForeignKeySpec {
            references: fk.references(),
            name: fk.name,
            columns: fk.columns,
            ondelete: fk.ondelete,
            onupdate: fk.onupdate,
            deferrable: fk.deferrable,
            initially: fk.initially,
        }
    }
}

/// An index. Each entry of `columns` is a column name, or an SQL expression (anything that
/// is not a plain identifier, see [`Index::is_expression`]) rendered verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub name: String,
    /// Empty inside [`Table::indexes`] until the owning table fills it in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub table: String,
    pub columns: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Partial-index predicate (PostgreSQL, SQLite), SQL rendered verbatim.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_: Option<String>,
    /// The dialects the index exists on (SQLAlchemy's `ddl_if(dialect=...)`); empty:
    /// every one. Elsewhere it is neither created nor expected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dialects: Vec<String>,
}

impl Index {
    /// True when the index exists on the dialect named `dialect` (see
    /// [`Index::dialects`]; `mysql` also takes `mariadb`, as for type variants).
    pub fn applies_to(&self, dialect: &str) -> bool {
        self.dialects.is_empty()
            || self
                .dialects
                .iter()
                .any(|d| d == dialect || (dialect == "mysql" && d == "mariadb"))
    }

    /// True when an entry of `columns` is an expression rather than a column name.
    pub fn is_expression(entry: &str) -> bool {
        entry.is_empty() || !entry.chars().all(|c| c.is_alphanumeric() || c == '_')
    }
}

/// A unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniqueConstraint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// A check constraint; `sqltext` is the SQL condition, rendered verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConstraint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub sqltext: String,
}

impl fmt::Display for Column {
    /// `name type [NOT NULL] [PRIMARY KEY] [UNIQUE] [DEFAULT expr]`, for summaries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.ty)?;
        if self.primary_key {
            f.write_str(" PRIMARY KEY")?;
        } else if !self.nullable {
            f.write_str(" NOT NULL")?;
        }
        if self.unique {
            f.write_str(" UNIQUE")?;
        }
        if let Some(default) = &self.server_default {
            write!(f, " DEFAULT {default}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Holder {
        columns: Vec<Column>,
        #[serde(default)]
        foreign_keys: Vec<ForeignKey>,
    }

    #[test]
    fn column_nullable_defaults_depend_on_primary_key() {
        let h: Holder = toml::from_str(
            r#"columns = [
                { name = "id", type = "integer", primary_key = true },
                { name = "title", type = "VARCHAR(200)", nullable = false },
                { name = "body", type = "text", server_default = "''", comment = "c" },
            ]"#,
        )
        .expect("valid");
        assert_eq!(h.columns[0], Column::primary("id", ColumnType::Integer));
        assert_eq!(
            h.columns[1],
            Column::new("title", ColumnType::String(Some(200))).not_null()
        );
        assert!(h.columns[2].nullable);
        assert_eq!(h.columns[2].server_default.as_deref(), Some("''"));
        assert_eq!(h.columns[2].comment.as_deref(), Some("c"));
    }

    #[test]
    fn column_serialises_only_non_default_keys() {
        let json = serde_json::to_string(&Column::primary("id", ColumnType::Integer))
            .expect("serialisable");
        assert_eq!(json, r#"{"name":"id","type":"integer","primary_key":true}"#);
        let nullable_pk = Column {
            nullable: true,
            ..Column::primary("id", ColumnType::Integer)
        };
        let json = serde_json::to_string(&nullable_pk).expect("serialisable");
        assert_eq!(
            json,
            r#"{"name":"id","type":"integer","primary_key":true,"nullable":true}"#
        );
        let back: Column = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, nullable_pk);
    }

    #[test]
    fn column_refuses_unknown_keys() {
        let err = toml::from_str::<Holder>(
            r#"columns = [{ name = "id", type = "integer", nulable = true }]"#,
        )
        .expect_err("unknown key");
        assert!(err.message().contains("unknown field `nulable`"), "{err}");
    }

    #[test]
    fn foreign_key_references_parse() {
        let h: Holder = toml::from_str(
            r#"columns = []
            foreign_keys = [
                { columns = ["user_id"], references = "users(id)", ondelete = "cascade" },
                { name = "fk_o", columns = ["a", "b"], references = "auth.orgs(id, region)" },
            ]"#,
        )
        .expect("valid");
        let fk = &h.foreign_keys[0];
        assert_eq!(
            (fk.ref_schema.as_deref(), fk.ref_table.as_str()),
            (None, "users")
        );
        assert_eq!(fk.ref_columns, ["id"]);
        assert_eq!(fk.ondelete.as_deref(), Some("cascade"));
        let fk = &h.foreign_keys[1];
        assert_eq!(fk.ref_schema.as_deref(), Some("auth"));
        assert_eq!(fk.ref_columns, ["id", "region"]);
        assert_eq!(fk.references(), "auth.orgs(id, region)");
        let again: Holder =
            toml::from_str(&toml::to_string(&h).expect("serialisable")).expect("round trip");
        assert_eq!(again, h);
    }

    #[test]
    fn foreign_key_references_errors() {
        assert!(parse_references("users").is_err());
        assert!(parse_references("users()").is_err());
        assert!(parse_references(".users(id)").is_err());
        assert!(parse_references("(id)").is_err());
        let err = toml::from_str::<Holder>(
            r#"columns = []
            foreign_keys = [{ columns = ["a", "b"], references = "users(id)" }]"#,
        )
        .expect_err("arity");
        assert!(err.message().contains("has 2 column(s)"), "{err}");
    }

    #[test]
    fn table_helpers() {
        let mut t = Table::new("posts");
        t.schema = Some("blog".into());
        t.columns = vec![
            Column::primary("id", ColumnType::Integer),
            Column::new("title", ColumnType::Text),
        ];
        assert_eq!(t.qualified_name(), "blog.posts");
        assert_eq!(t.primary_key_columns(), ["id"]);
        assert_eq!(t.column("title").map(|c| &c.ty), Some(&ColumnType::Text));
        t.primary_key = Some(PrimaryKey {
            name: None,
            columns: vec!["id".into(), "title".into()],
        });
        assert_eq!(t.primary_key_columns(), ["id", "title"]);
        let schema = Schema { tables: vec![t] };
        assert!(schema.table(Some("blog"), "posts").is_some());
        assert!(schema.table(None, "posts").is_none());
        assert!(Index::is_expression("lower(email)"));
        assert!(!Index::is_expression("email"));
    }

    #[test]
    fn column_display_summarises() {
        let c = Column {
            server_default: Some("0".into()),
            ..Column::new("n", ColumnType::Integer).not_null()
        };
        assert_eq!(c.to_string(), "n integer NOT NULL DEFAULT 0");
    }

    #[test]
    fn over_long_names_are_shortened_like_sqlalchemy() {
        // Expected values: SQLAlchemy 2.1's DDL compiler on PostgreSQL (63) and MySQL (64).
        let fk = "history_dataset_association_subset_history_dataset_association_subset_id_fkey";
        assert_eq!(
            db_identifier(fk, Some(63)),
            "history_dataset_association_subset_history_dataset_asso_e7e9"
        );
        let ix = "ix_history_dataset_association_subset_history_dataset_association_subset_id";
        assert_eq!(
            db_identifier(ix, Some(64)),
            "ix_history_dataset_association_subset_history_dataset_as_cc82"
        );
        assert_eq!(db_identifier(fk, None), fk);
        assert_eq!(db_identifier("short_name", Some(63)), "short_name");
        assert!(same_db_identifier(
            fk,
            &db_identifier(fk, Some(63)),
            Some(63)
        ));
        assert!(!same_db_identifier(fk, &db_identifier(fk, Some(63)), None));
    }
}
