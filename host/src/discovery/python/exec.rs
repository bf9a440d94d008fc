//! Function bodies: the statements model helpers are written in, run without side
//! effects on evaluated values.
//!
//! Input: a project function (or method, `@declared_attr`, `__init__`) and its
//! evaluated arguments. Output: its return value, or an unknown naming the statement
//! that could not be run. Runs assignments (with unpacking, `+=`, item and `self.x`
//! targets), `if`/`elif`/`else` on decidable conditions, `for` and `while` loops with
//! `break`/`continue`/`else`, early `return`, `try` bodies, `with` bodies, nested
//! `def`/`class`, local imports and `del`. A `raise` that is reached, a condition that
//! cannot be decided or a statement outside this subset stops the call: the caller
//! gets an unknown, never a guess. Every statement costs one step of the evaluator's
//! budget, so a loop that does not end is stopped with a diagnostic naming it.

use std::rc::Rc;

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::builtins;
use super::eval::{Evaluator, FuncRef, Locals, Value};

/// How a block ended.
pub enum Flow<'p> {
    Next,
    Return(Value<'p>),
    Break,
    Continue,
}

/// A block stopped by something that cannot be run statically (an unknown value).
type Run<'p> = Result<Flow<'p>, Value<'p>>;

impl<'p> Evaluator<'p> {
    /// Calls project function `f` with evaluated arguments.
    pub fn call_function(
        &self,
        m: usize,
        f: FuncRef<'p>,
        args: Vec<Value<'p>>,
        kwargs: Vec<(String, Value<'p>)>,
        at: TextSize,
    ) -> Value<'p> {
        let name = f.def.name.as_str();
        let locals = match self.bind_parameters(m, f, args, kwargs, at) {
            Ok(l) => l,
            Err(u) => return u,
        };
        if !self.enter() {
            return self.unknown(m, at, format!("`{name}` calls itself too deeply"));
        }
        let v = match self.in_call(name, || self.exec_block(f.module, &f.def.body, &locals)) {
            Ok(Flow::Return(v)) => v,
            Ok(Flow::Next) => Value::None,
            Ok(Flow::Break | Flow::Continue) => self.unknown(
                f.module,
                f.def.range.start(),
                "`break` or `continue` outside a loop",
            ),
            Err(u) => u,
        };
        self.leave();
        v
    }

    /// The locals of a call of `f`: parameters bound as Python binds them.
    fn bind_parameters(
        &self,
        m: usize,
        f: FuncRef<'p>,
        args: Vec<Value<'p>>,
        mut kwargs: Vec<(String, Value<'p>)>,
        at: TextSize,
    ) -> Result<Locals<'p>, Value<'p>> {
        let name = f.def.name.as_str();
        let p = &f.def.parameters;
        let locals = Locals::default();
        let positional: Vec<_> = p.posonlyargs.iter().chain(p.args.iter()).collect();
        let mut args = args.into_iter();
        for param in &positional {
            let pname = param.parameter.name.as_str();
            let value = match args.next() {
                Some(v) => v,
                None => match kwargs.iter().position(|(k, _)| k == pname) {
                    Some(i) => kwargs.remove(i).1,
                    None => match &param.default {
                        Some(d) => self.eval(f.module, d, None),
                        None => {
                            return Err(self.unknown(
                                m,
                                at,
                                format!("Missing argument `{pname}` for `{name}`"),
                            ));
                        }
                    },
                },
            };
            locals.set(pname, value);
        }
        let rest: Vec<Value<'p>> = args.collect();
        match &p.vararg {
            Some(v) => locals.set(v.name.as_str(), Value::Seq(Rc::new(rest))),
            None if !rest.is_empty() => {
                return Err(self.unknown(m, at, format!("Too many arguments for `{name}`")));
            }
            None => {}
        }
        for param in &p.kwonlyargs {
            let pname = param.parameter.name.as_str();
            let value = match kwargs.iter().position(|(k, _)| k == pname) {
                Some(i) => kwargs.remove(i).1,
                None => match &param.default {
                    Some(d) => self.eval(f.module, d, None),
                    None => {
                        return Err(self.unknown(
                            m,
                            at,
                            format!("Missing argument `{pname}` for `{name}`"),
                        ));
                    }
                },
            };
            locals.set(pname, value);
        }
        match &p.kwarg {
            Some(k) => {
                let dict = kwargs
                    .into_iter()
                    .map(|(k, v)| (Value::Str(k.into()), v))
                    .collect();
                locals.set(k.name.as_str(), Value::Dict(Rc::new(dict)));
            }
            None if !kwargs.is_empty() => {
                return Err(self.unknown(
                    m,
                    at,
                    format!("Unexpected keyword argument `{}` for `{name}`", kwargs[0].0),
                ));
            }
            None => {}
        }
        Ok(locals)
    }

    /// Runs `body` in module `m` with `locals`.
    pub fn exec_block(&self, m: usize, body: &'p [Stmt], locals: &Locals<'p>) -> Run<'p> {
        for (i, stmt) in body.iter().enumerate() {
            match self.exec_stmt(m, stmt, locals) {
                Ok(Flow::Next) => {}
                Ok(other) => return Ok(other),
                Err(u) => {
                    if let Stmt::If(s) = stmt
                        && let Some(flow) = self.both_ways(m, s, &body[i + 1..], locals)
                    {
                        return Ok(flow);
                    }
                    return Err(u);
                }
            }
        }
        Ok(Flow::Next)
    }

