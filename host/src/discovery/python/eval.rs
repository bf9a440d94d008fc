//! A small, side-effect-free evaluator for the Python expressions models are made of.
//!
//! Input: expressions of the project's modules. Output: [`Value`]s — literals, library
//! objects by dotted path (`sqlalchemy.orm.mapped_column`), library calls with their
//! evaluated arguments, project classes and functions, column references. It follows
//! imports (absolute, relative, aliased, `*` from project modules), module-level
//! constants, and functions whose body is a single `return` (helpers that build
//! columns or types). It runs no code: anything else evaluates to [`Value::Unknown`]
//! carrying the location and the reason, and the model builder turns an unknown that
//! matters into a diagnostic instead of guessing.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use ruff_python_ast::{
    self as ast, Expr, InterpolatedStringElement, Number, Operator, Stmt, StmtClassDef,
    StmtFunctionDef,
};
use ruff_text_size::{Ranged, TextSize};

use super::project::Project;

/// Where a value was made: module index and byte offset. Identifies `MetaData()`,
/// `declarative_base()` ... objects.
pub type Site = (usize, u32);

/// A project class.
#[derive(Debug, Clone, Copy)]
pub struct ClassRef<'p> {
    pub module: usize,
    pub def: &'p StmtClassDef,
}

impl<'p> ClassRef<'p> {
    pub fn key(&self) -> Site {
        (self.module, self.def.range.start().to_u32())
    }

    pub fn name(&self) -> &'p str {
        self.def.name.as_str()
    }
}

impl PartialEq for ClassRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

/// A project function.
#[derive(Debug, Clone, Copy)]
pub struct FuncRef<'p> {
    pub module: usize,
    pub def: &'p StmtFunctionDef,
}

/// A call of a library object: `String(50)`, `Column(Integer, primary_key=True)`.
#[derive(Debug)]
pub struct Call<'p> {
    /// Dotted path of what was called: `sqlalchemy.String`, or for a method of an
    /// object a library call made, the object's callee plus the method name.
    pub callee: Rc<str>,
    /// The object whose method was called (`registry().generate_base()`).
    pub recv: Option<Rc<Call<'p>>>,
    pub args: Vec<Value<'p>>,
    pub kwargs: Vec<(String, Value<'p>)>,
    pub site: Site,
}

impl<'p> Call<'p> {
    /// The last component of the callee: `String`, `mapped_column`.
    pub fn name(&self) -> &str {
        last(&self.callee)
    }

    /// The keyword argument `name`.
    pub fn kw(&self, name: &str) -> Option<&Value<'p>> {
        self.kwargs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A call of a project class (a custom type, a dataclass): `MyType(30)`.
#[derive(Debug)]
pub struct Instance<'p> {
    pub class: ClassRef<'p>,
}

