//! Index and constraint ops: `create_index`/`drop_index`, `create_unique`/`drop_unique`,
//! `create_foreign_key`/`drop_foreign_key`, `create_check`/`drop_check`.
//!
//! Each `drop_*` op may carry the definition (the same keys as its `create_*` op) so it
//! can be inverted; without it `Op::inverse` gives `None`.

use serde::{Deserialize, Serialize};

use crate::schema::{CheckConstraint, ForeignKey, Index, UniqueConstraint, parse_references};

/// `create_index`: `name`, `table`, `columns` (names or SQL expressions), `unique`, `where`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "IndexSpec", into = "IndexSpec")]
pub struct CreateIndex {
    pub schema: Option<String>,
    pub index: Index,
}

/// `drop_index`: `name`, `table`, optionally the definition (`columns`, `unique`, `where`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "IndexSpec", into = "IndexSpec")]
pub struct DropIndex {
    pub name: String,
    pub table: String,
    pub schema: Option<String>,
    pub definition: Option<Index>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexSpec {
    name: String,
    table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    columns: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unique: bool,
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    where_: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dialects: Vec<String>,
}

impl IndexSpec {
    fn index(self) -> Result<Index, String> {
        if self.columns.is_empty() {
            return Err("missing field `columns`".to_owned());
        }
        Ok(Index {
            name: self.name,
            table: self.table,
            columns: self.columns,
            unique: self.unique,
            where_: self.where_,
            dialects: self.dialects,
        })
    }

    fn from_index(schema: Option<String>, index: Index) -> Self {
        IndexSpec {
            name: index.name,
            table: index.table,
            schema,
            columns: index.columns,
            unique: index.unique,
            where_: index.where_,
            dialects: index.dialects,
        }
    }
}

impl TryFrom<IndexSpec> for CreateIndex {
    type Error = String;

    fn try_from(spec: IndexSpec) -> Result<Self, String> {
        Ok(CreateIndex {
            schema: spec.schema.clone(),
            index: spec.index()?,
        })
    }
}

impl From<CreateIndex> for IndexSpec {
    fn from(op: CreateIndex) -> Self {
        IndexSpec::from_index(op.schema, op.index)
    }
}

impl TryFrom<IndexSpec> for DropIndex {
    type Error = String;

    fn try_from(spec: IndexSpec) -> Result<Self, String> {
        let (name, table, schema) = (spec.name.clone(), spec.table.clone(), spec.schema.clone());
        let definition = if spec.columns.is_empty()
            && !spec.unique
            && spec.where_.is_none()
            && spec.dialects.is_empty()
        {
            None
        } else {
            Some(spec.index()?)
        };
        Ok(DropIndex {
            name,
            table,
            schema,
            definition,
        })
    }
}

impl From<DropIndex> for IndexSpec {
    fn from(op: DropIndex) -> Self {
        let index = op.definition.unwrap_or_default();
        IndexSpec {
            name: op.name,
            table: op.table,
            ..IndexSpec::from_index(op.schema, index)
        }
    }
}

/// `create_unique`: `table`, `columns`, optional `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UniqueSpec", into = "UniqueSpec")]
pub struct CreateUnique {
    pub table: String,
    pub schema: Option<String>,
    pub unique: UniqueConstraint,
}

/// `drop_unique`: `table`, `name`, optionally `columns` (the definition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UniqueSpec", into = "UniqueSpec")]
pub struct DropUnique {
    pub table: String,
    pub schema: Option<String>,
    pub name: String,
    pub definition: Option<UniqueConstraint>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UniqueSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    columns: Vec<String>,
}

impl TryFrom<UniqueSpec> for CreateUnique {
    type Error = String;

    fn try_from(spec: UniqueSpec) -> Result<Self, String> {
        if spec.columns.is_empty() {
            return Err("missing field `columns`".to_owned());
        }
        Ok(CreateUnique {
            table: spec.table,
            schema: spec.schema,
            unique: UniqueConstraint {
                name: spec.name,
                columns: spec.columns,
            },
        })
    }
}

impl From<CreateUnique> for UniqueSpec {
    fn from(op: CreateUnique) -> Self {
        UniqueSpec {
            name: op.unique.name,
            table: op.table,
            schema: op.schema,
            columns: op.unique.columns,
        }
    }
}

impl TryFrom<UniqueSpec> for DropUnique {
    type Error = String;

