//! The schema as a database can tell it apart: what the differ compares, and what the
//! round-trip tests compare after replaying ops.
//!
//! Input: a [`Schema`] (from models, from introspection, or replayed) and the
//! [`Dialect`] it is meant for. Output: normalised copies and keys in which spellings
//! the database does not distinguish are equal: types as their native spelling with
//! synonyms folded (`int4` = `INTEGER`, `character varying(20)` = `VARCHAR(20)`,
//! SQLite's affinity names), constraint names the database made up, `NO ACTION`,
//! casts PostgreSQL adds to expressions, `unique = true` column flags as unique
//! constraints, comments where the database does not store them. It never decides what
//! to change; that is [`super::diff`].

use crate::db::Backend;
use crate::dialect::{Dialect, autoincrements};
use crate::introspect::sqltext::strip_outer_parens;
use crate::schema::{
    Column, ColumnType, ForeignKey, Index, PrimaryKey, Schema, Table, UniqueConstraint,
};

/// `schema` normalised for comparison: every table through [`canonical_table`], tables
/// sorted by (schema, name).
pub fn canonical(d: &dyn Dialect, schema: &Schema) -> Schema {
    let mut tables: Vec<Table> = schema
        .tables
        .iter()
        .map(|t| canonical_table(d, t))
        .collect();
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Schema { tables }
}

/// One table normalised: types as [`type_key`], auto-generated constraint names and
/// defaults normalised, unique column flags as unique constraints (on MySQL unique
/// indexes too), comments dropped where they are not stored, constraints and columns
/// sorted (an inverse `add_column` appends, so column order is not compared).
pub fn canonical_table(d: &dyn Dialect, table: &Table) -> Table {
    let backend = d.backend();
    let mut t = table.clone();
    let comments = d.capabilities().comments;
    let pk: Vec<String> = table
        .primary_key_columns()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let sqlite_keyword_pk =
        |c: &Column| pk.len() == 1 && c.autoincrement == Some(true) && c.ty == ColumnType::Integer;
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
        column.ty = ColumnType::Custom(type_key(d, &column.ty));
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
    t.primary_key = (!pk.is_empty()).then(|| PrimaryKey {
        name: table
            .primary_key
            .as_ref()
            .and_then(|p| p.name.clone())
            .filter(|n| !is_auto_pk_name(n)),
        columns: pk.clone(),
    });
    if backend == Backend::Mysql {
        let (unique, plain): (Vec<_>, Vec<_>) = t.indexes.drain(..).partition(|i| i.unique);
        t.indexes = plain;
        t.uniques.extend(unique.into_iter().map(unique_of_index));
    }
    let table_name = t.name.clone();
    for u in &mut t.uniques {
        if u.name
            .as_deref()
            .is_some_and(|n| is_auto_name(backend, &table_name, n, &u.columns, "key"))
        {
            u.name = None;
        }
    }
    for f in &mut t.foreign_keys {
        if f.name
            .as_deref()
            .is_some_and(|n| is_auto_name(backend, &table_name, n, &f.columns, "fkey"))
        {
            f.name = None;
        }
        f.ondelete = normalize_action(backend, f.ondelete.as_deref());
        f.onupdate = normalize_action(backend, f.onupdate.as_deref());
    }
    for c in &mut t.checks {
        if c.name
            .as_deref()
            .is_some_and(|n| is_auto_name(backend, &table_name, n, &[], "check"))
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
    t.columns.sort_by(|a, b| a.name.cmp(&b.name));
    t
}

/// A unique index as the unique constraint MySQL cannot tell it from.
pub fn unique_of_index(index: Index) -> UniqueConstraint {
    UniqueConstraint {
        name: Some(index.name),
        columns: index.columns,
    }
}

/// True for the primary-key names databases make up (`users_pkey`, also after the
/// table was renamed; MySQL's `PRIMARY`).
pub fn is_auto_pk_name(name: &str) -> bool {
    name == "PRIMARY" || name.ends_with("_pkey")
}

/// True for names the database made up for an unnamed constraint: PostgreSQL's
/// `{table}_{columns}_{suffix}` (`key`, `fkey`, `check`), MySQL's `{table}_ibfk_N`,
/// `{table}_chk_N`, `CONSTRAINT_N` and unique indexes named after their first column.
/// SQLite keeps no names for unnamed constraints.
pub fn is_auto_name(
    backend: Backend,
    table: &str,
    name: &str,
    columns: &[String],
    suffix: &str,
) -> bool {
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

/// A referential action as compared: lower case; `None` for the database default
/// (`NO ACTION`, and `RESTRICT` on MySQL where InnoDB treats them alike).
pub fn normalize_action(backend: Backend, action: Option<&str>) -> Option<String> {
    let a = action?.trim().to_lowercase();
    let a = a.split_whitespace().collect::<Vec<_>>().join(" ");
    let default =
        a.is_empty() || a == "no action" || (backend == Backend::Mysql && a == "restrict");
    (!default).then_some(a)
}

/// An SQL expression as compared: lower case, no quotes, no whitespace, no parentheses,
/// no PostgreSQL casts (`0::numeric`, `title::text`).
pub fn normalize_expr(text: &str) -> String {
    let text = strip_outer_parens(text);
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '`')
        .collect::<String>()
        .to_lowercase();
    while let Some(at) = out.find("::") {
        let rest = &out[at + 2..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '[' || c == ']'))
            .unwrap_or(rest.len());
        out.replace_range(at..at + 2 + len, "");
    }
    out.replace(['(', ')'], "")
}

