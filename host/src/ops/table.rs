//! Table-level ops: `create_table`, `drop_table`, `rename_table`, `alter_table` (the table
//! comment), `create_primary_key`, `drop_primary_key`.

use serde::{Deserialize, Serialize};

use crate::schema::{
    CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, UniqueConstraint,
};

/// `create_table`: the whole table definition.
///
/// ```toml
/// op = "create_table"
/// table = "posts"
/// columns = [{ name = "id", type = "integer", primary_key = true }]
/// foreign_keys = [{ columns = ["user_id"], references = "users(id)", ondelete = "cascade" }]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TableSpec", into = "TableSpec")]
pub struct CreateTable {
    pub table: Table,
}

/// `drop_table`. `definition` (the same keys as `create_table`) is optional; without it
/// the op cannot be inverted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TableSpec", into = "TableSpec")]
pub struct DropTable {
    pub table: String,
    pub schema: Option<String>,
    pub definition: Option<Table>,
}

/// `rename_table`: `table = "old"`, `new_name = "new"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameTable {
    pub table: String,
    pub new_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// `alter_table`: changes the table comment. `comment = false` removes it;
/// `existing_comment` (`false`: had none) records the old one for the inverse.
///
/// ```toml
/// op = "alter_table"
/// table = "users"
/// comment = "Registered users"
/// existing_comment = false
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlterTable {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// `Some(None)`: remove the comment.
    #[serde(
        default,
        with = "super::column::set_or_clear",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<Option<String>>,
    /// `Some(None)`: known to have had no comment.
    #[serde(
        default,
        with = "super::column::set_or_clear",
        skip_serializing_if = "Option::is_none"
    )]
    pub existing_comment: Option<Option<String>>,
}

/// `create_primary_key`: `table`, `columns`, optional `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePrimaryKey {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// `drop_primary_key`: `table`, optional `name` (PostgreSQL needs it; `<table>_pkey` when
/// absent) and optionally the dropped `columns`, without which the op cannot be inverted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropPrimaryKey {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

/// The file spelling shared by `create_table` and `drop_table`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSpec {
    table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    primary_key: Option<PrimaryKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    foreign_keys: Vec<ForeignKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    uniques: Vec<UniqueConstraint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    checks: Vec<CheckConstraint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    indexes: Vec<Index>,
}

impl TableSpec {
    fn has_definition(&self) -> bool {
        !self.columns.is_empty()
            || self.comment.is_some()
            || self.primary_key.is_some()
            || !self.foreign_keys.is_empty()
            || !self.uniques.is_empty()
            || !self.checks.is_empty()
            || !self.indexes.is_empty()
    }

    fn into_table(self) -> Result<Table, String> {
        if self.columns.is_empty() {
            // Same wording as serde's own error, so callers see one kind of message.
            return Err("missing field `columns`".to_owned());
        }
        let name = self.table;
        let indexes = self
            .indexes
            .into_iter()
            .map(|mut index| {
                if index.table.is_empty() {
                    index.table.clone_from(&name);
                }
                index
            })
            .collect();
        Ok(Table {
            name,
            schema: self.schema,
            columns: self.columns,
            primary_key: self.primary_key,
            foreign_keys: self.foreign_keys,
            indexes,
            uniques: self.uniques,
            checks: self.checks,
            comment: self.comment,
        })
    }

    fn from_table(table: Table) -> Self {
        let name = table.name;
        let indexes = table
            .indexes
            .into_iter()
            .map(|mut index| {
                if index.table == name {
                    index.table.clear();
                }
                index
            })
            .collect();
        TableSpec {
            table: name,
            schema: table.schema,
            comment: table.comment,
            columns: table.columns,
            primary_key: table.primary_key,
            foreign_keys: table.foreign_keys,
            uniques: table.uniques,
            checks: table.checks,
            indexes,
        }
    }
}

impl TryFrom<TableSpec> for CreateTable {
    type Error = String;

    fn try_from(spec: TableSpec) -> Result<Self, String> {
        Ok(CreateTable {
            table: spec.into_table()?,
        })
    }
}

impl From<CreateTable> for TableSpec {
    fn from(op: CreateTable) -> Self {
        TableSpec::from_table(op.table)
    }
}

impl TryFrom<TableSpec> for DropTable {
    type Error = String;

    fn try_from(spec: TableSpec) -> Result<Self, String> {
        let table = spec.table.clone();
        let schema = spec.schema.clone();
        let definition = if spec.has_definition() {
            Some(spec.into_table()?)
        } else {
            None
        };
        Ok(DropTable {
            table,
            schema,
            definition,
        })
    }
}

impl From<DropTable> for TableSpec {
    fn from(op: DropTable) -> Self {
        match op.definition {
            Some(mut table) => {
                table.name = op.table;
                table.schema = op.schema;
                TableSpec::from_table(table)
            }
            None => TableSpec::from_table(Table {
                schema: op.schema,
                ..Table::new(op.table)
            }),
        }
    }
}
