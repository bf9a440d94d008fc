//! Declarative classes: which role a class plays (mapped, mixin, abstract, single-table
//! child), its table name and arguments, and the columns its attributes declare.

use super::*;

impl<'p> Builder<'_, 'p> {
    pub(super) fn role(&mut self, c: ClassRef<'p>) -> Role<'p> {
        if let Some(r) = self.roles.get(&c.key()) {
            return r.clone();
        }
        self.roles.insert(c.key(), Role::Plain);
        let role = self.compute_role(c);
        self.roles.insert(c.key(), role.clone());
        role
    }

    fn class_meta_ctx(&mut self, c: ClassRef<'p>, flavor: Flavor) -> Ctx<'p> {
        // `metadata = MetaData(...)` or `registry = registry(metadata=...)` on the base.
        let at = c.def.range.start();
        let md = match find_class_attr(c.def, "metadata") {
            Some((Some(expr), _)) => Some(self.ev.eval(c.module, expr, None)),
            _ => match find_class_attr(c.def, "registry") {
                Some((Some(expr), _)) => match self.ev.eval(c.module, expr, None) {
                    Value::Call(r) => Some(metadata_of(&r)),
                    other => Some(other),
                },
                _ => None,
            },
        };
        let md = md.unwrap_or_else(|| eval::implicit_metadata(c.key()));
        let meta = self.meta(&md, c.module, at);
        let annotation_map = match find_class_attr(c.def, "type_annotation_map") {
            Some((Some(expr), _)) => match self.ev.eval(c.module, expr, None) {
                Value::Dict(items) => items.to_vec(),
                other => {
                    self.unresolved(&other, c.module, expr.start(), "the `type_annotation_map`");
                    Vec::new()
                }
            },
            _ => Vec::new(),
        };
        Ctx {
            meta,
            flavor,
            annotation_map: Rc::new(annotation_map),
        }
    }

    fn compute_role(&mut self, c: ClassRef<'p>) -> Role<'p> {
        let at = c.def.range.start();
        let mut ctx: Option<Ctx<'p>> = None;
        let mut is_root = false;
        let mut parent: Option<(ClassRef<'p>, usize)> = None;
        let mut unknown_base = None;
        for decorator in &c.def.decorator_list {
            let v = self.ev.eval(c.module, &decorator.expression, None);
            match &v {
                Value::Call(call) if call.name() == "as_declarative" => {
                    is_root = true;
                    let md = metadata_of(call);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Declarative,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Attr(reg, name)
                    if reg.name() == "registry" && name.starts_with("mapped") =>
                {
                    let md = metadata_of(reg);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Declarative,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                _ => {}
            }
        }
        // `class Base(metaclass=DeclarativeMeta)` with `registry = ...` / `metadata = ...`.
        let metaclass = c.def.arguments.as_ref().and_then(|a| {
            a.keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|n| n.as_str() == "metaclass"))
        });
        if let Some(k) = metaclass
            && matches!(self.ev.eval(c.module, &k.value, None), Value::Lib(p) if is_sa(&p) && last(&p) == "DeclarativeMeta")
        {
            is_root = true;
            ctx = Some(self.class_meta_ctx(c, Flavor::Declarative));
        }
        for base in self.ev.bases(c) {
            match &base {
                Value::Lib(p)
                    if is_sa(p)
                        && matches!(last(p), "DeclarativeBase" | "DeclarativeBaseNoMeta") =>
                {
                    is_root = true;
                    ctx = Some(self.class_meta_ctx(c, Flavor::Declarative));
                }
                Value::Lib(p) if root(p) == "sqlmodel" && last(p) == "SQLModel" => {
                    // `SQLModel.metadata` is one global object.
                    let md = eval::implicit_metadata((usize::MAX, 0));
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::SqlModel,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Call(call)
                    if matches!(call.name(), "declarative_base" | "generate_base") =>
                {
                    let md = metadata_of(call);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Declarative,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Attr(call, attr) if call.name() == "SQLAlchemy" && &**attr == "Model" => {
                    let md = metadata_of(call);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Flask,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Class(p) => match self.role(*p) {
                    Role::Base(x) | Role::Abstract(x) => {
                        if ctx.is_none() {
                            ctx = Some(x);
                        }
                    }
                    Role::Mapped(x, table) => {
                        if parent.is_none() {
                            parent = Some((*p, table));
                        }
                        if ctx.is_none() {
                            ctx = Some(x);
                        }
                    }
                    Role::Failed => return Role::Failed,
                    Role::Plain => {}
                },
                Value::Unknown(_) => unknown_base = Some(base.clone()),
                _ => {}
            }
        }
        let Some(ctx) = ctx else {
            if let Some(base) = unknown_base
                && (find_class_attr(c.def, "__tablename__").is_some()
                    || find_class_attr(c.def, "__table__").is_some())
            {
                self.unresolved(
                    &base,
                    c.module,
                    at,
                    &format!("the base class of `{}`", c.name()),
                );
                return Role::Failed;
            }
            return Role::Plain;
        };
        if is_root {
            return Role::Base(ctx);
        }
        if let Some((Some(expr), _)) = find_class_attr(c.def, "__abstract__")
            && matches!(self.ev.eval(c.module, expr, None), Value::Bool(true))
        {
            return Role::Abstract(ctx);
        }
        if ctx.flavor == Flavor::SqlModel {
            let table = c.def.arguments.as_ref().and_then(|a| {
                a.keywords
                    .iter()
                    .find(|k| k.arg.as_ref().is_some_and(|n| n.as_str() == "table"))
            });
            match table.map(|k| self.ev.eval(c.module, &k.value, None)) {
                Some(Value::Bool(true)) => {}
                None | Some(Value::Bool(false)) => return Role::Abstract(ctx),
                Some(other) => {
                    self.unresolved(&other, c.module, at, "`table=`");
                    return Role::Failed;
                }
            }
        }
        // `__table__ = Table(...)`
        if let Some((Some(expr), _)) = find_class_attr(c.def, "__table__") {
            return match self.ev.eval(c.module, expr, None) {
                Value::Call(call) if call.name() == "Table" => match self.core_table(&call) {
                    Some(t) => Role::Mapped(ctx, t),
                    None => Role::Failed,
                },
                other => {
                    self.unresolved(&other, c.module, expr.start(), "`__table__`");
                    Role::Failed
                }
            };
        }
        let tablename = match self.tablename(c) {
            Ok(t) => t,
            Err(()) => return Role::Failed,
        };
        let tablename = match (tablename, ctx.flavor, parent) {
            (Some(t), _, _) => Some(t),
            (None, Flavor::SqlModel, None) => Some(c.name().to_lowercase()),
            (None, Flavor::Flask, None) => Some(camel_to_snake(c.name())),
            (None, Flavor::Flask, Some(_)) if self.declares_primary_key(c) => {
                Some(camel_to_snake(c.name()))
            }
            (None, _, _) => None,
        };
        match (tablename, parent) {
            (Some(name), _) => {
                let t = self.class_table(c, &ctx, name, parent.map(|p| p.0));
                Role::Mapped(ctx, t)
            }
            (None, Some((p, table))) => {
                // Single-table inheritance: the subclass's columns join the parent's table.
                self.add_class_columns(c, &ctx, table, Some(p), true);
                Role::Mapped(ctx, table)
            }
            (None, None) => {
                self.diag(
                    "SA104",
                    c.module,
                    c.def.name.range.start(),
                    format!("Class `{}` is mapped but has no `__tablename__` or `__table__`", c.name()),
                )
                .hints
                .push("Add `__tablename__ = \"...\"`, or `__abstract__ = True` if it is a base for other models".to_owned());
                Role::Failed
            }
        }
    }

    fn declares_primary_key(&self, c: ClassRef<'p>) -> bool {
        c.def.body.iter().any(|s| {
            let value = match s {
                Stmt::Assign(a) => Some(&*a.value),
                Stmt::AnnAssign(a) => a.value.as_deref(),
                _ => None,
            };
            let Some(Expr::Call(call)) = value else {
                return false;
            };
            call.arguments.keywords.iter().any(|k| {
                k.arg.as_ref().is_some_and(|n| n.as_str() == "primary_key")
                    && matches!(k.value, Expr::BooleanLiteral(ref b) if b.value)
            })
        })
    }

    /// The classes whose attributes a mapped class `c` collects: itself, then every
    /// base in MRO order that is not mapped (mixins, abstract classes, the base).
    fn collected(&mut self, c: ClassRef<'p>) -> Vec<ClassRef<'p>> {
        let mut out = Vec::new();
        for k in self.ev.mro(c) {
            if k == c || !matches!(self.role(k), Role::Mapped(..)) {
                out.push(k);
            }
        }
        out
    }

    fn tablename(&mut self, c: ClassRef<'p>) -> Result<Option<String>, ()> {
        for k in self.collected(c) {
            let Some(found) = find_class_attr(k.def, "__tablename__") else {
                continue;
            };
            let value = match found {
                (Some(expr), _) => {
                    let locals = Locals::class(k);
                    self.ev.eval(k.module, expr, Some(&locals))
                }
                (None, _) => self.declared_attr_value(k, c, "__tablename__"),
            };
            return match value {
                Value::Str(s) => Ok(Some(s.to_string())),
                Value::None => Ok(None),
                other => {
                    self.unresolved(
                        &other,
                        k.module,
                        k.def.range.start(),
                        &format!("the `__tablename__` of `{}`", c.name()),
                    );
                    Err(())
                }
            };
        }
        Ok(None)
    }

    /// Evaluates a `@declared_attr` function `name` of class `k` for class `owner`.
    fn declared_attr_value(
        &mut self,
        k: ClassRef<'p>,
        owner: ClassRef<'p>,
        name: &str,
    ) -> Value<'p> {
        let Some(def) = eval::find_method(k.def, name) else {
            return self
                .ev
                .unknown(k.module, k.def.range.start(), format!("`{name}` not found"));
        };
        let f = eval::FuncRef {
            module: k.module,
            def,
        };
        self.ev.call_function(
            k.module,
            f,
            vec![Value::Class(owner)],
            Vec::new(),
            def.range.start(),
        )
    }

    fn class_table(
        &mut self,
        c: ClassRef<'p>,
        ctx: &Ctx<'p>,
        name: String,
        _parent: Option<ClassRef<'p>>,
    ) -> usize {
        let t = self.drafts.len();
        self.drafts.push(Draft {
            name,
            schema: ctx.meta.schema.clone(),
            comment: None,
            meta: ctx.meta.clone(),
            columns: Vec::new(),
            fks: Vec::new(),
            indexes: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            pk: None,
            source: (c.module, c.def.range.start()),
        });
        // Registered before the columns, so a self-reference (`ForeignKey(Node.id)`) resolves.
        self.roles.insert(c.key(), Role::Mapped(ctx.clone(), t));
        self.add_class_columns(c, ctx, t, None, false);
        self.table_args(c, t);
        t
    }

    fn table_args(&mut self, c: ClassRef<'p>, t: usize) {
        for k in self.collected(c) {
            let Some(found) = find_class_attr(k.def, "__table_args__") else {
                continue;
            };
            let value = match found {
                (Some(expr), _) => {
                    let locals = Locals::class(c);
                    self.ev.eval(k.module, expr, Some(&locals))
                }
                (None, _) => self.declared_attr_value(k, c, "__table_args__"),
            };
            let at = k.def.range.start();
            match value {
                Value::Seq(items) => {
                    for item in items.iter() {
                        match item {
                            Value::Dict(d) => self.table_kwargs(t, d, k.module, at),
                            other => self.table_item(t, other, k.module, at),
                        }
                    }
                }
                Value::Dict(d) => self.table_kwargs(t, &d, k.module, at),
                Value::None => {}
                other => self.unresolved(
                    &other,
                    k.module,
                    at,
                    &format!("the `__table_args__` of `{}`", c.name()),
                ),
            }
            return;
        }
    }

    fn table_kwargs(&mut self, t: usize, items: &[(Value<'p>, Value<'p>)], m: usize, at: TextSize) {
        for (k, v) in items {
            match (k.as_str(), v) {
                (Some("schema"), Value::Str(s)) => self.drafts[t].schema = Some(s.to_string()),
                (Some("schema"), Value::None) => self.drafts[t].schema = None,
                (Some("comment"), Value::Str(s)) => self.drafts[t].comment = Some(s.to_string()),
                (Some("schema" | "comment"), other) => {
                    let other = other.clone();
                    self.unresolved(&other, m, at, "a table option");
                }
                _ => {}
            }
        }
    }

    fn add_class_columns(
        &mut self,
        c: ClassRef<'p>,
        ctx: &Ctx<'p>,
        t: usize,
        sti_parent: Option<ClassRef<'p>>,
        own_only: bool,
    ) {
        let classes = if own_only {
            // Single-table inheritance: the subclass's own attributes and its mixins',
            // but not what the parent (already in the table) declared.
            let parent_mro: HashSet<Site> = sti_parent
                .map(|p| self.ev.mro(p).iter().map(|k| k.key()).collect())
                .unwrap_or_default();
            self.collected(c)
                .into_iter()
                .filter(|k| !parent_mro.contains(&k.key()))
                .collect()
        } else {
            self.collected(c)
        };
        // SQLAlchemy collects the class's own attributes first, then its bases' (the first
        // definition of a name wins); pydantic (SQLModel) puts base fields first, and a
        // redefinition keeps the base's position.
        let mut attrs: Vec<(&'p str, ClassRef<'p>, &'p Stmt)> = Vec::new();
        let mut positions: HashMap<&'p str, usize> = HashMap::new();
        let pydantic = ctx.flavor == Flavor::SqlModel;
        let ordered: Vec<ClassRef<'p>> = if pydantic {
            classes.into_iter().rev().collect()
        } else {
            classes
        };
        for k in ordered {
            for stmt in &k.def.body {
                let Some(name) = attr_name(stmt) else {
                    continue;
                };
                if name.starts_with("__") {
                    continue;
                }
                match positions.get(name) {
                    Some(&i) if pydantic => attrs[i] = (name, k, stmt),
                    Some(_) => {}
                    None => {
                        positions.insert(name, attrs.len());
                        attrs.push((name, k, stmt));
                    }
                }
            }
        }
        let mut new_columns = Vec::new();
        for (name, k, stmt) in attrs {
            let sqlmodel_class =
                matches!(self.role(k).ctx(), Some(x) if x.flavor == Flavor::SqlModel) || pydantic;
            if let Some(col) = self.attribute(c, k, ctx, stmt, name, sqlmodel_class) {
                new_columns.push(col);
            }
        }
        // `sort_order` (SQLAlchemy 2.0) reorders; the sort is stable.
        new_columns.sort_by_key(|c| c.0.sort_order);
        let before = self.lens(t);
        for (col, fks, checks) in new_columns {
            let draft = &mut self.drafts[t];
            if draft.column_index(&col.key).is_some() && own_only {
                continue;
            }
            draft.fks.extend(fks);
            draft.checks.extend(checks);
            draft.columns.push(col);
        }
        if own_only {
            self.record(c.module, t, before);
        }
    }

    /// One class attribute: a column (with its foreign keys and checks), or nothing.
    pub(super) fn attribute(
        &mut self,
        owner: ClassRef<'p>,
        k: ClassRef<'p>,
        ctx: &Ctx<'p>,
        stmt: &'p Stmt,
        name: &str,
        sqlmodel: bool,
    ) -> Option<(ColDraft, Vec<FkDraft<'p>>, Vec<CheckDraft>)> {
        let locals = Locals::class(k);
        let (annotation, value, value_expr): (
            Option<&'p Expr>,
            Option<Value<'p>>,
            Option<&'p Expr>,
        ) = match stmt {
            Stmt::Assign(a) => (
                None,
                Some(self.ev.eval(k.module, &a.value, Some(&locals))),
                Some(&*a.value),
            ),
            Stmt::AnnAssign(a) => {
                if is_classvar(&a.annotation) {
                    return None;
                }
                let v = a
                    .value
                    .as_ref()
                    .map(|v| self.ev.eval(k.module, v, Some(&locals)));
                (Some(&*a.annotation), v, a.value.as_deref())
            }
            Stmt::FunctionDef(f) => {
                let is_declared = f.decorator_list.iter().any(|d| {
                    let e = match &d.expression {
                        Expr::Call(c) => c.func.as_ref(),
                        other => other,
                    };
                    let text = match e {
                        Expr::Name(n) => n.id.as_str(),
                        Expr::Attribute(a) => match a.value.as_ref() {
                            Expr::Name(n) if n.id.as_str() == "declared_attr" => "declared_attr",
                            _ => a.attr.as_str(),
                        },
                        _ => "",
                    };
                    text == "declared_attr"
                });
                if !is_declared {
                    return None;
                }
                (
                    f.returns.as_deref(),
                    Some(self.declared_attr_value(k, owner, name)),
                    None,
                )
            }
            _ => return None,
        };
        let at = stmt.start();
        let m = k.module;
        if sqlmodel {
            let annotation = annotation?;
            return self.sqlmodel_field(k, ctx, name, annotation, value, at);
        }
        match value {
            Some(Value::Call(call)) if is_sa(&call.callee) => match call.name() {
                "Column" => self.sa_column(ctx, &call, name, None, m, false),
                "mapped_column" => self.sa_column(ctx, &call, name, annotation, m, true),
                "deferred" | "column_property" => match call.args.first() {
                    Some(Value::Call(inner)) if inner.name() == "Column" => {
                        let inner = inner.clone();
                        self.sa_column(ctx, &inner, name, None, m, false)
                    }
                    _ => None,
                },
                _ => None,
            },
            Some(v @ Value::Unknown(_)) => {
                let flagged = match value_expr {
                    Some(Expr::Call(call)) => self.may_make_column(k, &call.func),
                    Some(Expr::Name(_) | Expr::Attribute(_)) | None => true,
                    Some(_) => false,
                };
                if flagged {
                    self.unresolved(
                        &v,
                        m,
                        at,
                        &format!("whether `{}.{name}` is a column", owner.name()),
                    );
                }
                None
            }
            Some(_) => None,
            None => {
                // `x: Mapped[int]` without a value.
                let annotation = annotation?;
                let empty = Rc::new(Call {
                    callee: "sqlalchemy.orm.mapped_column".into(),
                    recv: None,
                    args: Vec::new(),
                    kwargs: Vec::new(),
                    site: (m, at.to_u32()),
                });
                if self.is_mapped_annotation(m, annotation, k) {
                    self.sa_column(ctx, &empty, name, Some(annotation), m, true)
                } else {
                    None
                }
            }
        }
    }

    /// Whether a call of `func` in the body of `k`, whose result could not be
    /// evaluated, may make a column: SQLAlchemy's own callables and project functions
    /// that spell a column constructor may; other libraries' calls, builtins and
    /// methods of plain values (`conf.getint(...)`, `"x".join(...)`) do not.
    fn may_make_column(&self, k: ClassRef<'p>, func: &Expr) -> bool {
        let locals = Locals::class(k);
        let source_builds_column = |f: &eval::FuncRef<'p>| {
            let text = &self.ev.project.modules[f.module].parsed().text;
            let body = text
                .get(f.def.range().start().to_usize()..f.def.range().end().to_usize())
                .unwrap_or("");
            [
                "Column(",
                "mapped_column(",
                "column_property(",
                "deferred(",
                "Field(",
            ]
            .iter()
            .any(|c| body.contains(c))
        };
        match self.ev.eval(k.module, func, Some(&locals)) {
            Value::Lib(p) => is_sa(&p),
            Value::Attr(call, _) | Value::Call(call) => is_sa(&call.callee),
            Value::Builtin(_) | Value::Method(_) | Value::Opaque => false,
            Value::Function(f) => source_builds_column(&f),
            Value::Bound(b) => source_builds_column(&b.0),
            // `conf.getint(...)` on an object that could not be evaluated: a method
            // named like no column constructor.
            Value::Unknown(_) if matches!(func, Expr::Attribute(a) if !matches!(a.attr.as_str(),
                "Column" | "mapped_column" | "column_property" | "deferred" | "Field" | "composite")) => false,
            Value::Class(c) => self.ev.mro(c).iter().any(|x| {
                self.ev.bases(*x).iter().any(|b| {
                    matches!(b, Value::Lib(p) if is_sa(p) && matches!(last(p), "Column" | "MappedColumn"))
                })
            }),
            _ => true,
        }
    }

    fn is_mapped_annotation(&self, m: usize, annotation: &Expr, k: ClassRef<'p>) -> bool {
        let locals = Locals::class(k);
        match self.annotation_value(m, annotation, &locals) {
            Value::Generic(g) => matches!(&g.0, Value::Lib(p) if last(p) == "Mapped"),
            _ => false,
        }
    }

    fn annotation_value(&self, m: usize, annotation: &Expr, locals: &Locals<'p>) -> Value<'p> {
        match annotation {
            Expr::StringLiteral(s) => {
                self.string_annotation(m, s.value.to_str(), annotation.start(), locals)
            }
            other => self.ev.eval(m, other, Some(locals)),
        }
    }

    fn string_annotation(
        &self,
        m: usize,
        text: &str,
        at: TextSize,
        locals: &Locals<'p>,
    ) -> Value<'p> {
        match ruff_python_parser::parse_expression(text) {
            Ok(parsed) => match self.ev.eval(m, parsed.expr(), Some(locals)) {
                Value::Unknown(u) => self.ev.unknown(m, at, u.message.clone()),
                Value::Generic(g) => {
                    // Forward references inside (`Mapped["Optional[int]"]`, `Mapped[Optional["X"]]`).
                    let args = g.1.iter().map(|a| match a {
                        Value::Str(s) => self.string_annotation(m, s, at, locals),
                        other => other.clone(),
                    });
                    Value::Generic(Rc::new((g.0.clone(), args.collect())))
                }
                other => other,
            },
            Err(e) => self
                .ev
                .unknown(m, at, format!("Cannot parse the annotation: {}", e.error)),
        }
    }

    /// Splits `Mapped[Optional[X]]` into (X, optional); `Annotated[X, mapped_column(...)]`
    /// also yields the `mapped_column` defaults.
    pub(super) fn unwrap_annotation(
        &self,
        m: usize,
        annotation: &Expr,
        locals: &Locals<'p>,
    ) -> (Value<'p>, bool, Option<Rc<Call<'p>>>) {
        let mut v = self.annotation_value(m, annotation, locals);
        let mut optional = false;
        let mut defaults = None;
        for _ in 0..6 {
            let next = match &v {
                Value::Str(s) => self.string_annotation(m, s, annotation.start(), locals),
                Value::Generic(g) => match (&g.0, g.1.as_slice()) {
                    (Value::Lib(p), [inner]) if matches!(last(p), "Mapped" | "Optional") => {
                        if last(p) == "Optional" {
                            optional = true;
                        }
                        inner.clone()
                    }
                    (Value::Lib(p), items) if last(p) == "Union" => {
                        let (nones, rest): (Vec<_>, Vec<_>) =
                            items.iter().partition(|x| matches!(x, Value::None));
                        if !nones.is_empty() {
                            optional = true;
                        }
                        match rest.as_slice() {
                            [one] => (*one).clone(),
                            _ => return (v, optional, defaults),
                        }
                    }
                    (Value::Lib(p), [inner, extras @ ..]) if last(p) == "Annotated" => {
                        for e in extras {
                            if let Value::Call(c) = e
                                && c.name() == "mapped_column"
                            {
                                defaults = Some(c.clone());
                            }
                        }
                        inner.clone()
                    }
                    _ => return (v, optional, defaults),
                },
                Value::Union(items) => {
                    let (nones, rest): (Vec<_>, Vec<_>) =
                        items.iter().partition(|x| matches!(x, Value::None));
                    if !nones.is_empty() {
                        optional = true;
                    }
                    match rest.as_slice() {
                        [one] => (*one).clone(),
                        _ => return (v, optional, defaults),
                    }
                }
                _ => return (v, optional, defaults),
            };
            v = next;
        }
        (v, optional, defaults)
    }
}
