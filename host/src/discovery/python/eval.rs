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

use super::builtins;
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

    /// The argument at `position`, or passed by keyword `name`.
    pub fn arg(&self, position: usize, name: &str) -> Option<&Value<'p>> {
        self.args.get(position).or_else(|| self.kw(name))
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

/// A call of a project class (a custom type, a dataclass, a table wrapper):
/// `MyType(30)`, with the attributes its `__init__` set on `self`.
#[derive(Debug)]
pub struct Instance<'p> {
    pub class: ClassRef<'p>,
    pub args: Vec<Value<'p>>,
    pub kwargs: Vec<(String, Value<'p>)>,
    pub attrs: RefCell<HashMap<String, Value<'p>>>,
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
    /// The module-level names (`module.NAME`) the unknown value reached the model
    /// through, innermost first: what a `STATIC_VALUES` entry could pin.
    pub via: Vec<String>,
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
    /// `Model.__table__` of a mapped class without an explicit `__table__`.
    ClassTable(ClassRef<'p>),
    /// `Model.__table__.c`
    ClassColumns(ClassRef<'p>),
    /// A SQL expression built from columns and literals (`length >= 0`), as SQL text.
    SqlExpr(Rc<str>),
    /// A member of a project enum: `Status.ACTIVE`.
    EnumMember(ClassRef<'p>, Rc<str>),
    /// A method of a `str`, `list`, `tuple` or `dict` value: `"x".lower`, `d.get`.
    Method(Rc<(Value<'p>, Rc<str>)>),
    /// A project function with its first argument bound: a method of an instance, a
    /// `classmethod` of a class.
    Bound(Rc<(FuncRef<'p>, Value<'p>)>),
    /// `lambda e: [m.value for m in e]`, the common `values_callable`.
    EnumValuesLambda,
    /// The dialect a `TypeDecorator.load_dialect_impl(self, dialect)` is asked for, by
    /// its SQLAlchemy name: `.name` is that name, `.type_descriptor(t)` is `t`.
    Dialect(Rc<str>),
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
    "NotImplementedError",
    "KeyError",
    "zip",
    "enumerate",
    "sorted",
    "reversed",
    "min",
    "max",
    "sum",
    "any",
    "all",
    "abs",
    "repr",
    "hasattr",
    "callable",
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
    /// `obj.attr = value` run at import time, in the module or in a class body
    /// (`mapper_registry.metadata = metadata` inside `class Base`).
    attr_sets: Vec<AttrSet<'p>>,
}

impl<'p> Scope<'p> {
    /// Records `target = value` when the target is `obj.attr`.
    fn record_attr_set(
        &mut self,
        target: &'p Expr,
        class: Option<&'p StmtClassDef>,
        value: &'p Expr,
    ) {
        if let Expr::Attribute(a) = target
            && let Expr::Name(n) = a.value.as_ref()
        {
            self.attr_sets.push(AttrSet {
                object: n.id.as_str(),
                attr: a.attr.as_str(),
                class,
                value,
            });
        }
    }
}

/// An assignment to an attribute of a module-level object.
#[derive(Debug)]
struct AttrSet<'p> {
    object: &'p str,
    attr: &'p str,
    /// The class whose body holds the statement: its names are visible to `value`.
    class: Option<&'p StmtClassDef>,
    value: &'p Expr,
}

/// Names bound while evaluating a function body or a class body.
#[derive(Debug, Clone, Default)]
pub struct Locals<'p> {
    vars: RefCell<HashMap<String, Value<'p>>>,
    /// The class whose body is being evaluated: earlier attributes are visible.
    pub class_body: Option<ClassRef<'p>>,
}

impl<'p> Locals<'p> {
    /// The locals of a class body.
    pub fn class(class: ClassRef<'p>) -> Self {
        Locals {
            vars: RefCell::default(),
            class_body: Some(class),
        }
    }

    pub fn get(&self, name: &str) -> Option<Value<'p>> {
        self.vars.borrow().get(name).cloned()
    }

    pub fn set(&self, name: &str, v: Value<'p>) {
        self.vars.borrow_mut().insert(name.to_owned(), v);
    }

    pub fn remove(&self, name: &str) {
        self.vars.borrow_mut().remove(name);
    }

    /// A scope that sees these names (a comprehension's).
    pub fn child(&self) -> Self {
        self.clone()
    }
}

/// Evaluates expressions of one [`Project`]; memoises module-level names.
pub struct Evaluator<'p> {
    pub project: &'p Project,
    scopes: RefCell<HashMap<usize, Rc<Scope<'p>>>>,
    memo: RefCell<HashMap<(usize, String), Value<'p>>>,
    depth: Cell<u32>,
    /// The project functions being called, innermost last: a recursion's diagnostic
    /// names the function.
    calls: RefCell<Vec<&'p str>>,
    /// Statements and loop iterations run so far (see [`STEP_BUDGET`]).
    steps: Cell<u64>,
    /// Every module whose statements were read: what the results depend on.
    touched: RefCell<std::collections::BTreeSet<usize>>,
}

/// How deeply evaluation may nest (expressions, calls, imports) before it is stopped.
/// Discovery threads have stacks sized for it.
const MAX_DEPTH: u32 = 320;

/// How many statements and loop iterations one unit may run: a loop or recursion that
/// does not end is stopped with a diagnostic instead of hanging discovery.
pub const STEP_BUDGET: u64 = 2_000_000;

impl<'p> Evaluator<'p> {
    pub fn new(project: &'p Project) -> Self {
        Evaluator {
            project,
            scopes: RefCell::new(HashMap::new()),
            memo: RefCell::new(HashMap::new()),
            depth: Cell::new(0),
            calls: RefCell::new(Vec::new()),
            steps: Cell::new(0),
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
            via: Vec::new(),
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
                    for s in &c.body {
                        if let Stmt::Assign(a) = s {
                            for t in &a.targets {
                                scope.record_attr_set(t, Some(c), &a.value);
                            }
                        }
                    }
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
                            other => {
                                scope.record_attr_set(other, None, &a.value);
                                bind_other(other, scope)
                            }
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
                    // `try: import x / except ImportError: x = None`: the handler's
                    // names when the environment lacks `x`, the body's otherwise.
                    if self.import_fails(m, &t.body) == Some(true)
                        && let Some(handler) = t.handlers.iter().find_map(|h| {
                            let ast::ExceptHandler::ExceptHandler(h) = h;
                            catches_import_error(h).then_some(h)
                        })
                    {
                        self.bind_suite(m, &handler.body, scope);
                    } else {
                        self.bind_suite(m, &t.body, scope);
                        self.bind_suite(m, &t.orelse, scope);
                    }
                    self.bind_suite(m, &t.finalbody, scope);
                }
                Stmt::TypeAlias(t) => {
                    if let Expr::Name(n) = t.name.as_ref() {
                        scope.names.insert(n.id.as_str(), Binding::Expr(&t.value));
                    }
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

    /// Spends one step of the budget; an unknown once it is spent.
    pub(super) fn step(&self, m: usize, at: TextSize) -> Option<Value<'p>> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        (n > STEP_BUDGET).then(|| {
            self.unknown(
                m,
                at,
                format!("Evaluation stopped after {STEP_BUDGET} steps here: a loop or recursion that does not end?"),
            )
        })
    }

    /// Whether an import at the top of `body` fails in this environment.
    fn import_fails(&self, m: usize, body: &[Stmt]) -> Option<bool> {
        let mut decided = Some(false);
        for stmt in body {
            let modules: Vec<String> = match stmt {
                Stmt::Import(i) => i.names.iter().map(|a| a.name.as_str().to_owned()).collect(),
                Stmt::ImportFrom(i) if i.level == 0 => {
                    i.module.iter().map(|n| n.as_str().to_owned()).collect()
                }
                Stmt::ImportFrom(i) => {
                    let name = self.project.absolute_name(
                        m,
                        i.level,
                        i.module.as_ref().map(|n| n.as_str()),
                    );
                    if self.project.find(&name).is_none() {
                        return Some(true);
                    }
                    continue;
                }
                _ => continue,
            };
            for module in modules {
                match self.project.importable(root(&module)) {
                    Some(false) => return Some(true),
                    None => decided = None,
                    Some(true) => {}
                }
            }
        }
        decided
    }

    pub(super) fn enter(&self) -> bool {
        let d = self.depth.get();
        if d >= MAX_DEPTH {
            return false;
        }
        self.depth.set(d + 1);
        true
    }

    /// Why evaluation nested too deeply: the innermost function on the call stack that
    /// is called more than once (a recursion), else the expression itself.
    fn too_deep(&self) -> String {
        let calls = self.calls.borrow();
        let recursing = calls
            .iter()
            .rev()
            .find(|name| calls.iter().filter(|n| n == name).count() > 1);
        match recursing {
            Some(name) => format!(
                "`{name}` calls itself too deeply ({} nested calls): a recursion that does not end?",
                calls.iter().filter(|n| n == &name).count()
            ),
            None => "Expression nested too deeply".to_owned(),
        }
    }

    /// Runs `body` with project function `name` on the call stack (see [`Self::too_deep`]).
    pub(super) fn in_call<T>(&self, name: &'p str, body: impl FnOnce() -> T) -> T {
        self.calls.borrow_mut().push(name);
        let out = body();
        self.calls.borrow_mut().pop();
        out
    }

    pub(super) fn leave(&self) {
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
        if let Some(given) = self.project.static_value(m, name) {
            return self.eval(m, given, None);
        }
        let scope = self.scope(m);
        if let Some(binding) = scope.names.get(name) {
            return match binding.clone() {
                Binding::Class(def) => Value::Class(ClassRef { module: m, def }),
                Binding::Function(def) => Value::Function(FuncRef { module: m, def }),
                Binding::Expr(expr) => match self.eval(m, expr, None) {
                    Value::Unknown(u) if u.via.len() < 4 => {
                        let mut via = u.via.clone();
                        via.push(format!("{}.{name}", self.project.modules[m].name));
                        Value::Unknown(Rc::new(Unresolved {
                            module: u.module,
                            offset: u.offset,
                            message: u.message.clone(),
                            via,
                        }))
                    }
                    v => v,
                },
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
                Binding::Import { module } => self.import_module(&module),
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

    /// `import module`: a project module, or a library by path.
    pub(super) fn import_module(&self, module: &str) -> Value<'p> {
        match self.project.find(module) {
            Some(target) => Value::Module(target),
            None => Value::Lib(module.into()),
        }
    }

    pub(super) fn import_from(
        &self,
        m: usize,
        module: &str,
        name: &str,
        at: TextSize,
    ) -> Value<'p> {
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
        // A missing module inside a project package is no library: Python would fail
        // to import it.
        let mut parent = module;
        while let Some((head, _)) = parent.rsplit_once('.') {
            if self.project.find(head).is_some() {
                return self.unknown(
                    m,
                    at,
                    format!("`{name}` is imported from `{module}`, which is not a module of the project package `{head}` (no such file under the source roots)"),
                );
            }
            parent = head;
        }
        Value::Lib(format!("{module}.{name}").into())
    }

    /// Evaluates `expr` in module `m`, with `locals` (function parameters or a class body).
    pub fn eval(&self, m: usize, expr: &Expr, locals: Option<&Locals<'p>>) -> Value<'p> {
        if !self.enter() {
            return self.unknown(m, expr.start(), self.too_deep());
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
                    match self.interpolate(m, element, locals) {
                        Ok(piece) => out.push_str(&piece),
                        Err(u) => return u,
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
                (_, Value::Unknown(u)) => Value::Unknown(u),
                (ast::UnaryOp::Not, v) => match builtins::truthy(&v) {
                    Some(b) => Value::Bool(!b),
                    None => self.unknown(m, u.range.start(), "Cannot tell whether this is true"),
                },
                (ast::UnaryOp::UAdd, v @ (Value::Int(_) | Value::Float(_))) => v,
                (ast::UnaryOp::Invert, Value::Int(i)) => Value::Int(!i),
                _ => self.unknown(m, u.range.start(), "Unsupported unary operation"),
            },
            Expr::Lambda(l) => {
                if is_enum_values_lambda(l) {
                    Value::EnumValuesLambda
                } else {
                    Value::Opaque
                }
            }
            Expr::If(e) => {
                let test = self.eval(m, &e.test, locals);
                match builtins::truthy(&test) {
                    Some(true) => self.eval(m, &e.body, locals),
                    Some(false) => self.eval(m, &e.orelse, locals),
                    None if test.is_unknown() => test,
                    None => self.unknown(
                        m,
                        e.range.start(),
                        "Cannot decide this conditional expression statically",
                    ),
                }
            }
            Expr::Starred(s) => self.unknown(m, s.range.start(), "Unexpected `*` expression"),
            Expr::Compare(c) => self.compare(m, c, locals),
            Expr::BoolOp(b) => {
                let mut last = Value::None;
                for (i, e) in b.values.iter().enumerate() {
                    last = self.eval(m, e, locals);
                    if i + 1 == b.values.len() {
                        break;
                    }
                    match builtins::truthy(&last) {
                        Some(t) if t == (b.op == ast::BoolOp::Or) => return last,
                        Some(_) => {}
                        None if last.is_unknown() => return last,
                        None => {
                            return self.unknown(
                                m,
                                e.start(),
                                "Cannot decide the truth of this operand statically",
                            );
                        }
                    }
                }
                last
            }
            Expr::Named(n) => {
                let v = self.eval(m, &n.value, locals);
                match (locals, n.target.as_ref()) {
                    (Some(l), Expr::Name(t)) => {
                        l.set(t.id.as_str(), v.clone());
                        v
                    }
                    _ => self.unknown(m, n.range.start(), "`:=` outside a function"),
                }
            }
            Expr::ListComp(c) => self.collect(m, &c.generators, &c.elt, locals),
            Expr::SetComp(c) => self.collect(m, &c.generators, &c.elt, locals),
            Expr::Generator(c) => self.collect(m, &c.generators, &c.elt, locals),
            Expr::DictComp(c) => {
                let mut items = Vec::new();
                let result = self.comprehension(m, &c.generators, locals, &mut |scope| {
                    let value = self.eval(m, &c.value, Some(scope));
                    match c.key.as_deref() {
                        Some(k) => {
                            let key = self.eval(m, k, Some(scope));
                            if key.is_unknown() {
                                return Err(key);
                            }
                            builtins::dict_set(&mut items, key, value);
                        }
                        None => match value {
                            Value::Dict(d) => {
                                for (k, v) in d.iter() {
                                    builtins::dict_set(&mut items, k.clone(), v.clone());
                                }
                            }
                            u @ Value::Unknown(_) => return Err(u),
                            _ => {
                                return Err(self.unknown(
                                    m,
                                    c.value.start(),
                                    "`**` of something that is not a dict",
                                ));
                            }
                        },
                    }
                    Ok(())
                });
                match result {
                    Ok(()) => Value::Dict(Rc::new(items)),
                    Err(u) => u,
                }
            }
            Expr::EllipsisLiteral(_) => Value::Opaque,
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

    /// A list, set or generator comprehension as a sequence.
    fn collect(
        &self,
        m: usize,
        generators: &[ast::Comprehension],
        elt: &Expr,
        locals: Option<&Locals<'p>>,
    ) -> Value<'p> {
        let mut out = Vec::new();
        let result = self.comprehension(m, generators, locals, &mut |scope| {
            let v = self.eval(m, elt, Some(scope));
            if v.is_unknown() {
                return Err(v);
            }
            out.push(v);
            Ok(())
        });
        match result {
            Ok(()) => Value::Seq(Rc::new(out)),
            Err(u) => u,
        }
    }

    /// One part of an f-string, formatted.
    fn interpolate(
        &self,
        m: usize,
        element: &InterpolatedStringElement,
        locals: Option<&Locals<'p>>,
    ) -> Result<String, Value<'p>> {
        let i = match element {
            InterpolatedStringElement::Literal(l) => return Ok(l.value.to_string()),
            InterpolatedStringElement::Interpolation(i) => i,
        };
        let v = self.eval(m, &i.expression, locals);
        if v.is_unknown() {
            return Err(v);
        }
        let mut spec = String::new();
        if let Some(fs) = &i.format_spec {
            for e in fs.elements.iter() {
                spec.push_str(&self.interpolate(m, e, locals)?);
            }
        }
        let text = match i.conversion {
            ast::ConversionFlag::Repr | ast::ConversionFlag::Ascii => builtins::repr(&v),
            ast::ConversionFlag::Str => builtins::to_str(&v),
            ast::ConversionFlag::None => builtins::format_spec(&v, &spec),
        };
        let text = match (text, i.conversion) {
            (Some(t), ast::ConversionFlag::None) => Some(t),
            (Some(t), _) => builtins::format_spec(&Value::Str(t.into()), &spec),
            (None, _) => None,
        };
        let mut text = text.ok_or_else(|| {
            self.unknown(
                m,
                i.range.start(),
                "Cannot evaluate this f-string part statically",
            )
        })?;
        if let Some(debug) = &i.debug_text {
            text = format!(
                "{}{}{}{text}",
                debug.leading(),
                &self.project.modules[m].parsed().text[i.expression.range()],
                debug.trailing()
            );
        }
        Ok(text)
    }

    /// `a < b == c`, `x in y`, `x is None`.
    fn compare(&self, m: usize, c: &ast::ExprCompare, locals: Option<&Locals<'p>>) -> Value<'p> {
        let mut left = self.eval(m, &c.left, locals);
        for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
            let right_v = self.eval(m, right, locals);
            for v in [&left, &right_v] {
                if v.is_unknown() {
                    return v.clone();
                }
            }
            if c.ops.len() == 1
                && (matches!(left, Value::ColumnRef(_)) || matches!(right_v, Value::ColumnRef(_)))
            {
                // A SQL comparison: `CheckConstraint(length >= 0)`.
                return match (sql_operand(&left), sql_operand(&right_v), op) {
                    (Some(a), Some(b), _)
                        if b == "NULL" && matches!(op, ast::CmpOp::Eq | ast::CmpOp::Is) =>
                    {
                        Value::SqlExpr(format!("{a} IS NULL").into())
                    }
                    (Some(a), Some(b), _)
                        if b == "NULL" && matches!(op, ast::CmpOp::NotEq | ast::CmpOp::IsNot) =>
                    {
                        Value::SqlExpr(format!("{a} IS NOT NULL").into())
                    }
                    (
                        Some(a),
                        Some(b),
                        ast::CmpOp::Eq
                        | ast::CmpOp::NotEq
                        | ast::CmpOp::Lt
                        | ast::CmpOp::LtE
                        | ast::CmpOp::Gt
                        | ast::CmpOp::GtE,
                    ) => {
                        let sql_op = match op {
                            ast::CmpOp::NotEq => "!=",
                            ast::CmpOp::Eq => "=",
                            other => other.as_str(),
                        };
                        Value::SqlExpr(format!("{a} {sql_op} {b}").into())
                    }
                    _ => self.unknown(
                        m,
                        c.range.start(),
                        "Cannot render this SQL comparison statically",
                    ),
                };
            }
            let result = match op {
                ast::CmpOp::Eq => builtins::equal(&left, &right_v),
                ast::CmpOp::NotEq => builtins::equal(&left, &right_v).map(|b| !b),
                ast::CmpOp::Lt => builtins::less(&left, &right_v),
                ast::CmpOp::Gt => builtins::less(&right_v, &left),
                ast::CmpOp::LtE => builtins::less(&right_v, &left).map(|b| !b),
                ast::CmpOp::GtE => builtins::less(&left, &right_v).map(|b| !b),
                ast::CmpOp::Is => builtins::identical(&left, &right_v),
                ast::CmpOp::IsNot => builtins::identical(&left, &right_v).map(|b| !b),
                ast::CmpOp::In => self.membership(m, &right_v, &left, right.start()),
                ast::CmpOp::NotIn => self
                    .membership(m, &right_v, &left, right.start())
                    .map(|b| !b),
            };
            match result {
                Some(true) => left = right_v,
                Some(false) => return Value::Bool(false),
                None => {
                    return self.unknown(
                        m,
                        c.range.start(),
                        "Cannot decide this comparison statically",
                    );
                }
            }
        }
        Value::Bool(true)
    }

    fn membership(
        &self,
        m: usize,
        haystack: &Value<'p>,
        needle: &Value<'p>,
        at: TextSize,
    ) -> Option<bool> {
        match haystack {
            Value::Class(c) if self.is_enum_class(*c) => {
                let members = self.iterate(m, haystack, at).ok()?;
                builtins::contains(&Value::Seq(Rc::new(members)), needle)
            }
            other => builtins::contains(other, needle),
        }
    }

    fn name(&self, m: usize, name: &str, at: TextSize, locals: Option<&Locals<'p>>) -> Value<'p> {
        if let Some(locals) = locals {
            if let Some(v) = locals.get(name) {
                return v;
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
        if let Some(def) = find_nested_class(class.def, name) {
            return Some(Value::Class(ClassRef {
                module: class.module,
                def,
            }));
        }
        let (stmt_value, is_annotated) = find_class_attr(class.def, name)?;
        if is_annotated || stmt_value.is_some_and(|v| self.looks_like_column(class.module, v)) {
            return Some(Value::ColumnRef(Rc::new(ColumnRef::Attr {
                class,
                attr: name.to_owned(),
            })));
        }
        let locals = Locals::class(class);
        // `Session = Session` in a class body reads the module's `Session`.
        if self.scope(class.module).names.contains_key(name) {
            locals.set(
                name,
                self.module_name(class.module, name, class.def.range.start()),
            );
        }
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
            Value::Lib(path)
                if name == "TYPE_CHECKING" && matches!(&*path, "typing" | "typing_extensions") =>
            {
                Value::Bool(false)
            }
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
            Value::Call(call) => match self.attr_set(&call, name) {
                Some(v) => v,
                None => self.call_attr(m, call, name, at),
            },
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
            Value::ClassTable(class) if matches!(name, "c" | "columns") => {
                Value::ClassColumns(class)
            }
            Value::ClassColumns(class) => Value::ColumnRef(Rc::new(ColumnRef::Attr {
                class,
                attr: name.to_owned(),
            })),
            v @ Value::ColumnRef(_) if matches!(name, "desc" | "asc") => {
                Value::Method(Rc::new((v, name.into())))
            }
            Value::TableColumns(table) => Value::ColumnRef(Rc::new(ColumnRef::Table {
                table,
                column: name.to_owned(),
            })),
            v @ (Value::Str(_) | Value::Seq(_) | Value::Dict(_)) => {
                Value::Method(Rc::new((v, name.into())))
            }
            Value::Instance(i) => {
                if let Some(v) = i.attrs.borrow().get(name) {
                    return v.clone();
                }
                // `MyType().with_variant(...)`: the type a dialect does not override.
                if name == "with_variant" {
                    return Value::Method(Rc::new((Value::Instance(i), name.into())));
                }
                match self.class_attr(i.class, name, at, m) {
                    Value::Function(f) => Value::Bound(Rc::new((f, Value::Instance(i.clone())))),
                    other => other,
                }
            }
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
            Value::Dialect(d) => match name {
                "name" => Value::Str(d),
                "type_descriptor" => Value::Method(Rc::new((Value::Dialect(d), name.into()))),
                _ => self.unknown(
                    m,
                    at,
                    format!("Cannot evaluate `dialect.{name}` statically (only `dialect.name` and `dialect.type_descriptor(...)`)"),
                ),
            },
            _ => self.unknown(m, at, format!("Cannot evaluate the attribute `.{name}`")),
        }
    }

    /// The value an `obj.attr = value` statement of the module that made `call` gave
    /// the object: the last such statement wins, as at the end of an import.
    fn attr_set(&self, call: &Rc<Call<'p>>, name: &str) -> Option<Value<'p>> {
        let m = call.site.0;
        let scope = self.scope(m);
        let set = scope
            .attr_sets
            .iter()
            .rev()
            .filter(|s| s.attr == name)
            .find(|s| {
                matches!(self.module_name(m, s.object, s.value.range().start()),
                    Value::Call(c) if c.site == call.site)
            })?;
        Some(match (set.class, set.value) {
            (Some(def), Expr::Name(n)) if find_class_attr(def, n.id.as_str()).is_some() => self
                .class_attr(
                    ClassRef { module: m, def },
                    n.id.as_str(),
                    n.range.start(),
                    m,
                ),
            _ => self.eval(m, set.value, None),
        })
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
        match name {
            "__name__" | "__qualname__" => return Value::Str(class.name().into()),
            "__module__" => {
                return Value::Str(self.project.modules[class.module].name.as_str().into());
            }
            _ => {}
        }
        for c in self.mro(class) {
            if let Some(def) = find_nested_class(c.def, name) {
                return Value::Class(ClassRef {
                    module: c.module,
                    def,
                });
            }
            if let Some((value, annotated)) = find_class_attr(c.def, name) {
                if value.is_none()
                    && !annotated
                    && let Some(f) = find_method(c.def, name)
                {
                    return self.method_of_class(
                        class,
                        FuncRef {
                            module: c.module,
                            def: f,
                        },
                        name,
                        at,
                    );
                }
                if self.is_enum_class(c) && !name.starts_with('_') && value.is_some() {
                    return Value::EnumMember(c, name.into());
                }
                if annotated || value.is_some_and(|v| self.looks_like_column(c.module, v)) {
                    return Value::ColumnRef(Rc::new(ColumnRef::Attr {
                        class,
                        attr: name.to_owned(),
                    }));
                }
                let locals = Locals::class(c);
                if self.scope(c.module).names.contains_key(name) {
                    locals.set(name, self.module_name(c.module, name, at));
                }
                return match value {
                    Some(v) => match self.eval(c.module, v, Some(&locals)) {
                        Value::Call(call) if call.name() == "Table" => Value::Call(call),
                        other => other,
                    },
                    None => Value::Opaque,
                };
            }
        }
        if name == "__table__" {
            return Value::ClassTable(class);
        }
        if name == "__members__" && self.is_enum_class(class) {
            return Value::Dict(Rc::new(
                self.enum_members(class)
                    .into_iter()
                    .map(|(n, _)| {
                        (
                            Value::Str(n.as_str().into()),
                            Value::EnumMember(class, n.into()),
                        )
                    })
                    .collect(),
            ));
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

    /// A function defined in a class body, read as an attribute of `owner`: a
    /// `classmethod` bound to the class, a `@declared_attr` / `classproperty` evaluated
    /// for it (a column it returns becomes a reference), a plain function as it is.
    fn method_of_class(
        &self,
        owner: ClassRef<'p>,
        f: FuncRef<'p>,
        name: &str,
        at: TextSize,
    ) -> Value<'p> {
        match method_kind(f.def) {
            MethodKind::ClassMethod => Value::Bound(Rc::new((f, Value::Class(owner)))),
            MethodKind::Evaluated => {
                match self.call_function(f.module, f, vec![Value::Class(owner)], Vec::new(), at) {
                    Value::Call(c)
                        if is_sa(&c.callee) && matches!(c.name(), "Column" | "mapped_column") =>
                    {
                        Value::ColumnRef(Rc::new(ColumnRef::Attr {
                            class: owner,
                            attr: name.to_owned(),
                        }))
                    }
                    other => other,
                }
            }
            MethodKind::Property => Value::Opaque,
            MethodKind::Plain => Value::Function(f),
        }
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
                // `declarative_base(cls=IronicBase)`: every model derives from `cls`.
                Value::Call(call)
                    if matches!(call.name(), "declarative_base" | "generate_base") =>
                {
                    match call.kw("cls") {
                        Some(Value::Class(c)) if *c != class => Some(*c),
                        _ => None,
                    }
                }
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
        // `super().__init__(...)` in a wrapper's `__init__`: library bases keep no schema.
        if let Expr::Attribute(a) = c.func.as_ref()
            && let Expr::Call(inner) = a.value.as_ref()
            && matches!(inner.func.as_ref(), Expr::Name(n) if n.id.as_str() == "super")
        {
            return Value::Opaque;
        }
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
        if let Some(locals) = locals
            && let Some(v) =
                self.mutating_call(m, &c.func, &args, &kwargs, locals, c.range().start())
        {
            return v;
        }
        self.call(m, func, args, kwargs, c.range().start())
    }

    /// Calls `func` with evaluated arguments.
    pub fn call(
        &self,
        m: usize,
        func: Value<'p>,
        mut args: Vec<Value<'p>>,
        kwargs: Vec<(String, Value<'p>)>,
        at: TextSize,
    ) -> Value<'p> {
        let site = (m, at.to_u32());
        match func {
            Value::Lib(path) => {
                if let Some(f) = path.strip_prefix("re.")
                    && !f.contains('.')
                {
                    return builtins::re_call(f, &args)
                        .unwrap_or_else(|reason| self.unknown(m, at, reason));
                }
                if matches!(&*path, "typing.cast" | "typing_extensions.cast") && args.len() == 2 {
                    return args.swap_remove(1);
                }
                Value::Call(Rc::new(Call {
                    callee: path,
                    recv: None,
                    args,
                    kwargs,
                    site,
                }))
            }
            Value::Attr(recv, name) => Value::Call(Rc::new(Call {
                callee: format!("{}.{name}", recv.callee).into(),
                recv: Some(recv),
                args,
                kwargs,
                site,
            })),
            Value::Function(f) => self.call_function(m, f, args, kwargs, at),
            Value::Bound(bound) => {
                let (f, recv) = (bound.0, bound.1.clone());
                args.insert(0, recv);
                self.call_function(m, f, args, kwargs, at)
            }
            Value::Class(class) => self.instantiate(m, class, args, kwargs, at),
            // `MyType().with_variant(JSONB(), "postgresql")`: a library call on the
            // instance, read by the type reader.
            Value::Method(method)
                if matches!(method.0, Value::Instance(_)) && &*method.1 == "with_variant" =>
            {
                args.insert(0, method.0.clone());
                Value::Call(Rc::new(Call {
                    callee: "with_variant".into(),
                    recv: None,
                    args,
                    kwargs,
                    site,
                }))
            }
            Value::Method(method)
                if matches!(method.0, Value::Dialect(_)) && &*method.1 == "type_descriptor" =>
            {
                match args.into_iter().next() {
                    Some(t) => t,
                    None => self.unknown(m, at, "`dialect.type_descriptor()` needs a type"),
                }
            }
            Value::Method(method) if matches!(method.0, Value::ColumnRef(_)) => {
                // `Model.id.desc()` is `sqlalchemy.desc(Model.id)`.
                args.insert(0, method.0.clone());
                Value::Call(Rc::new(Call {
                    callee: format!("sqlalchemy.{}", method.1).into(),
                    recv: None,
                    args,
                    kwargs,
                    site,
                }))
            }
            Value::Method(method) => {
                let (recv, name) = (&method.0, &*method.1);
                let result = if builtins::is_mutator(name) {
                    builtins::mutate(recv, name, &args, &kwargs).map(|(r, _)| r)
                } else {
                    builtins::method(recv, name, &args, &kwargs)
                };
                result.unwrap_or_else(|reason| self.unknown(m, at, reason))
            }
            Value::Builtin(b) => match (&*b, args.as_slice()) {
                ("getattr", [obj, Value::Str(name), rest @ ..]) if rest.len() <= 1 => {
                    match self.attr(m, obj.clone(), name, at) {
                        Value::Unknown(_) if rest.len() == 1 => rest[0].clone(),
                        v => v,
                    }
                }
                ("hasattr", [obj, Value::Str(name)]) => match obj {
                    Value::Class(_) | Value::Instance(_) | Value::Module(_) => {
                        Value::Bool(!self.attr(m, obj.clone(), name, at).is_unknown())
                    }
                    _ => self.unknown(m, at, "`hasattr` of this value is not evaluated statically"),
                },
                _ => builtins::call_builtin(&b, &args, &kwargs)
                    .unwrap_or_else(|reason| self.unknown(m, at, reason)),
            },
            Value::Unknown(u) => Value::Unknown(u),
            _ => self.unknown(m, at, "Cannot evaluate this call statically"),
        }
    }

    /// `Class(...)`: an instance; a plain project class (no library base) runs its
    /// `__init__`, so a wrapper that builds a table in `self.table` is understood.
    fn instantiate(
        &self,
        m: usize,
        class: ClassRef<'p>,
        args: Vec<Value<'p>>,
        kwargs: Vec<(String, Value<'p>)>,
        at: TextSize,
    ) -> Value<'p> {
        if self.is_enum_class(class) {
            return match args.as_slice() {
                [v] => self
                    .enum_members(class)
                    .into_iter()
                    .find(|(name, _)| {
                        let member = self.attr(
                            m,
                            Value::EnumMember(class, name.as_str().into()),
                            "value",
                            at,
                        );
                        builtins::equal(&member, v) == Some(true)
                    })
                    .map(|(name, _)| Value::EnumMember(class, name.into()))
                    .unwrap_or_else(|| self.unknown(m, at, "No enum member has this value")),
                _ => self.unknown(m, at, "Calling an enum is not evaluated statically"),
            };
        }
        let mro = self.mro(class);
        let plain = mro.iter().all(|c| {
            self.bases(*c).iter().all(|b| {
                matches!(b, Value::Class(_)) || matches!(b, Value::Builtin(n) if &**n == "object")
            })
        });
        let init = mro.iter().find_map(|c| {
            find_method(c.def, "__init__").map(|def| FuncRef {
                module: c.module,
                def,
            })
        });
        let instance = Rc::new(Instance {
            class,
            args: args.clone(),
            kwargs: kwargs.clone(),
            attrs: RefCell::default(),
        });
        if plain && let Some(init) = init {
            let mut call_args = args;
            call_args.insert(0, Value::Instance(instance.clone()));
            // An `__init__` that cannot be run leaves the attributes it did not set
            // unknown: reading one later is what fails, where it matters.
            let _ = self.call_function(m, init, call_args, kwargs, at);
        }
        Value::Instance(instance)
    }

    fn subscript(
        &self,
        m: usize,
        base: Value<'p>,
        slice: &Expr,
        locals: Option<&Locals<'p>>,
        at: TextSize,
    ) -> Value<'p> {
        if let Expr::Slice(sl) = slice {
            return self.slice(m, base, sl, locals, at);
        }
        let index = self.eval(m, slice, locals);
        match (base, index) {
            (Value::Unknown(u), _) => Value::Unknown(u),
            (_, Value::Unknown(u)) => Value::Unknown(u),
            (Value::Class(c), Value::Str(member))
                if self.is_enum_class(c)
                    && self.enum_members(c).iter().any(|(n, _)| **n == *member) =>
            {
                Value::EnumMember(c, member)
            }
            (Value::Str(text), Value::Int(i)) => {
                let chars: Vec<char> = text.chars().collect();
                let len = chars.len() as i64;
                let i = if i < 0 { i + len } else { i };
                usize::try_from(i)
                    .ok()
                    .and_then(|i| chars.get(i))
                    .map(|c| Value::Str(c.to_string().into()))
                    .unwrap_or_else(|| self.unknown(m, at, "Index out of range"))
            }
            (Value::ClassColumns(class), Value::Str(column)) => {
                Value::ColumnRef(Rc::new(ColumnRef::Attr {
                    class,
                    attr: column.to_string(),
                }))
            }
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

    /// `x[a:b:c]` of a string or sequence.
    fn slice(
        &self,
        m: usize,
        base: Value<'p>,
        sl: &ast::ExprSlice,
        locals: Option<&Locals<'p>>,
        at: TextSize,
    ) -> Value<'p> {
        let bound = |e: &Option<Box<Expr>>| -> Result<Option<i64>, Value<'p>> {
            match e.as_deref().map(|e| self.eval(m, e, locals)) {
                None | Some(Value::None) => Ok(None),
                Some(Value::Int(i)) => Ok(Some(i)),
                Some(u @ Value::Unknown(_)) => Err(u),
                Some(_) => Err(self.unknown(m, at, "Slice bounds must be numbers")),
            }
        };
        let (lo, hi, step) = match (bound(&sl.lower), bound(&sl.upper), bound(&sl.step)) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c.unwrap_or(1)),
            (Err(u), _, _) | (_, Err(u), _) | (_, _, Err(u)) => return u,
        };
        if step == 0 {
            return self.unknown(m, at, "Slice step cannot be zero");
        }
        let pick = |len: usize| -> Vec<usize> {
            let len = len as i64;
            let norm = |i: i64| -> i64 {
                let i = if i < 0 { i + len } else { i };
                if step > 0 {
                    i.clamp(0, len)
                } else {
                    i.clamp(-1, len - 1)
                }
            };
            let (start, stop) = if step > 0 {
                (lo.map_or(0, norm), hi.map_or(len, norm))
            } else {
                (lo.map_or(len - 1, norm), hi.map_or(-1, norm))
            };
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i < stop) || (step < 0 && i > stop) {
                out.push(i as usize);
                i += step;
            }
            out
        };
        match base {
            Value::Str(text) => {
                let chars: Vec<char> = text.chars().collect();
                Value::Str(
                    pick(chars.len())
                        .into_iter()
                        .map(|i| chars[i])
                        .collect::<String>()
                        .into(),
                )
            }
            Value::Seq(items) => Value::Seq(Rc::new(
                pick(items.len())
                    .into_iter()
                    .map(|i| items[i].clone())
                    .collect(),
            )),
            u @ Value::Unknown(_) => u,
            _ => self.unknown(m, at, "Cannot slice this value statically"),
        }
    }

    pub(super) fn binop(
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
            (Operator::Mod, Value::Str(t), values) => builtins::percent_format(&t, &values)
                .map_or_else(
                    || self.unknown(m, at, "Cannot evaluate this `%` formatting statically"),
                    |s| Value::Str(s.into()),
                ),
            (Operator::Mult, Value::Str(t), Value::Int(n))
            | (Operator::Mult, Value::Int(n), Value::Str(t)) => {
                if !(0..=100_000).contains(&n) {
                    return self.unknown(m, at, "String repetition out of range");
                }
                Value::Str(t.repeat(n as usize).into())
            }
            (Operator::Mult, Value::Seq(a), Value::Int(n)) if (0..=100_000).contains(&n) => {
                Value::Seq(Rc::new(
                    a.iter()
                        .cloned()
                        .cycle()
                        .take(a.len() * n as usize)
                        .collect(),
                ))
            }
            (Operator::FloorDiv, Value::Int(a), Value::Int(b)) if b != 0 => {
                Value::Int(a.div_euclid(b) - i64::from(a.rem_euclid(b) != 0 && b < 0))
            }
            (Operator::Mod, Value::Int(a), Value::Int(b)) if b != 0 => {
                Value::Int(((a % b) + b) % b)
            }
            (Operator::Div, Value::Int(a), Value::Int(b)) if b != 0 => {
                Value::Float(a as f64 / b as f64)
            }
            (Operator::Pow, Value::Int(a), Value::Int(b)) if (0..64).contains(&b) => a
                .checked_pow(b as u32)
                .map_or_else(|| self.unknown(m, at, "Integer overflow"), Value::Int),
            (Operator::Add, Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            (Operator::Sub, Value::Float(a), Value::Float(b)) => Value::Float(a - b),
            (Operator::Mult, Value::Float(a), Value::Float(b)) => Value::Float(a * b),
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

/// A column or literal as SQL text, the way SQLAlchemy compiles a check constraint.
fn sql_operand(v: &Value<'_>) -> Option<String> {
    Some(match v {
        Value::ColumnRef(r) => match r.as_ref() {
            ColumnRef::Attr { attr, .. } => attr.clone(),
            ColumnRef::Table { column, .. } => column.clone(),
        },
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Bool(true) => "true".into(),
        Value::Bool(false) => "false".into(),
        Value::None => "NULL".into(),
        _ => return None,
    })
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

/// True for `except ImportError`, `ModuleNotFoundError`, `Exception`, a tuple with one
/// of them, or a bare `except:`.
fn catches_import_error(h: &ast::ExceptHandlerExceptHandler) -> bool {
    let names = |e: &Expr| -> bool {
        let n = match e {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => "",
        };
        matches!(
            n,
            "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"
        )
    };
    match h.type_.as_deref() {
        None => true,
        Some(Expr::Tuple(t)) => t.elts.iter().any(names),
        Some(e) => names(e),
    }
}

/// A class nested in a class body: `class Kind(enum.Enum)` inside a model.
pub fn find_nested_class<'p>(def: &'p StmtClassDef, name: &str) -> Option<&'p StmtClassDef> {
    def.body.iter().rev().find_map(|s| match s {
        Stmt::ClassDef(c) if c.name.as_str() == name => Some(c),
        _ => None,
    })
}

/// The last function called `name` in a class body.
pub fn find_method<'p>(def: &'p StmtClassDef, name: &str) -> Option<&'p StmtFunctionDef> {
    def.body.iter().rev().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.as_str() == name => Some(f),
        _ => None,
    })
}

