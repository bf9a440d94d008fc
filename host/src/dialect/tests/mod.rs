//! Round trips on real databases: render an op, run it, introspect, and compare with
//! what [`replay::apply`] says the op does; then run the op's inverse and get the
//! original schema back. One suite, run on each backend.

mod fixture;
mod mysql;
mod postgres;
mod sqlite;

use crate::db::testing::TestDb;
use crate::db::{Backend, Connection};
use crate::dialect::{Dialect, for_backend, replay};
use crate::diff::normalize::canonical;
use crate::introspect::{IntrospectOptions, introspect};
use crate::ops::Op;
use crate::schema::Schema;

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

/// Without a database: the SQL of the table comment and primary key ops per dialect.
#[test]
fn table_comment_and_primary_key_ops_render_per_dialect() {
    use crate::ops::{AlterTable, CreatePrimaryKey, CreateTable, DropPrimaryKey};
    let comment = Op::AlterTable(AlterTable {
        table: "tags".into(),
        schema: None,
        comment: Some(Some("it's".into())),
        existing_comment: Some(None),
    });
    let create = Op::CreatePrimaryKey(CreatePrimaryKey {
        table: "tags".into(),
        schema: None,
        name: Some("pk_tags".into()),
        columns: vec!["code".into(), "lang".into()],
    });
    let drop = Op::DropPrimaryKey(DropPrimaryKey {
        table: "tags".into(),
        schema: None,
        name: None,
        columns: vec!["code".into()],
    });
    let sql = |backend: Backend, op: &Op| -> Vec<String> {
        let d = for_backend(backend);
        let mut base = Schema::default();
        let tags = crate::schema::Table {
            columns: vec![
                crate::schema::Column::primary("code", crate::schema::ColumnType::Text),
                crate::schema::Column::new("lang", crate::schema::ColumnType::Text).not_null(),
            ],
            ..crate::schema::Table::new("tags")
        };
        replay::apply(&mut base, &Op::CreateTable(CreateTable { table: tags })).expect("replays");
        d.render(op, &base)
            .expect("renders")
            .into_iter()
            .map(|s| s.sql)
            .collect()
    };
    assert_eq!(
        sql(Backend::Postgres, &comment),
        [r#"COMMENT ON TABLE "tags" IS 'it''s'"#]
    );
    assert_eq!(
        sql(Backend::Mysql, &comment),
        ["ALTER TABLE `tags` COMMENT = 'it''s'"]
    );
    assert!(sql(Backend::Sqlite, &comment).is_empty());
    assert_eq!(
        sql(Backend::Postgres, &drop),
        [r#"ALTER TABLE "tags" DROP CONSTRAINT "tags_pkey""#]
    );
    assert_eq!(
        sql(Backend::Mysql, &drop),
        ["ALTER TABLE `tags` DROP PRIMARY KEY"]
    );
    let mut no_key = Schema::default();
    replay::apply(
        &mut no_key,
        &Op::CreateTable(CreateTable {
            table: crate::schema::Table {
                columns: vec![
                    crate::schema::Column::new("code", crate::schema::ColumnType::Text).not_null(),
                    crate::schema::Column::new("lang", crate::schema::ColumnType::Text).not_null(),
                ],
                ..crate::schema::Table::new("tags")
            },
        }),
    )
    .expect("replays");
    let render = |backend: Backend| -> Vec<String> {
        for_backend(backend)
            .render(&create, &no_key)
            .expect("renders")
            .into_iter()
            .map(|s| s.sql)
            .collect()
    };
    assert_eq!(
        render(Backend::Postgres),
        [r#"ALTER TABLE "tags" ADD CONSTRAINT "pk_tags" PRIMARY KEY ("code", "lang")"#]
    );
    assert_eq!(
        render(Backend::Mysql),
        ["ALTER TABLE `tags` ADD PRIMARY KEY (`code`, `lang`)"]
    );
    // SQLite rebuilds the table with the key.
    let rebuilt = render(Backend::Sqlite);
    assert!(
        rebuilt[0].contains(r#"PRIMARY KEY ("code", "lang")"#),
        "{rebuilt:?}"
    );
    assert!(
        rebuilt.iter().any(|s| s.starts_with("INSERT INTO")),
        "{rebuilt:?}"
    );
}