    /// An `if` whose condition depends on the run time (a configured database URL):
    /// every way through it and the rest of the block, each on its own copy of the
    /// locals. When all return the same schema (they differ only in dialect options
    /// such as `mysql_engine`), that is the result; otherwise `None`.
    fn both_ways(
        &self,
        m: usize,
        s: &'p ruff_python_ast::StmtIf,
        rest: &'p [Stmt],
        locals: &Locals<'p>,
    ) -> Option<Flow<'p>> {
        let mut branches: Vec<&'p [Stmt]> = vec![&s.body];
        branches.extend(s.elif_else_clauses.iter().map(|c| &c.body[..]));
        if s.elif_else_clauses.last().is_none_or(|c| c.test.is_some()) {
            branches.push(&[]);
        }
        let mut result: Option<Value<'p>> = None;
        for branch in branches {
            let scope = locals.child();
            let returned = match self.exec_block(m, branch, &scope).ok()? {
                Flow::Return(v) => v,
                Flow::Next => match self.exec_block(m, rest, &scope).ok()? {
                    Flow::Return(v) => v,
                    Flow::Next => Value::None,
                    Flow::Break | Flow::Continue => return None,
                },
                Flow::Break | Flow::Continue => return None,
            };
            match &result {
                None => result = Some(returned),
                Some(first) => {
                    if !same_schema(first, &returned) {
                        return None;
                    }
                }
            }
        }
        result.map(|v| Flow::Return(without_dialect_options(&v)))
    }

    fn stop(&self, m: usize, at: TextSize, message: impl Into<String>) -> Value<'p> {
        self.unknown(m, at, message)
    }

    fn exec_stmt(&self, m: usize, stmt: &'p Stmt, locals: &Locals<'p>) -> Run<'p> {
        if let Some(u) = self.step(m, stmt.start()) {
            return Err(u);
        }
        match stmt {
            Stmt::Expr(e) => {
                if matches!(
                    e.value.as_ref(),
                    Expr::StringLiteral(_) | Expr::EllipsisLiteral(_)
                ) {
                    return Ok(Flow::Next);
                }
                match self.eval(m, &e.value, Some(locals)) {
                    u @ Value::Unknown(_) => Err(u),
                    _ => Ok(Flow::Next),
                }
            }
            Stmt::Assign(a) => {
                let v = self.eval(m, &a.value, Some(locals));
                if v.is_unknown() {
                    return Err(v);
                }
                for target in &a.targets {
                    self.assign(m, target, v.clone(), locals)?;
                }
                Ok(Flow::Next)
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.eval(m, value, Some(locals));
                    if v.is_unknown() {
                        return Err(v);
                    }
                    self.assign(m, &a.target, v, locals)?;
                }
                Ok(Flow::Next)
            }
            Stmt::AugAssign(a) => {
                let old = self.eval(m, &a.target, Some(locals));
                let right = self.eval(m, &a.value, Some(locals));
                let v = self.binop(m, old, a.op, right, a.range.start());
                if v.is_unknown() {
                    return Err(v);
                }
                self.assign(m, &a.target, v, locals)?;
                Ok(Flow::Next)
            }
            Stmt::Return(r) => Ok(Flow::Return(match &r.value {
                Some(v) => self.eval(m, v, Some(locals)),
                None => Value::None,
            })),
            Stmt::Pass(_) => Ok(Flow::Next),
            Stmt::Break(_) => Ok(Flow::Break),
            Stmt::Continue(_) => Ok(Flow::Continue),
            Stmt::If(s) => {
                if self.condition(m, &s.test, locals)? {
                    return self.exec_block(m, &s.body, locals);
                }
                for clause in &s.elif_else_clauses {
                    let taken = match &clause.test {
                        Some(test) => self.condition(m, test, locals)?,
                        None => true,
                    };
                    if taken {
                        return self.exec_block(m, &clause.body, locals);
                    }
                }
                Ok(Flow::Next)
            }
            Stmt::For(f) => {
                let iterable = self.eval(m, &f.iter, Some(locals));
                let items = self.iterate(m, &iterable, f.iter.start())?;
                for item in items {
                    self.assign(m, &f.target, item, locals)?;
                    match self.exec_block(m, &f.body, locals)? {
                        Flow::Break => return Ok(Flow::Next),
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        Flow::Next | Flow::Continue => {}
                    }
                }
                self.exec_block(m, &f.orelse, locals)
            }
            Stmt::While(w) => {
                while self.condition(m, &w.test, locals)? {
                    if let Some(u) = self.step(m, w.range.start()) {
                        return Err(u);
                    }
                    match self.exec_block(m, &w.body, locals)? {
                        Flow::Break => return Ok(Flow::Next),
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        Flow::Next | Flow::Continue => {}
                    }
                }
                self.exec_block(m, &w.orelse, locals)
            }
            // Exceptions are not modelled: a body that runs to its end raised nothing, so
            // its handlers are skipped; one that stops stops the call.
            Stmt::Try(t) => {
                match self.exec_block(m, &t.body, locals)? {
                    Flow::Next => {}
                    other => return Ok(other),
                }
                match self.exec_block(m, &t.orelse, locals)? {
                    Flow::Next => {}
                    other => return Ok(other),
                }
                self.exec_block(m, &t.finalbody, locals)
            }
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(target) = &item.optional_vars {
                        let v = self.eval(m, &item.context_expr, Some(locals));
                        self.assign(m, target, v, locals)?;
                    }
                }
                self.exec_block(m, &w.body, locals)
            }
            Stmt::FunctionDef(def) => {
                let f = Value::Function(FuncRef { module: m, def });
                locals.set(def.name.as_str(), f);
                Ok(Flow::Next)
            }
            Stmt::ClassDef(def) => {
                locals.set(
                    def.name.as_str(),
                    Value::Class(super::eval::ClassRef { module: m, def }),
                );
                Ok(Flow::Next)
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let full = alias.name.as_str();
                    let (bound, module) = match &alias.asname {
                        Some(asname) => (asname.as_str(), full),
                        None => {
                            let first = super::eval::root(full);
                            (first, first)
                        }
                    };
                    locals.set(bound, self.import_module(module));
                }
                Ok(Flow::Next)
            }
            Stmt::ImportFrom(i) => {
                let module =
                    self.project
                        .absolute_name(m, i.level, i.module.as_ref().map(|n| n.as_str()));
                for alias in &i.names {
                    if alias.name.as_str() == "*" {
                        return Err(self.stop(m, i.range.start(), "`import *` inside a function"));
                    }
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    let v = self.import_from(m, &module, alias.name.as_str(), i.range.start());
                    locals.set(bound, v);
                }
                Ok(Flow::Next)
            }
            Stmt::Delete(d) => {
                for target in &d.targets {
                    match target {
                        Expr::Name(n) => locals.remove(n.id.as_str()),
                        other => {
                            return Err(self.stop(
                                m,
                                other.start(),
                                "Only names are deleted statically",
                            ));
                        }
                    }
                }
                Ok(Flow::Next)
            }
            Stmt::Assert(_) => Ok(Flow::Next),
            Stmt::Raise(r) => Err(self.stop(
                m,
                r.range.start(),
                "The code raises an exception here, so it is not evaluated statically",
            )),
            other => Err(self.stop(
                m,
                other.start(),
                "This kind of statement is not evaluated statically",
            )),
        }
    }

    /// The truth of `test`; an undecidable condition stops the block.
    fn condition(&self, m: usize, test: &Expr, locals: &Locals<'p>) -> Result<bool, Value<'p>> {
        let v = self.eval(m, test, Some(locals));
        match builtins::truthy(&v) {
            Some(b) => Ok(b),
            None if v.is_unknown() => Err(v),
            None => Err(self.stop(m, test.start(), "Cannot decide this condition statically")),
        }
    }

    /// The items of a `for` loop or comprehension.
    pub fn iterate(
        &self,
        m: usize,
        v: &Value<'p>,
        at: TextSize,
    ) -> Result<Vec<Value<'p>>, Value<'p>> {
        match v {
            Value::Unknown(_) => Err(v.clone()),
            Value::Class(c) if self.is_enum_class(*c) => Ok(self
                .enum_members(*c)
                .into_iter()
                .map(|(name, _)| Value::EnumMember(*c, name.into()))
                .collect()),
            other => builtins::iterate(other).map_err(|reason| self.unknown(m, at, reason)),
        }
    }

    /// Binds `v` to an assignment target.
    pub fn assign(
        &self,
        m: usize,
        target: &Expr,
        v: Value<'p>,
        locals: &Locals<'p>,
    ) -> Result<(), Value<'p>> {
        match target {
            Expr::Name(n) => {
                locals.set(n.id.as_str(), v);
                Ok(())
            }
            Expr::Tuple(_) | Expr::List(_) => {
                let elts = match target {
                    Expr::Tuple(t) => &t.elts,
                    Expr::List(l) => &l.elts,
                    _ => unreachable!("matched a tuple or list"),
                };
                let items = self.iterate(m, &v, target.start())?;
                let star = elts.iter().position(|e| matches!(e, Expr::Starred(_)));
                match star {
                    None => {
                        if items.len() != elts.len() {
                            return Err(self.stop(
                                m,
                                target.start(),
                                format!("Cannot unpack {} values into {}", items.len(), elts.len()),
                            ));
                        }
                        for (e, item) in elts.iter().zip(items) {
                            self.assign(m, e, item, locals)?;
                        }
                    }
                    Some(s) => {
                        let after = elts.len() - s - 1;
                        if items.len() < s + after {
                            return Err(self.stop(
                                m,
                                target.start(),
                                "Not enough values to unpack",
                            ));
                        }
                        for (e, item) in elts[..s].iter().zip(&items) {
                            self.assign(m, e, item.clone(), locals)?;
                        }
                        let middle = items[s..items.len() - after].to_vec();
                        if let Expr::Starred(st) = &elts[s] {
                            self.assign(m, &st.value, Value::Seq(Rc::new(middle)), locals)?;
                        }
                        for (e, item) in elts[s + 1..].iter().zip(&items[items.len() - after..]) {
                            self.assign(m, e, item.clone(), locals)?;
                        }
                    }
                }
                Ok(())
            }
            Expr::Subscript(s) => {
                let Expr::Name(n) = s.value.as_ref() else {
                    return Err(self.stop(
                        m,
                        target.start(),
                        "Only items of local variables are assigned statically",
                    ));
                };
                let key = self.eval(m, &s.slice, Some(locals));
                if key.is_unknown() {
                    return Err(key);
                }
                let container = self.eval(m, &s.value, Some(locals));
                let updated = match container {
                    Value::Dict(items) => {
                        let mut items = items.to_vec();
                        builtins::dict_set(&mut items, key, v);
                        Value::Dict(Rc::new(items))
                    }
                    Value::Seq(items) => {
                        let mut items = items.to_vec();
                        let Value::Int(i) = key else {
                            return Err(self.stop(m, target.start(), "List index is not a number"));
                        };
                        let len = items.len() as i64;
                        let i = if i < 0 { i + len } else { i };
                        if i < 0 || i >= len {
                            return Err(self.stop(m, target.start(), "List index out of range"));
                        }
                        items[i as usize] = v;
                        Value::Seq(Rc::new(items))
                    }
                    u @ Value::Unknown(_) => return Err(u),
                    _ => {
                        return Err(self.stop(
                            m,
                            target.start(),
                            "Cannot assign an item of this value statically",
                        ));
                    }
                };
                locals.set(n.id.as_str(), updated);
                Ok(())
            }
            Expr::Attribute(a) => match self.eval(m, &a.value, Some(locals)) {
                Value::Instance(i) => {
                    i.attrs.borrow_mut().insert(a.attr.as_str().to_owned(), v);
                    Ok(())
                }
                u @ Value::Unknown(_) => Err(u),
                _ => Err(self.stop(
                    m,
                    target.start(),
                    "Only attributes of project objects are assigned statically",
                )),
            },
            Expr::Starred(s) => self.assign(m, &s.value, v, locals),
            other => Err(self.stop(m, other.start(), "Cannot assign to this target statically")),
        }
    }

    /// A method call that changes a local list or dict (`cols.append(c)`,
    /// `kw.setdefault("nullable", False)`): rebinds the variable, returns the result.
    pub fn mutating_call(
        &self,
        m: usize,
        func: &Expr,
        args: &[Value<'p>],
        kwargs: &[(String, Value<'p>)],
        locals: &Locals<'p>,
        at: TextSize,
    ) -> Option<Value<'p>> {
        let Expr::Attribute(a) = func else {
            return None;
        };
        let method = a.attr.as_str();
        if !builtins::is_mutator(method) {
            return None;
        }
        let Expr::Name(n) = a.value.as_ref() else {
            return None;
        };
        let name = n.id.as_str();
        let recv = locals.get(name)?;
        if !matches!(recv, Value::Seq(_) | Value::Dict(_)) {
            return None;
        }
        Some(match builtins::mutate(&recv, method, args, kwargs) {
            Ok((result, updated)) => {
                locals.set(name, updated);
                result
            }
            Err(reason) => self.unknown(m, at, reason),
        })
    }

    /// `[elt for target in iter if cond ...]` and its set, dict and generator forms:
    /// the produced items (pairs for a dict).
    pub fn comprehension(
        &self,
        m: usize,
        generators: &[ruff_python_ast::Comprehension],
        locals: Option<&Locals<'p>>,
        produce: &mut dyn FnMut(&Locals<'p>) -> Result<(), Value<'p>>,
    ) -> Result<(), Value<'p>> {
        let scope = match locals {
            Some(l) => l.child(),
            None => Locals::default(),
        };
        self.generate(m, generators, &scope, produce)
    }

    fn generate(
        &self,
        m: usize,
        generators: &[ruff_python_ast::Comprehension],
        scope: &Locals<'p>,
        produce: &mut dyn FnMut(&Locals<'p>) -> Result<(), Value<'p>>,
    ) -> Result<(), Value<'p>> {
        let Some((first, rest)) = generators.split_first() else {
            return produce(scope);
        };
        let iterable = self.eval(m, &first.iter, Some(scope));
        for item in self.iterate(m, &iterable, first.iter.start())? {
            if let Some(u) = self.step(m, first.iter.start()) {
                return Err(u);
            }
            self.assign(m, &first.target, item, scope)?;
            let mut keep = true;
            for cond in &first.ifs {
                if !self.condition(m, cond, scope)? {
                    keep = false;
                    break;
                }
            }
            if keep {
                self.generate(m, rest, scope, produce)?;
            }
        }
        Ok(())
    }
}

/// Table options for one database only (`mysql_engine`, `postgresql_using`): they do
/// not change the schema discovery reports.
fn is_dialect_option(key: &Value<'_>) -> bool {
    key.as_str().is_some_and(|k| {
        [
            "mysql_",
            "mariadb_",
            "postgresql_",
            "sqlite_",
            "mssql_",
            "oracle_",
        ]
        .iter()
        .any(|p| k.starts_with(p))
    })
}

/// `v` without dialect-only options: a dict of only those is `None`, and such a dict
/// at the end of a `__table_args__` tuple is dropped.
fn without_dialect_options<'p>(v: &Value<'p>) -> Value<'p> {
    match v {
        Value::Dict(items) => {
            let kept: Vec<_> = items
                .iter()
                .filter(|(k, _)| !is_dialect_option(k))
                .cloned()
                .collect();
            if kept.is_empty() {
                Value::None
            } else {
                Value::Dict(Rc::new(kept))
            }
        }
        Value::Seq(items) => Value::Seq(Rc::new(
            items
                .iter()
                .map(without_dialect_options)
                .filter(|x| !matches!(x, Value::None))
                .collect(),
        )),
        other => other.clone(),
    }
}

/// Structural equality of two results after dropping dialect-only options.
fn same_schema(a: &Value<'_>, b: &Value<'_>) -> bool {
    same_value(&without_dialect_options(a), &without_dialect_options(b))
}

fn same_value(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same_value(a, b))
        }
        (Value::Dict(x), Value::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| same_value(ka, kb) && same_value(va, vb))
        }
        (Value::Call(x), Value::Call(y)) => {
            x.callee == y.callee
                && x.args.len() == y.args.len()
                && x.kwargs.len() == y.kwargs.len()
                && x.args.iter().zip(&y.args).all(|(a, b)| same_value(a, b))
                && x.kwargs
                    .iter()
                    .zip(&y.kwargs)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
        }
        (Value::ColumnRef(x), Value::ColumnRef(y)) => format!("{x:?}") == format!("{y:?}"),
        (Value::SqlExpr(x), Value::SqlExpr(y)) => x == y,
        _ => builtins::equal(a, b) == Some(true),
    }
}