/// How a function in a class body behaves when read from the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// `@classmethod`: bound to the class.
    ClassMethod,
    /// `@declared_attr` (also `.directive`, `.cascading`), `classproperty`,
    /// `hybrid_property`-like class-level evaluation: called with the class.
    Evaluated,
    /// `@property`, `@cached_property`: an object with no schema meaning on the class.
    Property,
    Plain,
}

/// The decorators of `def` as the kind of method they make.
pub fn method_kind(def: &StmtFunctionDef) -> MethodKind {
    for d in &def.decorator_list {
        let e = match &d.expression {
            Expr::Call(c) => c.func.as_ref(),
            other => other,
        };
        let (base, last) = match e {
            Expr::Name(n) => ("", n.id.as_str()),
            Expr::Attribute(a) => (
                match a.value.as_ref() {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(b) => b.attr.as_str(),
                    _ => "",
                },
                a.attr.as_str(),
            ),
            _ => continue,
        };
        match (base, last) {
            (_, "classmethod") => return MethodKind::ClassMethod,
            (_, "declared_attr" | "classproperty" | "hybridproperty")
            | ("declared_attr", "directive" | "cascading") => return MethodKind::Evaluated,
            (
                _,
                "property" | "cached_property" | "hybrid_property" | "hybrid_method" | "setter"
                | "expression",
            ) => {
                return MethodKind::Property;
            }
            _ => {}
        }
    }
    MethodKind::Plain
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
                    sha256: None,
                })
                .collect(),
        );
        p.parse_candidates();
        p
    }

    /// Runs `f` on a thread with a discovery thread's stack.
    fn deep(f: impl FnOnce() + Send) {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(crate::discovery::DISCOVERY_STACK)
                .spawn_scoped(s, f)
                .expect("test thread")
                .join()
                .expect("test thread panicked");
        });
    }

    #[test]
    fn runs_helper_functions_statement_by_statement() {
        deep(|| {
            let p = project(&[(
                "m.py",
                r#"
import re
import enum
from sqlalchemy import Column, ForeignKey, String

class Kind(enum.IntEnum):
    A = enum.auto()
    B = enum.auto()

def fk_column(target, *, nullable=False, **kw):
    """Doc."""
    kw.setdefault("index", True)
    options = {"ondelete": "CASCADE"}
    if target.startswith("auth."):
        options["ondelete"] = None
    elif len(target) > 40:
        raise ValueError(target)
    for key in ("onupdate",):
        options[key] = kw.pop(key, None)
    return Column(ForeignKey(target, **options), nullable=nullable, **kw)

def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

def names(prefix, n):
    out = []
    i = 0
    while i < n:
        out.append(f"{prefix}_{i:02d}")
        i += 1
    else:
        out += ["%s_end" % prefix]
    return out

col = fk_column("users.id", onupdate="SET NULL")
table = snake("UserProfile")
ix = names("ix", 2)
squares = {k: v * v for k, v in zip("ab", range(1, 3)) if v}
label = "{0}-{name}".format("x", name=Kind.B.name)
flag = "a" in ["a"] and not (1 > 2) or None
"#,
            )]);
            let ev = Evaluator::new(&p);
            let Value::Call(col) = value_of(&ev, 0, "col") else {
                panic!("col")
            };
            assert!(matches!(col.kw("index"), Some(Value::Bool(true))));
            assert!(matches!(col.kw("nullable"), Some(Value::Bool(false))));
            let Value::Call(fk) = &col.args[0] else {
                panic!("fk")
            };
            assert_eq!(fk.kw("ondelete").and_then(Value::as_str), Some("CASCADE"));
            assert_eq!(fk.kw("onupdate").and_then(Value::as_str), Some("SET NULL"));
            assert_eq!(value_of(&ev, 0, "table").as_str(), Some("user_profile"));
            let Value::Seq(ix) = value_of(&ev, 0, "ix") else {
                panic!("ix")
            };
            let ix: Vec<&str> = ix.iter().filter_map(Value::as_str).collect();
            assert_eq!(ix, ["ix_00", "ix_01", "ix_end"]);
            let Value::Dict(sq) = value_of(&ev, 0, "squares") else {
                panic!("squares")
            };
            assert!(matches!(sq[1], (Value::Str(_), Value::Int(4))));
            assert_eq!(value_of(&ev, 0, "label").as_str(), Some("x-B"));
            assert!(matches!(value_of(&ev, 0, "flag"), Value::Bool(true)));
        });
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
    fn cycles_recursion_and_endless_loops_are_unknown() {
        deep(cycles_and_endless);
    }

    fn cycles_and_endless() {
        let p = project(&[(
            "m.py",
            "a = b\nb = a\ndef f():\n    x = 1\n    return x\nc = f()\ndef g(n):\n    return g(n + 1)\nd = g(0)\ndef h():\n    while True:\n        pass\ne = h()\n",
        )]);
        let ev = Evaluator::new(&p);
        assert!(value_of(&ev, 0, "a").is_unknown());
        assert!(matches!(value_of(&ev, 0, "c"), Value::Int(1)));
        let Value::Unknown(u) = value_of(&ev, 0, "d") else {
            panic!("unknown")
        };
        assert!(u.message.contains("too deeply"), "{}", u.message);
        let Value::Unknown(u) = value_of(&ev, 0, "e") else {
            panic!("unknown")
        };
        assert!(u.message.contains("steps"), "{}", u.message);
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
