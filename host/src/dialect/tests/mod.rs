//! Round trips on real databases: render an op, run it, introspect, and compare with
//! what [`replay::apply`] says the op does; then run the op's inverse and get the
//! original schema back. One suite, run on each backend.

mod fixture;
mod mysql;
mod postgres;
mod sqlite;

use crate::db::testing::TestDb;
use crate::db::{Backend, Connection};
use crate::dialect::{Dialect, autoincrements, for_backend, replay};
use crate::introspect::sqltext::strip_outer_parens;
use crate::introspect::{IntrospectOptions, introspect};
use crate::ops::Op;
use crate::schema::{ColumnType, Schema, Table, UniqueConstraint};

/// A test database with its dialect and an open connection.
pub(super) struct Harness {
    pub db: TestDb,
    pub conn: Connection,
    pub dialect: Box<dyn Dialect>,
}

impl Harness {
    pub async fn new(backend: Backend) -> Self {
        let db = TestDb::new(backend).await;
        let conn = db.connect().await;
        Harness {
            db,
            conn,
            dialect: for_backend(backend),
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    pub async fn schema(&mut self) -> Schema {
        introspect(&mut self.conn, &IntrospectOptions::default())
            .await
            .expect("introspects")
    }

    /// Renders `op` against the live schema and runs it; returns the statements run.
    pub async fn run(&mut self, op: &Op) -> Vec<String> {
        let schema = self.schema().await;
        let statements = self
            .dialect
            .render(op, &schema)
            .unwrap_or_else(|e| panic!("cannot render {}: {e}", op.describe()));
        let mut done = Vec::new();
        for s in statements {
            self.exec(&s.sql).await;
            done.push(s.sql);
        }
        if self.backend() == Backend::Sqlite {
            let problems = self
                .conn
                .query_text("PRAGMA foreign_key_check")
                .await
                .expect("foreign key check");
            assert!(
                problems.is_empty(),
                "foreign key check after {}: {problems:?}",
                op.describe()
            );
        }
        done
    }

    pub async fn exec(&mut self, sql: &str) {
        self.conn
            .execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub async fn count(&mut self, table: &str) -> usize {
        let sql = format!("SELECT COUNT(*) FROM {}", self.dialect.quote_ident(table));
        let rows = self.conn.query_column(&sql).await.expect("count");
        rows.first().and_then(|n| n.parse().ok()).expect("a count")
    }

    /// Runs `op`, checks the database against the replayed schema, runs the inverse and
    /// checks the original schema is back.
    pub async fn round_trip(&mut self, op: &Op) {
        let before = self.schema().await;
        let mut expected = before.clone();
        replay::apply(&mut expected, op)
            .unwrap_or_else(|e| panic!("replay {}: {e}", op.describe()));
        let statements = self.run(op).await;
        let after = self.schema().await;
        assert_same(
            self.dialect.as_ref(),
            &after,
            &expected,
            &op.describe(),
            &statements,
        );
        let inverse = op
            .inverse()
            .unwrap_or_else(|| panic!("{} has no inverse", op.describe()));
        let statements = self.run(&inverse).await;
        let back = self.schema().await;
        assert_same(
            self.dialect.as_ref(),
            &back,
            &before,
            &format!("inverse of {}", op.describe()),
            &statements,
        );
    }
}

/// Panics with both schemas when they differ after [`canonical`].
pub(super) fn assert_same(
    d: &dyn Dialect,
    actual: &Schema,
    expected: &Schema,
    what: &str,
    statements: &[String],
) {
    let (a, e) = (canonical(d, actual), canonical(d, expected));
    if a != e {
        for (ta, te) in a.tables.iter().zip(&e.tables) {
            if ta != te {
                panic!(
                    "{what}: table `{}` differs\n statements:\n{}\n diff (- actual, + expected):\n{}",
                    ta.name,
                    statements.join(";\n"),
                    line_diff(&format!("{ta:#?}"), &format!("{te:#?}"))
                );
            }
        }
        panic!(
            "{what}: tables differ\n statements:\n{}\n actual:   {:?}\n expected: {:?}",
            statements.join(";\n"),
            a.tables.iter().map(|t| &t.name).collect::<Vec<_>>(),
            e.tables.iter().map(|t| &t.name).collect::<Vec<_>>()
        );
    }
}

/// The schema as the database can tell it apart: types as their native spelling,
/// auto-generated constraint names and defaults normalised, unique column flags as
/// unique constraints, comments dropped where they are not stored, everything sorted.
pub(super) fn canonical(d: &dyn Dialect, schema: &Schema) -> Schema {
    let backend = d.backend();
    let mut tables: Vec<Table> = schema
        .tables
        .iter()
        .map(|t| canonical_table(d, backend, t))
        .collect();
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Schema { tables }
}

fn canonical_table(d: &dyn Dialect, backend: Backend, table: &Table) -> Table {
    let mut t = table.clone();
    let comments = d.capabilities().comments;
    let pk: Vec<String> = table
        .primary_key_columns()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let sqlite_keyword_pk = |c: &crate::schema::Column| {
        pk.len() == 1 && c.autoincrement == Some(true) && c.ty == ColumnType::Integer
    };
    for (column, original) in t.columns.iter_mut().zip(&table.columns) {
        if column.unique {
            t.uniques.push(UniqueConstraint {
                name: None,
                columns: vec![column.name.clone()],
            });
            column.unique = false;
        }
        column.autoincrement = Some(match backend {
            Backend::Sqlite => pk.contains(&column.name) && sqlite_keyword_pk(original),
            _ => autoincrements(table, original),
        });
        column.primary_key = pk.contains(&column.name);
        if column.primary_key {
            column.nullable = false;
        }
        column.ty = ColumnType::Custom(
            d.type_sql(&column.ty)
                .map(|s| s.split_whitespace().collect::<String>().to_uppercase())
                .unwrap_or_else(|e| format!("error: {e}")),
        );
        column.server_default = column
            .server_default
            .as_deref()
            .map(normalize_default)
            .filter(|d| d != "null");
        if column.autoincrement == Some(true) && backend != Backend::Sqlite {
            column.server_default = None;
        }
        if !comments {
            column.comment = None;
        }
    }
    if !comments {
        t.comment = None;
    }
    t.primary_key = (!pk.is_empty()).then(|| crate::schema::PrimaryKey {
        name: table
            .primary_key
            .as_ref()
            .and_then(|p| p.name.clone())
            .filter(|n| !(n.ends_with("_pkey") || n == "PRIMARY")),
        columns: pk.clone(),
    });
    if backend == Backend::Mysql {
        // MySQL cannot tell a unique index from a unique constraint.
        let (unique, plain): (Vec<_>, Vec<_>) = t.indexes.drain(..).partition(|i| i.unique);
        t.indexes = plain;
        t.uniques
            .extend(unique.into_iter().map(|i| UniqueConstraint {
                name: Some(i.name),
                columns: i.columns,
            }));
    }
    let table_name = t.name.clone();
    for u in &mut t.uniques {
        if u.name
            .as_deref()
            .is_some_and(|n| auto_name(backend, &table_name, n, &u.columns, "key"))
        {
            u.name = None;
        }
    }
    for f in &mut t.foreign_keys {
        if f.name
            .as_deref()
            .is_some_and(|n| auto_name(backend, &table_name, n, &f.columns, "fkey"))
        {
            f.name = None;
        }
        let norm = |a: &Option<String>| {
            a.as_ref()
                .map(|a| a.to_lowercase())
                .filter(|a| !(a == "no action" || (backend == Backend::Mysql && a == "restrict")))
        };
        f.ondelete = norm(&f.ondelete);
        f.onupdate = norm(&f.onupdate);
    }
    for c in &mut t.checks {
        if c.name
            .as_deref()
            .is_some_and(|n| auto_name(backend, &table_name, n, &[], "check"))
        {
            c.name = None;
        }
        c.sqltext = normalize_expr(&c.sqltext);
    }
    for i in &mut t.indexes {
        i.table.clone_from(&table_name);
        i.columns = i.columns.iter().map(|c| normalize_expr(c)).collect();
        i.where_ = i.where_.as_deref().map(normalize_expr);
    }
    t.uniques
        .sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    t.foreign_keys
        .sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    t.checks
        .sort_by(|a, b| (&a.name, &a.sqltext).cmp(&(&b.name, &b.sqltext)));
    t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    // An inverse `add_column` appends: column order is not compared.
    t.columns.sort_by(|a, b| a.name.cmp(&b.name));
    t
}

/// True for names the database made up for an unnamed constraint.
fn auto_name(backend: Backend, table: &str, name: &str, columns: &[String], suffix: &str) -> bool {
    match backend {
        Backend::Sqlite => false,
        Backend::Postgres => {
            name.starts_with(&format!("{table}_")) && name.ends_with(&format!("_{suffix}"))
        }
        Backend::Mysql => {
            name.starts_with(&format!("{table}_ibfk_"))
                || name.starts_with(&format!("{table}_chk_"))
                || name.starts_with("CONSTRAINT_")
                || columns.first().is_some_and(|c| {
                    name == c
                        || name
                            .strip_prefix(&format!("{c}_"))
                            .is_some_and(|n| n.parse::<u32>().is_ok())
                })
        }
    }
}

/// Lower case, no quotes, no whitespace, no redundant outer parentheses, no PostgreSQL
/// casts of literals.
fn normalize_expr(text: &str) -> String {
    let text = strip_outer_parens(text);
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '`')
        .collect::<String>()
        .to_lowercase();
    // PostgreSQL prints casts it added: `0::numeric`, `title::text`.
    while let Some(at) = out.find("::") {
        let rest = &out[at + 2..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '[' || c == ']'))
            .unwrap_or(rest.len());
        out.replace_range(at..at + 2 + len, "");
    }
    out.replace(['(', ')'], "")
}

fn normalize_default(text: &str) -> String {
    let mut t = normalize_expr(text);
    // MySQL prints `0` as `0.00` for a NUMERIC(10, 2).
    if let Ok(n) = t.trim_matches('\'').parse::<f64>() {
        t = n.to_string();
    }
    if t == "current_timestamp" || t == "now" {
        t = "current_timestamp".into();
    }
    t
}

/// The lines that differ between `a` and `b` (longest common subsequence), with context.
fn line_diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    // Keep changed lines with three lines of context.
    let changed: Vec<usize> = (0..out.len())
        .filter(|&k| !out[k].starts_with("  "))
        .collect();
    out.iter()
        .enumerate()
        .filter(|(k, _)| changed.iter().any(|c| c.abs_diff(*k) <= 3))
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Without a database: every op renders on every dialect against the replayed base
/// schema, and replaying an op then its inverse gives the base back.
#[test]
fn every_op_renders_and_replays_back_offline() {
    use crate::ops::CreateTable;
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let d = for_backend(backend);
        let mut base = Schema::default();
        for table in [fixture::users(), fixture::posts()] {
            let op = Op::CreateTable(CreateTable { table });
            d.render(&op, &base).expect("renders");
            replay::apply(&mut base, &op).expect("replays");
        }
        for op in fixture::invertible_ops(backend) {
            let statements = d
                .render(&op, &base)
                .unwrap_or_else(|e| panic!("{}: {}: {e}", d.name(), op.describe()));
            let comment_only = matches!(&op, Op::AlterColumn(a) if a.comment.is_some()
                && a.ty.is_none() && a.nullable.is_none() && a.server_default.is_none()
                && a.new_name.is_none());
            let expect_nothing = comment_only && !d.capabilities().comments;
            assert_eq!(
                statements.is_empty(),
                expect_nothing,
                "{}: {}",
                d.name(),
                op.describe()
            );
            let mut s = base.clone();
            replay::apply(&mut s, &op).expect("replays");
            let inverse = op.inverse().expect("invertible");
            d.render(&inverse, &s).expect("inverse renders");
            replay::apply(&mut s, &inverse).expect("inverse replays");
            assert_same(d.as_ref(), &s, &base, &op.describe(), &[]);
        }
    }
}
