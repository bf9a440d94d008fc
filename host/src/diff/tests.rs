//! The differ without a database: one test per kind of change, ordering and renames,
//! and property tests on random schemas (diff(a, a) is empty; replaying diff(a, b) onto
//! `a` gives `b`; the downgrade brings `a` back), on every dialect.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::normalize::canonical;
use super::*;
use crate::dialect::for_backend;
use crate::ops::Op;
use crate::schema::{
    CheckConstraint, Column, ColumnType, ForeignKey, Index, Schema, Table, UniqueConstraint,
};

const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::Mysql];

fn users() -> Table {
    Table {
        columns: vec![
            Column::primary("id", ColumnType::Integer),
            Column {
                unique: true,
                ..Column::new("email", ColumnType::String(Some(120))).not_null()
            },
            Column::new("name", ColumnType::String(Some(50))),
        ],
        ..Table::new("users")
    }
}

fn posts() -> Table {
    Table {
        columns: vec![
            Column::primary("id", ColumnType::Integer),
            Column::new("title", ColumnType::String(Some(200))).not_null(),
            Column::new("user_id", ColumnType::Integer).not_null(),
        ],
        foreign_keys: vec![ForeignKey {
            columns: vec!["user_id".into()],
            ref_table: "users".into(),
            ref_columns: vec!["id".into()],
            ondelete: Some("CASCADE".into()),
            ..ForeignKey::default()
        }],
        indexes: vec![Index {
            name: "ix_posts_user_id".into(),
            columns: vec!["user_id".into()],
            ..Index::default()
        }],
        ..Table::new("posts")
    }
}

fn schema(tables: Vec<Table>) -> Schema {
    Schema { tables }
}

fn run(backend: Backend, desired: &Schema, actual: &Schema) -> Changes {
    let d = for_backend(backend);
    diff(desired, actual, d.as_ref(), &DiffOptions::default()).expect("diffs")
}

fn names(ops: &[Op]) -> Vec<String> {
    ops.iter().map(Op::describe).collect()
}

/// Replays `ops` on `schema`, panicking with the op that does not apply.
fn replayed(schema: &Schema, ops: &[Op]) -> Schema {
    let mut s = schema.clone();
    for op in ops {
        replay::apply(&mut s, op).unwrap_or_else(|e| panic!("{}: {e}", op.describe()));
    }
    s
}

#[test]
fn identical_schemas_need_nothing() {
    let s = schema(vec![users(), posts()]);
    for backend in BACKENDS {
        let changes = run(backend, &s, &s);
        assert!(
            changes.is_empty(),
            "{backend:?}: {:?}",
            names(&changes.upgrade)
        );
        assert!(changes.warnings.is_empty());
    }
}

#[test]
fn new_tables_are_created_referenced_first_and_dropped_in_reverse() {
    for backend in BACKENDS {
        let desired = schema(vec![posts(), users()]);
        let changes = run(backend, &desired, &Schema::default());
        assert_eq!(
            names(&changes.upgrade),
            [
                "Create table users (id, email, name)",
                "Create table posts (id, title, user_id)"
            ]
        );
        assert_eq!(
            names(&changes.downgrade),
            ["Drop table posts", "Drop table users"]
        );
        assert!(changes.warnings.is_empty(), "new tables warn about nothing");
        let back = run(backend, &Schema::default(), &desired);
        assert_eq!(
            names(&back.upgrade),
            ["Drop table posts", "Drop table users"]
        );
        let codes: Vec<WarningCode> = back.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [WarningCode::DropTable, WarningCode::DropTable]);
    }
}