/// A reference to a column: `User.id`, `users.c.id`, or a column attribute named
/// inside the class body.
#[derive(Debug)]
pub enum ColumnRef<'p> {
    Attr { class: ClassRef<'p>, attr: String },
    Table { table: Rc<Call<'p>>, column: String },
}

/// Why a value could not be evaluated, and where.
#[derive(Debug)]
pub struct Unresolved {
    pub module: usize,
    pub offset: TextSize,
    pub message: String,
}

/// The value of an expression.
#[derive(Debug, Clone)]
pub enum Value<'p> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// A tuple or list.
    Seq(Rc<Vec<Value<'p>>>),
    Dict(Rc<Vec<(Value<'p>, Value<'p>)>>),
    /// A library object by dotted path (`sqlalchemy.Integer`, `datetime.datetime`).
    Lib(Rc<str>),
    Call(Rc<Call<'p>>),
    /// An attribute of an object a library call made (`db.Model`, `registry.mapped`).
    Attr(Rc<Call<'p>>, Rc<str>),
    /// `X[...]` on a library object or builtin: `Mapped[int]`, `Optional[str]`.
    Generic(Rc<(Value<'p>, Vec<Value<'p>>)>),
    /// `A | B` in an annotation.
    Union(Rc<Vec<Value<'p>>>),
    Class(ClassRef<'p>),
    Instance(Rc<Instance<'p>>),
    Function(FuncRef<'p>),
    Module(usize),
    /// A builtin name: `int`, `str`, `dict` ...
    Builtin(Rc<str>),
    ColumnRef(Rc<ColumnRef<'p>>),
    /// `table.c`
    TableColumns(Rc<Call<'p>>),
    /// A member of a project enum: `Status.ACTIVE`.
    EnumMember(ClassRef<'p>, Rc<str>),
    /// A bound method of a string: `"x".lower`.
    StrMethod(Rc<str>, Rc<str>),
    /// `lambda e: [m.value for m in e]`, the common `values_callable`.
    EnumValuesLambda,
    /// Something known to exist that has no schema meaning here (another lambda ...).
    Opaque,
    Unknown(Rc<Unresolved>),
}

impl<'p> Value<'p> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }
}

/// The last dotted component of a path.
pub fn last(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The first dotted component of a path.
pub fn root(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// True for paths inside SQLAlchemy or the libraries built on it.
pub fn is_sa(path: &str) -> bool {
    matches!(
        root(path),
        "sqlalchemy" | "sqlmodel" | "flask_sqlalchemy" | "sqlalchemy_utils"
    )
}

const BUILTINS: &[&str] = &[
    "int",
    "str",
    "float",
    "bool",
    "bytes",
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "object",
    "type",
    "len",
    "range",
    "property",
    "classmethod",
    "staticmethod",
    "print",
    "getattr",
    "isinstance",
    "super",
    "Exception",
    "ValueError",
    "TypeError",
];

/// How a module binds a top-level name.
#[derive(Debug, Clone)]
enum Binding<'p> {
    Class(&'p StmtClassDef),
    Function(&'p StmtFunctionDef),
    Expr(&'p Expr),
    /// `x: T` without a value.
    Declared(TextSize),
    ImportFrom {
        module: String,
        name: &'p str,
        /// `from .x import y`: must resolve inside the project.
        relative: bool,
    },
    Import {
        module: String,
    },
    /// Bound by something the evaluator does not follow (a loop, tuple unpacking).
    Other(TextSize),
}

#[derive(Debug, Default)]
struct Scope<'p> {
    names: HashMap<&'p str, Binding<'p>>,
    stars: Vec<String>,
}

/// Names bound while evaluating a function body or a class body.
#[derive(Debug, Clone, Default)]
pub struct Locals<'p> {
    pub vars: HashMap<String, Value<'p>>,
    /// The class whose body is being evaluated: earlier attributes are visible.
    pub class_body: Option<ClassRef<'p>>,
}

/// Evaluates expressions of one [`Project`]; memoises module-level names.
pub struct Evaluator<'p> {
    pub project: &'p Project,
    scopes: RefCell<HashMap<usize, Rc<Scope<'p>>>>,
    memo: RefCell<HashMap<(usize, String), Value<'p>>>,
    depth: Cell<u32>,
    /// Every module whose statements were read: what the results depend on.
    touched: RefCell<std::collections::BTreeSet<usize>>,
}

const MAX_DEPTH: u32 = 48;

impl<'p> Evaluator<'p> {
    pub fn new(project: &'p Project) -> Self {
        Evaluator {
            project,
            scopes: RefCell::new(HashMap::new()),
            memo: RefCell::new(HashMap::new()),
            depth: Cell::new(0),
            touched: RefCell::new(std::collections::BTreeSet::new()),
        }
    }

    /// The modules whose statements this evaluator has read, in index order.
    pub fn touched(&self) -> Vec<usize> {
        self.touched.borrow().iter().copied().collect()
    }

    /// The statements of module `m` (empty when it does not parse).
    pub fn body(&self, m: usize) -> &'p [Stmt] {
        self.touched.borrow_mut().insert(m);
        let parsed = self.project.modules[m].parsed();
        parsed.ast.as_ref().map_or(&[], |a| a.body.as_slice())
    }

    /// An unknown value at `at` in module `m`.
    pub fn unknown(&self, m: usize, at: TextSize, message: impl Into<String>) -> Value<'p> {
        Value::Unknown(Rc::new(Unresolved {
            module: m,
            offset: at,
            message: message.into(),
        }))
    }

    fn scope(&self, m: usize) -> Rc<Scope<'p>> {
        if let Some(s) = self.scopes.borrow().get(&m) {
            return s.clone();
        }
        let mut scope = Scope::default();
        self.bind_suite(m, self.body(m), &mut scope);
        let scope = Rc::new(scope);
        self.scopes.borrow_mut().insert(m, scope.clone());
        scope
    }

    fn bind_suite(&self, m: usize, suite: &'p [Stmt], scope: &mut Scope<'p>) {
        for stmt in suite {
            match stmt {
                Stmt::ClassDef(c) => {
                    scope.names.insert(c.name.as_str(), Binding::Class(c));
                }
                Stmt::FunctionDef(f) => {
                    scope.names.insert(f.name.as_str(), Binding::Function(f));
                }
                Stmt::Assign(a) => {
                    for target in &a.targets {
                        match target {
                            Expr::Name(n) => {
                                scope.names.insert(n.id.as_str(), Binding::Expr(&a.value));
                            }
                            other => bind_other(other, scope),
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        let binding = match &a.value {
                            Some(v) => Binding::Expr(v),
                            None => Binding::Declared(a.range.start()),
                        };
                        scope.names.insert(n.id.as_str(), binding);
                    }
                }
                Stmt::ImportFrom(i) => {
                    let module = self.project.absolute_name(
                        m,
                        i.level,
                        i.module.as_ref().map(|n| n.as_str()),
                    );
                    for alias in &i.names {
                        if alias.name.as_str() == "*" {
                            scope.stars.push(module.clone());
                            continue;
                        }
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                        scope.names.insert(
                            bound,
                            Binding::ImportFrom {
                                module: module.clone(),
                                name: alias.name.as_str(),
                                relative: i.level > 0,
                            },
                        );
                    }
                }
                Stmt::Import(i) => {
                    for alias in &i.names {
                        let full = alias.name.as_str();
                        match &alias.asname {
                            Some(asname) => {
                                scope.names.insert(
                                    asname.as_str(),
                                    Binding::Import {
                                        module: full.to_owned(),
                                    },
                                );
                            }
                            None => {
                                let first = root(full);
                                scope.names.insert(
                                    &full[..first.len()],
                                    Binding::Import {
                                        module: first.to_owned(),
                                    },
                                );
                            }
                        }
                    }
                }
                Stmt::If(s) => {
                    self.bind_suite(m, &s.body, scope);
                    for clause in &s.elif_else_clauses {
                        self.bind_suite(m, &clause.body, scope);
                    }
                }
                Stmt::Try(t) => {
                    self.bind_suite(m, &t.body, scope);
                    self.bind_suite(m, &t.orelse, scope);
                    self.bind_suite(m, &t.finalbody, scope);
                }
                Stmt::For(f) => bind_other(&f.target, scope),
                Stmt::With(w) => {
                    for item in &w.items {
                        if let Some(v) = &item.optional_vars {
                            bind_other(v, scope);
                        }
                    }
                    self.bind_suite(m, &w.body, scope);
                }
                _ => {}
            }
        }
    }

    fn enter(&self) -> bool {
        let d = self.depth.get();
        if d >= MAX_DEPTH {
            return false;
        }
        self.depth.set(d + 1);
        true
    }

    fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }

    /// The value bound to `name` at the top level of module `m`.
    pub fn module_name(&self, m: usize, name: &str, at: TextSize) -> Value<'p> {
        let key = (m, name.to_owned());
        if let Some(v) = self.memo.borrow().get(&key) {
            return v.clone();
        }
        if !self.enter() {
            return self.unknown(m, at, format!("`{name}` is defined in terms of itself"));
        }
        // A cycle (`a = b`, `b = a`) finds this placeholder instead of recursing.
        self.memo.borrow_mut().insert(
            key.clone(),
            self.unknown(m, at, format!("`{name}` is defined in terms of itself")),
        );
        let value = self.lookup_module_name(m, name, at);
        self.memo.borrow_mut().insert(key, value.clone());
        self.leave();
        value
    }

    fn lookup_module_name(&self, m: usize, name: &str, at: TextSize) -> Value<'p> {
        let scope = self.scope(m);
        if let Some(binding) = scope.names.get(name) {
            return match binding.clone() {
                Binding::Class(def) => Value::Class(ClassRef { module: m, def }),
                Binding::Function(def) => Value::Function(FuncRef { module: m, def }),
                Binding::Expr(expr) => self.eval(m, expr, None),
                Binding::Declared(at) => {
                    self.unknown(m, at, format!("`{name}` is declared without a value"))
                }
                Binding::ImportFrom {
                    module,
                    name,
                    relative,
                } => {
                    if relative
                        && self.project.find(&module).is_none()
                        && self.project.find(&format!("{module}.{name}")).is_none()
                    {
                        return self.unknown(
                            m,
                            at,
                            format!("The relative import of `{name}` from `{module}` does not resolve to a project file"),
                        );
                    }
                    self.import_from(m, &module, name, at)
                }
                Binding::Import { module } => match self.project.find(&module) {
                    Some(target) => Value::Module(target),
                    None => Value::Lib(module.into()),
                },
                Binding::Other(at) => self.unknown(
                    m,
                    at,
                    format!("`{name}` is bound by a statement that is not evaluated statically"),
                ),
            };
        }
        for star in &scope.stars {
            match self.project.find(star) {
                Some(target) if target != m => {
                    if self.scope(target).names.contains_key(name) {
                        return self.module_name(target, name, at);
                    }
                }
                Some(_) => {}
                None => {
                    if is_sa(star) {
                        return Value::Lib(format!("{star}.{name}").into());
                    }
                }
            }
        }
        if BUILTINS.contains(&name) {
            return Value::Builtin(name.into());
        }
        let hint = if scope.stars.iter().any(|s| self.project.find(s).is_none()) {
            " (it may come from a `*` import of a library)"
        } else {
            ""
        };
        self.unknown(m, at, format!("Cannot resolve the name `{name}`{hint}"))
    }

    fn import_from(&self, m: usize, module: &str, name: &str, at: TextSize) -> Value<'p> {
        if let Some(target) = self.project.find(module)
            && target != m
        {
            if self.scope(target).names.contains_key(name) {
                return self.module_name(target, name, at);
            }
            if let Some(sub) = self.project.find(&format!("{module}.{name}")) {
                return Value::Module(sub);
            }
            // `__init__` re-exporting through a `*` import.
            let v = self.module_name(target, name, at);
            if !v.is_unknown() {
                return v;
            }
            return self.unknown(
                m,
                at,
                format!("Module `{module}` has no top-level name `{name}`"),
            );
        }
        if let Some(sub) = self.project.find(&format!("{module}.{name}")) {
            return Value::Module(sub);
        }
        Value::Lib(format!("{module}.{name}").into())
    }

    /// Evaluates `expr` in module `m`, with `locals` (function parameters or a class body).
    pub fn eval(&self, m: usize, expr: &Expr, locals: Option<&Locals<'p>>) -> Value<'p> {
        if !self.enter() {
            return self.unknown(m, expr.start(), "Expression nested too deeply");
        }
        let v = self.eval_inner(m, expr, locals);
        self.leave();
        v
    }

    fn eval_inner(&self, m: usize, expr: &Expr, locals: Option<&Locals<'p>>) -> Value<'p> {
        match expr {
            Expr::NoneLiteral(_) => Value::None,
            Expr::BooleanLiteral(b) => Value::Bool(b.value),
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => match i.as_i64() {
                    Some(i) => Value::Int(i),
                    None => self.unknown(m, n.range.start(), "Integer too large"),
                },
                Number::Float(f) => Value::Float(*f),
                Number::Complex { .. } => Value::Opaque,
            },
            Expr::StringLiteral(s) => Value::Str(s.value.to_str().into()),
            Expr::FString(f) => {
                let mut out = String::new();
                for element in f.value.elements() {
                    match element {
                        InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                        InterpolatedStringElement::Interpolation(i) => {
                            if i.format_spec.is_some() {
                                return self.unknown(
                                    m,
                                    i.range.start(),
                                    "f-string format specs are not evaluated statically",
                                );
                            }
                            match self.eval(m, &i.expression, locals) {
                                Value::Str(s) => out.push_str(&s),
                                Value::Int(n) => out.push_str(&n.to_string()),
                                Value::Unknown(u) => return Value::Unknown(u),
                                _ => {
                                    return self.unknown(
                                        m,
                                        i.range.start(),
                                        "Cannot evaluate this f-string part statically",
                                    );
                                }
                            }
                        }
                    }
                }
                Value::Str(out.into())
            }
            Expr::Tuple(t) => self.eval_seq(m, &t.elts, locals),
            Expr::List(l) => self.eval_seq(m, &l.elts, locals),
            Expr::Dict(d) => {
                let mut items = Vec::new();
                for item in &d.items {
                    match &item.key {
                        Some(k) => {
                            items.push((self.eval(m, k, locals), self.eval(m, &item.value, locals)))
                        }
                        None => match self.eval(m, &item.value, locals) {
                            Value::Dict(inner) => items.extend(inner.iter().cloned()),
                            Value::Unknown(u) => return Value::Unknown(u),
                            _ => {
                                return self.unknown(
                                    m,
                                    item.value.start(),
                                    "`**` of something that is not a dict",
                                );
                            }
                        },
                    }
                }
                Value::Dict(Rc::new(items))
            }
            Expr::Name(n) => self.name(m, n.id.as_str(), n.range.start(), locals),
            Expr::Attribute(a) => {
                let base = self.eval(m, &a.value, locals);
                self.attr(m, base, a.attr.as_str(), a.range.start())
            }
            Expr::Call(c) => self.eval_call(m, c, locals),
            Expr::Subscript(s) => {
                let base = self.eval(m, &s.value, locals);
                self.subscript(m, base, &s.slice, locals, s.range.start())
            }
            Expr::BinOp(b) => {
                let left = self.eval(m, &b.left, locals);
                let right = self.eval(m, &b.right, locals);
                self.binop(m, left, b.op, right, b.range.start())
            }
            Expr::UnaryOp(u) => match (u.op, self.eval(m, &u.operand, locals)) {
                (ast::UnaryOp::USub, Value::Int(i)) => Value::Int(-i),
                (ast::UnaryOp::USub, Value::Float(f)) => Value::Float(-f),
                (ast::UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                (_, Value::Unknown(u)) => Value::Unknown(u),
                _ => self.unknown(m, u.range.start(), "Unsupported unary operation"),
            },
            Expr::Lambda(l) => {
                if is_enum_values_lambda(l) {
                    Value::EnumValuesLambda
                } else {
                    Value::Opaque
                }
            }
            Expr::If(e) => match self.eval(m, &e.test, locals) {
                Value::Bool(true) => self.eval(m, &e.body, locals),
                Value::Bool(false) | Value::None => self.eval(m, &e.orelse, locals),
                Value::Int(i) => self.eval(m, if i != 0 { &e.body } else { &e.orelse }, locals),
                Value::Unknown(u) => Value::Unknown(u),
                _ => self.unknown(
                    m,
                    e.range.start(),
                    "Cannot decide this conditional expression statically",
                ),
            },
            Expr::Starred(s) => self.unknown(m, s.range.start(), "Unexpected `*` expression"),
            other => self.unknown(
                m,
                other.start(),
                "This kind of expression is not evaluated statically",
            ),
        }
    }

    fn eval_seq(&self, m: usize, elts: &[Expr], locals: Option<&Locals<'p>>) -> Value<'p> {
        let mut out = Vec::with_capacity(elts.len());
        for e in elts {
            if let Expr::Starred(s) = e {
                match self.eval(m, &s.value, locals) {
                    Value::Seq(items) => out.extend(items.iter().cloned()),
                    Value::Unknown(u) => return Value::Unknown(u),
                    _ => {
                        return self.unknown(m, s.range.start(), "`*` of something not a sequence");
                    }
                }
            } else {
                out.push(self.eval(m, e, locals));
            }
        }
        Value::Seq(Rc::new(out))
    }

    fn name(&self, m: usize, name: &str, at: TextSize, locals: Option<&Locals<'p>>) -> Value<'p> {
        if let Some(locals) = locals {
            if let Some(v) = locals.vars.get(name) {
                return v.clone();
            }
            if let Some(class) = locals.class_body
                && let Some(v) = self.class_body_name(class, name)
            {
                return v;
            }
        }
        self.module_name(m, name, at)
    }

    /// A name assigned earlier in a class body: columns become references.
    fn class_body_name(&self, class: ClassRef<'p>, name: &str) -> Option<Value<'p>> {
        let (stmt_value, is_annotated) = find_class_attr(class.def, name)?;
        if is_annotated || stmt_value.is_some_and(|v| self.looks_like_column(class.module, v)) {
            return Some(Value::ColumnRef(Rc::new(ColumnRef::Attr {
                class,
                attr: name.to_owned(),
            })));
        }
        let locals = Locals {
            class_body: Some(class),
            ..Locals::default()
        };
        Some(match stmt_value {
            Some(v) => self.eval(class.module, v, Some(&locals)),
            None => Value::Opaque,
        })
    }

    /// True when `expr` is a call of something named like a column constructor.
    pub fn looks_like_column(&self, m: usize, expr: &Expr) -> bool {
        let Expr::Call(c) = expr else { return false };
        let name = match c.func.as_ref() {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        };
        let _ = m;
        matches!(name, "Column" | "mapped_column" | "Field")
    }

    /// `base.name`
    pub fn attr(&self, m: usize, base: Value<'p>, name: &str, at: TextSize) -> Value<'p> {
        match base {
            Value::Lib(path) => Value::Lib(format!("{path}.{name}").into()),
            Value::Module(target) => {
                if self.scope(target).names.contains_key(name) {
                    self.module_name(target, name, at)
                } else {
                    let full = format!("{}.{name}", self.project.modules[target].name);
                    match self.project.find(&full) {
                        Some(sub) => Value::Module(sub),
                        None => self.module_name(target, name, at),
                    }
                }
            }
            Value::Class(class) => self.class_attr(class, name, at, m),
            Value::Call(call) => self.call_attr(m, call, name, at),
            Value::Attr(call, attr) => {
                if name == "metadata" && call.name() == "SQLAlchemy" && &*attr == "Model" {
                    return metadata_of(&call);
                }
                self.unknown(
                    m,
                    at,
                    format!("Cannot evaluate `.{name}` of `{}.{attr}`", call.name()),
                )
            }
            Value::TableColumns(table) => Value::ColumnRef(Rc::new(ColumnRef::Table {
                table,
                column: name.to_owned(),
            })),
            Value::Str(s) => match name {
                "lower" | "upper" | "title" | "capitalize" | "strip" | "casefold" => {
                    Value::StrMethod(s, name.into())
                }
                _ => self.unknown(m, at, format!("Unsupported string method `{name}`")),
            },
            Value::EnumMember(class, member) => match name {
                "name" => Value::Str(member),
                "value" => match find_class_attr(class.def, &member) {
                    Some((Some(v), _)) => self.eval(class.module, v, None),
                    _ => self.unknown(m, at, format!("Cannot evaluate `{member}.value`")),
                },
                _ => self.unknown(
                    m,
                    at,
                    format!("Cannot evaluate `.{name}` of an enum member"),
                ),
            },
            Value::Unknown(u) => Value::Unknown(u),
            Value::Builtin(b) => Value::Lib(format!("builtins.{b}.{name}").into()),
            _ => self.unknown(m, at, format!("Cannot evaluate the attribute `.{name}`")),
        }
    }

    fn call_attr(&self, m: usize, call: Rc<Call<'p>>, name: &str, at: TextSize) -> Value<'p> {
        match (call.name(), name) {
            ("SQLAlchemy", "Model") => Value::Attr(call, name.into()),
            ("SQLAlchemy", "metadata")
            | ("registry", "metadata")
            | ("declarative_base", "metadata")
            | ("generate_base", "metadata") => metadata_of(&call),
            // Flask-SQLAlchemy re-exports SQLAlchemy's names on the extension object.
            // `db.Table(name, *columns)` takes `db.metadata` implicitly: keep the receiver.
            ("SQLAlchemy", "Table") => Value::Attr(call, name.into()),
            ("SQLAlchemy", _) => Value::Lib(format!("sqlalchemy.{name}").into()),
            ("Table", "c" | "columns") => Value::TableColumns(call),
            ("Table", "name") => call
                .args
                .first()
                .cloned()
                .unwrap_or_else(|| self.unknown(m, at, "Table without a name")),
            _ => Value::Attr(call, name.into()),
        }
    }

    /// An attribute of a project class: columns become [`ColumnRef`]s, enum members
    /// [`Value::EnumMember`]s; other attributes are looked up through the bases.
    pub fn class_attr(&self, class: ClassRef<'p>, name: &str, at: TextSize, m: usize) -> Value<'p> {
        if name == "__name__" {
            return Value::Str(class.name().into());
        }
        for c in self.mro(class) {
            if let Some((value, annotated)) = find_class_attr(c.def, name) {
                if self.is_enum_class(c) && !name.starts_with('_') && value.is_some() {
                    return Value::EnumMember(c, name.into());
                }
                if annotated || value.is_some_and(|v| self.looks_like_column(c.module, v)) {
                    return Value::ColumnRef(Rc::new(ColumnRef::Attr {
                        class,
                        attr: name.to_owned(),
                    }));
                }
                let locals = Locals {
                    class_body: Some(c),
                    ..Locals::default()
                };
                return match value {
                    Some(v) => match self.eval(c.module, v, Some(&locals)) {
                        Value::Call(call) if call.name() == "Table" => Value::Call(call),
                        other => other,
                    },
                    None => Value::Opaque,
                };
            }
        }
        if name == "metadata" {
            // The implicit MetaData of a `DeclarativeBase` subclass (or a SQLModel).
            for c in self.mro(class) {
                for base in self.bases(c) {
                    match base {
                        Value::Lib(p) if matches!(last(&p), "DeclarativeBase" | "SQLModel") => {
                            return implicit_metadata(c.key());
                        }
                        Value::Call(call) => return metadata_of(&call),
                        Value::Attr(call, attr) if &*attr == "Model" => {
                            return metadata_of(&call);
                        }
                        _ => {}
                    }
                }
            }
        }
        self.unknown(
            m,
            at,
            format!("Class `{}` has no attribute `{name}`", class.name()),
        )
    }

    /// The evaluated bases of a class.
    pub fn bases(&self, class: ClassRef<'p>) -> Vec<Value<'p>> {
        class
            .def
            .arguments
            .as_ref()
            .map(|a| {
                a.args
                    .iter()
                    .map(|b| self.eval(class.module, b, None))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The class's method resolution order (project classes only; C3 linearisation,
    /// falling back to depth-first order when the hierarchy is inconsistent).
    pub fn mro(&self, class: ClassRef<'p>) -> Vec<ClassRef<'p>> {
        if !self.enter() {
            return vec![class];
        }
        let parents: Vec<ClassRef<'p>> = self
            .bases(class)
            .into_iter()
            .filter_map(|b| match b {
                Value::Class(c) if c != class => Some(c),
                _ => None,
            })
            .collect();
        let mut seqs: Vec<Vec<ClassRef<'p>>> = parents.iter().map(|p| self.mro(*p)).collect();
        seqs.push(parents.clone());
        let mut out = vec![class];
        loop {
            seqs.retain(|s| !s.is_empty());
            if seqs.is_empty() {
                break;
            }
            let head = seqs
                .iter()
                .map(|s| s[0])
                .find(|h| !seqs.iter().any(|s| s[1..].contains(h)));
            let Some(head) = head else {
                // Inconsistent hierarchy (Python would refuse it): depth-first, deduplicated.
                for s in &seqs {
                    for c in s {
                        if !out.contains(c) {
                            out.push(*c);
                        }
                    }
                }
                break;
            };
            out.push(head);
            for s in &mut seqs {
                if s.first() == Some(&head) {
                    s.remove(0);
                }
            }
        }
        self.leave();
        out
    }

    /// True when the class derives from `enum.Enum` (or `IntEnum`, `StrEnum`, `Flag`).
    pub fn is_enum_class(&self, class: ClassRef<'p>) -> bool {
        self.mro(class).iter().any(|c| {
            self.bases(*c).iter().any(|b| {
                matches!(b, Value::Lib(p) if root(p) == "enum"
                    && matches!(last(p), "Enum" | "IntEnum" | "StrEnum" | "Flag" | "IntFlag"))
            })
        })
    }

    /// The member names of a project enum, in order.
    pub fn enum_members(&self, class: ClassRef<'p>) -> Vec<(String, Option<&'p Expr>)> {
        let mut out = Vec::new();
        for stmt in &class.def.body {
            let (target, value) = match stmt {
                Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], Some(&*a.value)),
                Stmt::AnnAssign(a) => (&*a.target, a.value.as_deref()),
                _ => continue,
            };
            if let Expr::Name(n) = target {
                let name = n.id.as_str();
                if !name.starts_with('_') && value.is_some() {
                    out.push((name.to_owned(), value));
                }
            }
        }
        out
    }

    fn eval_call(&self, m: usize, c: &ast::ExprCall, locals: Option<&Locals<'p>>) -> Value<'p> {
        let func = self.eval(m, &c.func, locals);
        let mut args = Vec::new();
        for a in c.arguments.args.iter() {
            if let Expr::Starred(s) = a {
                match self.eval(m, &s.value, locals) {
                    Value::Seq(items) => args.extend(items.iter().cloned()),
                    Value::Unknown(u) => args.push(Value::Unknown(u)),
                    _ => args.push(self.unknown(
                        m,
                        s.range.start(),
                        "`*` of something not a sequence",
                    )),
                }
            } else {
                args.push(self.eval(m, a, locals));
            }
        }
        let mut kwargs = Vec::new();
        for k in c.arguments.keywords.iter() {
            match &k.arg {
                Some(name) => {
                    kwargs.push((name.as_str().to_owned(), self.eval(m, &k.value, locals)))
                }
                None => match self.eval(m, &k.value, locals) {
                    Value::Dict(items) => {
                        for (key, value) in items.iter() {
                            match key {
                                Value::Str(s) => kwargs.push((s.to_string(), value.clone())),
                                _ => kwargs.push((
                                    "**".to_owned(),
                                    self.unknown(
                                        m,
                                        k.range.start(),
                                        "`**` with a key that is not a string",
                                    ),
                                )),
                            }
                        }
                    }
                    other => {
                        let v = match other {
                            Value::Unknown(u) => Value::Unknown(u),
                            _ => self.unknown(
                                m,
                                k.range.start(),
                                "`**` of something that is not a dict",
                            ),
                        };
                        kwargs.push(("**".to_owned(), v));
                    }
                },
            }
        }
        self.call(m, func, args, kwargs, c.range().start())
    }

    /// Calls `func` with evaluated arguments.
    pub fn call(
        &self,
        m: usize,
        func: Value<'p>,
        args: Vec<Value<'p>>,
        kwargs: Vec<(String, Value<'p>)>,
        at: TextSize,
    ) -> Value<'p> {
        let site = (m, at.to_u32());
        match func {
            Value::Lib(path) => Value::Call(Rc::new(Call {
                callee: path,
                recv: None,
                args,
                kwargs,
                site,
            })),
            Value::Attr(recv, name) => Value::Call(Rc::new(Call {
                callee: format!("{}.{name}", recv.callee).into(),
                recv: Some(recv),
                args,
                kwargs,
                site,
            })),
            Value::Function(f) => self.call_function(m, f, args, kwargs, at),
            Value::Class(class) => {
                if self.is_enum_class(class) {
                    return self.unknown(m, at, "Calling an enum is not evaluated statically");
                }
                {
                    let _ = (args, kwargs);
                    Value::Instance(Rc::new(Instance { class }))
                }
            }
            Value::StrMethod(s, method) => {
                if !args.is_empty() {
                    return self.unknown(m, at, "Unsupported string method arguments");
                }
                Value::Str(
                    match &*method {
                        "lower" | "casefold" => s.to_lowercase(),
                        "upper" => s.to_uppercase(),
                        "strip" => s.trim().to_owned(),
                        "capitalize" | "title" => {
                            let mut chars = s.chars();
                            match chars.next() {
                                Some(f) => f
                                    .to_uppercase()
                                    .chain(chars.map(|c| c.to_ascii_lowercase()))
                                    .collect(),
                                None => String::new(),
                            }
                        }
                        _ => {
                            return self.unknown(
                                m,
                                at,
                                format!("Unsupported string method `{method}`"),
                            );
                        }
                    }
                    .into(),
                )
            }
            Value::Builtin(b) => match (&*b, args.as_slice()) {
                ("dict", []) => Value::Dict(Rc::new(
                    kwargs
                        .into_iter()
                        .map(|(k, v)| (Value::Str(k.into()), v))
                        .collect(),
                )),
                ("tuple" | "list", [Value::Seq(items)]) => Value::Seq(items.clone()),
                ("str", [Value::Str(s)]) => Value::Str(s.clone()),
                ("str", [Value::Int(i)]) => Value::Str(i.to_string().into()),
                ("int", [Value::Int(i)]) => Value::Int(*i),
                _ => self.unknown(m, at, format!("Calling `{b}` is not evaluated statically")),
            },
            Value::Unknown(u) => Value::Unknown(u),
            _ => self.unknown(m, at, "Cannot evaluate this call statically"),
        }
    }

    fn call_function(
        &self,
        m: usize,
        f: FuncRef<'p>,
        args: Vec<Value<'p>>,
        mut kwargs: Vec<(String, Value<'p>)>,
        at: TextSize,
    ) -> Value<'p> {
        let name = f.def.name.as_str();
        let Some(ret) = single_return(f.def) else {
            return self.unknown(
                m,
                at,
                format!("Function `{name}` is not a single `return` statement, so it is not evaluated statically"),
            );
        };
        let p = &f.def.parameters;
        let mut locals = Locals::default();
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
                            return self.unknown(
                                m,
                                at,
                                format!("Missing argument `{pname}` for `{name}`"),
                            );
                        }
                    },
                },
            };
            locals.vars.insert(pname.to_owned(), value);
        }
        let rest: Vec<Value<'p>> = args.collect();
        match &p.vararg {
            Some(v) => {
                locals
                    .vars
                    .insert(v.name.as_str().to_owned(), Value::Seq(Rc::new(rest)));
            }
            None if !rest.is_empty() => {
                return self.unknown(m, at, format!("Too many arguments for `{name}`"));
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
                        return self.unknown(
                            m,
                            at,
                            format!("Missing argument `{pname}` for `{name}`"),
                        );
                    }
                },
            };
            locals.vars.insert(pname.to_owned(), value);
        }
        match &p.kwarg {
            Some(k) => {
                let dict = kwargs
                    .into_iter()
                    .map(|(k, v)| (Value::Str(k.into()), v))
                    .collect();
                locals
                    .vars
                    .insert(k.name.as_str().to_owned(), Value::Dict(Rc::new(dict)));
            }
            None if !kwargs.is_empty() => {
                return self.unknown(
                    m,
                    at,
                    format!("Unexpected keyword argument `{}` for `{name}`", kwargs[0].0),
                );
            }
            None => {}
        }
        if !self.enter() {
            return self.unknown(m, at, format!("`{name}` calls itself too deeply"));
        }
        let v = self.eval(f.module, ret, Some(&locals));
        self.leave();
        v
    }

    fn subscript(
        &self,
        m: usize,
        base: Value<'p>,
        slice: &Expr,
        locals: Option<&Locals<'p>>,
        at: TextSize,
    ) -> Value<'p> {
        let index = self.eval(m, slice, locals);
        match (base, index) {
            (Value::Unknown(u), _) => Value::Unknown(u),
            (Value::TableColumns(table), Value::Str(column)) => {
                Value::ColumnRef(Rc::new(ColumnRef::Table {
                    table,
                    column: column.to_string(),
                }))
            }
            (Value::Seq(items), Value::Int(i)) => {
                let len = items.len() as i64;
                let i = if i < 0 { i + len } else { i };
                usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i).cloned())
                    .unwrap_or_else(|| self.unknown(m, at, "Index out of range"))
            }
            (Value::Dict(items), key) if !key.is_unknown() => items
                .iter()
                .find(|(k, _)| same_key(k, &key))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| self.unknown(m, at, "Key not found")),
            (base @ (Value::Lib(_) | Value::Builtin(_) | Value::Class(_)), index) => {
                let args = match index {
                    Value::Seq(items) if matches!(slice, Expr::Tuple(_)) => items.to_vec(),
                    other => vec![other],
                };
                Value::Generic(Rc::new((base, args)))
            }
            _ => self.unknown(m, at, "Cannot evaluate this subscript statically"),
        }
    }

    fn binop(
        &self,
        m: usize,
        left: Value<'p>,
        op: Operator,
        right: Value<'p>,
        at: TextSize,
    ) -> Value<'p> {
        match (op, left, right) {
            (_, Value::Unknown(u), _) | (_, _, Value::Unknown(u)) => Value::Unknown(u),
            (Operator::Add, Value::Str(a), Value::Str(b)) => Value::Str(format!("{a}{b}").into()),
            (Operator::Add, Value::Int(a), Value::Int(b)) => a
                .checked_add(b)
                .map_or_else(|| self.unknown(m, at, "Integer overflow"), Value::Int),
            (Operator::Sub, Value::Int(a), Value::Int(b)) => a
                .checked_sub(b)
                .map_or_else(|| self.unknown(m, at, "Integer overflow"), Value::Int),
            (Operator::Mult, Value::Int(a), Value::Int(b)) => a
                .checked_mul(b)
                .map_or_else(|| self.unknown(m, at, "Integer overflow"), Value::Int),
            (Operator::Add, Value::Seq(a), Value::Seq(b)) => {
                Value::Seq(Rc::new(a.iter().chain(b.iter()).cloned().collect()))
            }
            (Operator::BitOr, Value::Dict(a), Value::Dict(b)) => {
                Value::Dict(Rc::new(a.iter().chain(b.iter()).cloned().collect()))
            }
            (Operator::BitOr, a, b) => {
                let mut items = Vec::new();
                for v in [a, b] {
                    match v {
                        Value::Union(inner) => items.extend(inner.iter().cloned()),
                        other => items.push(other),
                    }
                }
                Value::Union(Rc::new(items))
            }
            _ => self.unknown(m, at, "Unsupported operation"),
        }
    }
}

fn same_key(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Lib(a), Value::Lib(b)) | (Value::Builtin(a), Value::Builtin(b)) => a == b,
        (Value::Class(a), Value::Class(b)) => a == b,
        _ => false,
    }
}

fn bind_other<'p>(target: &'p Expr, scope: &mut Scope<'p>) {
    match target {
        Expr::Name(n) => {
            scope
                .names
                .insert(n.id.as_str(), Binding::Other(n.range.start()));
        }
        Expr::Tuple(t) => t.elts.iter().for_each(|e| bind_other(e, scope)),
        Expr::List(l) => l.elts.iter().for_each(|e| bind_other(e, scope)),
        _ => {}
    }
}

