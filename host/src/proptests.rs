//! Property tests of the text front ends: statement splitting, database URLs and
//! revision files. Each asserts no panic on arbitrary input plus an invariant on
//! generated valid input. Case counts keep the whole set near a few seconds in debug.

use std::path::Path;

use proptest::prelude::*;

use crate::dburl::{self, DbUrl};
use crate::revision::file::{self, RevisionKind};

/// One statement with `;` hidden inside quotes, comments, dollar quotes or a trigger
/// body, and no `;` outside them.
fn statement() -> impl Strategy<Value = String> {
    let word = "[a-z][a-z0-9_]{0,6}";
    prop_oneof![
        word.prop_map(|w| format!("SELECT {w}")),
        "[a-z ;]{0,12}".prop_map(|t| format!("INSERT INTO t VALUES ('{}')", t.replace('\'', "''"))),
        (word, "[a-z ;]{0,8}").prop_map(|(w, t)| format!("SELECT \"{w};\" -- {t}\n")),
        "[a-z ;]{0,8}".prop_map(|t| format!("SELECT 1 /* {t} */")),
        (word, word).prop_map(|(a, b)| format!(
            "CREATE TRIGGER {a} AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN new.{b} THEN 1 ELSE 2 END; SELECT 1; END"
        )),
    ]
}

/// A PostgreSQL-only statement (dollar quoting).
fn pg_statement() -> impl Strategy<Value = String> {
    prop_oneof![
        statement(),
        "[a-z ;]{0,10}"
            .prop_map(|t| format!("CREATE FUNCTION f() RETURNS int AS $$ {t} $$ LANGUAGE sql")),
    ]
}

fn non_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn splitting_never_panics(text in "\\PC{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let lossy = String::from_utf8_lossy(&bytes);
        for t in [text.as_str(), &lossy] {
            for part in file::split_sql_statements(t).iter().chain(&file::split_mysql_statements(t)) {
                prop_assert!(!part.trim().is_empty());
                prop_assert_eq!(part.trim(), part.as_str());
            }
        }
    }

    /// Splitting statements joined by `;` gives them back; joining the parts keeps every
    /// non-whitespace character but the separators.
    #[test]
    fn split_then_join_round_trips(parts in proptest::collection::vec(pg_statement(), 1..6),
                                   mysql_parts in proptest::collection::vec(statement(), 1..6)) {
        let text = parts.join(";\n");
        let split = file::split_sql_statements(&text);
        let trimmed: Vec<String> = parts.iter().map(|p| p.trim().to_owned()).collect();
        prop_assert_eq!(&split, &trimmed);
        prop_assert_eq!(non_ws(&split.join(";")), non_ws(&text));
        let text = mysql_parts.join(";\n");
        let trimmed: Vec<String> = mysql_parts.iter().map(|p| p.trim().to_owned()).collect();
        prop_assert_eq!(file::split_mysql_statements(&text), trimmed.clone());
        let delimited = format!("DELIMITER //\n{}//\nDELIMITER ;\n", mysql_parts.join("//\n"));
        prop_assert_eq!(file::split_mysql_statements(&delimited), trimmed);
    }

    #[test]
    fn url_parsing_never_panics(text in "\\PC{0,120}") {
        if let Ok(url) = DbUrl::parse(&text) {
            let again = DbUrl::parse(&url.canonical());
            prop_assert!(again.is_ok(), "{:?}", url);
        }
        let _ = dburl::mask(&text);
    }

    /// parse -> canonical -> parse is the identity, and the masked form never shows
    /// the password.
    #[test]
    fn url_round_trip_masks_the_password(
        scheme in prop_oneof![Just("postgresql"), Just("mysql"), Just("mariadb")],
        user in "[a-f]{1,8}",
        password in "[g-m]{4,10}",
        host in "[n-z]{1,10}",
        port in proptest::option::of(1u16..),
        db in "[n-z]{1,10}",
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let text = format!("{scheme}://{user}:{password}@{host}{port}/{db}");
        let url = DbUrl::parse(&text).expect("valid URL");
        let canonical = url.canonical();
        let again = DbUrl::parse(&canonical).expect("canonical form parses");
        prop_assert!(again == url);
        let masked = dburl::mask(&canonical);
        prop_assert!(!masked.contains(&password), "{}", masked);
        let debug = format!("{url:?}");
        prop_assert!(!debug.contains(&password), "{}", debug);
    }

    #[test]
    fn revision_files_never_panic(text in "\\PC{0,300}") {
        for kind in [RevisionKind::Toml, RevisionKind::Sql] {
            let path = Path::new("v/aaaaaaaaaaaa_x.toml");
            let _ = file::parse_str(path, kind, &text);
            let _ = file::parse_header_str(path, kind, &text);
        }
    }

    /// A generated `.sql` revision reads back with its ids and its sections' text.
    #[test]
    fn sql_revisions_read_back(rev in "[0-9a-f]{12}", down in proptest::option::of("[0-9a-f]{12}"),
                               message in "[A-Za-z][A-Za-z0-9 ]{0,30}",
                               body in proptest::collection::vec(statement(), 0..4)) {
        let down_line = down.as_ref().map(|d| format!("-- down_revision: {d}\n")).unwrap_or_default();
        let upgrade = body.join(";\n");
        let text = format!("-- revision: {rev}\n{down_line}-- message: {message}\n-- +upgrade\n{upgrade}\n-- +downgrade\nSELECT 1;\n");
        let (header, ops) = file::parse_str(Path::new("v/x.sql"), RevisionKind::Sql, &text).expect("valid");
        prop_assert_eq!(&header.revision, &rev);
        prop_assert_eq!(header.down_revisions, down.into_iter().collect::<Vec<_>>());
        prop_assert_eq!(header.message.as_deref(), Some(message.trim()));
        prop_assert_eq!(ops.upgrade.len(), usize::from(!upgrade.trim().is_empty()));
        prop_assert_eq!(ops.downgrade.len(), 1);
    }
}