#[test]
fn cyclic_foreign_keys_are_added_after_their_tables() {
    let mut a = users();
    a.name = "a".into();
    a.columns.push(Column::new("b_id", ColumnType::Integer));
    a.foreign_keys.push(ForeignKey {
        name: Some("fk_a_b".into()),
        columns: vec!["b_id".into()],
        ref_table: "b".into(),
        ref_columns: vec!["id".into()],
        ..ForeignKey::default()
    });
    let mut b = posts();
    b.name = "b".into();
    b.indexes.clear();
    b.foreign_keys[0].ref_table = "a".into();
    let desired = schema(vec![a, b]);
    let changes = run(Backend::Postgres, &desired, &Schema::default());
    assert_eq!(
        names(&changes.upgrade),
        [
            "Create table a (id, email, name, b_id)",
            "Create table b (id, title, user_id)",
            "Create foreign key fk_a_b on a (b_id) -> b(id)",
        ]
    );
    let Op::CreateTable(ct) = &changes.upgrade[0] else {
        panic!("create_table first");
    };
    assert!(ct.table.foreign_keys.is_empty(), "the cycle waits");
    let replayed_up = replayed(&Schema::default(), &changes.upgrade);
    let d = for_backend(Backend::Postgres);
    assert_eq!(
        canonical(d.as_ref(), &replayed_up),
        canonical(d.as_ref(), &desired)
    );
    // Dropping them: the cycle is opened first.
    let back = run(Backend::Postgres, &Schema::default(), &desired);
    assert_eq!(
        names(&back.upgrade),
        [
            "Drop foreign key fk_a_b on a",
            "Drop table b",
            "Drop table a"
        ]
    );
    assert!(replayed(&desired, &back.upgrade).tables.is_empty());
    // SQLite accepts forward references: nothing is split.
    let lite = run(Backend::Sqlite, &desired, &Schema::default());
    assert_eq!(lite.upgrade.len(), 2);
}

#[test]
fn column_changes_carry_their_inverse() {
    let actual = schema(vec![users(), posts()]);
    let mut u = users();
    u.columns[2] = Column::new("name", ColumnType::Text).not_null();
    u.columns.push(Column::new("bio", ColumnType::Text));
    let mut p = posts();
    p.columns.retain(|c| c.name != "title");
    let desired = schema(vec![u, p]);
    for backend in BACKENDS {
        let changes = run(backend, &desired, &actual);
        assert_eq!(
            names(&changes.upgrade),
            [
                "Add column users.bio text",
                "Alter column users.name: type text, NOT NULL",
                "Drop column posts.title",
            ],
            "{backend:?}"
        );
        let Op::AlterColumn(alter) = &changes.upgrade[1] else {
            panic!("alter_column");
        };
        assert_eq!(alter.existing_type, Some(ColumnType::String(Some(50))));
        assert_eq!(alter.existing_nullable, Some(true));
        let codes: BTreeSet<&str> = changes.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["drop-column", "set-not-null"].into(), "{backend:?}");
        let back = replayed(&replayed(&actual, &changes.upgrade), &changes.downgrade);
        let d = for_backend(backend);
        assert_eq!(canonical(d.as_ref(), &back), canonical(d.as_ref(), &actual));
    }
}

#[test]
fn narrowing_and_not_null_adds_warn() {
    let actual = schema(vec![users()]);
    let mut u = users();
    u.columns[2].ty = ColumnType::String(Some(20));
    u.columns
        .push(Column::new("age", ColumnType::Integer).not_null());
    let changes = run(Backend::Postgres, &schema(vec![u]), &actual);
    let codes: Vec<&str> = changes.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["add-not-null-without-default", "narrow-type"]);
    assert_eq!(changes.warnings[1].op_index, Some(1));
    assert!(
        changes.warnings[1]
            .message
            .contains("`varchar(50)` to `varchar(20)`"),
        "{}",
        changes.warnings[1].message
    );
}

