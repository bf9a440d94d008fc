//! The `sql` op: the escape hatch for anything the other ops cannot say.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `sql`: raw SQL, with optional per-dialect variants and an optional `down` text.
///
/// ```toml
/// op = "sql"
/// sql = "UPDATE posts SET title = trim(title)"
/// dialects = { postgresql = "UPDATE posts SET title = btrim(title)" }
/// down = "SELECT 1"
/// ```
///
/// `sql` may be left out (or empty) when `dialects` is given: the op then does nothing
/// on the dialects it does not name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SqlSpec", into = "SqlSpec")]
pub struct Sql {
    pub sql: String,
    /// Dialect name (`sqlite`, `postgresql`, `mysql`, or a dialect plugin's name) -> SQL.
    pub dialects: BTreeMap<String, String>,
    /// SQL that undoes `sql`, used by [`crate::ops::Op::inverse`].
    pub down: Option<String>,
}

impl Sql {
    /// A plain statement with no variants.
    pub fn new(sql: impl Into<String>) -> Self {
        Sql {
            sql: sql.into(),
            ..Sql::default()
        }
    }

    /// The text to run on `dialect`: its variant, else `sql`; `None` when that is empty.
    pub fn for_dialect(&self, dialect: &str) -> Option<&str> {
        let text = self.dialects.get(dialect).unwrap_or(&self.sql);
        (!text.trim().is_empty()).then_some(text.as_str())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    sql: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    dialects: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    down: Option<String>,
}

impl TryFrom<SqlSpec> for Sql {
    type Error = String;

    fn try_from(spec: SqlSpec) -> Result<Self, String> {
        if spec.sql.is_empty() && spec.dialects.is_empty() {
            return Err("missing field `sql`".to_owned());
        }
        Ok(Sql {
            sql: spec.sql,
            dialects: spec.dialects,
            down: spec.down,
        })
    }
}

impl From<Sql> for SqlSpec {
    fn from(op: Sql) -> Self {
        SqlSpec {
            sql: op.sql,
            dialects: op.dialects,
            down: op.down,
        }
    }
}
