//! One column: `Column(...)`, `mapped_column(...)` and SQLModel's `Field(...)`, with
//! its server default, keyword options, foreign keys and checks.

use super::*;

impl<'p> Builder<'_, 'p> {
    /// `Column(...)`, `mapped_column(...)` (with its `Mapped[...]` annotation).
    pub(super) fn sa_column(
        &mut self,
        ctx: &Ctx<'p>,
        call: &Rc<Call<'p>>,
        attr: &str,
        annotation: Option<&'p Expr>,
        m: usize,
        mapped: bool,
    ) -> Option<(ColDraft, Vec<FkDraft<'p>>, Vec<CheckDraft>)> {
        let at = TextSize::new(call.site.1);
        let cm = call.site.0;
        let mut ann = None;
        let mut merged_args: Vec<Value<'p>> = Vec::new();
        let mut merged_kwargs: Vec<(String, Value<'p>)> = Vec::new();
        if mapped && let Some(a) = annotation {
            let locals = Locals::default();
            let (inner, optional, defaults) = self.unwrap_annotation(m, a, &locals);
            if let Some(d) = defaults {
                merged_args.extend(d.args.iter().cloned());
                merged_kwargs.extend(d.kwargs.iter().cloned());
            }
            ann = Some((inner, optional, a.start()));
        }
        merged_args.extend(call.args.iter().cloned());
        merged_kwargs.extend(call.kwargs.iter().cloned());
        let kw = |n: &str| {
            merged_kwargs
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };

        let mut name = attr.to_owned();
        let mut ty: Option<ColumnType> = None;
        let mut fks = Vec::new();
        let mut checks = Vec::new();
        let mut problems = false;
        for (i, arg) in merged_args.iter().enumerate() {
            match arg {
                Value::Str(s) if i == 0 => name = s.to_string(),
                Value::Call(c) if is_sa(&c.callee) && c.name() == "ForeignKey" => {
                    if let Some(fk) = self.foreign_key(c, vec![attr.to_owned()]) {
                        fks.push(fk);
                    }
                }
                Value::Call(c) if is_sa(&c.callee) && c.name() == "CheckConstraint" => {
                    if let Some(ck) = self.check(c) {
                        checks.push(ck);
                    }
                }
                Value::Call(c)
                    if is_sa(&c.callee)
                        && matches!(c.name(), "Sequence" | "FetchedValue" | "DefaultClause") => {}
                Value::Call(c)
                    if is_sa(&c.callee) && matches!(c.name(), "Computed" | "Identity") =>
                {
                    self.diag(
                        "SA102",
                        c.site.0,
                        TextSize::new(c.site.1),
                        format!("`{}` columns are not supported yet", c.name()),
                    )
                    .hints
                    .push(
                        "Create the column in a hand-written migration (`op = \"sql\"`)".to_owned(),
                    );
                    problems = true;
                }
                other if ty.is_none() => {
                    let types = Types {
                        ev: self.ev,
                        module: cm,
                        at,
                    };
                    match types.sa_type(other) {
                        Ok(t) => ty = Some(t),
                        Err(p) => {
                            self.type_problem(p, &format!("column `{attr}`"));
                            problems = true;
                        }
                    }
                }
                other => {
                    self.unresolved(other, cm, at, &format!("an argument of column `{attr}`"));
                    problems = true;
                }
            }
        }
        if let Some(t) = kw("type_") {
            let types = Types {
                ev: self.ev,
                module: cm,
                at,
            };
            match types.sa_type(&t) {
                Ok(t) => ty = Some(t),
                Err(p) => {
                    self.type_problem(p, &format!("column `{attr}`"));
                    problems = true;
                }
            }
        }
        if let Some(v) = kw("name") {
            match v {
                Value::Str(s) => name = s.to_string(),
                other => {
                    self.unresolved(&other, cm, at, &format!("the name of column `{attr}`"));
                    problems = true;
                }
            }
        }
        let mut flag = |this: &mut Self, key: &str| -> Option<bool> {
            match kw(key) {
                None | Some(Value::None) => None,
                Some(Value::Bool(b)) => Some(b),
                Some(other) => {
                    this.unresolved(&other, cm, at, &format!("`{key}=` of column `{attr}`"));
                    problems = true;
                    None
                }
            }
        };
        let primary_key = flag(self, "primary_key").unwrap_or(false);
        let nullable_kw = flag(self, "nullable");
        let unique = flag(self, "unique").unwrap_or(false);
        let index = flag(self, "index").unwrap_or(false);
        let autoincrement = match kw("autoincrement") {
            None => None,
            Some(Value::Bool(b)) => Some(b),
            Some(Value::Str(s)) if &*s == "auto" => None,
            Some(Value::Str(s)) if &*s == "ignore_fk" => Some(true),
            Some(other) => {
                self.unresolved(
                    &other,
                    cm,
                    at,
                    &format!("`autoincrement=` of column `{attr}`"),
                );
                problems = true;
                None
            }
        };
        let server_default = match kw("server_default") {
            None | Some(Value::None) => None,
            Some(v) => match self.sql_text(&v, cm, at) {
                Ok(s) => s,
                Err(()) => {
                    problems = true;
                    None
                }
            },
        };
        let comment = match kw("comment") {
            None | Some(Value::None) => None,
            Some(Value::Str(s)) => Some(s.to_string()),
            Some(other) => {
                self.unresolved(&other, cm, at, &format!("the comment of column `{attr}`"));
                problems = true;
                None
            }
        };
        let sort_order = match kw("sort_order") {
            Some(Value::Int(n)) => n,
            _ => 0,
        };
        if let Some(("**", v)) = merged_kwargs
            .iter()
            .find(|(k, _)| k == "**")
            .map(|(k, v)| (k.as_str(), v))
        {
            let v = v.clone();
            self.unresolved(
                &v,
                cm,
                at,
                &format!("the `**` arguments of column `{attr}`"),
            );
            problems = true;
        }
        let nullable = match (nullable_kw, &ann) {
            (Some(n), _) => n,
            (None, _) if primary_key => false,
            (None, Some((_, optional, _))) => *optional,
            (None, None) => true,
        };
        let mut type_from_fk = false;
        let ty = match ty {
            Some(t) => t,
            None => match &ann {
                Some((inner, _, ann_at)) => {
                    let types = Types {
                        ev: self.ev,
                        module: m,
                        at: *ann_at,
                    };
                    match types.python_type(inner, &ctx.annotation_map, None) {
                        Ok(t) => t,
                        Err(p) => {
                            self.type_problem(p, &format!("column `{attr}`"));
                            ColumnType::Custom("NULL".into())
                        }
                    }
                }
                None if !fks.is_empty() => {
                    type_from_fk = true;
                    ColumnType::Custom("NULL".into())
                }
                None => {
                    if !problems {
                        self.diag("SA103", cm, at, format!("Column `{attr}` has no type"))
                            .hints
                            .push(
                                "Give the type as the first argument: `Column(Integer, ...)`"
                                    .to_owned(),
                            );
                    }
                    ColumnType::Custom("NULL".into())
                }
            },
        };
        for fk in &mut fks {
            fk.columns = vec![attr.to_owned()];
        }
        let column = Column {
            name,
            ty,
            nullable,
            primary_key,
            autoincrement,
            server_default,
            comment,
            unique,
        };
        Some((
            ColDraft {
                key: attr.to_owned(),
                column,
                type_from_fk,
                explicit_nullable: nullable_kw.is_some() || (mapped && ann.is_some()),
                index,
                sort_order,
                at: (cm, at),
            },
            fks,
            checks,
        ))
    }

    /// A SQLModel field: `name: T = Field(...)`, `name: T = default`, or `name: T`.
    pub(super) fn sqlmodel_field(
        &mut self,
        k: ClassRef<'p>,
        ctx: &Ctx<'p>,
        name: &str,
        annotation: &'p Expr,
        value: Option<Value<'p>>,
        at: TextSize,
    ) -> Option<(ColDraft, Vec<FkDraft<'p>>, Vec<CheckDraft>)> {
        let m = k.module;
        let locals = Locals::class(k);
        let field = match &value {
            Some(Value::Call(c)) if root(&c.callee) == "sqlmodel" && c.name() == "Field" => {
                Some(c.clone())
            }
            Some(Value::Call(c)) if root(&c.callee) == "sqlmodel" && c.name() == "Relationship" => {
                return None;
            }
            Some(Value::Unknown(_)) => {
                let v = value.clone().expect("matched Some");
                self.unresolved(&v, m, at, &format!("the field `{}.{name}`", k.name()));
                return None;
            }
            _ => None,
        };
        let (inner, optional, _) = self.unwrap_annotation(m, annotation, &locals);
        // Relationships: `List["Hero"]`, or another table model.
        match &inner {
            Value::Generic(g) if matches!(&g.0, Value::Lib(p) if matches!(last(p), "List" | "list" | "Set" | "Sequence")) =>
            {
                return None;
            }
            Value::Generic(g) if matches!(&g.0, Value::Builtin(b) if matches!(&**b, "list" | "set")) =>
            {
                return None;
            }
            Value::Class(c) if matches!(self.role(*c), Role::Mapped(..) | Role::Abstract(..)) => {
                return None;
            }
            _ => {}
        }
        let empty: Vec<(String, Value<'p>)> = Vec::new();
        let kwargs = field.as_ref().map_or(&empty[..], |f| &f.kwargs[..]);
        let kw = |n: &str| {
            kwargs
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        if let Some(Value::Call(col)) = kw("sa_column") {
            return self.sa_column(ctx, &col, name, None, m, false);
        }
        if let Some(v @ Value::Unknown(_)) = kw("sa_column") {
            self.unresolved(&v, m, at, &format!("the `sa_column` of `{name}`"));
            return None;
        }
        let fat = field.as_ref().map_or(at, |f| TextSize::new(f.site.1));
        let ty = match kw("sa_type") {
            Some(t) => Types {
                ev: self.ev,
                module: m,
                at: fat,
            }
            .sa_type(&t),
            None => Types {
                ev: self.ev,
                module: m,
                at: annotation.start(),
            }
            .python_type(&inner, &[], Some(&SqlModelField { kwargs })),
        };
        let ty = match ty {
            Ok(t) => t,
            Err(p) => {
                self.type_problem(p, &format!("field `{}.{name}`", k.name()));
                ColumnType::Custom("NULL".into())
            }
        };
        let flag = |this: &mut Self, key: &str| -> Option<bool> {
            match kw(key) {
                None | Some(Value::None) => None,
                Some(Value::Bool(b)) => Some(b),
                Some(Value::Lib(p))
                    if last(&p) == "Undefined" || last(&p) == "PydanticUndefined" =>
                {
                    None
                }
                Some(other) => {
                    this.unresolved(&other, m, fat, &format!("`{key}=` of field `{name}`"));
                    None
                }
            }
        };
        let primary_key = flag(self, "primary_key").unwrap_or(false);
        let nullable_kw = flag(self, "nullable");
        let unique = flag(self, "unique").unwrap_or(false);
        let index = flag(self, "index").unwrap_or(false);
        // SQLModel: nullable when the field is optional and not a primary key.
        let nullable = nullable_kw.unwrap_or(!primary_key && optional);
        let mut fks = Vec::new();
        match kw("foreign_key") {
            None | Some(Value::None) => {}
            Some(Value::Str(target)) => {
                let ondelete = match kw("ondelete") {
                    Some(Value::Str(s)) => Some(s.to_string()),
                    _ => None,
                };
                fks.push(FkDraft {
                    columns: vec![name.to_owned()],
                    targets: vec![Target::Text(target.to_string())],
                    name: None,
                    ondelete,
                    onupdate: None,
                    deferrable: None,
                    initially: None,
                    at: (m, fat),
                });
            }
            Some(other) => {
                self.unresolved(&other, m, fat, &format!("the `foreign_key` of `{name}`"))
            }
        }
        let server_default = match kw("sa_column_kwargs") {
            Some(Value::Dict(d)) => {
                match d.iter().find(|(k, _)| k.as_str() == Some("server_default")) {
                    Some((_, v)) => self.sql_text(v, m, fat).ok().flatten(),
                    None => None,
                }
            }
            _ => None,
        };
        let column = Column {
            name: name.to_owned(),
            ty,
            nullable,
            primary_key,
            autoincrement: None,
            server_default,
            comment: None,
            unique,
        };
        Some((
            ColDraft {
                key: name.to_owned(),
                column,
                type_from_fk: false,
                explicit_nullable: true,
                index,
                sort_order: 0,
                at: (m, at),
            },
            fks,
            Vec::new(),
        ))
    }

    /// SQL text of a `server_default`, an index expression or a check.
    pub(super) fn sql_text(
        &mut self,
        v: &Value<'p>,
        m: usize,
        at: TextSize,
    ) -> Result<Option<String>, ()> {
        match v {
            Value::Str(s) => Ok(Some(format!("'{}'", s.replace('\'', "''")))),
            Value::SqlExpr(s) => Ok(Some(s.to_string())),
            // A member of a `str` enum is a string to SQLAlchemy.
            Value::EnumMember(..) => match self.ev.attr(m, v.clone(), "value", at) {
                Value::Str(s) => Ok(Some(format!("'{}'", s.replace('\'', "''")))),
                other => {
                    self.unresolved(&other, m, at, "the value of this enum member");
                    Err(())
                }
            },
            Value::Call(c) if is_sa(&c.callee) => {
                match c.name() {
                    "text" | "literal_column" => match c.args.first() {
                        Some(Value::Str(s)) => Ok(Some(s.to_string())),
                        other => {
                            let other = other.cloned().unwrap_or(Value::None);
                            self.unresolved(&other, m, at, "the SQL text");
                            Err(())
                        }
                    },
                    "true" => Ok(Some("true".into())),
                    "false" => Ok(Some("false".into())),
                    "null" => Ok(Some("NULL".into())),
                    "FetchedValue" => Ok(None),
                    name if c.callee.contains(".func.") => {
                        if !c.args.is_empty() || !c.kwargs.is_empty() {
                            self.diag("SA102", m, at, format!("SQL function `{name}` with arguments is not rendered statically"))
                            .hints
                            .push(IMPORT_HINT.to_owned());
                            return Err(());
                        }
                        const ANSI: &[&str] = &[
                            "current_timestamp",
                            "current_date",
                            "current_time",
                            "localtime",
                            "localtimestamp",
                            "current_user",
                            "session_user",
                            "user",
                        ];
                        if ANSI.contains(&name.to_lowercase().as_str()) {
                            Ok(Some(name.to_uppercase()))
                        } else {
                            Ok(Some(format!("{name}()")))
                        }
                    }
                    _ => {
                        self.diag(
                            "SA102",
                            m,
                            at,
                            format!("`{}(...)` is not rendered as SQL statically", c.name()),
                        )
                        .hints
                        .push(IMPORT_HINT.to_owned());
                        Err(())
                    }
                }
            }
            Value::Unknown(_) => {
                self.unresolved(v, m, at, "the SQL expression");
                Err(())
            }
            _ => {
                self.diag("SA102", m, at, "A server default must be a string, `text(...)` or a SQL function")
                    .hints
                    .push("SQLAlchemy refuses numbers and booleans here too: write `server_default=\"0\"` or `text(\"0\")`".to_owned());
                Err(())
            }
        }
    }

    /// An optional keyword value `take` accepts (`None` when absent or `None`); any other
    /// value is reported as unresolved.
    fn opt<T>(
        &mut self,
        v: Option<&Value<'p>>,
        m: usize,
        at: TextSize,
        what: &str,
        take: impl Fn(&Value<'p>) -> Option<T>,
    ) -> Option<T> {
        match v {
            None | Some(Value::None) => None,
            Some(v) => {
                let got = take(v);
                if got.is_none() {
                    let other = v.clone();
                    self.unresolved(&other, m, at, what);
                }
                got
            }
        }
    }

    pub(super) fn opt_str(
        &mut self,
        v: Option<&Value<'p>>,
        m: usize,
        at: TextSize,
        what: &str,
    ) -> Option<String> {
        self.opt(v, m, at, what, |v| v.as_str().map(str::to_owned))
    }

    pub(super) fn opt_bool(
        &mut self,
        v: Option<&Value<'p>>,
        m: usize,
        at: TextSize,
        what: &str,
    ) -> Option<bool> {
        self.opt(v, m, at, what, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })
    }

    fn foreign_key(&mut self, c: &Rc<Call<'p>>, columns: Vec<String>) -> Option<FkDraft<'p>> {
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let target = match c.args.first().or_else(|| c.kw("column")) {
            Some(Value::Str(s)) => Target::Text(s.to_string()),
            Some(Value::ColumnRef(r)) => Target::Ref(r.clone()),
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                self.unresolved(&other, m, at, "the target of this `ForeignKey`");
                return None;
            }
        };
        Some(FkDraft {
            columns,
            targets: vec![target],
            name: self.opt_str(c.kw("name"), m, at, "the foreign key name"),
            ondelete: self.opt_str(c.kw("ondelete"), m, at, "`ondelete=`"),
            onupdate: self.opt_str(c.kw("onupdate"), m, at, "`onupdate=`"),
            deferrable: self.opt_bool(c.kw("deferrable"), m, at, "`deferrable=`"),
            initially: self.opt_str(c.kw("initially"), m, at, "`initially=`"),
            at: (m, at),
        })
    }

    pub(super) fn check(&mut self, c: &Rc<Call<'p>>) -> Option<CheckDraft> {
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let sql = match c.args.first().or_else(|| c.kw("sqltext")) {
            Some(Value::Str(s)) => s.to_string(),
            Some(v @ (Value::Call(_) | Value::SqlExpr(_))) => {
                let v = v.clone();
                self.sql_text(&v, m, at).ok().flatten()?
            }
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                if matches!(other, Value::Unknown(_)) {
                    self.unresolved(&other, m, at, "the condition of this `CheckConstraint`");
                } else {
                    self.diag(
                        "SA102",
                        m,
                        at,
                        "Only string conditions of `CheckConstraint` are understood statically",
                    )
                    .hints
                    .push(IMPORT_HINT.to_owned());
                }
                return None;
            }
        };
        // CheckConstraint(sqltext, name=None, ...)
        let name = self.opt_str(c.arg(1, "name"), m, at, "the constraint name");
        Some((name, sql, (m, at)))
    }

    /// Column keys named by constraint arguments: strings or column references.
    pub(super) fn column_keys(
        &mut self,
        t: usize,
        items: &[Value<'p>],
        m: usize,
        at: TextSize,
    ) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for item in items {
            match item {
                Value::Str(s) => out.push(s.to_string()),
                Value::ColumnRef(r) => out.push(self.ref_key(r)),
                Value::Call(c) if is_sa(&c.callee) && c.name() == "Column" => {
                    match c.args.first() {
                        Some(Value::Str(s)) => out.push(s.to_string()),
                        _ => {
                            self.diag(
                                "SA101",
                                m,
                                at,
                                "A `Column` inside a constraint needs a name",
                            )
                            .hints
                            .push(IMPORT_HINT.to_owned());
                            return None;
                        }
                    }
                }
                other => {
                    self.unresolved(other, m, at, "a column of this constraint");
                    return None;
                }
            }
        }
        let _ = t;
        Some(out)
    }

    pub(super) fn ref_key(&self, r: &ColumnRef<'p>) -> String {
        match r {
            ColumnRef::Attr { attr, .. } => attr.clone(),
            ColumnRef::Table { column, .. } => column.clone(),
        }
    }
}