#[test]
fn enums_gaining_values_are_not_narrowing() {
    let with = |name: Option<&str>, values: &[&str]| {
        let mut t = users();
        t.columns[2].ty = ColumnType::Enum {
            name: name.map(str::to_owned),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        schema(vec![t])
    };
    // MySQL reports enums unnamed; the models name them.
    let changes = run(
        Backend::Mysql,
        &with(Some("mood"), &["a", "b", "c"]),
        &with(None, &["a", "b"]),
    );
    assert_eq!(changes.upgrade.len(), 1);
    assert!(changes.warnings.is_empty(), "{:?}", changes.warnings);
    let narrower = run(
        Backend::Mysql,
        &with(Some("mood"), &["a"]),
        &with(None, &["a", "b"]),
    );
    assert_eq!(narrower.warnings[0].code, WarningCode::NarrowType);
}

#[test]
fn equivalent_spellings_produce_nothing() {
    let actual_types = [
        (Backend::Postgres, "int4", ColumnType::Integer),
        (
            Backend::Postgres,
            "character varying(50)",
            ColumnType::String(Some(50)),
        ),
        (Backend::Postgres, "float8", ColumnType::Float),
        (
            Backend::Postgres,
            "timestamp",
            ColumnType::DateTime { timezone: false },
        ),
        (Backend::Postgres, "bool", ColumnType::Boolean),
        (Backend::Mysql, "tinyint(1)", ColumnType::Boolean),
        (Backend::Mysql, "int(11)", ColumnType::Integer),
        (
            Backend::Mysql,
            "decimal(10,2)",
            ColumnType::Numeric(Some((10, 2))),
        ),
        (Backend::Sqlite, "INT", ColumnType::Integer),
        (Backend::Sqlite, "REAL", ColumnType::Float),
        (
            Backend::Sqlite,
            "NVARCHAR(50)",
            ColumnType::String(Some(50)),
        ),
        (Backend::Sqlite, "CLOB", ColumnType::Text),
    ];
    for (backend, spelled, model) in actual_types {
        let table = |ty: ColumnType| Table {
            columns: vec![
                Column::primary("id", ColumnType::Integer),
                Column::new("v", ty),
            ],
            ..Table::new("t")
        };
        let desired = schema(vec![table(model.clone())]);
        let actual = schema(vec![table(ColumnType::Custom(spelled.into()))]);
        let changes = run(backend, &desired, &actual);
        assert!(
            changes.is_empty(),
            "{backend:?}: {spelled} vs {model}: {:?}",
            names(&changes.upgrade)
        );
    }
    // Unique flags against the constraint the database reports, auto-named.
    let mut pg_users = users();
    pg_users.columns[1].unique = false;
    pg_users.uniques.push(UniqueConstraint {
        name: Some("users_email_key".into()),
        columns: vec!["email".into()],
    });
    let changes = run(
        Backend::Postgres,
        &schema(vec![users()]),
        &schema(vec![pg_users]),
    );
    assert!(changes.is_empty(), "{:?}", names(&changes.upgrade));
}

#[test]
fn type_comparison_can_be_switched_off() {
    let actual = schema(vec![users()]);
    let mut u = users();
    u.columns[2].ty = ColumnType::Text;
    let d = for_backend(Backend::Sqlite);
    let options = DiffOptions {
        compare_type: false,
        ..DiffOptions::default()
    };
    let changes = diff(&schema(vec![u]), &actual, d.as_ref(), &options).expect("diffs");
    assert!(changes.is_empty());
}

#[test]
fn server_defaults_compare_normalised_when_asked() {
    let with_default = |default: &str| {
        let mut t = users();
        t.columns[2].server_default = Some(default.to_owned());
        schema(vec![t])
    };
    let d = for_backend(Backend::Postgres);
    let options = DiffOptions {
        compare_server_default: true,
        ..DiffOptions::default()
    };
    let same = diff(
        &with_default("now()"),
        &with_default("CURRENT_TIMESTAMP"),
        d.as_ref(),
        &options,
    )
    .expect("diffs");
    assert!(same.is_empty());
    let changed = diff(
        &with_default("'a'"),
        &with_default("'b'::character varying"),
        d.as_ref(),
        &options,
    )
    .expect("diffs");
    assert_eq!(
        names(&changed.upgrade),
        ["Alter column users.name: default 'a'"]
    );
    let off = diff(
        &with_default("'a'"),
        &with_default("'b'"),
        d.as_ref(),
        &DiffOptions::default(),
    )
    .expect("diffs");
    assert!(off.is_empty());
}

#[test]
fn indexes_constraints_and_foreign_keys_are_compared() {
    let actual = schema(vec![users(), posts()]);
    let mut u = users();
    u.checks.push(CheckConstraint {
        name: None,
        sqltext: "length(name) > 0".into(),
    });
    u.uniques.push(UniqueConstraint {
        name: None,
        columns: vec!["name".into()],
    });
    let mut p = posts();
    p.indexes[0].columns.push("title".into());
    p.foreign_keys[0].ondelete = Some("set null".into());
    let desired = schema(vec![u, p]);
    for backend in BACKENDS {
        let changes = run(backend, &desired, &actual);
        let expected = [
            "Drop foreign key fk_posts_user_id_users on posts",
            "Drop index ix_posts_user_id on posts",
            "Create index ix_posts_user_id on posts (user_id, title)",
            "Create unique constraint uq_users_name on users (name)",
            "Create check constraint ck_users_name on users (length(name) > 0)",
            "Create foreign key fk_posts_user_id_users on posts (user_id) -> users(id)",
        ];
        assert_eq!(names(&changes.upgrade), expected, "{backend:?}");
        let after = replayed(&actual, &changes.upgrade);
        assert!(run(backend, &desired, &after).is_empty(), "{backend:?}");
        let back = replayed(&after, &changes.downgrade);
        assert!(run(backend, &actual, &back).is_empty(), "{backend:?}");
    }
}

#[test]
fn partial_indexes_lose_their_predicate_where_none_exist() {
    let mut p = posts();
    p.indexes[0].where_ = Some("user_id > 0".into());
    let desired = schema(vec![users(), p]);
    let mysql = run(Backend::Mysql, &desired, &Schema::default());
    let Op::CreateTable(ct) = &mysql.upgrade[1] else {
        panic!("create_table");
    };
    assert_eq!(ct.table.indexes[0].where_, None);
    assert_eq!(mysql.warnings.len(), 1);
    assert!(
        mysql.warnings[0]
            .message
            .contains("has a WHERE predicate, which mysql")
    );
    let pg = run(Backend::Postgres, &desired, &Schema::default());
    assert!(pg.warnings.is_empty());
    // Existing full index, partial in the models: nothing to do on MySQL.
    let actual = replayed(&Schema::default(), &mysql.upgrade);
    assert!(run(Backend::Mysql, &desired, &actual).is_empty());
}

#[test]
fn a_unique_constraint_on_the_primary_key_is_folded_on_postgres_only() {
    // PostgreSQL's CREATE TABLE merges `UNIQUE (id)` into `PRIMARY KEY (id)` (the key
    // takes the constraint's name), so the database never has it to compare.
    let mut desired = users();
    desired.uniques.push(UniqueConstraint {
        name: Some("uq_users_id".into()),
        columns: vec!["id".into()],
    });
    desired.columns[0].unique = true;
    let mut actual = users();
    actual.primary_key = Some(crate::schema::PrimaryKey {
        name: Some("uq_users_id".into()),
        columns: vec!["id".into()],
    });
    let (desired, actual) = (schema(vec![desired]), schema(vec![actual]));
    assert!(run(Backend::Postgres, &desired, &actual).is_empty());
    // Elsewhere the constraint exists on its own and is compared as any other.
    let sqlite = run(Backend::Sqlite, &desired, &schema(vec![users()]));
    assert!(
        names(&sqlite.upgrade)
            .iter()
            .any(|n| n.contains("Create unique constraint uq_users_id")),
        "{:?}",
        names(&sqlite.upgrade)
    );
}

#[test]
fn check_constraints_pair_by_name_then_by_text() {
    let with = |checks: Vec<CheckConstraint>| {
        let mut t = users();
        t.checks = checks;
        schema(vec![t])
    };
    let ck = |name: Option<&str>, text: &str| CheckConstraint {
        name: name.map(str::to_owned),
        sqltext: text.to_owned(),
    };
    // PostgreSQL rewrites the text; the name still pairs them.
    let same = run(
        Backend::Postgres,
        &with(vec![ck(Some("ck_a"), "status IN ('a', 'b')")]),
        &with(vec![ck(
            Some("ck_a"),
            "(status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])",
        )]),
    );
    assert!(same.is_empty());
    let unnamed = run(
        Backend::Postgres,
        &with(vec![ck(None, "price >= 0")]),
        &with(vec![ck(
            Some("users_price_check"),
            "(price >= (0)::numeric)",
        )]),
    );
    assert!(unnamed.is_empty(), "{:?}", names(&unnamed.upgrade));
}

#[test]
fn renames_become_rename_ops_and_candidates_are_reported() {
    let actual = schema(vec![users(), posts()]);
    let mut u = users();
    u.columns[2].name = "full_name".into();
    let mut p = posts();
    p.name = "articles".into();
    p.indexes[0].name = "ix_articles_user_id".into();
    let desired = schema(vec![u, p]);
    for backend in BACKENDS {
        let plain = run(backend, &desired, &actual);
        let specs: Vec<String> = plain.rename_candidates.iter().map(Rename::spec).collect();
        assert_eq!(
            specs,
            ["posts:articles", "users.name:full_name"],
            "{backend:?}"
        );

        let d = for_backend(backend);
        let options = DiffOptions {
            renames: vec![
                Rename::parse("users.name:full_name", false).expect("parses"),
                Rename::parse("posts:articles", false).expect("parses"),
            ],
            ..DiffOptions::default()
        };
        let changes = diff(&desired, &actual, d.as_ref(), &options).expect("diffs");
        assert_eq!(
            names(&changes.upgrade),
            [
                "Rename table posts to articles",
                "Alter column users.name: rename to full_name",
                "Drop index ix_posts_user_id on articles",
                "Create index ix_articles_user_id on articles (user_id)",
            ],
            "{backend:?}"
        );
        assert!(changes.rename_candidates.is_empty());
        assert!(changes.warnings.is_empty(), "{:?}", changes.warnings);
        let after = replayed(&actual, &changes.upgrade);
        assert!(run(backend, &desired, &after).is_empty());
        let back = replayed(&after, &changes.downgrade);
        assert!(run(backend, &actual, &back).is_empty());
    }
}

#[test]
fn renames_that_do_not_fit_are_refused() {
    let actual = schema(vec![users()]);
    let d = for_backend(Backend::Sqlite);
    for (spec, reason) in [
        (
            "users.nick:full_name",
            "the database has no column `users.nick`",
        ),
        (
            "users.name:email",
            "the models still define column `users.name`",
        ),
        ("people:users", "the database has no table `people`"),
    ] {
        let options = DiffOptions {
            renames: vec![Rename::parse(spec, false).expect("parses")],
            ..DiffOptions::default()
        };
        let err = diff(&actual, &actual, d.as_ref(), &options).expect_err(spec);
        assert!(err.to_string().contains(reason), "{spec}: {err}");
    }
    for bad in ["users", "a.b.c.d:e", "users.name:", ":x", "a:b.c"] {
        assert!(
            matches!(Rename::parse(bad, false), Err(DiffError::BadRename { .. })),
            "{bad}"
        );
    }
    assert_eq!(
        Rename::parse("auth.users:people", true).expect("parses"),
        Rename::Table {
            schema: Some("auth".into()),
            from: "users".into(),
            to: "people".into()
        }
    );
}

#[test]
fn table_comment_and_primary_key_changes_are_ops_with_inverses() {
    let actual = schema(vec![users()]);
    let mut u = users();
    u.comment = Some("People".into());
    u.columns[0].primary_key = false;
    u.columns[1].primary_key = true;
    let desired = schema(vec![u]);
    for backend in BACKENDS {
        let changes = run(backend, &desired, &actual);
        let mut expected = vec!["Drop primary key on users"];
        if backend != Backend::Sqlite {
            expected.push("Alter table users: comment");
        }
        expected.push("Create primary key on users (email)");
        assert_eq!(names(&changes.upgrade), expected, "{backend:?}");
        assert!(
            changes
                .warnings
                .iter()
                .all(|w| w.code != WarningCode::Unsupported),
            "{backend:?}: {:?}",
            changes.warnings
        );
        let Op::DropPrimaryKey(drop) = &changes.upgrade[0] else {
            panic!("drop_primary_key expected");
        };
        assert_eq!(drop.columns, ["id"]);
        let up = replayed(&actual, &changes.upgrade);
        assert!(run(backend, &desired, &up).is_empty(), "{backend:?}");
        let down = replayed(&up, &changes.downgrade);
        assert!(run(backend, &actual, &down).is_empty(), "{backend:?}");
        let mut expected_down = vec!["Drop primary key on users"];
        if backend != Backend::Sqlite {
            expected_down.push("Alter table users: drop comment");
        }
        expected_down.push("Create primary key on users (id)");
        assert_eq!(names(&changes.downgrade), expected_down, "{backend:?}");
    }
}

#[test]
fn foreign_keys_to_a_changed_primary_key_are_dropped_and_created_around_it() {
    let mut p = posts();
    p.foreign_keys[0].name = Some("fk_posts_user".into());
    let actual = schema(vec![users(), p.clone()]);
    let mut u = users();
    u.columns[0].primary_key = false;
    u.columns[1].primary_key = true;
    let mut id_unique = u.clone();
    id_unique.uniques.push(UniqueConstraint {
        name: Some("uq_users_id".into()),
        columns: vec!["id".into()],
    });
    let desired = schema(vec![id_unique, p]);
    let changes = run(Backend::Postgres, &desired, &actual);
    let lines = names(&changes.upgrade);
    let pos = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}: {lines:?}"))
    };
    assert!(pos("Drop foreign key fk_posts_user") < pos("Drop primary key on users"));
    assert!(pos("Create primary key on users (email)") < pos("Create foreign key fk_posts_user"));
    let up = replayed(&actual, &changes.upgrade);
    assert!(run(Backend::Postgres, &desired, &up).is_empty());
    let down = replayed(&up, &changes.downgrade);
    assert!(run(Backend::Postgres, &actual, &down).is_empty());
    // MySQL too, while the unique index that could serve it is still to be created.
    let mysql = names(&run(Backend::Mysql, &desired, &actual).upgrade);
    assert_eq!(
        mysql.iter().filter(|l| l.contains("foreign key")).count(),
        2,
        "{mysql:?}"
    );
    // SQLite's rebuild keeps the foreign key; MySQL lets an existing index serve it.
    let mut served = users();
    served.uniques = desired.tables[0].uniques.clone();
    let actual = schema(vec![served, desired.tables[1].clone()]);
    for backend in [Backend::Sqlite, Backend::Mysql] {
        let other = names(&run(backend, &desired, &actual).upgrade);
        assert!(
            other.iter().all(|l| !l.contains("foreign key")),
            "{backend:?}: {other:?}"
        );
    }
}

