//! The tables and ops of the round-trip suites, and the suites themselves.

use super::{Harness, assert_same};
use crate::db::Backend;
use crate::dialect::replay;
use crate::ops::{
    AddColumn, AlterColumn, AlterTable, CreateCheck, CreateForeignKey, CreateIndex,
    CreatePrimaryKey, CreateTable, CreateUnique, DropCheck, DropColumn, DropForeignKey, DropIndex,
    DropPrimaryKey, DropTable, DropUnique, Op, RenameTable,
};
use crate::schema::{
    CheckConstraint, Column, ColumnType, ForeignKey, Index, Table, UniqueConstraint,
};

fn col(name: &str, ty: &str) -> Column {
    Column::new(name, ColumnType::parse(ty))
}

fn with_default(column: Column, default: &str) -> Column {
    Column {
        server_default: Some(default.to_owned()),
        ..column
    }
}

fn index(name: &str, table: &str, columns: &[&str]) -> Index {
    Index {
        name: name.into(),
        table: table.into(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        ..Index::default()
    }
}

fn fk(name: Option<&str>, columns: &[&str], table: &str, ondelete: Option<&str>) -> ForeignKey {
    ForeignKey {
        name: name.map(str::to_owned),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        ref_table: table.into(),
        ref_columns: vec!["id".into()],
        ondelete: ondelete.map(str::to_owned),
        ..ForeignKey::default()
    }
}

/// `users`: an enum, a comment, a named unique, a named check, an index.
pub fn users() -> Table {
    Table {
        columns: vec![
            Column::primary("id", ColumnType::Integer),
            Column {
                comment: Some("Login".into()),
                ..col("email", "varchar(100)").not_null()
            },
            col("name", "unicode(50)"),
            with_default(col("mood", "enum(mood, 'happy', 'sad')"), "'happy'"),
            with_default(col("score", "numeric(10,2)"), "0"),
        ],
        uniques: vec![UniqueConstraint {
            name: Some("uq_users_email".into()),
            columns: vec!["email".into()],
        }],
        checks: vec![CheckConstraint {
            name: Some("ck_users_score".into()),
            sqltext: "score >= 0".into(),
        }],
        indexes: vec![index("ix_users_name", "users", &["name"])],
        comment: Some("People".into()),
        ..Table::new("users")
    }
}

/// `posts`: a named foreign key to `users` with `ON DELETE CASCADE`, a default.
pub fn posts() -> Table {
    Table {
        columns: vec![
            Column::primary("id", ColumnType::Integer),
            col("user_id", "integer").not_null(),
            col("title", "varchar(200)").not_null(),
            col("body", "text"),
            with_default(col("created", "datetime"), "CURRENT_TIMESTAMP"),
        ],
        foreign_keys: vec![fk(
            Some("fk_posts_user"),
            &["user_id"],
            "users",
            Some("cascade"),
        )],
        indexes: vec![index("ix_posts_user", "posts", &["user_id"])],
        ..Table::new("posts")
    }
}

/// A table with a column of every generic type the backend supports, unnamed and named
/// constraints, expression and partial indexes where supported.
pub fn every_type(backend: Backend) -> Table {
    let mut columns = vec![
        Column::primary("id", ColumnType::Integer),
        col("big", "bigint"),
        col("small", "smallint"),
        col("flag", "boolean"),
        Column {
            unique: true,
            ..with_default(col("s50", "varchar(50)"), "'x'")
        },
        col("txt", "text"),
        col("uni", "unicode(20)"),
        with_default(col("num", "numeric(10,2)"), "0"),
        col("flt", "float"),
        col("d", "date"),
        col("dt", "datetime"),
        col("dtz", "timestamp with time zone"),
        col("tm", "time"),
        col("iv", "interval"),
        col("bin", "largebinary"),
        col("js", "json"),
        col("uid", "uuid"),
        col("color", "enum(color, 'red', 'green', 'it''s')"),
        col("code", "char(3)"),
        Column {
            comment: Some("Who owns it".into()),
            ..col("owner_id", "integer")
        },
    ];
    if backend != Backend::Mysql {
        columns.push(col("s_any", "varchar"));
    }
    if backend == Backend::Postgres {
        columns.push(col("arr", "integer[]"));
    }
    let mut indexes = vec![
        Index {
            unique: true,
            ..index("ix_every_code", "every", &["code", "small"])
        },
        index("ix_every_dt", "every", &["dt"]),
    ];
    if backend != Backend::Mysql {
        indexes.push(index("ix_every_lower", "every", &["lower(txt)"]));
        indexes.push(Index {
            where_: Some("flt > 0".into()),
            ..index("ix_every_partial", "every", &["d"])
        });
    }
    Table {
        columns,
        uniques: vec![UniqueConstraint {
            name: Some("uq_every_big_small".into()),
            columns: vec!["big".into(), "small".into()],
        }],
        checks: vec![
            CheckConstraint {
                name: Some("ck_every_small".into()),
                sqltext: "small > 0".into(),
            },
            CheckConstraint {
                name: None,
                sqltext: "big >= 0".into(),
            },
        ],
        foreign_keys: vec![ForeignKey {
            onupdate: Some("cascade".into()),
            ..fk(None, &["owner_id"], "users", Some("set null"))
        }],
        indexes,
        comment: Some("Every type".into()),
        ..Table::new("every")
    }
}

/// Creates `users` and `posts` and fills them with two users and three posts.
pub async fn setup_base(h: &mut Harness) {
    for table in [users(), posts()] {
        h.run(&Op::CreateTable(CreateTable { table })).await;
    }
    let q = |n: &str| h.dialect.quote_ident(n);
    let users_sql = format!(
        "INSERT INTO {} ({}, {}, {}) VALUES (1, 'a@x', 'A'), (2, 'b@x', 'B')",
        q("users"),
        q("id"),
        q("email"),
        q("name")
    );
    let posts_sql = format!(
        "INSERT INTO {} ({}, {}, {}, {}) VALUES (1, 1, 't1', 'b1'), (2, 1, 't2', NULL), (3, 2, 't3', 'b3')",
        q("posts"),
        q("id"),
        q("user_id"),
        q("title"),
        q("body")
    );
    h.exec(&users_sql).await;
    h.exec(&posts_sql).await;
}

fn alter(table: &str, column: &str) -> AlterColumn {
    AlterColumn {
        table: table.into(),
        column: column.into(),
        ..AlterColumn::default()
    }
}

/// Ops on the base tables whose inverse restores the base exactly.
pub fn invertible_ops(backend: Backend) -> Vec<Op> {
    let mut ops = vec![
        Op::CreateTable(CreateTable {
            table: Table {
                columns: vec![
                    Column::primary("id", ColumnType::Integer),
                    Column {
                        unique: true,
                        ..col("label", "varchar(30)").not_null()
                    },
                    col("post_id", "integer"),
                ],
                foreign_keys: vec![fk(
                    Some("fk_tags_post"),
                    &["post_id"],
                    "posts",
                    Some("cascade"),
                )],
                ..Table::new("tags")
            },
        }),
        Op::DropTable(DropTable {
            table: "posts".into(),
            schema: None,
            definition: Some(posts()),
        }),
        Op::RenameTable(RenameTable {
            table: "users".into(),
            new_name: "accounts".into(),
            schema: None,
        }),
        Op::AddColumn(AddColumn {
            table: "users".into(),
            schema: None,
            column: col("nickname", "varchar(40)"),
        }),
        Op::AddColumn(AddColumn {
            table: "users".into(),
            schema: None,
            column: with_default(col("level", "integer").not_null(), "1"),
        }),
        Op::AddColumn(AddColumn {
            table: "posts".into(),
            schema: None,
            column: Column {
                unique: true,
                ..col("slug", "varchar(80)")
            },
        }),
        Op::DropColumn(DropColumn {
            table: "posts".into(),
            schema: None,
            column: "body".into(),
            definition: Some(col("body", "text")),
        }),
        Op::AlterColumn(AlterColumn {
            ty: Some(ColumnType::String(Some(200))),
            existing_type: Some(ColumnType::String(Some(100))),
            ..alter("users", "email")
        }),
        Op::AlterColumn(AlterColumn {
            nullable: Some(true),
            existing_nullable: Some(false),
            ..alter("posts", "title")
        }),
        Op::AlterColumn(AlterColumn {
            server_default: Some(Some("'none'".into())),
            existing_server_default: Some(None),
            ..alter("posts", "body")
        }),
        Op::AlterColumn(AlterColumn {
            server_default: Some(None),
            existing_server_default: Some(Some("0".into())),
            ..alter("users", "score")
        }),
        Op::AlterColumn(AlterColumn {
            comment: Some(Some("E-mail".into())),
            existing_comment: Some(Some("Login".into())),
            ..alter("users", "email")
        }),
        Op::AlterColumn(AlterColumn {
            new_name: Some("headline".into()),
            ..alter("posts", "title")
        }),
        Op::AlterColumn(AlterColumn {
            new_name: Some("author_id".into()),
            ..alter("posts", "user_id")
        }),
        Op::AlterColumn(AlterColumn {
            new_name: Some("headline".into()),
            ty: Some(ColumnType::Text),
            existing_type: Some(ColumnType::String(Some(200))),
            ..alter("posts", "title")
        }),
        Op::CreateIndex(CreateIndex {
            schema: None,
            index: Index {
                unique: true,
                ..index("ix_posts_user_title", "posts", &["user_id", "title"])
            },
        }),
        Op::DropIndex(DropIndex {
            name: "ix_users_name".into(),
            table: "users".into(),
            schema: None,
            definition: Some(index("ix_users_name", "users", &["name"])),
        }),
        Op::CreateUnique(CreateUnique {
            table: "posts".into(),
            schema: None,
            unique: UniqueConstraint {
                name: Some("uq_posts_title".into()),
                columns: vec!["title".into()],
            },
        }),
        Op::DropUnique(DropUnique {
            table: "users".into(),
            schema: None,
            name: "uq_users_email".into(),
            definition: Some(UniqueConstraint {
                name: Some("uq_users_email".into()),
                columns: vec!["email".into()],
            }),
        }),
        Op::CreateForeignKey(CreateForeignKey {
            table: "posts".into(),
            schema: None,
            foreign_key: ForeignKey {
                onupdate: Some("cascade".into()),
                ..fk(Some("fk_posts_user2"), &["user_id"], "users", None)
            },
        }),
        Op::DropForeignKey(DropForeignKey {
            table: "posts".into(),
            schema: None,
            name: "fk_posts_user".into(),
            definition: Some(fk(
                Some("fk_posts_user"),
                &["user_id"],
                "users",
                Some("cascade"),
            )),
        }),
        Op::CreateCheck(CreateCheck {
            table: "posts".into(),
            schema: None,
            check: CheckConstraint {
                name: Some("ck_posts_title".into()),
                sqltext: "title <> ''".into(),
            },
        }),
        Op::DropCheck(DropCheck {
            table: "users".into(),
            schema: None,
            name: "ck_users_score".into(),
            definition: Some(CheckConstraint {
                name: Some("ck_users_score".into()),
                sqltext: "score >= 0".into(),
            }),
        }),
    ];
    if backend != Backend::Mysql {
        ops.push(Op::CreateIndex(CreateIndex {
            schema: None,
            index: Index {
                where_: Some("user_id > 1".into()),
                ..index("ix_posts_partial", "posts", &["lower(title)", "id"])
            },
        }));
    }
    ops
}

/// Every op of [`invertible_ops`]: result = replay, inverse = original, rows kept.
pub async fn every_op_round_trips(backend: Backend) {
    let mut h = Harness::new(backend).await;
    setup_base(&mut h).await;
    for op in invertible_ops(backend) {
        h.round_trip(&op).await;
        if !matches!(op, Op::DropTable(_)) {
            assert_eq!(
                h.count("users").await,
                2,
                "users rows after {}",
                op.describe()
            );
            assert_eq!(
                h.count("posts").await,
                3,
                "posts rows after {}",
                op.describe()
            );
        } else {
            // The inverse re-created `posts` empty: refill it for the next ops.
            setup_rows_after_recreate(&mut h).await;
        }
    }
}

async fn setup_rows_after_recreate(h: &mut Harness) {
    let q = |n: &str| h.dialect.quote_ident(n);
    let sql = format!(
        "INSERT INTO {} ({}, {}, {}, {}) VALUES (1, 1, 't1', 'b1'), (2, 1, 't2', NULL), (3, 2, 't3', 'b3')",
        q("posts"),
        q("id"),
        q("user_id"),
        q("title"),
        q("body")
    );
    h.exec(&sql).await;
}

/// `create_table` with every type and constraint kind reads back as written; dropping
/// it (the inverse) leaves the schema as before.
pub async fn create_table_round_trip(backend: Backend) {
    let mut h = Harness::new(backend).await;
    h.run(&Op::CreateTable(CreateTable { table: users() }))
        .await;
    let every = every_type(backend);
    h.run(&Op::CreateTable(CreateTable {
        table: every.clone(),
    }))
    .await;
    let read = h.schema().await;
    let names = |t: &Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(read.table(None, "every").expect("created")),
        names(&every)
    );
    h.run(&Op::DropTable(DropTable {
        table: "every".into(),
        schema: None,
        definition: None,
    }))
    .await;
    h.round_trip(&Op::CreateTable(CreateTable { table: every }))
        .await;
}