/// A server default as compared: [`normalize_expr`], numbers by value (MySQL prints `0`
/// as `0.00` for a `NUMERIC(10, 2)`), `now()` = `CURRENT_TIMESTAMP`.
pub fn normalize_default(text: &str) -> String {
    let mut t = normalize_expr(text);
    if let Ok(n) = t.trim_matches('\'').parse::<f64>() {
        t = n.to_string();
    }
    if matches!(
        t.as_str(),
        "current_timestamp" | "now" | "localtimestamp" | "datetimenow" | "datetime'now'"
    ) {
        t = "current_timestamp".into();
    }
    // Boolean literals: PostgreSQL prints `true` for a default written `'1'`.
    if t == "true" {
        t = "1".into();
    } else if t == "false" {
        t = "0".into();
    }
    t
}

/// A column type as compared on dialect `d`: its native spelling, upper case, without
/// whitespace, with the synonyms of [`fold_type_synonyms`] folded. Types the dialect
/// cannot render keep their IR spelling.
pub fn type_key(d: &dyn Dialect, ty: &ColumnType) -> String {
    let ty = match ty {
        // A custom spelling the IR parser does not know may still be a synonym.
        ColumnType::Custom(text) => ColumnType::parse(&fold_type_synonyms(d.backend(), text)),
        other => other.clone(),
    };
    match d.type_sql(&ty) {
        Ok(native) => squash(&fold_type_synonyms(d.backend(), &native)),
        Err(e) => format!("error: {e}"),
    }
}

/// Upper case without whitespace.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Native type spellings a database treats as one type, folded to one spelling:
/// PostgreSQL's `int4`/`int8`/`int2`/`float8`/`bool`/`timestamptz`/`character
/// varying`/`decimal`, SQLite's affinity names (`INT`, `REAL`, `DOUBLE`, `CLOB`,
/// `NVARCHAR`), MySQL's `tinyint(1)`, `int(11)`, `integer`, `decimal`, `double`.
pub fn fold_type_synonyms(backend: Backend, text: &str) -> String {
    let upper = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    // `BASE(args)[]` -> base, args, suffix.
    let (body, array) = match upper.strip_suffix("[]") {
        Some(b) => (b.trim_end(), "[]"),
        None => (upper.as_str(), ""),
    };
    let (base, args) = match body.find('(') {
        Some(i) if body.ends_with(')') => (body[..i].trim_end(), &body[i..]),
        _ => (body, ""),
    };
    let args: String = args.chars().filter(|c| !c.is_whitespace()).collect();
    let base = match (backend, base) {
        (_, "INT" | "INT4" | "INTEGER") => "INTEGER",
        (_, "INT8" | "BIGINT") => "BIGINT",
        (_, "INT2" | "SMALLINT") => "SMALLINT",
        (_, "BOOL" | "BOOLEAN") => "BOOLEAN",
        (_, "CHARACTER VARYING" | "VARCHAR") => "VARCHAR",
        (_, "DECIMAL" | "NUMERIC") => "NUMERIC",
        (Backend::Postgres, "FLOAT8" | "DOUBLE PRECISION" | "FLOAT") => "FLOAT",
        (Backend::Postgres, "TIMESTAMPTZ") => "TIMESTAMP WITH TIME ZONE",
        (Backend::Postgres, "TIMESTAMP") => "TIMESTAMP WITHOUT TIME ZONE",
        (Backend::Postgres, "TIMETZ") => "TIME WITH TIME ZONE",
        (Backend::Postgres, "TIME") => "TIME WITHOUT TIME ZONE",
        (Backend::Sqlite, "REAL" | "DOUBLE" | "DOUBLE PRECISION" | "FLOAT") => "FLOAT",
        (Backend::Sqlite, "CLOB") => "TEXT",
        (Backend::Sqlite, "NVARCHAR" | "NCHAR VARYING" | "VARYING CHARACTER") => "VARCHAR",
        (Backend::Mysql, "DOUBLE" | "DOUBLE PRECISION" | "FLOAT") => "FLOAT",
        (Backend::Mysql, "TINYINT") if args == "(1)" => return "BOOLEAN".to_owned(),
        (_, other) => other,
    };
    // Display widths of MySQL integers (`int(11)`) mean nothing.
    let args = match (backend, base) {
        (Backend::Mysql, "INTEGER" | "BIGINT" | "SMALLINT") => String::new(),
        (Backend::Postgres, "TIMESTAMP WITH TIME ZONE" | "TIMESTAMP WITHOUT TIME ZONE")
            if args == "(6)" =>
        {
            String::new()
        }
        _ => args,
    };
    format!("{base}{args}{array}")
}

