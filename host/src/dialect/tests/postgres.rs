//! The round-trip suites on PostgreSQL, and named enum types.

use super::Harness;
use super::fixture::{self, setup_base};
use crate::db::Backend;
use crate::ops::{AlterColumn, DropColumn, Op};
use crate::schema::ColumnType;

#[tokio::test]
async fn create_table_round_trip() {
    fixture::create_table_round_trip(Backend::Postgres).await;
}

#[tokio::test]
async fn table_comment_and_primary_key_round_trip() {
    fixture::table_comment_and_primary_key_round_trip(Backend::Postgres).await;
}

#[tokio::test]
async fn every_op_round_trips() {
    fixture::every_op_round_trips(Backend::Postgres).await;
}

#[tokio::test]
async fn forward_ops_match_replay() {
    fixture::forward_ops_match_replay(Backend::Postgres).await;
}

#[tokio::test]
async fn bookkeeping_sql_runs() {
    fixture::bookkeeping_sql_runs(Backend::Postgres).await;
}

#[tokio::test]
async fn sql_op_runs_its_variant() {
    fixture::sql_op_runs_its_variant(Backend::Postgres).await;
}

fn mood(values: &[&str]) -> ColumnType {
    ColumnType::Enum {
        name: Some("mood".into()),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

async fn enum_types(h: &mut Harness) -> Vec<String> {
    h.conn
        .query_column("SELECT typname::text FROM pg_type WHERE typtype = 'e' ORDER BY 1")
        .await
        .expect("pg_type")
}

#[tokio::test]
async fn enum_values_grow_shrink_and_the_type_goes_with_its_last_column() {
    let mut h = Harness::new(Backend::Postgres).await;
    setup_base(&mut h).await;
    h.exec("UPDATE users SET mood = 'sad' WHERE id = 2").await;
    let grow = Op::AlterColumn(AlterColumn {
        table: "users".into(),
        column: "mood".into(),
        ty: Some(mood(&["angry", "happy", "sad", "meh"])),
        existing_type: Some(mood(&["happy", "sad"])),
        ..AlterColumn::default()
    });
    h.round_trip(&grow).await;
    let schema = h.schema().await;
    assert_eq!(
        schema
            .table(None, "users")
            .and_then(|t| t.column("mood"))
            .map(|c| &c.ty),
        Some(&mood(&["happy", "sad"])),
        "the inverse replaced the type with the original values"
    );
    let moods = h
        .conn
        .query_column("SELECT mood::text FROM users ORDER BY id")
        .await
        .expect("rows");
    assert_eq!(moods, ["happy", "sad"]);
    let to_text = Op::AlterColumn(AlterColumn {
        table: "users".into(),
        column: "mood".into(),
        ty: Some(ColumnType::String(Some(10))),
        existing_type: Some(mood(&["happy", "sad"])),
        ..AlterColumn::default()
    });
    h.round_trip(&to_text).await;
    let drop = Op::DropColumn(DropColumn {
        table: "users".into(),
        schema: None,
        column: "mood".into(),
        definition: Some(crate::schema::Column {
            server_default: Some("'happy'".into()),
            ..crate::schema::Column::new("mood", mood(&["happy", "sad"]))
        }),
    });
    let statements = h.run(&drop).await;
    assert_eq!(
        statements.last().map(String::as_str),
        Some("DROP TYPE \"mood\"")
    );
    assert!(enum_types(&mut h).await.is_empty());
    let statements = h.run(&drop.inverse().expect("invertible")).await;
    assert_eq!(
        statements[0],
        "CREATE TYPE \"mood\" AS ENUM ('happy', 'sad')"
    );
    assert_eq!(enum_types(&mut h).await, ["mood"]);
}

#[tokio::test]
async fn serial_keys_and_arrays_read_back() {
    let mut h = Harness::new(Backend::Postgres).await;
    h.run(&Op::CreateTable(crate::ops::CreateTable {
        table: fixture::users(),
    }))
    .await;
    h.run(&Op::CreateTable(crate::ops::CreateTable {
        table: fixture::every_type(Backend::Postgres),
    }))
    .await;
    let schema = h.schema().await;
    let every = schema.table(None, "every").expect("created");
    let id = every.column("id").expect("id");
    assert_eq!(
        id.autoincrement, None,
        "SERIAL reads back as SQLAlchemy's auto"
    );
    assert_eq!(id.server_default, None, "nextval() is not a server default");
    assert_eq!(
        every.column("arr").map(|c| &c.ty),
        Some(&ColumnType::Array(Box::new(ColumnType::Integer)))
    );
    assert_eq!(
        every
            .column("s50")
            .and_then(|c| c.server_default.as_deref()),
        Some("'x'")
    );
    assert_eq!(every.comment.as_deref(), Some("Every type"));
    h.exec("INSERT INTO every (small, big) VALUES (1, 1)").await;
    assert_eq!(h.count("every").await, 1);
}

#[tokio::test]
async fn a_named_schema_round_trips() {
    let mut h = Harness::new(Backend::Postgres).await;
    h.exec("CREATE SCHEMA app").await;
    let in_app = |mut t: crate::schema::Table| {
        t.schema = Some("app".into());
        for fk in &mut t.foreign_keys {
            fk.ref_schema = Some("app".into());
        }
        for c in &mut t.columns {
            if let ColumnType::Enum { name, .. } = &mut c.ty {
                *name = Some("app.mood".into());
            }
        }
        t
    };
    let options = crate::introspect::IntrospectOptions {
        schema: Some("app".into()),
        ..Default::default()
    };
    let mut expected = crate::schema::Schema::default();
    for table in [in_app(fixture::users()), in_app(fixture::posts())] {
        let op = Op::CreateTable(crate::ops::CreateTable { table });
        let current = crate::introspect::introspect(&mut h.conn, &options)
            .await
            .expect("introspects");
        for s in h.dialect.render(&op, &current).expect("renders") {
            h.exec(&s.sql).await;
        }
        crate::dialect::replay::apply(&mut expected, &op).expect("replays");
    }
    let read = crate::introspect::introspect(&mut h.conn, &options)
        .await
        .expect("introspects");
    super::assert_same(h.dialect.as_ref(), &read, &expected, "schema app", &[]);
    assert!(
        h.schema().await.tables.is_empty(),
        "nothing in the default schema"
    );
}