/// The `MetaData` of an object that owns one: the `metadata=` argument, or an implicit
/// `MetaData()` identified by the owner's call site.
pub fn metadata_of<'p>(call: &Rc<Call<'p>>) -> Value<'p> {
    if let Some(md) = call.kw("metadata") {
        return md.clone();
    }
    if let Some(Value::Call(registry)) = call.kw("registry") {
        return metadata_of(registry);
    }
    if let Some(recv) = &call.recv {
        return metadata_of(recv);
    }
    implicit_metadata(call.site)
}

/// An implicit `MetaData()` owned by whatever was made at `site`.
pub fn implicit_metadata<'p>(site: Site) -> Value<'p> {
    Value::Call(Rc::new(Call {
        callee: "sqlalchemy.MetaData".into(),
        recv: None,
        args: Vec::new(),
        kwargs: Vec::new(),
        site,
    }))
}

/// The value expression of the last binding of `name` in a class body, and whether it
/// is annotated (`x: Mapped[int]`); `(None, _)` for a method or a bare annotation.
pub fn find_class_attr<'p>(def: &'p StmtClassDef, name: &str) -> Option<(Option<&'p Expr>, bool)> {
    let mut found = None;
    for stmt in &def.body {
        match stmt {
            Stmt::Assign(a)
                if a.targets
                    .iter()
                    .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name)) =>
            {
                found = Some((Some(&*a.value), false));
            }
            Stmt::AnnAssign(a) if matches!(a.target.as_ref(), Expr::Name(n) if n.id.as_str() == name) =>
            {
                found = Some((a.value.as_deref(), !is_classvar(&a.annotation)));
            }
            Stmt::FunctionDef(f) if f.name.as_str() == name => found = Some((None, false)),
            _ => {}
        }
    }
    found
}