/// Two types are the same column type on `d`: the dialect's own
/// [`Dialect::types_equivalent`] hook, else equal [`type_key`]s. Enums compare by their
/// values (and by name where enums are named types), since a PostgreSQL enum renders as
/// its name alone.
pub fn same_type(d: &dyn Dialect, a: &ColumnType, b: &ColumnType) -> bool {
    let (a, b) = (a.for_dialect(d.name()), b.for_dialect(d.name()));
    match (enum_parts(a), enum_parts(b)) {
        (Some((na, va, da)), Some((nb, vb, db))) => {
            let names_match = !d.capabilities().named_enums || na == nb;
            names_match && va == vb && da == db
        }
        (None, None) => {
            d.types_equivalent(a, b)
                || type_key(d, a) == type_key(d, b)
                || uuid_as_char36(d, a, b)
                || uuid_as_char36(d, b, a)
        }
        // An enum against a plain type: the enum's values are lost or new.
        _ => false,
    }
}

/// A `uuid` against the `CHAR(36)` that databases without a native UUID type got from
/// earlier versions of this tool (SQLAlchemy's, and now ours, is `CHAR(32)`): the same,
/// so those databases do not show drift.
fn uuid_as_char36(d: &dyn Dialect, uuid: &ColumnType, other: &ColumnType) -> bool {
    *uuid == ColumnType::Uuid
        && d.type_sql(uuid).is_ok_and(|t| t.starts_with("CHAR"))
        && type_key(d, other) == "CHAR(36)"
}

/// (name, values, array depth) of an enum type or an array of one.
fn enum_parts(ty: &ColumnType) -> Option<(Option<&str>, &[String], usize)> {
    match ty {
        ColumnType::Enum { name, values } => Some((name.as_deref(), values, 0)),
        ColumnType::Array(inner) => enum_parts(inner).map(|(n, v, depth)| (n, v, depth + 1)),
        _ => None,
    }
}

/// A foreign key as compared: columns, target, actions and, on PostgreSQL (the one
/// database that reflects it), deferrability; names are compared apart.
pub fn foreign_key_key(backend: Backend, fk: &ForeignKey) -> String {
    let deferral = if backend == Backend::Postgres {
        // NOT DEFERRABLE and INITIALLY IMMEDIATE are the defaults.
        let deferrable = fk.deferrable.unwrap_or(false);
        let deferred = fk
            .initially
            .as_deref()
            .is_some_and(|i| i.eq_ignore_ascii_case("deferred"));
        format!(" deferrable={deferrable} deferred={deferred}")
    } else {
        String::new()
    };
    format!(
        "{:?}>{:?}.{}{:?} d={:?} u={:?}{deferral}",
        fk.columns,
        fk.ref_schema,
        fk.ref_table,
        fk.ref_columns,
        normalize_action(backend, fk.ondelete.as_deref()),
        normalize_action(backend, fk.onupdate.as_deref())
    )
}

