//! `STATIC_VALUES`: module-level names static discovery takes as given instead of
//! evaluating them.
//!
//! Some projects compute a schema detail from run-time state: Airflow reads its
//! metadata schema from its configuration (`SQL_ALCHEMY_SCHEMA = conf.get(...)`), other
//! projects from an environment variable or a settings file. Python sees the value of
//! the machine it runs on; a static reader cannot. An entry `module.NAME=<literal>`
//! gives discovery that value, the way a Django project names its settings module.
//! Only literals are accepted (strings, numbers, `True`/`False`/`None`, and tuples,
//! lists, sets and dicts of them), so an entry can never reach into other code.

use std::collections::BTreeMap;

use ruff_python_ast::{Expr, ModExpression, UnaryOp};

/// The configured values by (dotted module, name).
#[derive(Debug, Default, Clone)]
pub struct StaticValues {
    values: BTreeMap<(String, String), ModExpression>,
}

impl StaticValues {
    /// Parses `STATIC_VALUES` entries; the error says which entry is wrong and why.
    pub fn parse(entries: &[String]) -> Result<StaticValues, String> {
        let mut values = BTreeMap::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let Some((target, literal)) = entry.split_once('=') else {
                return Err(format!(
                    "`{entry}` has no `=`: write `module.NAME=<Python literal>`, e.g. `app.settings.SCHEMA=None`"
                ));
            };
            let target = target.trim();
            let Some((module, name)) = target.rsplit_once('.') else {
                return Err(format!(
                    "`{target}` names no module: write the dotted module before the name, e.g. `app.settings.{target}`"
                ));
            };
            let is_identifier = |s: &str| {
                let mut chars = s.chars();
                chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                    && chars.all(|c| c == '_' || c.is_alphanumeric())
            };
            if !module.split('.').all(is_identifier) || !is_identifier(name) {
                return Err(format!(
                    "`{target}` is not a dotted Python name (`module.NAME`)"
                ));
            }
            let parsed = ruff_python_parser::parse_expression(literal.trim())
                .map_err(|e| format!("the value of `{target}` is not a Python expression: {e}"))?;
            let expr = parsed.into_syntax();
            if !is_literal(&expr.body) {
                return Err(format!(
                    "the value of `{target}` is not a literal: use a string, a number, `True`, `False`, `None`, or a tuple, list, set or dict of those"
                ));
            }
            if values
                .insert((module.to_owned(), name.to_owned()), expr)
                .is_some()
            {
                return Err(format!("`{target}` is given twice"));
            }
        }
        Ok(StaticValues { values })
    }

    /// The value given for `name` in module `module`.
    pub fn get(&self, module: &str, name: &str) -> Option<&Expr> {
        self.values
            .get(&(module.to_owned(), name.to_owned()))
            .map(|e| &*e.body)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::StringLiteral(_)
        | Expr::BytesLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_) => true,
        Expr::UnaryOp(u) => {
            matches!(u.op, UnaryOp::USub | UnaryOp::UAdd)
                && matches!(&*u.operand, Expr::NumberLiteral(_))
        }
        Expr::Tuple(t) => t.elts.iter().all(is_literal),
        Expr::List(l) => l.elts.iter().all(is_literal),
        Expr::Set(s) => s.elts.iter().all(is_literal),
        Expr::Dict(d) => d
            .items
            .iter()
            .all(|i| i.key.as_ref().is_some_and(is_literal) && is_literal(&i.value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(entries: &[&str]) -> Result<StaticValues, String> {
        StaticValues::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn literals_by_module_and_name() {
        let v = parse(&[
            "airflow.models.base.SQL_ALCHEMY_SCHEMA=''",
            " app.settings.SIZES = (1, -2, 'x') ",
            "",
        ])
        .expect("valid entries");
        assert!(v.get("airflow.models.base", "SQL_ALCHEMY_SCHEMA").is_some());
        assert!(v.get("app.settings", "SIZES").is_some());
        assert!(v.get("app", "SIZES").is_none());
    }

    #[test]
    fn anything_but_a_literal_is_refused_with_the_entry() {
        for (entry, says) in [
            ("app.settings.SCHEMA", "has no `=`"),
            ("SCHEMA=None", "names no module"),
            ("app.1x.SCHEMA=None", "not a dotted Python name"),
            ("app.SCHEMA=open('/etc/passwd')", "not a literal"),
            ("app.SCHEMA=other.NAME", "not a literal"),
            ("app.SCHEMA=(", "not a Python expression"),
        ] {
            let err = parse(&[entry]).expect_err(entry);
            assert!(err.contains(says), "{entry}: {err}");
        }
        let err = parse(&["a.B=1", "a.B=2"]).expect_err("a duplicate");
        assert!(err.contains("given twice"), "{err}");
    }
}