/// Ops whose inverse cannot restore everything (dropping an indexed column loses the
/// index) still leave the database as the replayed schema says.
pub async fn forward_ops_match_replay(backend: Backend) {
    let mut h = Harness::new(backend).await;
    setup_base(&mut h).await;
    let ops = [
        Op::DropColumn(DropColumn {
            table: "users".into(),
            schema: None,
            column: "name".into(),
            definition: None,
        }),
        Op::AlterColumn(AlterColumn {
            ty: Some(ColumnType::Text),
            nullable: Some(true),
            ..alter("posts", "title")
        }),
        Op::DropColumn(DropColumn {
            table: "posts".into(),
            schema: None,
            column: "user_id".into(),
            definition: None,
        }),
    ];
    for op in ops {
        let before = h.schema().await;
        let mut expected = before.clone();
        replay::apply(&mut expected, &op).expect("replays");
        let statements = h.run(&op).await;
        let after = h.schema().await;
        assert_same(
            h.dialect.as_ref(),
            &after,
            &expected,
            &op.describe(),
            &statements,
        );
        assert_eq!(
            h.count("posts").await,
            3,
            "posts rows after {}",
            op.describe()
        );
    }
}

/// `sql` ops run their variant for the dialect, split into statements.
pub async fn sql_op_runs_its_variant(backend: Backend) {
    let mut h = Harness::new(backend).await;
    let mut dialects = std::collections::BTreeMap::new();
    dialects.insert(
        h.dialect.name().to_owned(),
        "CREATE TABLE made_here (id INTEGER); CREATE TABLE made_too (id INTEGER);".to_owned(),
    );
    let op = Op::Sql(crate::ops::Sql {
        sql: "CREATE TABLE generic_one (id INTEGER)".into(),
        dialects,
        down: None,
    });
    let statements = h.run(&op).await;
    assert_eq!(statements.len(), 2, "{statements:?}");
    let names: Vec<String> = h
        .schema()
        .await
        .tables
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["made_here", "made_too"]);
}