#[test]
fn primary_key_is_created_before_and_dropped_after_foreign_keys_to_it() {
    // `tags.code` becomes the key that a new foreign key of `posts` references.
    let tags = |key: &str| Table {
        columns: vec![
            Column {
                primary_key: key == "id",
                ..Column::new("id", ColumnType::Integer).not_null()
            },
            Column {
                primary_key: key == "code",
                ..Column::new("code", ColumnType::String(Some(20))).not_null()
            },
        ],
        ..Table::new("tags")
    };
    let mut p = posts();
    p.columns
        .push(Column::new("tag", ColumnType::String(Some(20))));
    let plain = p.clone();
    p.foreign_keys.push(ForeignKey {
        name: Some("fk_posts_tag".into()),
        columns: vec!["tag".into()],
        ref_table: "tags".into(),
        ref_columns: vec!["code".into()],
        ..ForeignKey::default()
    });
    let actual = schema(vec![users(), plain, tags("id")]);
    let desired = schema(vec![users(), p, tags("code")]);
    let changes = run(Backend::Postgres, &desired, &actual);
    let lines = names(&changes.upgrade);
    let pos = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}: {lines:?}"))
    };
    assert!(pos("Drop primary key on tags") < pos("Create primary key on tags (code)"));
    assert!(pos("Create primary key on tags (code)") < pos("Create foreign key fk_posts_tag"));
    let down = names(&changes.downgrade);
    let dpos = |prefix: &str| {
        down.iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}: {down:?}"))
    };
    assert!(dpos("Drop foreign key fk_posts_tag") < dpos("Drop primary key on tags"));
    let up = replayed(&actual, &changes.upgrade);
    assert!(run(Backend::Postgres, &desired, &up).is_empty());
}

