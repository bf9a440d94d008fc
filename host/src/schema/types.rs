//! Column types: SQLAlchemy-like generic types plus dialect-specific ones kept by name.
//!
//! Input: the migration-file spelling (`integer`, `varchar(200)`, `numeric(10,2)`,
//! `timestamp with time zone`, `enum(status, 'a', 'b')`, `integer[]`, ...), matched
//! case-insensitively. Output: a [`ColumnType`] whose `Display` is a canonical spelling
//! that parses back to the same value. Parsing never fails: a spelling that is not one
//! of the generic types becomes [`ColumnType::Custom`] with the text as written, so a
//! dialect can still render it; nothing here decides whether a database accepts it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The type of a column.
///
/// Serialised as its canonical spelling (`"varchar(200)"`), the same text used in
/// migration files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ColumnType {
    /// `integer` (also `int`, `int4`).
    Integer,
    /// `bigint` (also `biginteger`, `int8`).
    BigInteger,
    /// `smallint` (also `smallinteger`, `int2`).
    SmallInteger,
    /// `boolean` (also `bool`).
    Boolean,
    /// `varchar(n)` or unbounded `varchar` (also `string(n)`, `character varying(n)`).
    String(Option<u32>),
    /// `text`.
    Text,
    /// `unicode(n)` or `unicode` (also `nvarchar(n)`).
    Unicode(Option<u32>),
    /// `numeric(precision,scale)` or `numeric` (also `decimal`); `numeric(10)` means scale 0.
    Numeric(Option<(u32, u32)>),
    /// `float` (also `double`, `double precision`, `float8`).
    Float,
    /// `date`.
    Date,
    /// `datetime` / `timestamp`; with `timezone` for `timestamp with time zone`,
    /// `timestamptz` and `datetime(timezone=true)`.
    DateTime { timezone: bool },
    /// `timestamp`, `timestamp(timezone=true)`: SQLAlchemy's `TIMESTAMP`, the same as a
    /// datetime on PostgreSQL, its own column type on SQLite and MySQL.
    Timestamp { timezone: bool },
    /// `time`.
    Time,
    /// `interval`.
    Interval,
    /// `largebinary` (also `blob`, `bytea`).
    LargeBinary,
    /// `json`. (`jsonb` is PostgreSQL-specific and stays [`ColumnType::Custom`].)
    Json,
    /// `uuid`.
    Uuid,
    /// `enum('a', 'b')`, or `enum(name, 'a', 'b')` for a named (PostgreSQL) enum type.
    Enum {
        name: Option<String>,
        values: Vec<String>,
    },
    /// `<type>[]`.
    Array(Box<ColumnType>),
    /// Anything else, kept verbatim (trimmed) for the dialect: `jsonb`, `citext`, `char(3)`.
    Custom(String),
    /// `variant(json, postgresql=jsonb)`: `base` except on the named dialects
    /// (SQLAlchemy's `with_variant`, or a `TypeDecorator` whose `load_dialect_impl`
    /// picks a type per dialect). Built by [`ColumnType::with_variants`], so no variant
    /// equals the base and none is itself a variant.
    Variant {
        base: Box<ColumnType>,
        variants: BTreeMap<String, ColumnType>,
    },
}

/// The dialect names SQLAlchemy gives the three built-in databases.
pub const DIALECT_NAMES: [&str; 3] = ["sqlite", "postgresql", "mysql"];

impl ColumnType {
    /// `base` with per-dialect `variants`; variants equal to the base are dropped, a
    /// variant base or variant contributes its own base, and no variant left is `base`.
    pub fn with_variants(
        base: ColumnType,
        variants: impl IntoIterator<Item = (String, ColumnType)>,
    ) -> ColumnType {
        let (base, mut map) = match base {
            ColumnType::Variant { base, variants } => (*base, variants),
            other => (other, BTreeMap::new()),
        };
        for (name, ty) in variants {
            let ty = match ty {
                ColumnType::Variant { base, .. } => *base,
                other => other,
            };
            map.insert(name.to_ascii_lowercase(), ty);
        }
        map.retain(|_, ty| *ty != base);
        if map.is_empty() {
            base
        } else {
            ColumnType::Variant {
                base: Box::new(base),
                variants: map,
            }
        }
    }

