//! Column-level ops: `add_column`, `drop_column`, `alter_column`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::schema::{Column, ColumnType};

/// `add_column`: `table = "users"`, `column = { name = "email", type = "varchar(255)" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddColumn {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub column: Column,
}

/// `drop_column`: `column = "email"`, or the full definition
/// `column = { name = "email", type = "varchar(255)" }` so the op can be inverted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DropColumnSpec", into = "DropColumnSpec")]
pub struct DropColumn {
    pub table: String,
    pub schema: Option<String>,
    pub column: String,
    pub definition: Option<Column>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DropColumnSpec {
    table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    column: ColumnRef,
}

/// A column named by a string, or defined by a table.
enum ColumnRef {
    Name(String),
    Definition(Column),
}

impl Serialize for ColumnRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ColumnRef::Name(name) => serializer.serialize_str(name),
            ColumnRef::Definition(column) => column.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ColumnRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = ColumnRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name or a column table `{ name = ..., type = ... }`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnRef, E> {
                Ok(ColumnRef::Name(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ColumnRef, A::Error> {
                Column::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ColumnRef::Definition)
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}

impl TryFrom<DropColumnSpec> for DropColumn {
    type Error = String;

    fn try_from(spec: DropColumnSpec) -> Result<Self, String> {
        let (column, definition) = match spec.column {
            ColumnRef::Name(name) => (name, None),
            ColumnRef::Definition(c) => (c.name.clone(), Some(c)),
        };
        Ok(DropColumn {
            table: spec.table,
            schema: spec.schema,
            column,
            definition,
        })
    }
}

impl From<DropColumn> for DropColumnSpec {
    fn from(op: DropColumn) -> Self {
        DropColumnSpec {
            table: op.table,
            schema: op.schema,
            column: match op.definition {
                Some(mut c) => {
                    c.name = op.column;
                    ColumnRef::Definition(c)
                }
                None => ColumnRef::Name(op.column),
            },
        }
    }
}

/// `alter_column`: changes `type`, `nullable`, `server_default`, `comment` and/or renames
/// (`new_name`). `server_default = false` / `comment = false` remove them.
///
/// The `existing_*` keys (Alembic's names) record the values before the change; the op
/// can be inverted only when each changed attribute has its `existing_*` value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlterColumn {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub column: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<ColumnType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// `Some(None)`: remove the default.
    #[serde(
        default,
        with = "set_or_clear",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_default: Option<Option<String>>,
    /// `Some(None)`: remove the comment.
    #[serde(
        default,
        with = "set_or_clear",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_type: Option<ColumnType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_nullable: Option<bool>,
    /// `Some(None)`: known to have had no default.
    #[serde(
        default,
        with = "set_or_clear",
        skip_serializing_if = "Option::is_none"
    )]
    pub existing_server_default: Option<Option<String>>,
    /// `Some(None)`: known to have had no comment.
    #[serde(
        default,
        with = "set_or_clear",
        skip_serializing_if = "Option::is_none"
    )]
    pub existing_comment: Option<Option<String>>,
}

impl AlterColumn {
    /// True when the op changes something.
    pub fn changes_anything(&self) -> bool {
        self.new_name.is_some()
            || self.ty.is_some()
            || self.nullable.is_some()
            || self.server_default.is_some()
            || self.comment.is_some()
    }

    /// The op that undoes this one, or `None` when a changed attribute has no
    /// `existing_*` value.
    pub fn inverse(&self) -> Option<AlterColumn> {
        fn swap<T: Clone>(new: &Option<T>, existing: &Option<T>) -> Option<(Option<T>, Option<T>)> {
            match new {
                Some(new) => Some((Some(existing.clone()?), Some(new.clone()))),
                None => Some((None, existing.clone())),
            }
        }
        let (ty, existing_type) = swap(&self.ty, &self.existing_type)?;
        let (nullable, existing_nullable) = swap(&self.nullable, &self.existing_nullable)?;
        let (server_default, existing_server_default) =
            swap(&self.server_default, &self.existing_server_default)?;
        let (comment, existing_comment) = swap(&self.comment, &self.existing_comment)?;
        Some(AlterColumn {
            table: self.table.clone(),
            schema: self.schema.clone(),
            column: self.new_name.clone().unwrap_or_else(|| self.column.clone()),
            new_name: self.new_name.as_ref().map(|_| self.column.clone()),
            ty,
            nullable,
            server_default,
            comment,
            existing_type,
            existing_nullable,
            existing_server_default,
            existing_comment,
        })
    }
}

/// `Option<Option<String>>` as a string (set) or `false` (clear); absent = unchanged.
pub(super) mod set_or_clear {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Option<String>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(Some(text)) => serializer.serialize_str(text),
            // `None` is skipped by `skip_serializing_if`; both mean "nothing".
            Some(None) | None => serializer.serialize_bool(false),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        struct SetOrClear;
        impl Visitor<'_> for SetOrClear {
            type Value = Option<Option<String>>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or `false` to remove it")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(Some(v.to_owned())))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                if v {
                    Err(E::invalid_value(de::Unexpected::Bool(true), &self))
                } else {
                    Ok(Some(None))
                }
            }
        }
        deserializer.deserialize_any(SetOrClear)
    }
}
