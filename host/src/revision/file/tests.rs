use std::path::Path;

use super::*;
use crate::ops::{CreateTable, DropTable, Sql};
use crate::schema::{Column, ColumnType};

const DESIGN_EXAMPLE: &str = r#"revision = "3f2a9c1d7e44"
down_revision = "a1b2c3d4e5f6"      # absent for a base; a list for a merge
branch_labels = []
depends_on = []
message = "Add posts table"
created_at = 2026-11-25T18:00:00Z

[[upgrade]]
op = "create_table"
table = "posts"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "title", type = "varchar(200)", nullable = false },
  { name = "user_id", type = "integer", nullable = false },
]
foreign_keys = [{ columns = ["user_id"], references = "users(id)", ondelete = "cascade" }]

[[upgrade]]
op = "sql"                          # escape hatch; per-dialect variants allowed
sql = "UPDATE posts SET title = trim(title)"

[[downgrade]]
op = "drop_table"
table = "posts"
"#;

fn parse(text: &str) -> Result<(RevisionFile, RevisionBody), FileError> {
    parse_str(Path::new("v/3f2a9c1d7e44_x.toml"), RevisionKind::Toml, text)
}

fn error_text(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

const HEAD: &str = "revision = \"3f2a9c1d7e44\"\n";

#[test]
fn reads_the_design_md_example() {
    let (file, body) = parse(DESIGN_EXAMPLE).expect("valid");
    assert_eq!(file.revision, "3f2a9c1d7e44");
    assert_eq!(file.down_revisions, ["a1b2c3d4e5f6"]);
    assert_eq!(file.message.as_deref(), Some("Add posts table"));
    assert_eq!(file.created_at.as_deref(), Some("2026-11-25T18:00:00Z"));
    assert_eq!(file.kind, RevisionKind::Toml);
    assert_eq!(body.upgrade.len(), 2);
    let Op::CreateTable(CreateTable { table }) = &body.upgrade[0] else {
        panic!("create_table expected, got {:?}", body.upgrade[0]);
    };
    assert_eq!(table.columns[0], Column::primary("id", ColumnType::Integer));
    assert_eq!(table.foreign_keys[0].ondelete.as_deref(), Some("cascade"));
    assert_eq!(
        body.upgrade[1],
        Op::Sql(Sql::new("UPDATE posts SET title = trim(title)"))
    );
    assert_eq!(
        body.downgrade,
        vec![Op::DropTable(DropTable {
            table: "posts".into(),
            schema: None,
            definition: None
        })]
    );
}

#[test]
fn fast_header_matches_full_parse() {
    let path = Path::new("v/3f2a9c1d7e44_x.toml");
    let variants = [
        DESIGN_EXAMPLE.to_owned(),
        // Merge, labels as a string, literal strings.
        "revision = '3f2a9c1d7e44'\ndown_revision = ['a1b2c3d4e5f6', \"b1b2c3d4e5f6\"]\nbranch_labels = \"api\"\ndepends_on = [\"api@head\"]\nreplaces = []\n".to_owned(),
        // Unusual forms: the scanner gives up, the full parser answers.
        "revision = \"3f2a9c1d7e44\"\ndown_revision = [\n  \"a1b2c3d4e5f6\",\n]\nmessage = \"\"\"multi\nline\"\"\"\n".to_owned(),
        // Base revision, no down_revision key; a datetime written with a space.
        format!("{HEAD}message = \"first\"\ncreated_at = 2026-11-25 18:00:00Z # utc\n"),
    ];
    for text in variants {
        let fast = parse_header_str(path, RevisionKind::Toml, &text).expect("header");
        let (full, _) = parse_str(path, RevisionKind::Toml, &text).expect("full");
        assert_eq!(fast, full, "{text}");
    }
    let merge = parse_header_str(
        path,
        RevisionKind::Toml,
        "revision = \"3f2a9c1d7e44\"\ndown_revision = [\n  \"a1b2c3d4e5f6\",\n  \"b1b2c3d4e5f6\",\n]\n",
    )
    .expect("fallback");
    assert_eq!(merge.down_revisions, ["a1b2c3d4e5f6", "b1b2c3d4e5f6"]);
}

#[test]
fn header_does_not_read_op_bodies() {
    let text = format!("{HEAD}\n[[upgrade]]\nop = \"no_such_op\"\n");
    let header =
        parse_header_str(Path::new("x.toml"), RevisionKind::Toml, &text).expect("header only");
    assert_eq!(header.revision, "3f2a9c1d7e44");
    assert!(parse(&text).is_err());
}

#[test]
fn invalid_toml_is_located() {
    assert_eq!(
        error_text("revision = \"3f2a9c1d7e44\"\nmessage = \"unterminated\n"),
        "v/3f2a9c1d7e44_x.toml:2:24: Invalid TOML: invalid basic string, expected `\"`"
    );
}

#[test]
fn bad_revision_ids_are_refused_with_location() {
    assert_eq!(
        error_text("revision = \"3F2A9C1D7E44\"\n"),
        "v/3f2a9c1d7e44_x.toml:1:12: Invalid revision id `3F2A9C1D7E44` in `revision`: expected 12 lowercase hex characters"
    );
    assert_eq!(
        error_text(&format!(
            "{HEAD}down_revision = [\"a1b2c3d4e5f6\", \"abc\"]\n"
        )),
        "v/3f2a9c1d7e44_x.toml:2:17: Invalid revision id `abc` in `down_revision`: expected 12 lowercase hex characters"
    );
    // The fast path reports the same location.
    let err = parse_header_str(
        Path::new("v/3f2a9c1d7e44_x.toml"),
        RevisionKind::Toml,
        "revision = \"3f2a9c1d7e4\"\n",
    )
    .expect_err("11 characters");
    assert_eq!(err.line_col(), Some((1, 12)));
}

#[test]
fn header_key_errors() {
    let err = parse(&format!("{HEAD}down_revison = \"a1b2c3d4e5f6\"\n")).expect_err("typo");
    assert_eq!(err.line_col(), Some((2, 16)));
    assert_eq!(err.hints(), ["did you mean `down_revision`?"]);
    assert_eq!(
        error_text("message = \"no id\"\n"),
        "v/3f2a9c1d7e44_x.toml:1:1: Missing `revision`: expected `revision = ...` in the header"
    );
    assert_eq!(
        error_text(&format!("{HEAD}message = 3\n")),
        "v/3f2a9c1d7e44_x.toml:2:11: Wrong type for `message`: expected a string, found an integer"
    );
}

#[test]
fn unknown_op_names_the_closest() {
    let err = parse(&format!(
        "{HEAD}\n[[upgrade]]\nop = \"create_tabel\"\ntable = \"t\"\n"
    ))
    .expect_err("unknown op");
    assert_eq!(
        err.to_string(),
        "v/3f2a9c1d7e44_x.toml:4:6: Unknown op `create_tabel`"
    );
    let hints = err.hints();
    assert_eq!(hints[0], "did you mean `create_table`?");
    assert!(
        hints[1].starts_with("known ops: `create_table`, `drop_table`"),
        "{hints:?}"
    );
    let diagnostic = err.diagnostic();
    assert_eq!(diagnostic.code, "REV011");
    assert_eq!((diagnostic.line, diagnostic.col), (Some(4), Some(6)));
    assert_eq!(diagnostic.message, "Unknown op `create_tabel`");
}

#[test]
fn missing_op_and_missing_field_point_at_the_table() {
    assert_eq!(
        error_text(&format!("{HEAD}\n[[upgrade]]\ntable = \"t\"\n")),
        "v/3f2a9c1d7e44_x.toml:3:1: Missing `op` in a `[[upgrade]]` table: expected `op = \"<name>\"`"
    );
    assert_eq!(
        error_text(&format!(
            "{HEAD}\n[[upgrade]]\nop = \"drop_table\"\ntable = \"a\"\n\n[[downgrade]]\nop = \"rename_table\"\ntable = \"t\"\n"
        )),
        "v/3f2a9c1d7e44_x.toml:7:1: Missing field `new_name` in `rename_table` op"
    );
    // Conversions (no span of their own) also point at the table.
    assert_eq!(
        error_text(&format!(
            "{HEAD}\n[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\n"
        )),
        "v/3f2a9c1d7e44_x.toml:3:1: Missing field `columns` in `create_table` op"
    );
}

#[test]
fn unknown_field_points_at_the_key() {
    let err = parse(&format!(
        "{HEAD}\n[[upgrade]]\nop = \"add_column\"\ntable = \"t\"\ncolumn = {{ name = \"a\", type = \"int\" }}\nschemaa = \"s\"\n"
    ))
    .expect_err("unknown field");
    assert_eq!(
        err.to_string(),
        "v/3f2a9c1d7e44_x.toml:7:1: Unknown field `schemaa` in `add_column` op"
    );
    assert_eq!(
        err.hints(),
        [
            "did you mean `schema`?",
            "accepted fields: `table`, `schema`, `column`"
        ]
    );
    // Inside a nested column table.
    let err = parse(&format!(
        "{HEAD}\n[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\ncolumns = [\n  {{ name = \"a\", type = \"int\", nulable = false }},\n]\n"
    ))
    .expect_err("unknown column key");
    assert_eq!(err.line_col(), Some((7, 31)));
    assert!(matches!(&err, FileError::UnknownField { field, .. } if field == "nulable"));
}

#[test]
fn wrong_value_types_point_at_the_value() {
    let err = parse(&format!(
        "{HEAD}\n[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\ncolumns = [\n  {{ name = \"a\", type = \"int\", nullable = \"no\" }},\n]\n"
    ))
    .expect_err("string nullable");
    assert_eq!(err.line_col(), Some((7, 42)));
    assert!(
        err.to_string()
            .contains("Invalid `create_table` op: invalid type: string \"no\", expected a boolean"),
        "{err}"
    );
    let err = parse(&format!(
        "{HEAD}\n[[upgrade]]\nop = \"create_foreign_key\"\ntable = \"t\"\ncolumns = [\"a\"]\nreferences = \"users\"\n"
    ))
    .expect_err("bad references");
    assert_eq!(err.line_col(), Some((3, 1)));
    assert!(
        err.to_string().contains("expected `table(column, ...)`"),
        "{err}"
    );
}

#[test]
fn section_shape_errors() {
    assert_eq!(
        error_text(&format!(
            "{HEAD}\n[upgrade]\nop = \"drop_table\"\ntable = \"t\"\n"
        )),
        "v/3f2a9c1d7e44_x.toml:3:1: Wrong type for `upgrade`: expected an array of op tables (`[[upgrade]]` / `[[downgrade]]`), found a table"
    );
    assert_eq!(
        error_text(&format!(
            "{HEAD}\n[[upgrade]]\nop = \"alter_column\"\ntable = \"t\"\ncolumn = \"c\"\n"
        )),
        "v/3f2a9c1d7e44_x.toml:3:1: Invalid `alter_column` op: `alter_column` changes nothing: expected `type`, `nullable`, `server_default`, `comment` or `new_name`"
    );
    let (_, body) = parse(&format!("{HEAD}upgrade = []\ndowngrade = []\n")).expect("empty arrays");
    assert_eq!(body, RevisionBody::default());
}

#[test]
fn scan_dir_reads_revision_files_only_and_collects_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).expect("write");
    };
    write("3f2a9c1d7e44_add_posts.toml", DESIGN_EXAMPLE);
    write(
        "a1b2c3d4e5f6_base.sql",
        "-- revision: a1b2c3d4e5f6\n-- +upgrade\nSELECT 1;\n",
    );
    write("README.md", "not a revision");
    write(".3f2a9c1d7e44_backup.toml", "garbage");
    std::fs::create_dir(dir.path().join("__pycache__")).expect("mkdir");
    let files = scan_dir(dir.path()).expect("valid dir");
    let ids: Vec<&str> = files.iter().map(|f| f.revision.as_str()).collect();
    assert_eq!(ids, ["3f2a9c1d7e44", "a1b2c3d4e5f6"]);
    assert_eq!(files[1].kind, RevisionKind::Sql);

    write("b1b2c3d4e5f6_wrong.toml", "revision = \"c1b2c3d4e5f6\"\n");
    write("d1b2c3d4e5f6_dup.toml", "revision = \"d1b2c3d4e5f6\"\n");
    write(
        "d1b2c3d4e5f6_dup2.sql",
        "-- revision: d1b2c3d4e5f6\n-- +upgrade\n",
    );
    write("e1b2c3d4e5f6_bad.toml", "revision = \"nothex\"\n");
    let errors = scan_dir(dir.path()).expect_err("three problems");
    let codes: Vec<&str> = errors.iter().map(FileError::code).collect();
    assert_eq!(codes, ["REV021", "REV022", "REV004"]);
    assert!(
        errors[0]
            .to_string()
            .ends_with("b1b2c3d4e5f6_wrong.toml: File name does not match revision `c1b2c3d4e5f6`: expected `c1b2c3d4e5f6_<slug>.toml`"),
        "{}",
        errors[0]
    );

    let missing = scan_dir(&dir.path().join("nope")).expect_err("missing dir");
    assert_eq!(missing[0].code(), "REV001");
}