/// `ClassVar[...]` annotations are class attributes, never columns.
pub fn is_classvar(annotation: &Expr) -> bool {
    let base = match annotation {
        Expr::Subscript(s) => s.value.as_ref(),
        other => other,
    };
    match base {
        Expr::Name(n) => n.id.as_str() == "ClassVar",
        Expr::Attribute(a) => a.attr.as_str() == "ClassVar",
        _ => false,
    }
}

/// The expression of a function whose body is (a docstring and) one `return`.
pub fn single_return(def: &StmtFunctionDef) -> Option<&Expr> {
    let mut body = def.body.iter().peekable();
    if let Some(Stmt::Expr(e)) = body.peek()
        && matches!(e.value.as_ref(), Expr::StringLiteral(_))
    {
        body.next();
    }
    match (body.next(), body.next()) {
        (Some(Stmt::Return(r)), None) => r.value.as_deref(),
        _ => None,
    }
}

/// `lambda x: [e.value for e in x]`
fn is_enum_values_lambda(l: &ast::ExprLambda) -> bool {
    let Expr::ListComp(c) = l.body.as_ref() else {
        return false;
    };
    let [generator] = c.generators.as_slice() else {
        return false;
    };
    let (Expr::Attribute(a), Expr::Name(target)) = (c.elt.as_ref(), &generator.target) else {
        return false;
    };
    a.attr.as_str() == "value"
        && matches!(a.value.as_ref(), Expr::Name(n) if n.id == target.id)
        && generator.ifs.is_empty()
}