/// An index as compared: entries, uniqueness and predicate (names compared apart).
pub fn index_key(index: &Index, partial: bool) -> String {
    let columns: Vec<String> = index.columns.iter().map(|c| normalize_expr(c)).collect();
    let where_ = if partial {
        index.where_.as_deref().map(normalize_expr)
    } else {
        None
    };
    format!("{columns:?} u={} w={where_:?}", index.unique)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::for_backend;

    #[test]
    fn type_synonyms_fold_per_backend() {
        let pg = for_backend(Backend::Postgres);
        let pg = pg.as_ref();
        let t = ColumnType::parse;
        assert_eq!(type_key(pg, &t("int4")), type_key(pg, &t("INTEGER")));
        assert_eq!(
            type_key(pg, &t("character varying(20)")),
            type_key(pg, &t("VARCHAR(20)"))
        );
        assert_eq!(type_key(pg, &t("float8")), type_key(pg, &t("float")));
        assert_eq!(
            type_key(pg, &t("timestamptz")),
            type_key(pg, &t("datetime(timezone=true)"))
        );
        assert_ne!(
            type_key(pg, &t("varchar(20)")),
            type_key(pg, &t("varchar(21)"))
        );
        assert_ne!(type_key(pg, &t("real")), type_key(pg, &t("float")));

        let lite = for_backend(Backend::Sqlite);
        let lite = lite.as_ref();
        assert_eq!(type_key(lite, &t("REAL")), type_key(lite, &t("float")));
        assert_eq!(type_key(lite, &t("INT")), type_key(lite, &t("integer")));
        assert_eq!(type_key(lite, &t("CLOB")), type_key(lite, &t("text")));
        assert_eq!(
            type_key(lite, &t("NVARCHAR(10)")),
            type_key(lite, &t("varchar(10)"))
        );

        let my = for_backend(Backend::Mysql);
        let my = my.as_ref();
        assert_eq!(type_key(my, &t("tinyint(1)")), type_key(my, &t("boolean")));
        assert_eq!(type_key(my, &t("int(11)")), type_key(my, &t("integer")));
        assert_ne!(type_key(my, &t("tinyint(4)")), type_key(my, &t("boolean")));
    }

    #[test]
    fn enums_compare_by_values_and_names_where_named() {
        let e = |name: Option<&str>, values: &[&str]| ColumnType::Enum {
            name: name.map(str::to_owned),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        let pg = for_backend(Backend::Postgres);
        let my = for_backend(Backend::Mysql);
        assert!(same_type(
            pg.as_ref(),
            &e(Some("m"), &["a"]),
            &e(Some("m"), &["a"])
        ));
        assert!(!same_type(
            pg.as_ref(),
            &e(Some("m"), &["a"]),
            &e(Some("m"), &["a", "b"])
        ));
        assert!(!same_type(
            pg.as_ref(),
            &e(Some("m"), &["a"]),
            &e(Some("n"), &["a"])
        ));
        assert!(same_type(
            my.as_ref(),
            &e(Some("m"), &["a"]),
            &e(None, &["a"])
        ));
        assert!(!same_type(my.as_ref(), &e(None, &["a"]), &ColumnType::Text));
    }

    #[test]
    fn expressions_defaults_and_actions_normalise() {
        assert_eq!(normalize_expr("(price >= (0)::numeric)"), "price>=0");
        assert_eq!(normalize_expr("lower((\"email\")::text)"), "loweremail");
        assert_eq!(normalize_default("now()"), "current_timestamp");
        assert_eq!(normalize_default("CURRENT_TIMESTAMP"), "current_timestamp");
        assert_eq!(normalize_default("'0.00'"), "0");
        assert_eq!(normalize_default("true"), "1");
        assert_eq!(normalize_default("'true'"), "'true'");
        assert_eq!(normalize_action(Backend::Mysql, Some("RESTRICT")), None);
        assert_eq!(
            normalize_action(Backend::Postgres, Some("SET  NULL")).as_deref(),
            Some("set null")
        );
        assert_eq!(normalize_action(Backend::Postgres, Some("NO ACTION")), None);
    }

    #[test]
    fn canonical_folds_flags_auto_names_and_order() {
        let pg = for_backend(Backend::Postgres);
        let table = Table {
            columns: vec![
                Column::primary("id", ColumnType::Integer),
                Column {
                    unique: true,
                    ..Column::new("email", ColumnType::parse("character varying(50)"))
                },
            ],
            uniques: vec![UniqueConstraint {
                name: Some("users_email_key".into()),
                columns: vec!["email".into()],
            }],
            ..Table::new("users")
        };
        let c = canonical_table(pg.as_ref(), &table);
        assert_eq!(c.columns[0].name, "email");
        assert_eq!(c.columns[0].ty, ColumnType::Custom("VARCHAR(50)".into()));
        assert_eq!(c.uniques.len(), 2);
        assert!(c.uniques.iter().all(|u| u.name.is_none()));
    }
}