    fn try_from(spec: UniqueSpec) -> Result<Self, String> {
        let name = spec.name.ok_or("missing field `name`")?;
        let definition = (!spec.columns.is_empty()).then(|| UniqueConstraint {
            name: Some(name.clone()),
            columns: spec.columns,
        });
        Ok(DropUnique {
            table: spec.table,
            schema: spec.schema,
            name,
            definition,
        })
    }
}

impl From<DropUnique> for UniqueSpec {
    fn from(op: DropUnique) -> Self {
        UniqueSpec {
            name: Some(op.name),
            table: op.table,
            schema: op.schema,
            columns: op.definition.map(|d| d.columns).unwrap_or_default(),
        }
    }
}

/// `create_foreign_key`: `table`, `columns`, `references = "users(id)"`, optional `name`,
/// `ondelete`, `onupdate`, `deferrable`, `initially`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ForeignKeySpec", into = "ForeignKeySpec")]
pub struct CreateForeignKey {
    pub table: String,
    pub schema: Option<String>,
    pub foreign_key: ForeignKey,
}

/// `drop_foreign_key`: `table`, `name`, optionally the definition (`columns`,
/// `references`, `ondelete`, `onupdate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ForeignKeySpec", into = "ForeignKeySpec")]
pub struct DropForeignKey {
    pub table: String,
    pub schema: Option<String>,
    pub name: String,
    pub definition: Option<ForeignKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForeignKeySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    references: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ondelete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    onupdate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deferrable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initially: Option<String>,
}

impl ForeignKeySpec {
    fn foreign_key(self) -> Result<ForeignKey, String> {
        if self.columns.is_empty() {
            return Err("missing field `columns`".to_owned());
        }
        let references = self.references.ok_or("missing field `references`")?;
        let (ref_schema, ref_table, ref_columns) = parse_references(&references)?;
        if ref_columns.len() != self.columns.len() {
            return Err(format!(
                "Foreign key has {} column(s) but `references` names {}",
                self.columns.len(),
                ref_columns.len()
            ));
        }
        Ok(ForeignKey {
            name: self.name,
            columns: self.columns,
            ref_schema,
            ref_table,
            ref_columns,
            ondelete: self.ondelete,
            onupdate: self.onupdate,
            deferrable: self.deferrable,
            initially: self.initially,
        })
    }

    fn from_foreign_key(table: String, schema: Option<String>, fk: ForeignKey) -> Self {
        ForeignKeySpec {
            references: Some(fk.references()),
            name: fk.name,
            table,
            schema,
            columns: fk.columns,
            ondelete: fk.ondelete,
            onupdate: fk.onupdate,
            deferrable: fk.deferrable,
            initially: fk.initially,
        }
    }
}

impl TryFrom<ForeignKeySpec> for CreateForeignKey {
    type Error = String;

    fn try_from(spec: ForeignKeySpec) -> Result<Self, String> {
        Ok(CreateForeignKey {
            table: spec.table.clone(),
            schema: spec.schema.clone(),
            foreign_key: spec.foreign_key()?,
        })
    }
}

impl From<CreateForeignKey> for ForeignKeySpec {
    fn from(op: CreateForeignKey) -> Self {
        ForeignKeySpec::from_foreign_key(op.table, op.schema, op.foreign_key)
    }
}

impl TryFrom<ForeignKeySpec> for DropForeignKey {
    type Error = String;

    fn try_from(spec: ForeignKeySpec) -> Result<Self, String> {
        let name = spec.name.clone().ok_or("missing field `name`")?;
        let (table, schema) = (spec.table.clone(), spec.schema.clone());
        let has_definition = !spec.columns.is_empty()
            || spec.references.is_some()
            || spec.ondelete.is_some()
            || spec.onupdate.is_some()
            || spec.deferrable.is_some()
            || spec.initially.is_some();
        let definition = if has_definition {
            Some(spec.foreign_key()?)
        } else {
            None
        };
        Ok(DropForeignKey {
            table,
            schema,
            name,
            definition,
        })
    }
}

impl From<DropForeignKey> for ForeignKeySpec {
    fn from(op: DropForeignKey) -> Self {
        match op.definition {
            Some(fk) => ForeignKeySpec {
                name: Some(op.name),
                ..ForeignKeySpec::from_foreign_key(op.table, op.schema, fk)
            },
            None => ForeignKeySpec {
                name: Some(op.name),
                table: op.table,
                schema: op.schema,
                columns: Vec::new(),
                references: None,
                ondelete: None,
                onupdate: None,
                deferrable: None,
                initially: None,
            },
        }
    }
}

/// `create_check`: `table`, `sqltext`, optional `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CheckSpec", into = "CheckSpec")]
pub struct CreateCheck {
    pub table: String,
    pub schema: Option<String>,
    pub check: CheckConstraint,
}

/// `drop_check`: `table`, `name`, optionally `sqltext` (the definition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CheckSpec", into = "CheckSpec")]
pub struct DropCheck {
    pub table: String,
    pub schema: Option<String>,
    pub name: String,
    pub definition: Option<CheckConstraint>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sqltext: Option<String>,
}

impl TryFrom<CheckSpec> for CreateCheck {
    type Error = String;

    fn try_from(spec: CheckSpec) -> Result<Self, String> {
        let sqltext = spec.sqltext.ok_or("missing field `sqltext`")?;
        Ok(CreateCheck {
            table: spec.table,
            schema: spec.schema,
            check: CheckConstraint {
                name: spec.name,
                sqltext,
            },
        })
    }
}

impl From<CreateCheck> for CheckSpec {
    fn from(op: CreateCheck) -> Self {
        CheckSpec {
            name: op.check.name,
            table: op.table,
            schema: op.schema,
            sqltext: Some(op.check.sqltext),
        }
    }
}

impl TryFrom<CheckSpec> for DropCheck {
    type Error = String;

    fn try_from(spec: CheckSpec) -> Result<Self, String> {
        let name = spec.name.ok_or("missing field `name`")?;
        let definition = spec.sqltext.map(|sqltext| CheckConstraint {
            name: Some(name.clone()),
            sqltext,
        });
        Ok(DropCheck {
            table: spec.table,
            schema: spec.schema,
            name,
            definition,
        })
    }
}

impl From<DropCheck> for CheckSpec {
    fn from(op: DropCheck) -> Self {
        CheckSpec {
            name: Some(op.name),
            table: op.table,
            schema: op.schema,
            sqltext: op.definition.map(|d| d.sqltext),
        }
    }
}
