//! SQLAlchemy's constraint naming conventions, applied exactly as `MetaData` does.
//!
//! Input: a `naming_convention` dict (or SQLAlchemy's default `{"ix": "ix_%(column_0_label)s"}`)
//! and a constraint's kind, explicit name, table and columns. Output: the name the
//! constraint gets, or `None` when SQLAlchemy leaves it unnamed. A template with a
//! token we do not know, or `%(constraint_name)s` on an unnamed constraint (which
//! SQLAlchemy refuses too), is an error message for a diagnostic.

/// A naming convention: `(key, template)` with keys `ix`, `uq`, `ck`, `fk`, `pk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convention {
    pub entries: Vec<(String, String)>,
}

impl Default for Convention {
    /// SQLAlchemy's `DEFAULT_NAMING_CONVENTION`.
    fn default() -> Self {
        Convention {
            entries: vec![("ix".into(), "ix_%(column_0_label)s".into())],
        }
    }
}

/// What a template can refer to.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    pub table: &'a str,
    pub columns: Vec<&'a str>,
    pub referred_table: Option<&'a str>,
    pub referred_columns: Vec<&'a str>,
}

impl Convention {
    fn template(&self, kind: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, t)| t.as_str())
    }

    /// The name of a constraint of `kind` (`ix`, `uq`, `ck`, `fk`, `pk`).
    pub fn name(
        &self,
        kind: &str,
        explicit: Option<&str>,
        subject: &Subject<'_>,
    ) -> Result<Option<String>, String> {
        let Some(template) = self.template(kind) else {
            return Ok(explicit.map(str::to_owned));
        };
        if explicit.is_some() && !template.contains("%(constraint_name)s") {
            return Ok(explicit.map(str::to_owned));
        }
        render(template, explicit, subject).map(Some)
    }
}

fn render(template: &str, explicit: Option<&str>, s: &Subject<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("%(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find(")s")
            .ok_or_else(|| format!("Malformed naming convention `{template}`"))?;
        let token = &after[..end];
        out.push_str(&token_value(token, explicit, s)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn token_value(token: &str, explicit: Option<&str>, s: &Subject<'_>) -> Result<String, String> {
    let label = |c: &str| format!("{}_{c}", s.table);
    let pick = |items: &[&str], sep: Option<&str>, f: &dyn Fn(&str) -> String| match sep {
        Some(sep) => items.iter().map(|c| f(c)).collect::<Vec<_>>().join(sep),
        None => items.first().map(|c| f(c)).unwrap_or_default(),
    };
    let referred = &s.referred_columns[..];
    let plain = |c: &str| c.to_owned();
    Ok(match token {
        "table_name" => s.table.to_owned(),
        "constraint_name" => {
            return explicit.map(str::to_owned).ok_or_else(|| {
                "The naming convention uses `%(constraint_name)s`, so this constraint needs an explicit `name=`".to_owned()
            });
        }
        "referred_table_name" => s.referred_table.unwrap_or_default().to_owned(),
        "column_0_name" | "column_0_key" => pick(&s.columns, None, &plain),
        "column_0N_name" | "column_0N_key" => pick(&s.columns, Some(""), &plain),
        "column_0_N_name" | "column_0_N_key" => pick(&s.columns, Some("_"), &plain),
        "column_0_label" => pick(&s.columns, None, &label),
        "column_0N_label" => pick(&s.columns, Some(""), &label),
        "column_0_N_label" => pick(&s.columns, Some("_"), &label),
        "referred_column_0_name" => pick(referred, None, &plain),
        "referred_column_0N_name" => pick(referred, Some(""), &plain),
        "referred_column_0_N_name" => pick(referred, Some("_"), &plain),
        other => return Err(format!("Unknown naming-convention token `%({other})s`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(table: &'a str, columns: &[&'a str]) -> Subject<'a> {
        Subject {
            table,
            columns: columns.to_vec(),
            ..Subject::default()
        }
    }

    #[test]
    fn default_names_indexes_only() {
        let c = Convention::default();
        assert_eq!(
            c.name("ix", None, &subject("users", &["email"])),
            Ok(Some("ix_users_email".into()))
        );
        assert_eq!(c.name("uq", None, &subject("users", &["email"])), Ok(None));
        assert_eq!(
            c.name("uq", Some("uq_x"), &subject("users", &["email"])),
            Ok(Some("uq_x".into()))
        );
    }

    #[test]
    fn custom_conventions_render_every_token() {
        let c = Convention {
            entries: vec![
                ("uq".into(), "uq_%(table_name)s_%(column_0_N_name)s".into()),
                ("ck".into(), "ck_%(table_name)s_%(constraint_name)s".into()),
                (
                    "fk".into(),
                    "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s".into(),
                ),
                ("pk".into(), "pk_%(table_name)s".into()),
                ("ix".into(), "ix_%(column_0N_label)s".into()),
            ],
        };
        let s = subject("orders", &["a", "b"]);
        assert_eq!(c.name("uq", None, &s), Ok(Some("uq_orders_a_b".into())));
        assert_eq!(
            c.name("ck", Some("positive"), &s),
            Ok(Some("ck_orders_positive".into()))
        );
        assert!(c.name("ck", None, &s).is_err());
        let fk = Subject {
            referred_table: Some("users"),
            referred_columns: vec!["id"],
            ..subject("orders", &["user_id"])
        };
        assert_eq!(
            c.name("fk", None, &fk),
            Ok(Some("fk_orders_user_id_users".into()))
        );
        assert_eq!(c.name("pk", None, &s), Ok(Some("pk_orders".into())));
        assert_eq!(
            c.name("ix", None, &s),
            Ok(Some("ix_orders_aorders_b".into()))
        );
        let bad = Convention {
            entries: vec![("ix".into(), "ix_%(nope)s".into())],
        };
        assert!(bad.name("ix", None, &s).is_err());
    }
}
