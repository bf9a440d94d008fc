//! One model module's contribution to the schema, and the merge of all contributions.
//!
//! Input: for every model candidate, a [`UnitOutput`]: the tables its statements define
//! (columns, constraints and foreign-key targets still unresolved, every position
//! already a file:line:col), what it adds to tables defined elsewhere (columns of a
//! single-table-inheritance subclass, a standalone `Index`), and its diagnostics.
//! A unit holds no syntax tree and no module index, so it can be cached on disk and
//! reused while the files it was read from are unchanged. Output of [`merge`]: the
//! finished tables, exactly as one pass over the whole project builds them: foreign
//! keys resolved across files, column types taken from referred columns, constraints
//! named by their `MetaData`'s naming convention. It refuses nothing itself: what does
//! not resolve becomes a diagnostic, and discovery fails on it.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::model::Found;
use super::naming::{Convention, Subject};
use crate::diagnostic::Diagnostic;
use crate::discovery::SourceLocation;
use crate::schema::{
    CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, UniqueConstraint,
};

/// A position in a project file (relative path, 1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pos {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

/// A column before the table is finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDraft {
    /// The attribute name (the column name may differ).
    pub key: String,
    pub column: Column,
    /// The type comes from the referred column (`Column(ForeignKey(...))`).
    pub type_from_fk: bool,
    pub explicit_nullable: bool,
    pub index: bool,
    pub at: Pos,
}

/// What a foreign key points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetDraft {
    /// `"users.id"` or `"auth.users.id"`.
    Text(String),
    /// A column (by key) of the table `table` defined at `source` (`ForeignKey(User.id)`).
    Table {
        source: Pos,
        table: String,
        key: String,
    },
}

/// A foreign key before its targets are resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FkDraft {
    pub columns: Vec<String>,
    pub targets: Vec<TargetDraft>,
    pub name: Option<String>,
    pub ondelete: Option<String>,
    pub onupdate: Option<String>,
    pub deferrable: Option<bool>,
    pub initially: Option<String>,
    pub at: Pos,
}

/// An index column: a column key, or an expression's SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexColumn {
    Key(String),
    Expr(String),
}

/// An index before its columns are resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDraft {
    pub name: Option<String>,
    pub columns: Vec<IndexColumn>,
    pub unique: bool,
    pub where_: Option<String>,
    /// `ddl_if(dialect=...)`: the dialects the index exists on (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dialects: Vec<String>,
    pub at: Pos,
}

/// A named constraint over column keys (unique, primary key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDraft {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub at: Pos,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDraft {
    pub name: Option<String>,
    pub sqltext: String,
    pub at: Pos,
}

/// A table as its defining statement builds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDraft {
    pub name: String,
    pub schema: Option<String>,
    pub comment: Option<String>,
    /// The naming convention of the table's `MetaData`.
    pub convention: Vec<(String, String)>,
    pub columns: Vec<ColumnDraft>,
    pub fks: Vec<FkDraft>,
    pub indexes: Vec<IndexDraft>,
    pub uniques: Vec<NamedDraft>,
    pub checks: Vec<CheckDraft>,
    pub pk: Option<NamedDraft>,
    /// The class or `Table(...)` call: also the table's identity across units.
    pub source: Pos,
}

impl TableDraft {
    fn column_index(&self, key: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.key == key)
            .or_else(|| self.columns.iter().position(|c| c.column.name == key))
    }
}

/// What one module adds to a table defined in another module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    /// The `source` and name of the table it adds to.
    pub target: Pos,
    pub target_table: String,
    pub columns: Vec<ColumnDraft>,
    pub fks: Vec<FkDraft>,
    pub checks: Vec<CheckDraft>,
    pub indexes: Vec<IndexDraft>,
}

/// Everything one model module defines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitOutput {
    pub tables: Vec<TableDraft>,
    pub contributions: Vec<Contribution>,
    /// Never cached: a unit with diagnostics is evaluated again next time.
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

fn diag(out: &mut Vec<Diagnostic>, code: &str, at: &Pos, message: impl Into<String>) {
    out.push(Diagnostic::error(code, message).at(at.file.clone(), Some(at.line), Some(at.col)));
}