// ---------------------------------------------------------------------------------------
// Property tests.

const TYPES: &[&str] = &[
    "integer",
    "bigint",
    "varchar(20)",
    "varchar(80)",
    "text",
    "boolean",
    "numeric(10,2)",
    "datetime",
    "float",
];

#[derive(Debug, Clone)]
struct ColumnSpec {
    ty: usize,
    nullable: bool,
    default: Option<u8>,
    comment: Option<u8>,
    index: Option<bool>,
    unique: bool,
    check: bool,
}

fn arb_column() -> impl Strategy<Value = ColumnSpec> {
    (
        0..TYPES.len(),
        any::<bool>(),
        proptest::option::of(0u8..3),
        proptest::option::of(0u8..2),
        proptest::option::weighted(0.3, any::<bool>()),
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(ty, nullable, default, comment, index, unique, check)| ColumnSpec {
                ty,
                nullable,
                default,
                comment,
                index,
                unique,
                check,
            },
        )
}

/// Up to five tables `t0`..`t4`, each with `id` and some of `c0`..`c3`, references to
/// other tables of the schema (`tN_id` + a named foreign key), named indexes, unique and
/// check constraints.
fn arb_schema() -> impl Strategy<Value = Schema> {
    let table = (
        prop::collection::vec(proptest::option::of(arb_column()), 4),
        prop::collection::vec(any::<bool>(), 5),
        proptest::option::of(0u8..2),
    );
    prop::collection::vec(proptest::option::of(table), 5).prop_map(|tables| {
        let present: Vec<usize> = (0..tables.len()).filter(|&i| tables[i].is_some()).collect();
        let mut out = Vec::new();
        for (i, spec) in tables.iter().enumerate() {
            let Some((columns, refs, ondelete)) = spec else {
                continue;
            };
            let name = format!("t{i}");
            let mut t = Table::new(name.clone());
            t.columns.push(Column::primary("id", ColumnType::Integer));
            for (k, c) in columns.iter().enumerate() {
                let Some(c) = c else { continue };
                let col = format!("c{k}");
                t.columns.push(Column {
                    nullable: c.nullable,
                    server_default: c.default.map(|d| d.to_string()),
                    comment: c.comment.map(|n| format!("note {n}")),
                    ..Column::new(col.clone(), ColumnType::parse(TYPES[c.ty]))
                });
                if let Some(unique) = c.index {
                    t.indexes.push(Index {
                        name: format!("ix_{name}_{col}"),
                        table: name.clone(),
                        columns: vec![col.clone()],
                        unique,
                        where_: None,
                        dialects: Vec::new(),
                    });
                }
                if c.unique {
                    t.uniques.push(UniqueConstraint {
                        name: Some(format!("uq_{name}_{col}")),
                        columns: vec![col.clone()],
                    });
                }
                if c.check {
                    t.checks.push(CheckConstraint {
                        name: Some(format!("ck_{name}_{col}")),
                        sqltext: format!("{col} IS NOT NULL"),
                    });
                }
            }
            for (j, wanted) in refs.iter().enumerate() {
                if !*wanted || !present.contains(&j) || j == i {
                    continue;
                }
                let col = format!("t{j}_id");
                t.columns
                    .push(Column::new(col.clone(), ColumnType::Integer));
                t.foreign_keys.push(ForeignKey {
                    name: Some(format!("fk_{name}_t{j}")),
                    columns: vec![col],
                    ref_table: format!("t{j}"),
                    ref_columns: vec!["id".into()],
                    ondelete: ondelete.map(|o| ["cascade", "set null"][o as usize].to_owned()),
                    ..ForeignKey::default()
                });
            }
            out.push(t);
        }
        Schema { tables: out }
    })
}

