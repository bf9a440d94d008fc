//! SQLAlchemy type objects and Python annotations -> [`ColumnType`].
//!
//! Input: evaluated type expressions (`String(50)`, `sa.Numeric(10, 2)`,
//! `postgresql.JSONB`, a project enum class) or Python types from `Mapped[...]` and
//! SQLModel annotations (`int`, `datetime`, `Decimal`). Output: the generic IR type,
//! or [`ColumnType::Custom`] with the class name (plus the length of the `CHAR`
//! family) for dialect-specific and user-defined types. The same table is implemented
//! by the import backend's Python helper, so both backends agree.

use ruff_text_size::TextSize;

use super::eval::{Evaluator, Value, is_sa, last, root};
use crate::schema::ColumnType;

/// Why a type could not be determined: location and message.
#[derive(Debug)]
pub struct TypeProblem {
    pub module: usize,
    pub offset: TextSize,
    pub message: String,
}

/// Maps a generic SQLAlchemy type name (without arguments) to its kind.
fn sa_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "Integer" | "INTEGER" | "INT" => "integer",
        "BigInteger" | "BIGINT" => "bigint",
        "SmallInteger" | "SMALLINT" => "smallint",
        "Boolean" | "BOOLEAN" => "boolean",
        "String" | "VARCHAR" | "AutoString" => "string",
        "Text" | "TEXT" | "UnicodeText" => "text",
        "Unicode" | "NVARCHAR" => "unicode",
        "Numeric" | "NUMERIC" | "DECIMAL" => "numeric",
        "Float" | "FLOAT" | "Double" | "DOUBLE" | "DOUBLE_PRECISION" => "float",
        "Date" | "DATE" => "date",
        "DateTime" | "DATETIME" => "datetime",
        "TIMESTAMP" => "timestamp",
        "Time" | "TIME" => "time",
        "Interval" | "INTERVAL" => "interval",
        "LargeBinary" | "BLOB" | "BYTEA" | "PickleType" => "largebinary",
        "JSON" => "json",
        "Uuid" | "UUID" | "GUID" => "uuid",
        "Enum" | "ENUM" => "enum",
        "ARRAY" => "array",
        _ => return None,
    })
}

/// Types of the `CHAR` family whose custom spelling keeps the length: `CHAR(3)`.
const LENGTH_CUSTOM: &[&str] = &["CHAR", "NCHAR", "VARBINARY", "BINARY"];

/// A resolver for everything type-related.
pub struct Types<'e, 'p> {
    pub ev: &'e Evaluator<'p>,
    pub module: usize,
    pub at: TextSize,
}