/// Merges the units (in path order) into finished tables.
pub fn merge(units: &[&UnitOutput]) -> (Vec<Found>, Vec<Diagnostic>) {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut drafts: Vec<TableDraft> = Vec::new();
    // A table is its definition's place and name: one `Table(...)` in a loop makes several.
    let mut by_source: HashMap<(Pos, String), usize> = HashMap::new();
    for u in units {
        diagnostics.extend(u.diagnostics.iter().cloned());
        for t in &u.tables {
            // A table of a module that is not a model candidate may come from several
            // units that each evaluated it; one definition is one table.
            let key = (t.source.clone(), t.name.clone());
            if by_source.contains_key(&key) {
                continue;
            }
            by_source.insert(key, drafts.len());
            drafts.push(t.clone());
        }
    }
    for u in units {
        for c in &u.contributions {
            let Some(&t) = by_source.get(&(c.target.clone(), c.target_table.clone())) else {
                continue;
            };
            let d = &mut drafts[t];
            d.columns.extend(c.columns.iter().cloned());
            d.fks.extend(c.fks.iter().cloned());
            d.checks.extend(c.checks.iter().cloned());
            d.indexes.extend(c.indexes.iter().cloned());
        }
    }
    let mut m = Merger {
        diagnostics,
        by_source,
    };
    let found = m.finish(&drafts);
    (found, m.diagnostics)
}

struct Merger {
    diagnostics: Vec<Diagnostic>,
    by_source: HashMap<(Pos, String), usize>,
}

impl Merger {
    fn finish(&mut self, drafts: &[TableDraft]) -> Vec<Found> {
        // Referred tables by (schema, name), and by name alone for unqualified strings.
        let mut by_name: HashMap<(Option<String>, String), usize> = HashMap::new();
        for (i, d) in drafts.iter().enumerate() {
            by_name
                .entry((d.schema.clone(), d.name.clone()))
                .or_insert(i);
        }
        let mut resolved_fks: Vec<Vec<Option<ForeignKey>>> = Vec::new();
        let mut fk_types: Vec<Vec<(String, usize, String)>> = Vec::new();
        for d in drafts {
            let mut fks = Vec::new();
            let mut types = Vec::new();
            for fk in &d.fks {
                fks.push(self.resolve_fk(drafts, &by_name, d, fk, &mut types));
            }
            resolved_fks.push(fks);
            fk_types.push(types);
        }
        let mut found = Vec::new();
        for (i, d) in drafts.iter().enumerate() {
            let fks: Vec<ForeignKey> = resolved_fks[i].iter().flatten().cloned().collect();
            let mut table = self.finish_table(d, fks);
            for (col, t, refcol) in &fk_types[i] {
                let ty = drafts[*t]
                    .columns
                    .iter()
                    .find(|c| &c.column.name == refcol)
                    .filter(|c| !c.type_from_fk)
                    .map(|c| c.column.ty.clone());
                if let Some(c) = table.columns.iter_mut().find(|c| &c.name == col) {
                    match ty {
                        Some(ty) => c.ty = ty,
                        None => {
                            let at = d
                                .columns
                                .iter()
                                .find(|c| &c.column.name == col)
                                .map_or(&d.source, |c| &c.at);
                            diag(
                                &mut self.diagnostics,
                                "SA103",
                                at,
                                format!(
                                    "Column `{col}` has no type, and the referred column's type is not known"
                                ),
                            );
                            if let Some(last) = self.diagnostics.last_mut() {
                                last.hints.push("Give the column a type".to_owned());
                            }
                        }
                    }
                }
            }
            found.push(Found {
                table,
                source: SourceLocation {
                    file: d.source.file.clone(),
                    line: d.source.line,
                },
            });
        }
        found
    }

