//! The round-trip suites on SQLite, and what only SQLite's table rebuild must keep.

use super::Harness;
use super::fixture::{self, setup_base};
use crate::db::Backend;
use crate::ops::{AlterColumn, CreateUnique, Op};
use crate::schema::{ColumnType, UniqueConstraint};

#[tokio::test]
async fn create_table_round_trip() {
    fixture::create_table_round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn table_comment_and_primary_key_round_trip() {
    fixture::table_comment_and_primary_key_round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_op_round_trips() {
    fixture::every_op_round_trips(Backend::Sqlite).await;
}

#[tokio::test]
async fn forward_ops_match_replay() {
    fixture::forward_ops_match_replay(Backend::Sqlite).await;
}

#[tokio::test]
async fn bookkeeping_sql_runs() {
    fixture::bookkeeping_sql_runs(Backend::Sqlite).await;
}

#[tokio::test]
async fn sql_op_runs_its_variant() {
    fixture::sql_op_runs_its_variant(Backend::Sqlite).await;
}

#[tokio::test]
async fn rebuild_keeps_rows_indexes_and_foreign_keys_both_ways() {
    let mut h = Harness::new(Backend::Sqlite).await;
    setup_base(&mut h).await;
    let before = h.schema().await;
    // `users` is referenced by `posts`; change a column type through a rebuild.
    let op = Op::AlterColumn(AlterColumn {
        table: "users".into(),
        column: "email".into(),
        ty: Some(ColumnType::Text),
        nullable: Some(true),
        existing_type: Some(ColumnType::String(Some(100))),
        existing_nullable: Some(false),
        ..AlterColumn::default()
    });
    let statements = h.run(&op).await;
    assert!(
        statements[0].starts_with("CREATE TABLE \"_sqlalembic_tmp_users\""),
        "{statements:?}"
    );
    let after = h.schema().await;
    let users = after.table(None, "users").expect("users");
    assert_eq!(
        users.column("email").map(|c| &c.ty),
        Some(&ColumnType::Text)
    );
    assert_eq!(
        users.indexes,
        before.table(None, "users").expect("users").indexes
    );
    assert_eq!(users.uniques.len(), 1);
    assert_eq!(users.checks.len(), 1);
    // The foreign key pointing at `users` survived, and still works.
    assert_eq!(
        after.table(None, "posts").expect("posts").foreign_keys,
        before.table(None, "posts").expect("posts").foreign_keys
    );
    let rows = h
        .conn
        .query_text(
            "SELECT p.title, u.email FROM posts p JOIN users u ON u.id = p.user_id ORDER BY p.id",
        )
        .await
        .expect("join");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], vec![Some("t1".into()), Some("a@x".into())]);
    // Now rebuild `posts`, whose own foreign key must be kept.
    h.run(&Op::CreateUnique(CreateUnique {
        table: "posts".into(),
        schema: None,
        unique: UniqueConstraint {
            name: Some("uq_posts_title".into()),
            columns: vec!["title".into()],
        },
    }))
    .await;
    let posts_after = h.schema().await;
    let posts = posts_after.table(None, "posts").expect("posts");
    assert_eq!(posts.foreign_keys[0].name.as_deref(), Some("fk_posts_user"));
    assert_eq!(posts.foreign_keys[0].ondelete.as_deref(), Some("cascade"));
    assert_eq!(posts.indexes.len(), 1);
    assert_eq!(h.count("posts").await, 3);
    // ON DELETE CASCADE still fires once foreign keys are on.
    h.exec("PRAGMA foreign_keys = ON").await;
    h.exec("DELETE FROM users WHERE id = 1").await;
    assert_eq!(h.count("posts").await, 1);
    let leftover = h
        .conn
        .query_column("SELECT name FROM sqlite_master WHERE name LIKE '_sqlalembic_tmp_%'")
        .await
        .expect("query");
    assert!(leftover.is_empty(), "{leftover:?}");
}

#[tokio::test]
async fn rebuild_refuses_rows_that_break_the_new_definition() {
    let mut h = Harness::new(Backend::Sqlite).await;
    setup_base(&mut h).await;
    // `posts.body` holds a NULL: making it NOT NULL must fail, not lose the row.
    let op = Op::AlterColumn(AlterColumn {
        table: "posts".into(),
        column: "body".into(),
        nullable: Some(false),
        ..AlterColumn::default()
    });
    let schema = h.schema().await;
    let statements = h.dialect.render(&op, &schema).expect("renders");
    h.exec("BEGIN").await;
    let mut failed = false;
    for s in &statements {
        if h.conn.execute(&s.sql).await.is_err() {
            failed = true;
            break;
        }
    }
    h.exec("ROLLBACK").await;
    assert!(failed, "NOT NULL over a NULL row must fail");
    assert_eq!(h.count("posts").await, 3);
    assert_eq!(h.schema().await, schema);
}

#[tokio::test]
async fn autoincrement_keyword_round_trips() {
    let mut h = Harness::new(Backend::Sqlite).await;
    let table = crate::schema::Table {
        columns: vec![crate::schema::Column {
            autoincrement: Some(true),
            ..crate::schema::Column::primary("id", ColumnType::Integer)
        }],
        ..crate::schema::Table::new("seq")
    };
    let statements = h
        .run(&Op::CreateTable(crate::ops::CreateTable {
            table: table.clone(),
        }))
        .await;
    assert!(
        statements[0].contains("PRIMARY KEY AUTOINCREMENT"),
        "{statements:?}"
    );
    let schema = h.schema().await;
    assert_eq!(schema.tables, vec![table]);
}