impl<'p> Types<'_, 'p> {
    fn problem(&self, message: impl Into<String>) -> TypeProblem {
        TypeProblem {
            module: self.module,
            offset: self.at,
            message: message.into(),
        }
    }

    fn unknown(&self, v: &Value<'p>) -> TypeProblem {
        match v {
            Value::Unknown(u) => TypeProblem {
                module: u.module,
                offset: u.offset,
                message: u.message.clone(),
            },
            _ => self.problem("Cannot determine the column type statically"),
        }
    }

    /// The type of a SQLAlchemy type expression (the class or an instance).
    pub fn sa_type(&self, v: &Value<'p>) -> Result<ColumnType, TypeProblem> {
        let empty = Vec::new();
        let (path, args, kwargs) = match v {
            Value::Lib(path) => (path.as_ref(), &empty[..], &[][..]),
            // `String(30).with_variant(JSONB(), "postgresql")`: the type with a variant on
            // the named dialects; `MutableDict.as_mutable(JSON)`: the wrapped type.
            Value::Call(c) if c.name() == "with_variant" => return self.with_variant(c),
            Value::Call(c) if c.name() == "as_mutable" && is_sa(&c.callee) && c.args.len() == 1 => {
                return self.sa_type(&c.args[0]);
            }
            Value::Call(c) => (c.callee.as_ref(), &c.args[..], &c.kwargs[..]),
            Value::Class(class) => {
                if self.ev.is_enum_class(*class) {
                    return self.enum_type(v, &[], &[]);
                }
                return self.custom_class(*class, None);
            }
            Value::Instance(i) => return self.custom_class(i.class, Some(i.clone())),
            Value::Unknown(_) => return Err(self.unknown(v)),
            _ => return Err(self.problem("This is not a column type")),
        };
        let kw = |name: &str| kwargs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
        let name = last(path);
        let Some(kind) = sa_type(name).filter(|_| is_sa(path)) else {
            if LENGTH_CUSTOM.contains(&name) {
                return Ok(match self.int_arg(args, kw("length"), 0)? {
                    Some(n) => ColumnType::Custom(format!("{name}({n})")),
                    None => ColumnType::Custom(name.to_owned()),
                });
            }
            if root(path) == "builtins" || path.starts_with("typing.") {
                return Err(self.problem(format!("`{name}` is not a SQLAlchemy type")));
            }
            return Ok(ColumnType::Custom(name.to_owned()));
        };
        Ok(match kind {
            "integer" => ColumnType::Integer,
            "bigint" => ColumnType::BigInteger,
            "smallint" => ColumnType::SmallInteger,
            "boolean" => ColumnType::Boolean,
            "string" => ColumnType::String(self.length(args, kw("length"))?),
            "text" => ColumnType::Text,
            "unicode" => ColumnType::Unicode(self.length(args, kw("length"))?),
            "numeric" => {
                let p = self.int_arg(args, kw("precision"), 0)?;
                let s = self.int_arg(args, kw("scale"), 1)?;
                ColumnType::Numeric(p.map(|p| (p, s.unwrap_or(0))))
            }
            "float" => ColumnType::Float,
            "date" => ColumnType::Date,
            "datetime" | "timestamp" => {
                let tz = match kw("timezone").or(args.first()) {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => return Err(self.unknown(other)),
                };
                if kind == "timestamp" {
                    ColumnType::Timestamp { timezone: tz }
                } else {
                    ColumnType::DateTime { timezone: tz }
                }
            }
            "time" => ColumnType::Time,
            "interval" => ColumnType::Interval,
            "largebinary" => ColumnType::LargeBinary,
            "json" => ColumnType::Json,
            "uuid" => ColumnType::Uuid,
            "enum" => self.enum_type(v, args, kwargs)?,
            "array" => {
                let item = kw("item_type")
                    .or(args.first())
                    .ok_or_else(|| self.problem("`ARRAY` needs an item type"))?;
                ColumnType::Array(Box::new(self.sa_type(item)?))
            }
            _ => unreachable!("every kind of `sa_type` is handled"),
        })
    }

    fn length(
        &self,
        args: &[Value<'p>],
        kw: Option<&Value<'p>>,
    ) -> Result<Option<u32>, TypeProblem> {
        self.int_arg(args, kw, 0)
    }

    fn int_arg(
        &self,
        args: &[Value<'p>],
        kw: Option<&Value<'p>>,
        pos: usize,
    ) -> Result<Option<u32>, TypeProblem> {
        match kw.or(args.get(pos)) {
            None | Some(Value::None) => Ok(None),
            Some(Value::Int(n)) => u32::try_from(*n)
                .map(Some)
                .map_err(|_| self.problem(format!("Invalid type argument `{n}`"))),
            Some(other) => Err(self.unknown(other)),
        }
    }

    /// `base.with_variant(variant, "dialect", ...)` (a library type's method: `recv` is
    /// the base) or the same on a project type's instance (the base first in `args`).
    fn with_variant(&self, c: &super::eval::Call<'p>) -> Result<ColumnType, TypeProblem> {
        let (base, rest) = match &c.recv {
            Some(recv) => (Value::Call(recv.clone()), &c.args[..]),
            None => match c.args.split_first() {
                Some((base, rest)) => (base.clone(), rest),
                None => return Err(self.problem("`with_variant` without a type")),
            },
        };
        let base = self.sa_type(&base)?;
        let Some(variant) = rest.first().or_else(|| c.kw("type_")) else {
            return Err(self.problem("`with_variant` needs the variant type"));
        };
        let variant = self.sa_type(variant)?;
        let mut names = Vec::new();
        let given: Vec<&Value<'p>> = match rest.get(1..) {
            Some(more) if !more.is_empty() => more.iter().collect(),
            _ => c.kw("dialect_names").into_iter().collect(),
        };
        for v in given {
            match v {
                Value::Str(s) => names.push(s.to_string()),
                Value::Seq(items) => {
                    for i in items.iter() {
                        match i {
                            Value::Str(s) => names.push(s.to_string()),
                            other => return Err(self.unknown(other)),
                        }
                    }
                }
                other => return Err(self.unknown(other)),
            }
        }
        if names.is_empty() {
            return Err(self.problem("`with_variant` names no dialect"));
        }
        Ok(ColumnType::with_variants(
            base,
            names.into_iter().map(|n| (n, variant.clone())),
        ))
    }

    /// A project class used as a type: a `TypeDecorator` or `UserDefinedType` subclass.
    fn custom_class(
        &self,
        class: super::eval::ClassRef<'p>,
        instance: Option<std::rc::Rc<super::eval::Instance<'p>>>,
    ) -> Result<ColumnType, TypeProblem> {
        let ty = self.decorated(class, instance.as_deref())?;
        let mro = self.ev.mro(class);
        if !mro
            .iter()
            .any(|k| super::eval::find_method(k.def, "load_dialect_impl").is_some())
        {
            return Ok(ty);
        }
        // `load_dialect_impl(self, dialect)`: the type on each database, asked with the
        // dialect's name (`dialect.name`); the type most of them get is the base (the
        // `impl` when all three differ), the others are variants.
        let instance = match instance {
            Some(i) => Value::Instance(i),
            None => self.ev.call(
                self.module,
                Value::Class(class),
                Vec::new(),
                Vec::new(),
                self.at,
            ),
        };
        let method = self
            .ev
            .attr(self.module, instance, "load_dialect_impl", self.at);
        let mut per = Vec::new();
        for name in crate::schema::DIALECT_NAMES {
            let got = self.ev.call(
                self.module,
                method.clone(),
                vec![Value::Dialect(name.into())],
                Vec::new(),
                self.at,
            );
            // `super().load_dialect_impl(dialect)` (a library `super()` call, opaque
            // to the evaluator) is TypeDecorator's own: the `impl`.
            let got = match got {
                Value::Opaque => ty.clone(),
                other => self.sa_type(&other)?,
            };
            per.push((name.to_owned(), got));
        }
        let count = |t: &ColumnType| per.iter().filter(|(_, x)| x == t).count();
        let top = per.iter().map(|(_, t)| count(t)).max().unwrap_or(0);
        let base = if top > 1 {
            per.iter()
                .map(|(_, t)| t)
                .find(|t| count(t) == top)
                .cloned()
                .unwrap_or(ty)
        } else {
            ty
        };
        Ok(ColumnType::with_variants(base, per))
    }

    /// A project type class: a `TypeDecorator`'s `impl`, or the concrete SQLAlchemy
    /// type it subclasses.
    fn decorated(
        &self,
        class: super::eval::ClassRef<'p>,
        instance: Option<&super::eval::Instance<'p>>,
    ) -> Result<ColumnType, TypeProblem> {
        let is_type = self.ev.mro(class).iter().any(|c| {
            self.ev.bases(*c).iter().any(|b| match b {
                Value::Lib(p) | Value::Attr(_, p) => {
                    is_sa(p) || last(p).ends_with("Type") || last(p) == "TypeDecorator"
                }
                _ => false,
            })
        });
        if is_type {
            // A `TypeDecorator` is its `impl` to the database; a subclass of a concrete
            // SQLAlchemy type (`class ExecutorConfigType(PickleType)`) is that type.
            let mro = self.ev.mro(class);
            let imp = mro
                .iter()
                .find_map(|c| match super::eval::find_class_attr(c.def, "impl") {
                    Some((Some(expr), _)) => Some(self.ev.eval(c.module, expr, None)),
                    _ => None,
                })
                .or_else(|| {
                    mro.iter().find_map(|c| {
                        self.ev.bases(*c).into_iter().find(|b| {
                            matches!(b, Value::Lib(p) if is_sa(p)
                                && !matches!(last(p), "TypeDecorator" | "UserDefinedType" | "TypeEngine"))
                        })
                    })
                });
            let Some(imp) = imp else {
                return Ok(ColumnType::Custom(class.name().to_owned()));
            };
            // `TypeDecorator.__init__` passes its arguments to the `impl` class:
            // `MyString(50)` with `impl = String` is `String(50)` to the database.
            let own_init = mro
                .iter()
                .any(|k| super::eval::find_method(k.def, "__init__").is_some());
            if let (Value::Lib(_), Some(i), false) = (&imp, instance, own_init)
                && (!i.args.is_empty() || !i.kwargs.is_empty())
            {
                let applied = self.ev.call(
                    self.module,
                    imp.clone(),
                    i.args.clone(),
                    i.kwargs.clone(),
                    self.at,
                );
                return self.sa_type(&applied);
            }
            self.sa_type(&imp)
        } else {
            Err(self.problem(format!("Class `{}` is not a SQLAlchemy type", class.name())))
        }
    }

    /// `Enum("a", "b", name="x")`, `Enum(PyEnum)`, `Enum(PyEnum, values_callable=...)`,
    /// or a project enum class in an annotation.
    pub fn enum_type(
        &self,
        v: &Value<'p>,
        args: &[Value<'p>],
        kwargs: &[(String, Value<'p>)],
    ) -> Result<ColumnType, TypeProblem> {
        let kw = |name: &str| kwargs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
        let ty = self.enum_values(v, args, kwargs)?;
        // `native_enum=False`: a VARCHAR as long as the longest value, or `length=`.
        match kw("native_enum") {
            None | Some(Value::Bool(true)) => Ok(ty),
            Some(Value::Bool(false)) => {
                let ColumnType::Enum { values, .. } = &ty else {
                    return Ok(ty);
                };
                let longest = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
                let length = match kw("length") {
                    None => longest,
                    Some(Value::None) => return Ok(ColumnType::String(None)),
                    Some(Value::Int(n)) => match usize::try_from(*n) {
                        Ok(n) if n >= longest => n,
                        _ => {
                            return Err(self.problem(format!(
                                "`length={n}` is shorter than the longest value ({longest} characters)"
                            )));
                        }
                    },
                    Some(other) => return Err(self.unknown(other)),
                };
                let length = u32::try_from(length)
                    .map_err(|_| self.problem("`length` of an Enum is too large"))?;
                Ok(ColumnType::String(Some(length)))
            }
            Some(other) => Err(self.unknown(other)),
        }
    }

    fn enum_values(
        &self,
        v: &Value<'p>,
        args: &[Value<'p>],
        kwargs: &[(String, Value<'p>)],
    ) -> Result<ColumnType, TypeProblem> {
        let kw = |name: &str| kwargs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
        let explicit_name = match kw("name") {
            None | Some(Value::None) => None,
            Some(Value::Str(s)) => Some(s.to_string()),
            Some(other) => return Err(self.unknown(other)),
        };
        let class = match (v, args.first()) {
            (Value::Class(c), _) => Some(*c),
            (_, Some(Value::Class(c))) => Some(*c),
            _ => None,
        };
        if let Some(class) = class {
            if !self.ev.is_enum_class(class) {
                return Err(self.problem(format!("Class `{}` is not an enum", class.name())));
            }
            let by_value = match kw("values_callable") {
                None | Some(Value::None) => false,
                Some(Value::EnumValuesLambda) => true,
                Some(other) => {
                    return Err(match other {
                        Value::Unknown(_) => self.unknown(other),
                        _ => self.problem(
                            "Only `values_callable=lambda e: [m.value for m in e]` is understood statically",
                        ),
                    });
                }
            };
            let mut values = Vec::new();
            for (member, expr) in self.ev.enum_members(class) {
                if by_value {
                    let value = expr.map(|e| self.ev.eval(class.module, e, None));
                    match value {
                        Some(Value::Str(s)) => values.push(s.to_string()),
                        Some(Value::Int(i)) => values.push(i.to_string()),
                        Some(other) => {
                            return Err(TypeProblem {
                                message: format!(
                                    "Cannot evaluate the value of enum member `{}.{member}`",
                                    class.name()
                                ),
                                ..self.unknown(&other)
                            });
                        }
                        None => {}
                    }
                } else {
                    values.push(member);
                }
            }
            let name = explicit_name.unwrap_or_else(|| class.name().to_lowercase());
            return Ok(ColumnType::Enum {
                name: Some(name),
                values,
            });
        }
        let mut values = Vec::new();
        for a in args {
            match a {
                Value::Str(s) => values.push(s.to_string()),
                Value::Lib(p) => {
                    return Err(self.problem(format!(
                        "`{p}` is an enum from outside the project: its members are not known statically"
                    )));
                }
                other => return Err(self.unknown(other)),
            }
        }
        Ok(ColumnType::Enum {
            name: explicit_name,
            values,
        })
    }

    /// The column type SQLAlchemy infers from a Python type in `Mapped[...]`, after
    /// the base's `type_annotation_map`.
    pub fn python_type(
        &self,
        v: &Value<'p>,
        annotation_map: &[(Value<'p>, Value<'p>)],
        sqlmodel: Option<&SqlModelField<'_, 'p>>,
    ) -> Result<ColumnType, TypeProblem> {
        for (k, mapped) in annotation_map {
            if same_type(k, v) {
                return self.sa_type(mapped);
            }
        }
        let name = match v {
            Value::Builtin(b) => b.to_string(),
            Value::Lib(p) => match (root(p), last(p)) {
                ("datetime", n @ ("datetime" | "date" | "time" | "timedelta")) => n.to_owned(),
                ("decimal", "Decimal") => "Decimal".to_owned(),
                ("uuid", "UUID") => "UUID".to_owned(),
                ("pydantic", "NaiveDatetime") => "NaiveDatetime".to_owned(),
                ("pydantic", "AwareDatetime") => "datetime".to_owned(),
                ("pydantic", "EmailStr" | "AnyUrl" | "HttpUrl") | ("pathlib", "Path") => {
                    "str".to_owned()
                }
                ("ipaddress", _) => "str".to_owned(),
                _ => {
                    if is_sa(p) && sa_type(last(p)).is_some() {
                        return self.sa_type(v);
                    }
                    return Err(
                        self.problem(format!("No column type is known for the Python type `{p}`"))
                    );
                }
            },
            Value::Class(c) => {
                if self.ev.is_enum_class(*c) {
                    return self.enum_type(v, &[], &[]);
                }
                return Err(self.problem(format!(
                    "No column type is known for the class `{}`",
                    c.name()
                )));
            }
            Value::Unknown(_) => return Err(self.unknown(v)),
            _ => return Err(self.problem("Cannot determine the column type of this annotation")),
        };
        let field_int = |key: &str| -> Result<Option<u32>, TypeProblem> {
            match sqlmodel.and_then(|f| f.kw(key)) {
                None | Some(Value::None) => Ok(None),
                Some(Value::Int(n)) => Ok(u32::try_from(*n).ok()),
                Some(other) => Err(self.unknown(other)),
            }
        };
        Ok(match name.as_str() {
            "int" => ColumnType::Integer,
            "str" => ColumnType::String(if sqlmodel.is_some() {
                field_int("max_length")?
            } else {
                None
            }),
            "float" => ColumnType::Float,
            "bool" => ColumnType::Boolean,
            "bytes" => ColumnType::LargeBinary,
            // SQLModel (0.0.22+) stores `datetime` fields as timezone-aware `UTCDateTime`.
            "datetime" => ColumnType::DateTime {
                timezone: sqlmodel.is_some(),
            },
            "NaiveDatetime" => ColumnType::DateTime { timezone: false },
            "date" => ColumnType::Date,
            "time" => ColumnType::Time,
            "timedelta" => ColumnType::Interval,
            "Decimal" => {
                if sqlmodel.is_some() {
                    let p = field_int("max_digits")?;
                    let s = field_int("decimal_places")?;
                    ColumnType::Numeric(p.map(|p| (p, s.unwrap_or(0))))
                } else {
                    ColumnType::Numeric(None)
                }
            }
            "UUID" => ColumnType::Uuid,
            other => {
                return Err(self.problem(format!(
                    "No column type is known for the Python type `{other}`; give one explicitly"
                )));
            }
        })
    }
}

/// The `Field(...)` of a SQLModel attribute, for `max_length` and friends.
pub struct SqlModelField<'c, 'p> {
    pub kwargs: &'c [(String, Value<'p>)],
}

impl<'p> SqlModelField<'_, 'p> {
    pub fn kw(&self, name: &str) -> Option<&Value<'p>> {
        self.kwargs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// True when two evaluated Python types are the same (keys of `type_annotation_map`).
fn same_type(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Builtin(x), Value::Builtin(y)) => x == y,
        (Value::Lib(x), Value::Lib(y)) => x == y || (last(x) == last(y) && root(x) == root(y)),
        (Value::Class(x), Value::Class(y)) => x == y,
        _ => false,
    }
}