    fn resolve_fk(
        &mut self,
        drafts: &[TableDraft],
        by_name: &HashMap<(Option<String>, String), usize>,
        d: &TableDraft,
        fk: &FkDraft,
        types: &mut Vec<(String, usize, String)>,
    ) -> Option<ForeignKey> {
        let mut columns = Vec::new();
        for key in &fk.columns {
            match d.column_index(key) {
                Some(i) => columns.push(d.columns[i].column.name.clone()),
                None => {
                    diag(
                        &mut self.diagnostics,
                        "SA106",
                        &fk.at,
                        format!(
                            "Foreign key column `{key}` is not a column of table `{}`",
                            d.name
                        ),
                    );
                    return None;
                }
            }
        }
        let mut ref_table: Option<(Option<String>, String)> = None;
        let mut ref_columns = Vec::new();
        let mut ref_index = None;
        for target in &fk.targets {
            let (schema, table, column, idx) = match target {
                TargetDraft::Text(text) => {
                    let parts: Vec<&str> = text.split('.').collect();
                    let (schema, table, column) = match parts.as_slice() {
                        [t, c] => (None, (*t).to_owned(), (*c).to_owned()),
                        [s, t, c] => (Some((*s).to_owned()), (*t).to_owned(), (*c).to_owned()),
                        _ => {
                            diag(
                                &mut self.diagnostics,
                                "SA101",
                                &fk.at,
                                format!(
                                    "Invalid foreign key target `{text}`: expected `table.column`"
                                ),
                            );
                            return None;
                        }
                    };
                    // An unqualified name refers to the table in the referring table's schema
                    // first (SQLAlchemy looks it up in the same MetaData).
                    let idx = by_name
                        .get(&(schema.clone(), table.clone()))
                        .or_else(|| {
                            schema
                                .is_none()
                                .then(|| by_name.get(&(d.schema.clone(), table.clone())))
                                .flatten()
                        })
                        .copied();
                    let schema = match (schema, idx) {
                        (None, Some(i)) => drafts[i].schema.clone(),
                        (s, _) => s,
                    };
                    (schema, table, column, idx)
                }
                TargetDraft::Table { source, table, key } => {
                    let Some(&t) = self.by_source.get(&(source.clone(), table.clone())) else {
                        diag(
                            &mut self.diagnostics,
                            "SA101",
                            &fk.at,
                            "Foreign key refers to a table that was not discovered",
                        );
                        return None;
                    };
                    let column = drafts[t]
                        .column_index(key)
                        .map_or(key.clone(), |i| drafts[t].columns[i].column.name.clone());
                    (
                        drafts[t].schema.clone(),
                        drafts[t].name.clone(),
                        column,
                        Some(t),
                    )
                }
            };
            if let Some(prev) = &ref_table
                && prev != &(schema.clone(), table.clone())
            {
                diag(
                    &mut self.diagnostics,
                    "SA101",
                    &fk.at,
                    "A foreign key must refer to one table",
                );
                return None;
            }
            ref_table = Some((schema, table));
            ref_columns.push(column);
            ref_index = idx;
        }
        let (ref_schema, ref_table) = ref_table?;
        if let Some(t) = ref_index {
            // Only a column without a type of its own takes the referred column's.
            for (c, rc) in columns.iter().zip(&ref_columns) {
                if d.columns
                    .iter()
                    .any(|x| x.type_from_fk && &x.column.name == c)
                {
                    types.push((c.clone(), t, rc.clone()));
                }
            }
        } else if d
            .columns
            .iter()
            .any(|c| c.type_from_fk && columns.contains(&c.column.name))
        {
            diag(
                &mut self.diagnostics,
                "SA103",
                &fk.at,
                format!(
                    "Foreign key target table `{ref_table}` is not among the discovered models, so the column type cannot be inferred"
                ),
            );
            if let Some(last) = self.diagnostics.last_mut() {
                last.hints.push("Give the column a type".to_owned());
            }
        }
        let name = self.constraint_name(
            d,
            "fk",
            fk.name.as_deref(),
            &columns,
            Some(&ref_table),
            &ref_columns,
            &fk.at,
        );
        Some(ForeignKey {
            name,
            columns,
            ref_schema,
            ref_table,
            ref_columns,
            ondelete: fk.ondelete.clone(),
            onupdate: fk.onupdate.clone(),
            deferrable: fk.deferrable,
            initially: fk.initially.clone(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn constraint_name(
        &mut self,
        d: &TableDraft,
        kind: &str,
        explicit: Option<&str>,
        columns: &[String],
        referred_table: Option<&str>,
        referred_columns: &[String],
        at: &Pos,
    ) -> Option<String> {
        let subject = Subject {
            table: &d.name,
            columns: columns.iter().map(String::as_str).collect(),
            referred_table,
            referred_columns: referred_columns.iter().map(String::as_str).collect(),
        };
        let convention = Convention {
            entries: d.convention.clone(),
        };
        match convention.name(kind, explicit, &subject) {
            Ok(n) => n,
            Err(message) => {
                diag(&mut self.diagnostics, "SA107", at, message);
                None
            }
        }
    }

    /// The column names of `keys` in `d`, or a diagnostic.
    fn names(&mut self, d: &TableDraft, keys: &[String], at: &Pos) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for k in keys {
            match d.column_index(k) {
                Some(i) => out.push(d.columns[i].column.name.clone()),
                None => {
                    diag(
                        &mut self.diagnostics,
                        "SA106",
                        at,
                        format!("`{k}` is not a column of table `{}`", d.name),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    fn finish_table(&mut self, d: &TableDraft, fks: Vec<ForeignKey>) -> Table {
        let mut table = Table::new(d.name.clone());
        table.schema = d.schema.clone();
        table.comment = d.comment.clone();
        table.foreign_keys = fks;
        let mut columns: Vec<Column> = d.columns.iter().map(|c| c.column.clone()).collect();
        // Primary key: an explicit constraint marks its columns; one without columns
        // (`PrimaryKeyConstraint(sqlite_on_conflict=...)`) names those marked
        // `primary_key=True`, as SQLAlchemy does.
        if let Some(pk) = &d.pk
            && let Some(cols) = self.names(d, &pk.columns, &pk.at)
        {
            let cols = if cols.is_empty() {
                columns
                    .iter()
                    .filter(|c| c.primary_key)
                    .map(|c| c.name.clone())
                    .collect()
            } else {
                cols
            };
            for (c, draft) in columns.iter_mut().zip(&d.columns) {
                if cols.contains(&c.name) {
                    c.primary_key = true;
                    if !draft.explicit_nullable {
                        c.nullable = false;
                    }
                }
            }
            let name = self.constraint_name(d, "pk", pk.name.as_deref(), &cols, None, &[], &pk.at);
            table.primary_key = Some(PrimaryKey {
                name,
                columns: cols,
            });
        } else {
            let cols: Vec<String> = columns
                .iter()
                .filter(|c| c.primary_key)
                .map(|c| c.name.clone())
                .collect();
            if !cols.is_empty() {
                let name = self.constraint_name(d, "pk", None, &cols, None, &[], &d.source);
                if name.is_some() {
                    table.primary_key = Some(PrimaryKey {
                        name,
                        columns: cols,
                    });
                }
            }
        }
        // Column flags: `index=True` (unique index with `unique=True`), `unique=True`.
        // SQLAlchemy makes a flag's constraint when the column joins its table, after the
        // constraints written in the table's arguments: those come first in its DDL
        // (SQLite reflects the first name of two unique constraints on the same columns).
        let mut flag_uniques = Vec::new();
        for (c, draft) in columns.iter_mut().zip(&d.columns) {
            let cols = vec![c.name.clone()];
            if draft.index {
                let name = self.constraint_name(d, "ix", None, &cols, None, &[], &draft.at);
                table.indexes.push(Index {
                    name: name.unwrap_or_default(),
                    table: d.name.clone(),
                    columns: cols,
                    unique: c.unique,
                    where_: None,
                    dialects: Vec::new(),
                });
                c.unique = false;
            } else if c.unique {
                let name = self.constraint_name(d, "uq", None, &cols, None, &[], &draft.at);
                if name.is_some() {
                    flag_uniques.push(UniqueConstraint {
                        name,
                        columns: cols,
                    });
                    c.unique = false;
                }
            }
        }
        for ix in &d.indexes {
            let mut cols = Vec::new();
            let mut ok = true;
            for col in &ix.columns {
                match col {
                    IndexColumn::Key(k) => match d.column_index(k) {
                        Some(i) => cols.push(d.columns[i].column.name.clone()),
                        None => {
                            diag(
                                &mut self.diagnostics,
                                "SA106",
                                &ix.at,
                                format!("Index column `{k}` is not a column of table `{}`", d.name),
                            );
                            ok = false;
                        }
                    },
                    IndexColumn::Expr(e) => cols.push(e.clone()),
                }
            }
            if !ok {
                continue;
            }
            let name = self.constraint_name(d, "ix", ix.name.as_deref(), &cols, None, &[], &ix.at);
            table.indexes.push(Index {
                name: name.unwrap_or_default(),
                table: d.name.clone(),
                columns: cols,
                unique: ix.unique,
                where_: ix.where_.clone(),
                dialects: ix.dialects.clone(),
            });
        }
        for u in &d.uniques {
            if let Some(cols) = self.names(d, &u.columns, &u.at) {
                let name =
                    self.constraint_name(d, "uq", u.name.as_deref(), &cols, None, &[], &u.at);
                table.uniques.push(UniqueConstraint {
                    name,
                    columns: cols,
                });
            }
        }
        table.uniques.extend(flag_uniques);
        for ck in &d.checks {
            let name = self.constraint_name(d, "ck", ck.name.as_deref(), &[], None, &[], &ck.at);
            table.checks.push(CheckConstraint {
                name,
                sqltext: ck.sqltext.clone(),
            });
        }
        table.columns = columns;
        table
    }
}