#[cfg(test)]
mod tests {
    use super::super::project::{Input, Project};
    use super::*;
    use std::path::PathBuf;

    fn project(files: &[(&str, &str)]) -> Project {
        let p = Project::new(
            files
                .iter()
                .map(|(rel, text)| Input {
                    path: PathBuf::from("/p").join(rel),
                    rel: PathBuf::from(rel),
                    candidate: true,
                    text: Some((*text).to_owned()),
                })
                .collect(),
        );
        p.parse_candidates();
        p
    }

    fn value_of<'p>(ev: &Evaluator<'p>, m: usize, name: &str) -> Value<'p> {
        ev.module_name(m, name, TextSize::new(0))
    }

    #[test]
    fn follows_imports_constants_and_helpers() {
        let p = project(&[
            ("app/consts.py", "NAME_LEN = 40 + 10\nPREFIX = 'app_'\n"),
            (
                "app/helpers.py",
                "import sqlalchemy as sa\nfrom .consts import NAME_LEN\n\ndef name_col(n=NAME_LEN, **kw):\n    \"\"\"Doc.\"\"\"\n    return sa.Column(sa.String(n), **kw)\n",
            ),
            (
                "app/models.py",
                "from app.helpers import name_col\nfrom .consts import *\nx = name_col(nullable=False)\nt = f'{PREFIX}users'\ny = undefined_thing\n",
            ),
        ]);
        let ev = Evaluator::new(&p);
        let Value::Call(col) = value_of(&ev, 2, "x") else {
            panic!("not a call")
        };
        assert_eq!(&*col.callee, "sqlalchemy.Column");
        let Value::Call(ty) = &col.args[0] else {
            panic!("type")
        };
        assert_eq!(&*ty.callee, "sqlalchemy.String");
        assert!(matches!(ty.args[0], Value::Int(50)));
        assert!(matches!(col.kw("nullable"), Some(Value::Bool(false))));
        assert_eq!(value_of(&ev, 2, "t").as_str(), Some("app_users"));
        let Value::Unknown(u) = value_of(&ev, 2, "y") else {
            panic!("unknown")
        };
        assert!(u.message.contains("`undefined_thing`"), "{}", u.message);
    }

    #[test]
    fn cycles_and_complex_functions_are_unknown() {
        let p = project(&[(
            "m.py",
            "a = b\nb = a\ndef f():\n    x = 1\n    return x\nc = f()\n",
        )]);
        let ev = Evaluator::new(&p);
        assert!(value_of(&ev, 0, "a").is_unknown());
        let Value::Unknown(u) = value_of(&ev, 0, "c") else {
            panic!("unknown")
        };
        assert!(u.message.contains("single `return`"), "{}", u.message);
    }

    #[test]
    fn class_attributes_columns_and_enums() {
        let p = project(&[(
            "m.py",
            "import enum\nfrom sqlalchemy import Column, Integer\nclass S(enum.Enum):\n    A = 'a'\n    B = 'b'\nclass M:\n    id = Column(Integer)\n    n: int = 3\nv = S.B.value\nr = M.id\n",
        )]);
        let ev = Evaluator::new(&p);
        assert_eq!(value_of(&ev, 0, "v").as_str(), Some("b"));
        assert!(matches!(value_of(&ev, 0, "r"), Value::ColumnRef(_)));
        let Value::Class(s) = value_of(&ev, 0, "S") else {
            panic!("class")
        };
        assert!(ev.is_enum_class(s));
        let names: Vec<String> = ev.enum_members(s).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["A", "B"]);
    }

    #[test]
    fn mro_is_c3() {
        let p = project(&[(
            "m.py",
            "class A: pass\nclass B(A): pass\nclass C(A): pass\nclass D(B, C): pass\n",
        )]);
        let ev = Evaluator::new(&p);
        let Value::Class(d) = value_of(&ev, 0, "D") else {
            panic!("class")
        };
        let names: Vec<&str> = ev.mro(d).iter().map(|c| c.name()).collect();
        assert_eq!(names, ["D", "B", "C", "A"]);
    }
}