fn full_options() -> DiffOptions {
    DiffOptions {
        compare_type: true,
        compare_server_default: true,
        renames: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn diff_of_a_schema_with_itself_is_empty(a in arb_schema()) {
        for backend in BACKENDS {
            let d = for_backend(backend);
            let changes = diff(&a, &a, d.as_ref(), &full_options()).expect("diffs");
            prop_assert!(changes.is_empty(), "{:?}: {:?}", backend, names(&changes.upgrade));
        }
    }

    #[test]
    fn replaying_the_diff_gives_the_target_and_the_downgrade_the_source(
        a in arb_schema(),
        b in arb_schema(),
    ) {
        for backend in BACKENDS {
            let d = for_backend(backend);
            let changes = diff(&b, &a, d.as_ref(), &full_options()).expect("diffs");
            let mut up = a.clone();
            for op in &changes.upgrade {
                let applied = replay::apply(&mut up, op);
                prop_assert!(applied.is_ok(), "{:?}: {}: {:?}", backend, op.describe(), applied);
            }
            prop_assert_eq!(canonical(d.as_ref(), &up), canonical(d.as_ref(), &b), "{:?}", backend);
            let again = diff(&b, &up, d.as_ref(), &full_options()).expect("diffs");
            prop_assert!(again.is_empty(), "{:?}: {:?}", backend, names(&again.upgrade));
            let mut down = up.clone();
            for op in &changes.downgrade {
                let applied = replay::apply(&mut down, op);
                prop_assert!(applied.is_ok(), "{:?}: {}: {:?}", backend, op.describe(), applied);
            }
            prop_assert_eq!(canonical(d.as_ref(), &down), canonical(d.as_ref(), &a), "{:?}", backend);
        }
    }
}