/// The version- and history-table SQL of the runner, and the lock statements, run.
pub async fn bookkeeping_sql_runs(backend: Backend) {
    let mut h = Harness::new(backend).await;
    let d = crate::dialect::for_backend(backend);
    let (v, hist) = ("alembic_version", "sqlalembic_history");
    for _ in 0..2 {
        h.exec(&d.create_version_table(v)).await;
        h.exec(&d.create_history_table(hist).expect("renders"))
            .await;
    }
    h.exec(&d.insert_version(v, "aaa")).await;
    h.exec(&d.update_version(v, "aaa", "bbb")).await;
    h.exec(&d.insert_version(v, "ccc")).await;
    h.exec(&d.delete_version(v, "ccc")).await;
    let heads = h
        .conn
        .query_column(&d.select_versions(v))
        .await
        .expect("heads");
    assert_eq!(heads, ["bbb"]);
    let applied_at = chrono::DateTime::parse_from_rfc3339("2026-11-25T18:00:00.5Z")
        .expect("valid")
        .with_timezone(&chrono::Utc);
    let row = crate::dialect::HistoryRow {
        revision: "bbb".into(),
        direction: "upgrade".into(),
        checksum: None,
        applied_at,
        duration_ms: 12,
        tool_version: "it's 0.1".into(),
    };
    h.exec(&d.insert_history(hist, &row)).await;
    let rows = h
        .conn
        .query_text(&d.select_history(hist))
        .await
        .expect("history");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0].as_deref(), Some("bbb"));
    assert_eq!(rows[0][2], None);
    // Every backend reads the timestamp back as text (MySQL may round the fraction).
    let at = rows[0][3].as_deref().unwrap_or_default();
    assert!(at.starts_with("2026-11-25 18:00:0"), "applied_at: {at:?}");
    assert_eq!(rows[0][4].as_deref(), Some("12"));
    assert_eq!(rows[0][5].as_deref(), Some("it's 0.1"));
    if let (Some(lock), Some(unlock)) = (
        d.lock_sql("sqlalembic:test"),
        d.unlock_sql("sqlalembic:test"),
    ) {
        h.conn.query_text(&lock).await.expect("lock");
        h.conn.query_text(&unlock).await.expect("unlock");
    }
    let options = crate::introspect::IntrospectOptions::excluding([v, hist]);
    let schema = crate::introspect::introspect(&mut h.conn, &options)
        .await
        .expect("introspects");
    assert!(schema.tables.is_empty(), "{schema:?}");
}