    /// The type on the dialect named `dialect` (`sqlite`, `postgresql`, `mysql`, or a
    /// plugin dialect's name): its variant there, else the base. MySQL also takes a
    /// `mariadb` variant, MariaDB being served by the one `mysql` dialect here.
    pub fn for_dialect(&self, dialect: &str) -> &ColumnType {
        match self {
            ColumnType::Variant { base, variants } => variants
                .get(dialect)
                .or_else(|| {
                    (dialect == "mysql")
                        .then(|| variants.get("mariadb"))
                        .flatten()
                })
                .unwrap_or(base),
            other => other,
        }
    }

    /// True for a [`ColumnType::Variant`].
    pub fn is_variant(&self) -> bool {
        matches!(self, ColumnType::Variant { .. })
    }

    /// Parses a type spelling; never fails (unknown spellings become [`ColumnType::Custom`]).
    pub fn parse(text: &str) -> ColumnType {
        let text = text.trim();
        if let Some(args) = text
            .strip_suffix(')')
            .and_then(|t| strip_prefix_ignore_case(t, "variant("))
            && let Some(ty) = parse_variant_args(args)
        {
            return ty;
        }
        if let Some(inner) = text.strip_suffix("[]")
            && !inner.trim().is_empty()
        {
            return ColumnType::Array(Box::new(ColumnType::parse(inner)));
        }
        let custom = || ColumnType::Custom(text.to_owned());
        let (head, args) = match (text.find('('), text.ends_with(')')) {
            (Some(open), true) => (&text[..open], Some(&text[open + 1..text.len() - 1])),
            _ => (text, None),
        };
        // `character  varying` and `TIMESTAMP WITH TIME ZONE`: compare words, not bytes.
        let head = head
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_lowercase();
        match (head.as_str(), args) {
            ("integer" | "int" | "int4", None) => ColumnType::Integer,
            ("bigint" | "biginteger" | "int8", None) => ColumnType::BigInteger,
            ("smallint" | "smallinteger" | "int2", None) => ColumnType::SmallInteger,
            ("boolean" | "bool", None) => ColumnType::Boolean,
            ("varchar" | "string" | "character varying", None) => ColumnType::String(None),
            ("varchar" | "string" | "character varying", Some(args)) => {
                parse_u32(args).map_or_else(custom, |n| ColumnType::String(Some(n)))
            }
            ("text", None) => ColumnType::Text,
            ("unicode" | "nvarchar", None) => ColumnType::Unicode(None),
            ("unicode" | "nvarchar", Some(args)) => {
                parse_u32(args).map_or_else(custom, |n| ColumnType::Unicode(Some(n)))
            }
            ("numeric" | "decimal", None) => ColumnType::Numeric(None),
            ("numeric" | "decimal", Some(args)) => {
                parse_precision(args).map_or_else(custom, |p| ColumnType::Numeric(Some(p)))
            }
            ("float" | "double" | "double precision" | "float8", None) => ColumnType::Float,
            ("date", None) => ColumnType::Date,
            ("datetime", None) => ColumnType::DateTime { timezone: false },
            ("timestamp" | "timestamp without time zone", None) => {
                ColumnType::Timestamp { timezone: false }
            }
            ("timestamp with time zone" | "timestamptz", None) => {
                ColumnType::Timestamp { timezone: true }
            }
            (word @ ("datetime" | "timestamp"), Some(args)) => {
                let args: String = args.split_whitespace().collect::<String>().to_lowercase();
                let timezone = match args.as_str() {
                    "timezone=true" => true,
                    "timezone=false" => false,
                    _ => return custom(),
                };
                if word == "datetime" {
                    ColumnType::DateTime { timezone }
                } else {
                    ColumnType::Timestamp { timezone }
                }
            }
            ("time", None) => ColumnType::Time,
            ("interval", None) => ColumnType::Interval,
            ("largebinary" | "blob" | "bytea", None) => ColumnType::LargeBinary,
            ("json", None) => ColumnType::Json,
            ("uuid", None) => ColumnType::Uuid,
            ("enum", Some(args)) => parse_enum_args(args)
                .map_or_else(custom, |(name, values)| ColumnType::Enum { name, values }),
            _ => custom(),
        }
    }

