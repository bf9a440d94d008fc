//! The round-trip suites on MySQL / MariaDB.

use super::Harness;
use super::fixture::{self, setup_base};
use crate::db::Backend;
use crate::ops::{AlterColumn, Op};
use crate::schema::ColumnType;

#[tokio::test]
async fn create_table_round_trip() {
    fixture::create_table_round_trip(Backend::Mysql).await;
}

#[tokio::test]
async fn table_comment_and_primary_key_round_trip() {
    fixture::table_comment_and_primary_key_round_trip(Backend::Mysql).await;
}

#[tokio::test]
async fn every_op_round_trips() {
    fixture::every_op_round_trips(Backend::Mysql).await;
}

#[tokio::test]
async fn forward_ops_match_replay() {
    fixture::forward_ops_match_replay(Backend::Mysql).await;
}

#[tokio::test]
async fn bookkeeping_sql_runs() {
    fixture::bookkeeping_sql_runs(Backend::Mysql).await;
}

#[tokio::test]
async fn sql_op_runs_its_variant() {
    fixture::sql_op_runs_its_variant(Backend::Mysql).await;
}

#[tokio::test]
async fn modify_keeps_what_the_op_does_not_change() {
    let mut h = Harness::new(Backend::Mysql).await;
    setup_base(&mut h).await;
    // Only the type changes: the comment, NOT NULL and the enum default must survive
    // the full restatement `MODIFY` needs.
    let op = Op::AlterColumn(AlterColumn {
        table: "users".into(),
        column: "email".into(),
        ty: Some(ColumnType::String(Some(150))),
        ..AlterColumn::default()
    });
    let statements = h.run(&op).await;
    assert_eq!(
        statements,
        ["ALTER TABLE `users` MODIFY COLUMN `email` VARCHAR(150) NOT NULL COMMENT 'Login'"]
    );
    let schema = h.schema().await;
    let email = schema
        .table(None, "users")
        .and_then(|t| t.column("email"))
        .expect("email");
    assert_eq!(email.comment.as_deref(), Some("Login"));
    assert!(!email.nullable);
    // An AUTO_INCREMENT key (not in a foreign key: MySQL refuses to change those)
    // widens and keeps counting.
    h.run(&Op::CreateTable(crate::ops::CreateTable {
        table: crate::schema::Table {
            columns: vec![crate::schema::Column::primary("id", ColumnType::Integer)],
            ..crate::schema::Table::new("counters")
        },
    }))
    .await;
    h.exec("INSERT INTO counters () VALUES (), ()").await;
    let op = Op::AlterColumn(AlterColumn {
        table: "counters".into(),
        column: "id".into(),
        ty: Some(ColumnType::BigInteger),
        ..AlterColumn::default()
    });
    let statements = h.run(&op).await;
    assert_eq!(
        statements,
        ["ALTER TABLE `counters` MODIFY COLUMN `id` BIGINT NOT NULL AUTO_INCREMENT"]
    );
    h.exec("INSERT INTO counters () VALUES ()").await;
    let ids = h
        .conn
        .query_column("SELECT id FROM counters ORDER BY id")
        .await
        .expect("ids");
    assert_eq!(ids, ["1", "2", "3"]);
}

#[tokio::test]
async fn dropping_a_foreign_key_drops_the_index_innodb_made_for_it() {
    let mut h = Harness::new(Backend::Mysql).await;
    h.exec("CREATE TABLE p (id INTEGER NOT NULL AUTO_INCREMENT, PRIMARY KEY (id))")
        .await;
    h.exec("CREATE TABLE c (id INTEGER NOT NULL AUTO_INCREMENT, a INTEGER, PRIMARY KEY (id))")
        .await;
    let op = Op::CreateForeignKey(crate::ops::CreateForeignKey {
        table: "c".into(),
        schema: None,
        foreign_key: crate::schema::ForeignKey {
            name: Some("fk_c_a".into()),
            columns: vec!["a".into()],
            ref_table: "p".into(),
            ref_columns: vec!["id".into()],
            ..Default::default()
        },
    });
    h.round_trip(&op).await;
    let left = h
        .conn
        .query_column(
            "SELECT CAST(INDEX_NAME AS CHAR) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'c'",
        )
        .await
        .expect("indexes");
    assert_eq!(left, ["PRIMARY"]);
}