/// `tags` (a `varchar` key, so no auto-increment gets in the way of dropping it) with
/// two rows: its comment set and removed, its key dropped and re-created, then a
/// composite key created and dropped; every step checked against the replay and undone
/// by its inverse, the rows kept.
pub async fn table_comment_and_primary_key_round_trip(backend: Backend) {
    let mut h = Harness::new(backend).await;
    let tags = Table {
        columns: vec![
            Column::primary("code", ColumnType::String(Some(20))),
            col("lang", "varchar(5)").not_null(),
            col("label", "varchar(50)"),
        ],
        ..Table::new("tags")
    };
    h.run(&Op::CreateTable(CreateTable { table: tags })).await;
    let q = |n: &str| h.dialect.quote_ident(n);
    let rows = format!(
        "INSERT INTO {} ({}, {}, {}) VALUES ('a', 'en', 'A'), ('b', 'en', NULL)",
        q("tags"),
        q("code"),
        q("lang"),
        q("label")
    );
    h.exec(&rows).await;
    let comment = Op::AlterTable(AlterTable {
        table: "tags".into(),
        schema: None,
        comment: Some(Some("Tags, it's said".into())),
        existing_comment: Some(None),
    });
    let statements = h.run(&comment).await;
    assert_eq!(statements.is_empty(), !h.dialect.capabilities().comments);
    let expected = if h.dialect.capabilities().comments {
        Some("Tags, it's said".to_owned())
    } else {
        None
    };
    let live = h.schema().await;
    assert_eq!(
        live.table(None, "tags").and_then(|t| t.comment.clone()),
        expected
    );
    // Back to no comment, then the same op as a round trip from there.
    h.run(&comment.inverse().expect("invertible")).await;
    h.round_trip(&comment).await;
    let name = h
        .schema()
        .await
        .table(None, "tags")
        .and_then(|t| t.primary_key.as_ref()?.name.clone());
    let drop = Op::DropPrimaryKey(DropPrimaryKey {
        table: "tags".into(),
        schema: None,
        name,
        columns: vec!["code".into()],
    });
    h.round_trip(&drop).await;
    assert_eq!(h.count("tags").await, 2);
    h.run(&drop).await;
    let create = Op::CreatePrimaryKey(CreatePrimaryKey {
        table: "tags".into(),
        schema: None,
        name: None,
        columns: vec!["code".into(), "lang".into()],
    });
    h.round_trip(&create).await;
    h.run(&create).await;
    assert_eq!(h.count("tags").await, 2);
    let live = h.schema().await;
    assert_eq!(
        live.table(None, "tags").map(Table::primary_key_columns),
        Some(vec!["code", "lang"])
    );
}