    /// True when every value of `self` fits in `to` unchanged, so altering a column from
    /// `self` to `to` cannot lose data (`varchar(50)` -> `varchar(100)` or `text`,
    /// `integer` -> `bigint`, an enum gaining values). Unknown combinations are `false`.
    pub fn widens_to(&self, to: &ColumnType) -> bool {
        use ColumnType as T;
        if self == to {
            return true;
        }
        let int_rank = |t: &ColumnType| match t {
            T::SmallInteger => Some(1),
            T::Integer => Some(2),
            T::BigInteger => Some(3),
            _ => None,
        };
        match (self, to) {
            (T::String(_) | T::Unicode(_), T::Text) => true,
            (T::String(Some(_)), T::String(None)) | (T::Unicode(Some(_)), T::Unicode(None)) => true,
            (T::String(Some(a)), T::String(Some(b)))
            | (T::Unicode(Some(a)), T::Unicode(Some(b))) => b >= a,
            (T::String(a), T::Unicode(b)) => match (a, b) {
                (_, None) => true,
                (Some(a), Some(b)) => b >= a,
                (None, Some(_)) => false,
            },
            (T::Numeric(Some(_)), T::Numeric(None)) => true,
            (T::Numeric(Some((p1, s1))), T::Numeric(Some((p2, s2)))) => {
                s2 >= s1 && p2.saturating_sub(*s2) >= p1.saturating_sub(*s1)
            }
            (
                T::Enum {
                    name: n1,
                    values: v1,
                },
                T::Enum {
                    name: n2,
                    values: v2,
                },
            ) => n1 == n2 && v1.iter().all(|v| v2.contains(v)),
            (T::Array(a), T::Array(b)) => a.widens_to(b),
            (a, b) => match (int_rank(a), int_rank(b)) {
                (Some(x), Some(y)) => y >= x,
                (Some(_), None) => matches!(b, T::Numeric(None)),
                _ => false,
            },
        }
    }
}

fn parse_u32(text: &str) -> Option<u32> {
    text.trim().parse().ok()
}

fn parse_precision(args: &str) -> Option<(u32, u32)> {
    match args.split_once(',') {
        Some((p, s)) => Some((parse_u32(p)?, parse_u32(s)?)),
        None => Some((parse_u32(args)?, 0)),
    }
}