#[test]
fn read_header_and_full_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("3f2a9c1d7e44_add_posts.toml");
    std::fs::write(&path, DESIGN_EXAMPLE).expect("write");
    let header = read_header(&path).expect("header");
    let (full, body) = read_full(&path).expect("full");
    assert_eq!(header, full);
    assert_eq!(header.path, path);
    assert_eq!(body.upgrade.len(), 2);
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "x").expect("write");
    assert_eq!(read_header(&other).expect_err("extension").code(), "REV002");
}

#[test]
fn checksum_normalises_crlf() {
    assert_eq!(
        checksum(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(checksum(b"a\r\nb\r\n"), checksum(b"a\nb\n"));
    assert_ne!(checksum(b"a\rb"), checksum(b"ab"));
    assert_eq!(checksum(b"\r\n\r\n"), checksum(b"\n\n"));
}

#[test]
fn slugs_and_file_names() {
    assert_eq!(slugify("Add posts table"), "add_posts_table");
    assert_eq!(
        slugify("  Rename: user -> account!! "),
        "rename_user_account"
    );
    assert_eq!(slugify("Café déjà vu"), "café_déjà_vu");
    assert_eq!(slugify(""), "");
    let long = slugify("one two three four five six seven eight nine ten");
    assert_eq!(long, "one_two_three_four_five_six_seven_eight");
    assert!(long.chars().count() <= 40);
    assert_eq!(slugify(&"x".repeat(50)).len(), 40);
    assert_eq!(
        file_name("3f2a9c1d7e44", "Add posts", RevisionKind::Toml),
        "3f2a9c1d7e44_add_posts.toml"
    );
    assert_eq!(
        file_name("3f2a9c1d7e44", "", RevisionKind::Sql),
        "3f2a9c1d7e44.sql"
    );
}

#[test]
fn new_revision_ids_are_valid_and_distinct() {
    let ids: std::collections::BTreeSet<String> = (0..1000).map(|_| new_revision_id()).collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().all(|id| is_revision_id(id)), "{ids:?}");
}

fn all_ops() -> Vec<Op> {
    // Reuse the template's examples: uncommented, they are one of every op.
    let examples: String = DEFAULT_TEMPLATE
        .lines()
        .skip_while(|l| !l.starts_with("# [[upgrade]]"))
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
        .collect();
    let (_, body) = parse(&format!("{HEAD}\n{examples}")).expect("examples parse");
    body.upgrade.into_iter().chain(body.downgrade).collect()
}

#[test]
fn rendered_ops_parse_back_to_the_same_ops() {
    let mut ops = all_ops();
    ops.push(Op::Sql(Sql {
        sql: "CREATE FUNCTION f() RETURNS int AS $$\n  SELECT 1; -- \"quoted\" \\ back\n$$ LANGUAGE sql;\n"
            .into(),
        dialects: [("mysql".to_owned(), "SELECT 'it''s'\tx".to_owned())].into(),
        down: Some("DROP FUNCTION f'".into()),
    }));
    for op in &ops {
        let text = format!("{HEAD}\n{}", render_op("upgrade", op));
        let (_, body) = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(body.upgrade, vec![op.clone()], "{text}");
    }
    let create = render_op("upgrade", &ops[0]);
    assert!(
        create.contains("\nforeign_keys = [{ columns = [\"user_id\"], references = \"users(id)\", ondelete = \"cascade\" }]\n"),
        "{create}"
    );
    assert!(create.starts_with("[[upgrade]]\nop = \"create_table\"\ntable = \"posts\"\ncolumns = [\n  { name = \"id\", type = \"integer\", primary_key = true },\n"), "{create}");
}

#[test]
fn table_comment_and_primary_key_ops_render_and_parse_back() {
    use crate::ops::{AlterTable, CreatePrimaryKey, DropPrimaryKey};
    let ops = [
        Op::AlterTable(AlterTable {
            table: "users".into(),
            schema: Some("auth".into()),
            comment: Some(Some("Registered \"users\"".into())),
            existing_comment: Some(None),
        }),
        Op::CreatePrimaryKey(CreatePrimaryKey {
            table: "tags".into(),
            schema: None,
            name: Some("pk_tags".into()),
            columns: vec!["code".into(), "lang".into()],
        }),
        Op::DropPrimaryKey(DropPrimaryKey {
            table: "tags".into(),
            schema: None,
            name: None,
            columns: vec!["code".into()],
        }),
    ];
    let rendered: Vec<String> = ops.iter().map(|op| render_op("downgrade", op)).collect();
    assert_eq!(
        rendered[0],
        "[[downgrade]]\nop = \"alter_table\"\ntable = \"users\"\nschema = \"auth\"\ncomment = \"Registered \\\"users\\\"\"\nexisting_comment = false\n"
    );
    assert_eq!(
        rendered[2],
        "[[downgrade]]\nop = \"drop_primary_key\"\ntable = \"tags\"\ncolumns = [\"code\"]\n"
    );
    for (op, text) in ops.iter().zip(&rendered) {
        let (_, body) = parse(&format!("{HEAD}\n{text}")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(body.downgrade, vec![op.clone()], "{text}");
    }
}

fn new_revision(empty: bool) -> NewRevision {
    NewRevision {
        revision: "3f2a9c1d7e44".into(),
        down_revisions: vec!["a1b2c3d4e5f6".into()],
        branch_labels: vec![],
        depends_on: vec![],
        message: "Add \"posts\" table".into(),
        created_at: "2026-11-25T18:00:00Z".into(),
        upgrade: vec![],
        downgrade: vec![],
        empty,
    }
}

#[test]
fn empty_template_has_examples_and_no_op_arrays() {
    let text = render_new(DEFAULT_TEMPLATE, &new_revision(true)).expect("renders");
    assert!(text.starts_with("revision = \"3f2a9c1d7e44\"\ndown_revision = \"a1b2c3d4e5f6\"\nbranch_labels = []\ndepends_on = []\nmessage = \"Add \\\"posts\\\" table\"\ncreated_at = 2026-11-25T18:00:00Z\n\n## Append"), "{text}");
    assert!(!text.contains("upgrade = ["), "{text}");
    assert!(!text.contains("downgrade = ["), "{text}");
    assert!(!text.contains("{{") && !text.contains("{%"), "{text}");
    let (file, body) = parse(&text).expect("parses");
    assert_eq!(file.message.as_deref(), Some("Add \"posts\" table"));
    assert_eq!(body, RevisionBody::default());

    // A user appends a table directly.
    let appended = format!("{text}\n[[upgrade]]\nop = \"drop_table\"\ntable = \"x\"\n");
    assert_eq!(parse(&appended).expect("appended").1.upgrade.len(), 1);

    // Uncommenting the example block gives one of every op.
    let uncommented: String = text
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
        .collect();
    let (_, body) = parse(&uncommented).expect("examples parse");
    let names: Vec<&str> = body.upgrade.iter().map(Op::name).collect();
    assert_eq!(
        names,
        [
            "create_table",
            "add_column",
            "alter_column",
            "drop_column",
            "create_index",
            "drop_index",
            "rename_table",
            "alter_table",
            "drop_primary_key",
            "create_primary_key",
            "create_unique",
            "drop_unique",
            "create_foreign_key",
            "drop_foreign_key",
            "create_check",
            "drop_check",
            "sql"
        ]
    );
    assert_eq!(
        body.downgrade.iter().map(Op::name).collect::<Vec<_>>(),
        ["drop_table"]
    );
    let mut all: Vec<&str> = body
        .upgrade
        .iter()
        .chain(&body.downgrade)
        .map(Op::name)
        .collect();
    all.sort_unstable();
    let mut known = crate::ops::OP_NAMES.to_vec();
    known.sort_unstable();
    assert_eq!(all, known, "every op has an example");
}

#[test]
fn template_renders_ops_and_merge_headers() {
    let ops = all_ops();
    let mut new = new_revision(false);
    new.down_revisions.push("b1b2c3d4e5f6".into());
    new.branch_labels = vec!["api".into()];
    new.upgrade = ops.clone();
    new.downgrade = ops.iter().rev().filter_map(Op::inverse).collect();
    let text = render_new(DEFAULT_TEMPLATE, &new).expect("renders");
    assert!(
        text.contains(
            "down_revision = [\"a1b2c3d4e5f6\", \"b1b2c3d4e5f6\"]\nbranch_labels = [\"api\"]\n"
        ),
        "{text}"
    );
    assert!(!text.contains("\n\n\n"), "{text}");
    assert!(
        text.ends_with("\"\n") || text.ends_with("]\n") || text.ends_with("e\n"),
        "{text:?}"
    );
    let (file, body) = parse(&text).expect("parses");
    assert_eq!(file.down_revisions, ["a1b2c3d4e5f6", "b1b2c3d4e5f6"]);
    assert_eq!(file.branch_labels, ["api"]);
    assert_eq!(body.upgrade, new.upgrade);
    assert_eq!(body.downgrade, new.downgrade);

    // A base revision has no down_revision line; odd created_at text is quoted.
    let mut base = new_revision(false);
    base.down_revisions.clear();
    base.created_at = "yesterday".into();
    let text = render_new(DEFAULT_TEMPLATE, &base).expect("renders");
    assert!(!text.contains("down_revision"), "{text}");
    assert!(text.contains("created_at = \"yesterday\"\n"), "{text}");
    assert!(parse(&text).expect("parses").0.down_revisions.is_empty());
}

#[test]
fn broken_templates_are_reported() {
    let new = new_revision(false);
    let err = render_new("revision = {{ revision | toml }\n", &new).expect_err("syntax");
    assert_eq!(err.code(), "REV030");
    let err = render_new("revision = \"{{ revision }}\"\nbad line\n", &new).expect_err("toml");
    assert_eq!(err.line_col(), Some((2, 5)));
    assert!(
        err.to_string()
            .starts_with("3f2a9c1d7e44_add_posts_table.toml:2:"),
        "{err}"
    );
    let err = render_new("revision = \"0123456789ab\"\n", &new).expect_err("wrong id");
    assert!(
        err.to_string().contains("wrote revision `0123456789ab`"),
        "{err}"
    );
}

#[test]
fn scan_dir_reads_large_directories_in_order() {
    // Above the threshold where headers are read on two threads.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut expected = Vec::new();
    let mut previous: Option<String> = None;
    for i in 0..300 {
        let mut new = new_revision(false);
        new.revision = new_revision_id();
        new.down_revisions = previous.iter().cloned().collect();
        new.message = format!("step {i}");
        new.upgrade = vec![Op::Sql(Sql::new(format!("SELECT {i}")))];
        let text = render_new(DEFAULT_TEMPLATE, &new).expect("renders");
        let name = file_name(&new.revision, &new.message, RevisionKind::Toml);
        std::fs::write(dir.path().join(&name), text).expect("write");
        expected.push((name, new.revision.clone(), new.down_revisions.clone()));
        previous = Some(new.revision);
    }
    expected.sort();
    let files = scan_dir(dir.path()).expect("valid");
    let got: Vec<(String, String, Vec<String>)> = files
        .into_iter()
        .map(|f| {
            let name = f
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            (name, f.revision, f.down_revisions)
        })
        .collect();
    assert_eq!(got, expected);
}

/// Names like revision files that are no regular files are reported with their path
/// and what they are, never skipped, and a FIFO is never opened (which would block).
#[cfg(unix)]
#[test]
fn scan_dir_reports_links_fifos_and_folders_named_like_revisions() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name);
    std::fs::write(
        at("a1b2c3d4e5f6_base.sql"),
        "-- revision: a1b2c3d4e5f6\n-- +upgrade\nSELECT 1;\n",
    )
    .expect("write");
    symlink(at("a1b2c3d4e5f6_base.sql"), at("0a0a0a0a0a0a_link.sql")).expect("link");
    symlink(at("gone.toml"), at("1b1b1b1b1b1b_dangling.toml")).expect("link");
    symlink(at("2c2c2c2c2c2c_loop.toml"), at("2c2c2c2c2c2c_loop.toml")).expect("loop");
    let made = std::process::Command::new("mkfifo")
        .arg(at("3d3d3d3d3d3d_fifo.sql"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    std::fs::create_dir(at("4e4e4e4e4e4e_folder.toml")).expect("mkdir");
    let started = std::time::Instant::now();
    let errors = scan_dir(dir.path()).expect_err("four problems");
    assert!(started.elapsed().as_secs() < 5, "blocked on the FIFO");
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let name = |i: usize| {
        errors[i]
            .path()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    };
    let odd: Vec<(Option<String>, &str)> = (0..errors.len())
        .map(|i| (name(i), errors[i].code()))
        .collect();
    // The link to a good file is read (and fails only for its name's revision id).
    assert_eq!(
        odd,
        [
            (Some("1b1b1b1b1b1b_dangling.toml".into()), "REV023"),
            (Some("2c2c2c2c2c2c_loop.toml".into()), "REV023"),
            (Some("3d3d3d3d3d3d_fifo.sql".into()), "REV023"),
            (Some("4e4e4e4e4e4e_folder.toml".into()), "REV023"),
            (Some("0a0a0a0a0a0a_link.sql".into()), "REV021"),
        ],
        "{shown:#?}"
    );
    assert!(shown[0].contains("a symbolic link to `"), "{}", shown[0]);
    assert!(
        shown[0].contains("gone.toml`, which does not exist"),
        "{}",
        shown[0]
    );
    assert!(
        shown[1].contains("a symbolic link that cannot be followed"),
        "{}",
        shown[1]
    );
    assert!(
        shown[2].ends_with("but it is a FIFO (named pipe)"),
        "{}",
        shown[2]
    );
    assert!(shown[3].ends_with("but it is a folder"), "{}", shown[3]);
    assert!(errors[3].hints()[0].contains("regular file"));
    // Read directly, a FIFO is refused as well instead of blocking.
    let err = read_header(&at("3d3d3d3d3d3d_fifo.sql")).expect_err("a FIFO");
    assert_eq!(err.code(), "REV023");
}
