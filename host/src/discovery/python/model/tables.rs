//! Table items: constraints and indexes from `__table_args__` or `Table(...)`, standalone
//! `Index(...)` statements and Core `Table(...)` calls.

use super::*;

impl<'p> Builder<'_, 'p> {
    /// A constraint or index from `__table_args__` or `Table(...)`.
    pub(super) fn table_item(&mut self, t: usize, item: &Value<'p>, m: usize, at: TextSize) {
        let Value::Call(c) = item else {
            if !matches!(item, Value::None) {
                self.unresolved(item, m, at, "an entry of `__table_args__`");
            }
            return;
        };
        let (cm, cat) = (c.site.0, TextSize::new(c.site.1));
        if c.name() == "ddl_if" {
            if let Some((index, dialects)) = self.ddl_if(c)
                && let Some(mut ix) = self.index(&index)
            {
                ix.dialects = dialects;
                self.drafts[t].indexes.push(ix);
            }
            return;
        }
        match c.name() {
            "UniqueConstraint" => {
                if let Some(cols) = self.column_keys(t, &c.args, cm, cat) {
                    let name = self.opt_str(c.kw("name"), cm, cat, "the constraint name");
                    self.drafts[t].uniques.push((name, cols, (cm, cat)));
                }
            }
            "PrimaryKeyConstraint" => {
                if let Some(cols) = self.column_keys(t, &c.args, cm, cat) {
                    let name = self.opt_str(c.kw("name"), cm, cat, "the constraint name");
                    self.drafts[t].pk = Some((name, cols, (cm, cat)));
                }
            }
            "CheckConstraint" => {
                if let Some(ck) = self.check(c) {
                    self.drafts[t].checks.push(ck);
                }
            }
            "ForeignKeyConstraint" => {
                let cols = match c.args.first().or_else(|| c.kw("columns")) {
                    Some(Value::Seq(items)) => self.column_keys(t, items, cm, cat),
                    other => {
                        let other = other.cloned().unwrap_or(Value::None);
                        self.unresolved(
                            &other,
                            cm,
                            cat,
                            "the columns of this `ForeignKeyConstraint`",
                        );
                        None
                    }
                };
                let targets = match c.args.get(1).or_else(|| c.kw("refcolumns")) {
                    Some(Value::Seq(items)) => {
                        let mut out = Vec::new();
                        for i in items.iter() {
                            match i {
                                Value::Str(s) => out.push(Target::Text(s.to_string())),
                                Value::ColumnRef(r) => out.push(Target::Ref(r.clone())),
                                other => {
                                    self.unresolved(other, cm, cat, "a referred column");
                                    return;
                                }
                            }
                        }
                        Some(out)
                    }
                    other => {
                        let other = other.cloned().unwrap_or(Value::None);
                        self.unresolved(
                            &other,
                            cm,
                            cat,
                            "the referred columns of this `ForeignKeyConstraint`",
                        );
                        None
                    }
                };
                if let (Some(columns), Some(targets)) = (cols, targets) {
                    let fk = FkDraft {
                        columns,
                        targets,
                        // ForeignKeyConstraint(columns, refcolumns, name=None,
                        // onupdate=None, ondelete=None, deferrable=None, initially=None, ...)
                        name: self.opt_str(c.arg(2, "name"), cm, cat, "the constraint name"),
                        ondelete: self.opt_str(c.arg(4, "ondelete"), cm, cat, "`ondelete=`"),
                        onupdate: self.opt_str(c.arg(3, "onupdate"), cm, cat, "`onupdate=`"),
                        deferrable: self.opt_bool(c.arg(5, "deferrable"), cm, cat, "`deferrable=`"),
                        initially: self.opt_str(c.arg(6, "initially"), cm, cat, "`initially=`"),
                        at: (cm, cat),
                    };
                    self.drafts[t].fks.push(fk);
                }
            }
            "Index" => {
                if let Some(ix) = self.index(c) {
                    self.drafts[t].indexes.push(ix);
                }
            }
            _ if !is_sa(&c.callee) => {
                self.diag(
                    "SA102",
                    cm,
                    cat,
                    format!(
                        "`{}` in table arguments is not understood statically",
                        c.callee
                    ),
                )
                .hints
                .push(IMPORT_HINT.to_owned());
            }
            _ => {}
        }
    }

    pub(super) fn index(&mut self, c: &Rc<Call<'p>>) -> Option<IndexDraft> {
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let name = match c.args.first() {
            Some(Value::Str(s)) => Some(s.to_string()),
            Some(Value::None) => None,
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                self.unresolved(&other, m, at, "the index name");
                return None;
            }
        };
        let mut columns = Vec::new();
        for item in c.args.iter().skip(1) {
            match item {
                Value::Str(s) => columns.push(IndexCol::Key(s.to_string())),
                Value::ColumnRef(r) => columns.push(IndexCol::Key(self.ref_key(r))),
                Value::Call(e) if is_sa(&e.callee) && e.name() == "text" => {
                    let e = item.clone();
                    columns.push(IndexCol::Expr(self.sql_text(&e, m, at).ok().flatten()?));
                }
                Value::Call(e) if is_sa(&e.callee) && matches!(e.name(), "desc" | "asc") => {
                    let Some(Value::ColumnRef(r)) = e.args.first() else {
                        let other = e.args.first().cloned().unwrap_or(Value::None);
                        self.unresolved(&other, m, at, "an index column");
                        return None;
                    };
                    let col = self.column_name_of_ref(r);
                    columns.push(IndexCol::Expr(format!("{col} {}", e.name().to_uppercase())));
                }
                Value::Call(e) if e.callee.contains(".func.") => {
                    let mut parts = Vec::new();
                    for a in &e.args {
                        match a {
                            Value::ColumnRef(r) => parts.push(self.column_name_of_ref(r)),
                            Value::Call(c)
                                if is_sa(&c.callee)
                                    && c.name() == "Column"
                                    && matches!(c.args.first(), Some(Value::Str(_))) =>
                            {
                                if let Some(Value::Str(name)) = c.args.first() {
                                    parts.push(name.to_string());
                                }
                            }
                            Value::Call(t) if is_sa(&t.callee) && t.name() == "text" => {
                                match t.args.first() {
                                    Some(Value::Str(s)) => parts.push(s.to_string()),
                                    other => {
                                        let other = other.cloned().unwrap_or(Value::None);
                                        self.unresolved(
                                            &other,
                                            m,
                                            at,
                                            "an index expression argument",
                                        );
                                        return None;
                                    }
                                }
                            }
                            other => {
                                self.unresolved(other, m, at, "an index expression argument");
                                return None;
                            }
                        }
                    }
                    columns.push(IndexCol::Expr(format!(
                        "{}({})",
                        e.name(),
                        parts.join(", ")
                    )));
                }
                other => {
                    self.unresolved(other, m, at, "an index column");
                    return None;
                }
            }
        }
        let unique = match c.kw("unique") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                let other = other.clone();
                self.unresolved(&other, m, at, "`unique=`");
                false
            }
        };
        let where_ = match c.kw("postgresql_where").or_else(|| c.kw("sqlite_where")) {
            None | Some(Value::None) => None,
            Some(v) => {
                let v = v.clone();
                match v {
                    Value::Str(s) => Some(s.to_string()),
                    other => self.sql_text(&other, m, at).ok().flatten(),
                }
            }
        };
        Some(IndexDraft {
            name,
            columns,
            unique,
            where_,
            dialects: Vec::new(),
            at: (m, at),
        })
    }

    /// The column name a reference points at (its key when the table is not known yet).
    fn column_name_of_ref(&mut self, r: &ColumnRef<'p>) -> String {
        if let Some((t, key)) = self.resolve_ref(r)
            && let Some(i) = self.drafts[t].column_index(&key)
        {
            return self.drafts[t].columns[i].column.name.clone();
        }
        self.ref_key(r)
    }

    /// The draft and column key a reference points at.
    fn resolve_ref(&mut self, r: &ColumnRef<'p>) -> Option<(usize, String)> {
        match r {
            ColumnRef::Attr { class, attr } => match self.role(*class) {
                Role::Mapped(_, t) => Some((t, attr.clone())),
                _ => None,
            },
            ColumnRef::Table { table, column } => {
                let t = self.core_table(table)?;
                Some((t, column.clone()))
            }
        }
    }

    pub(super) fn standalone_index(&mut self, m: usize, expr: &'p Expr) {
        let v = self.ev.eval(m, expr, None);
        let (c, dialects) = match &v {
            Value::Call(c) if is_sa(&c.callee) && c.name() == "Index" => (c.clone(), Vec::new()),
            Value::Call(c)
                if c.name() == "ddl_if" && c.recv.as_ref().is_some_and(|r| is_sa(&r.callee)) =>
            {
                let Some((index, dialects)) = self.ddl_if(c) else {
                    return;
                };
                // `ix = Index(...)` earlier, then `ix.ddl_if(...)`: the same index.
                if let Some(&(t, i)) = self.standalone_indexes.get(&index.site) {
                    self.drafts[t].indexes[i].dialects = dialects;
                    return;
                }
                (index, dialects)
            }
            Value::Unknown(_) => return self.unresolved(&v, m, expr.start(), "this `Index(...)`"),
            _ => return,
        };
        let table = c.args.iter().skip(1).find_map(|a| match a {
            Value::ColumnRef(r) => Some(r.clone()),
            Value::Call(e) => e.args.iter().find_map(|x| match x {
                Value::ColumnRef(r) => Some(r.clone()),
                _ => None,
            }),
            _ => None,
        });
        let Some(r) = table else {
            self.diag(
                "SA101",
                m,
                expr.start(),
                "Cannot tell which table this `Index` belongs to",
            )
            .hints
            .push("Name the columns as `Model.column` or `table.c.column`".to_owned());
            return;
        };
        let Some((t, _)) = self.resolve_ref(&r) else {
            self.diag(
                "SA101",
                m,
                expr.start(),
                "This `Index` refers to a class or table that is not mapped",
            )
            .hints
            .push(IMPORT_HINT.to_owned());
            return;
        };
        if let Some(mut ix) = self.index(&c) {
            ix.dialects = dialects;
            let before = self.lens(t);
            self.drafts[t].indexes.push(ix);
            self.standalone_indexes
                .insert(c.site, (t, self.drafts[t].indexes.len() - 1));
            self.record(m, t, before);
        }
    }

    /// `Index(...).ddl_if(dialect=...)`: the index and the dialects it exists on. A
    /// condition decided when the DDL runs (`callable_=`), or `ddl_if` on anything but
    /// an index, is a diagnostic.
    fn ddl_if(&mut self, c: &Rc<Call<'p>>) -> Option<(Rc<Call<'p>>, Vec<String>)> {
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let base = c.recv.clone()?;
        if base.name() != "Index" {
            self.diag(
                "SA102",
                m,
                at,
                format!(
                    "`{}(...).ddl_if(...)` is not understood statically: only an `Index` may be limited to some dialects",
                    base.name()
                ),
            )
            .hints
            .push(IMPORT_HINT.to_owned());
            return None;
        }
        if c.kw("callable_").is_some() || c.args.len() > 1 {
            self.diag(
                "SA102",
                m,
                at,
                "`ddl_if(callable_=...)` decides when the DDL runs, which static discovery cannot know",
            )
            .hints
            .push("Limit the index with `ddl_if(dialect=\"postgresql\")` (a name or a tuple of names), or use the `sqlalchemy-import` backend".to_owned());
            return None;
        }
        let mut dialects = Vec::new();
        match c.arg(0, "dialect") {
            None | Some(Value::None) => {}
            Some(Value::Str(s)) => dialects.push(s.to_string()),
            Some(Value::Seq(items)) if items.iter().all(|i| matches!(i, Value::Str(_))) => {
                dialects.extend(items.iter().filter_map(|i| match i {
                    Value::Str(s) => Some(s.to_string()),
                    _ => None,
                }));
            }
            Some(other) => {
                let other = other.clone();
                self.unresolved(&other, m, at, "the dialects of `ddl_if(dialect=...)`");
                return None;
            }
        }
        Some((base, dialects))
    }

    /// A Core `Table("name", metadata, Column(...), ...)`; built once per call site.
    pub(super) fn core_table(&mut self, c: &Rc<Call<'p>>) -> Option<usize> {
        if let Some(&t) = self.core_tables.get(&table_key(c)) {
            return Some(t);
        }
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let name = match c.args.first() {
            Some(Value::Str(s)) => s.to_string(),
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                self.unresolved(&other, m, at, "the table name");
                return None;
            }
        };
        if c.kw("autoload_with").is_some() || matches!(c.kw("autoload"), Some(Value::Bool(true))) {
            self.diag("SA102", m, at, format!("Table `{name}` is reflected from the database (`autoload_with`)"))
                .hints
                .push("A reflected table describes the database, not the models: leave it out of discovery".to_owned());
            return None;
        }
        let flask = c.recv.as_ref().filter(|r| r.name() == "SQLAlchemy");
        let (md, first_item) = match (c.args.get(1), flask) {
            (Some(v @ Value::Call(x)), _) if x.name() == "MetaData" => (v.clone(), 2),
            (_, Some(db)) => (metadata_of(db), 1),
            (other, None) => (other.cloned().unwrap_or(Value::None), 2),
        };
        let meta = self.meta(&md, m, at);
        let t = self.drafts.len();
        self.core_tables.insert(table_key(c), t);
        self.drafts.push(Draft {
            name,
            schema: meta.schema.clone(),
            comment: None,
            meta,
            columns: Vec::new(),
            fks: Vec::new(),
            indexes: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            pk: None,
            source: (m, at),
        });
        let ctx = Ctx {
            meta: self.drafts[t].meta.clone(),
            flavor: Flavor::Declarative,
            annotation_map: Rc::new(Vec::new()),
        };
        for item in c.args.iter().skip(first_item) {
            match item {
                Value::Call(col) if is_sa(&col.callee) && col.name() == "Column" => {
                    let key = match col.args.first().or_else(|| col.kw("name")) {
                        Some(Value::Str(s)) => s.to_string(),
                        other => {
                            let other = other.cloned().unwrap_or(Value::None);
                            self.unresolved(
                                &other,
                                col.site.0,
                                TextSize::new(col.site.1),
                                "the column name",
                            );
                            continue;
                        }
                    };
                    if let Some((col, fks, checks)) =
                        self.sa_column(&ctx, col, &key, None, m, false)
                    {
                        self.drafts[t].fks.extend(fks);
                        self.drafts[t].checks.extend(checks);
                        self.drafts[t].columns.push(col);
                    }
                }
                other => self.table_item(t, other, m, at),
            }
        }
        let schema = self.opt_str(c.kw("schema"), m, at, "the table schema");
        if schema.is_some() {
            self.drafts[t].schema = schema;
        }
        self.drafts[t].comment = self.opt_str(c.kw("comment"), m, at, "the table comment");
        Some(t)
    }
}