/// `'a', 'b'` or `name, 'a', 'b'`; quotes inside values are doubled (`'it''s'`).
fn parse_enum_args(args: &str) -> Option<(Option<String>, Vec<String>)> {
    let mut name = None;
    let mut values = Vec::new();
    let mut chars = args.char_indices().peekable();
    let mut first = true;
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, c)) = chars.peek() else {
            // Empty argument list, or a trailing `,` (refused below).
            return if first { Some((name, values)) } else { None };
        };
        if c == '\'' {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '\'')) => {
                        if chars.next_if(|(_, c)| *c == '\'').is_some() {
                            value.push('\'');
                        } else {
                            break;
                        }
                    }
                    Some((_, c)) => value.push(c),
                    None => return None,
                }
            }
            values.push(value);
        } else if first {
            let mut end = start;
            while let Some((i, c)) = chars.next_if(|(_, c)| is_ident_char(*c)) {
                end = i + c.len_utf8();
            }
            if end == start {
                return None;
            }
            name = Some(args[start..end].to_owned());
        } else {
            return None;
        }
        first = false;
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => return Some((name, values)),
            Some((_, ',')) => {}
            Some(_) => return None,
        }
    }
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `json, postgresql=jsonb, mysql=longtext`: the base, then `dialect=type` entries;
/// commas inside parentheses or quotes belong to the type.
fn parse_variant_args(args: &str) -> Option<ColumnType> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    for (i, c) in args.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.checked_sub(1)?,
            ',' if !quoted && depth == 0 => {
                parts.push(&args[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&args[start..]);
    let (base, entries) = parts.split_first()?;
    if base.trim().is_empty() || entries.is_empty() {
        return None;
    }
    let mut variants = Vec::new();
    for entry in entries {
        let (name, ty) = entry.split_once('=')?;
        let name = name.trim();
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || ty.trim().is_empty()
        {
            return None;
        }
        variants.push((name.to_owned(), ColumnType::parse(ty)));
    }
    Some(ColumnType::with_variants(ColumnType::parse(base), variants))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Integer => f.write_str("integer"),
            ColumnType::BigInteger => f.write_str("bigint"),
            ColumnType::SmallInteger => f.write_str("smallint"),
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::String(None) => f.write_str("varchar"),
            ColumnType::String(Some(n)) => write!(f, "varchar({n})"),
            ColumnType::Text => f.write_str("text"),
            ColumnType::Unicode(None) => f.write_str("unicode"),
            ColumnType::Unicode(Some(n)) => write!(f, "unicode({n})"),
            ColumnType::Numeric(None) => f.write_str("numeric"),
            ColumnType::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            ColumnType::Float => f.write_str("float"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::DateTime { timezone: false } => f.write_str("datetime"),
            ColumnType::DateTime { timezone: true } => f.write_str("datetime(timezone=true)"),
            ColumnType::Timestamp { timezone: false } => f.write_str("timestamp"),
            ColumnType::Timestamp { timezone: true } => f.write_str("timestamp(timezone=true)"),
            ColumnType::Time => f.write_str("time"),
            ColumnType::Interval => f.write_str("interval"),
            ColumnType::LargeBinary => f.write_str("largebinary"),
            ColumnType::Json => f.write_str("json"),
            ColumnType::Uuid => f.write_str("uuid"),
            ColumnType::Enum { name, values } => {
                f.write_str("enum(")?;
                let mut sep = "";
                if let Some(name) = name {
                    f.write_str(name)?;
                    sep = ", ";
                }
                for value in values {
                    write!(f, "{sep}'{}'", value.replace('\'', "''"))?;
                    sep = ", ";
                }
                f.write_str(")")
            }
            ColumnType::Array(inner) => write!(f, "{inner}[]"),
            ColumnType::Custom(text) => f.write_str(text),
            ColumnType::Variant { base, variants } => {
                write!(f, "variant({base}")?;
                for (name, ty) in variants {
                    write!(f, ", {name}={ty}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl FromStr for ColumnType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ColumnType::parse(s))
    }
}

impl From<String> for ColumnType {
    fn from(value: String) -> Self {
        ColumnType::parse(&value)
    }
}

impl From<ColumnType> for String {
    fn from(value: ColumnType) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_generic_spellings_case_insensitively() {
        let cases = [
            ("integer", ColumnType::Integer),
            ("INT", ColumnType::Integer),
            ("BigInt", ColumnType::BigInteger),
            ("smallint", ColumnType::SmallInteger),
            ("bool", ColumnType::Boolean),
            ("varchar(200)", ColumnType::String(Some(200))),
            ("String(200)", ColumnType::String(Some(200))),
            ("character  varying ( 40 )", ColumnType::String(Some(40))),
            ("varchar", ColumnType::String(None)),
            ("text", ColumnType::Text),
            ("nvarchar(10)", ColumnType::Unicode(Some(10))),
            ("numeric(10,2)", ColumnType::Numeric(Some((10, 2)))),
            ("DECIMAL(10, 2)", ColumnType::Numeric(Some((10, 2)))),
            ("numeric(8)", ColumnType::Numeric(Some((8, 0)))),
            ("float", ColumnType::Float),
            ("double precision", ColumnType::Float),
            ("date", ColumnType::Date),
            ("datetime", ColumnType::DateTime { timezone: false }),
            ("timestamp", ColumnType::Timestamp { timezone: false }),
            (
                "TIMESTAMP WITH TIME ZONE",
                ColumnType::Timestamp { timezone: true },
            ),
            ("timestamptz", ColumnType::Timestamp { timezone: true }),
            (
                "timestamp(timezone=true)",
                ColumnType::Timestamp { timezone: true },
            ),
            (
                "datetime(timezone=True)",
                ColumnType::DateTime { timezone: true },
            ),
            ("time", ColumnType::Time),
            ("interval", ColumnType::Interval),
            ("bytea", ColumnType::LargeBinary),
            ("json", ColumnType::Json),
            ("jsonb", ColumnType::Custom("jsonb".into())),
            ("uuid", ColumnType::Uuid),
            ("char(3)", ColumnType::Custom("char(3)".into())),
            ("varchar(abc)", ColumnType::Custom("varchar(abc)".into())),
            (
                "geometry(Point, 4326)",
                ColumnType::Custom("geometry(Point, 4326)".into()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(ColumnType::parse(text), expected, "{text}");
        }
    }

    #[test]
    fn parses_enums_and_arrays() {
        assert_eq!(
            ColumnType::parse("enum('a', 'b')"),
            ColumnType::Enum {
                name: None,
                values: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            ColumnType::parse("ENUM(status,'New','it''s, done')"),
            ColumnType::Enum {
                name: Some("status".into()),
                values: vec!["New".into(), "it's, done".into()]
            }
        );
        assert_eq!(
            ColumnType::parse("enum('a', b)"),
            ColumnType::Custom("enum('a', b)".into())
        );
        assert_eq!(
            ColumnType::parse("integer[]"),
            ColumnType::Array(Box::new(ColumnType::Integer))
        );
        assert_eq!(
            ColumnType::parse("varchar(5)[][]"),
            ColumnType::Array(Box::new(ColumnType::Array(Box::new(ColumnType::String(
                Some(5)
            )))))
        );
    }

    #[test]
    fn displays_canonical_spelling() {
        assert_eq!(
            ColumnType::parse("DECIMAL(10, 2)").to_string(),
            "numeric(10,2)"
        );
        assert_eq!(
            ColumnType::parse("timestamp with time zone").to_string(),
            "timestamp(timezone=true)"
        );
        assert_eq!(
            ColumnType::parse("datetime(timezone=True)").to_string(),
            "datetime(timezone=true)"
        );
        assert_eq!(
            ColumnType::Enum {
                name: Some("mood".into()),
                values: vec!["o'k".into()]
            }
            .to_string(),
            "enum(mood, 'o''k')"
        );
    }

    #[test]
    fn widening_is_data_safe_only() {
        let t = ColumnType::parse;
        assert!(t("varchar(50)").widens_to(&t("varchar(100)")));
        assert!(t("varchar(50)").widens_to(&t("text")));
        assert!(!t("varchar(100)").widens_to(&t("varchar(50)")));
        assert!(t("integer").widens_to(&t("bigint")));
        assert!(!t("bigint").widens_to(&t("integer")));
        assert!(t("numeric(10,2)").widens_to(&t("numeric(12,2)")));
        assert!(!t("numeric(10,2)").widens_to(&t("numeric(10,3)")));
        assert!(t("enum(e, 'a')").widens_to(&t("enum(e, 'a', 'b')")));
        assert!(!t("text").widens_to(&t("integer")));
    }

    fn arb_custom() -> impl Strategy<Value = ColumnType> {
        prop::sample::select(vec![
            "jsonb",
            "citext",
            "tsvector",
            "char(3)",
            "geometry(Point, 4326)",
            "MEDIUMTEXT",
            "real",
            "varchar(x)",
        ])
        .prop_map(|s| ColumnType::Custom(s.to_owned()))
    }

    fn arb_type() -> impl Strategy<Value = ColumnType> {
        let leaf = prop_oneof![
            Just(ColumnType::Integer),
            Just(ColumnType::BigInteger),
            Just(ColumnType::SmallInteger),
            Just(ColumnType::Boolean),
            proptest::option::of(0u32..100_000).prop_map(ColumnType::String),
            Just(ColumnType::Text),
            proptest::option::of(0u32..100_000).prop_map(ColumnType::Unicode),
            proptest::option::of((0u32..80, 0u32..40)).prop_map(ColumnType::Numeric),
            Just(ColumnType::Float),
            Just(ColumnType::Date),
            any::<bool>().prop_map(|timezone| ColumnType::DateTime { timezone }),
            any::<bool>().prop_map(|timezone| ColumnType::Timestamp { timezone }),
            Just(ColumnType::Time),
            Just(ColumnType::Interval),
            Just(ColumnType::LargeBinary),
            Just(ColumnType::Json),
            Just(ColumnType::Uuid),
            (
                proptest::option::of("[a-z_][a-z0-9_]{0,10}"),
                prop::collection::vec("[ -~]{0,8}", 0..4)
            )
                .prop_map(|(name, values)| ColumnType::Enum { name, values }),
            arb_custom(),
        ];
        let plain = leaf.prop_recursive(2, 4, 1, |inner| {
            inner.prop_map(|t| ColumnType::Array(Box::new(t)))
        });
        let dialect = prop::sample::select(vec!["sqlite", "postgresql", "mysql", "mariadb"]);
        prop_oneof![
            3 => plain.clone(),
            1 => (plain.clone(), prop::collection::vec((dialect, plain), 1..3)).prop_map(
                |(base, vs)| ColumnType::with_variants(
                    base,
                    vs.into_iter().map(|(n, t)| (n.to_owned(), t))
                )
            ),
        ]
    }

    #[test]
    fn variants_resolve_per_dialect() {
        let t = ColumnType::parse("variant(json, postgresql=jsonb, mariadb=longtext)");
        assert_eq!(
            t.to_string(),
            "variant(json, mariadb=longtext, postgresql=jsonb)"
        );
        assert_eq!(t.for_dialect("sqlite"), &ColumnType::Json);
        assert_eq!(
            t.for_dialect("postgresql"),
            &ColumnType::Custom("jsonb".into())
        );
        assert_eq!(
            t.for_dialect("mysql"),
            &ColumnType::Custom("longtext".into())
        );
        let chars = ColumnType::parse("variant(char(32), postgresql=uuid, sqlite=char(32))");
        assert_eq!(chars.to_string(), "variant(char(32), postgresql=uuid)");
        // Not a variant spelling: kept verbatim.
        assert_eq!(
            ColumnType::parse("variant(json)"),
            ColumnType::Custom("variant(json)".into())
        );
        assert_eq!(
            ColumnType::parse("variant(json, postgresql=json)"),
            ColumnType::Json
        );
    }

    proptest! {
        #[test]
        fn display_parses_back_to_the_same_type(ty in arb_type()) {
            let text = ty.to_string();
            prop_assert_eq!(ColumnType::parse(&text), ty.clone(), "{}", text);
            let upper = ColumnType::parse(&text.to_uppercase());
            // Keywords are case-insensitive; enum values and custom names keep their case.
            if !matches!(
                ty,
                ColumnType::Enum { .. }
                    | ColumnType::Custom(_)
                    | ColumnType::Array(_)
                    | ColumnType::Variant { .. }
            ) {
                prop_assert_eq!(upper, ty);
            }
        }
    }
}
