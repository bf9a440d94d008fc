//! `prisma-discovery`: a discovery backend reading Prisma schemas (`*.prisma`).
//!
//! ```toml
//! [discovery]
//! MODEL_DISCOVERY_PATHS = "prisma"
//! BACKENDS = ["wasm:plugins/prisma.wasm"]      # with "sqlalchemy" to merge both
//! ```
//!
//! Every `*.prisma` file under the discovery paths is one schema (multi-file schemas
//! work: models, enums and relations resolve across files). It reads:
//!
//! - `model` blocks: one table each (`@@map` names it, `@@schema` puts it in a
//!   schema); scalar fields become columns (`@map` renames them), `?` makes them
//!   nullable, scalar lists (`String[]`) become arrays; relation fields add no
//!   column, their `@relation(fields: [...], references: [...], onDelete: ...,
//!   onUpdate: ..., map: "...")` adds the foreign key;
//! - scalar types `String Boolean Int BigInt Float Decimal DateTime Json Bytes`,
//!   enums, `Unsupported("...")`, and native types `@db.VarChar(n)`, `@db.Text`,
//!   `@db.Uuid`, `@db.Timestamptz(p)`, `@db.Decimal(p, s)`, `@db.JsonB` ... (others
//!   are kept by their name);
//! - `@id`, `@@id`, `@unique`, `@@unique`, `@@index` (with `map:` names; the
//!   default names are Prisma's: `<table>_<columns>_idx`), `@default(...)`:
//!   `autoincrement()`, `now()`, `dbgenerated("...")`, strings, numbers, booleans,
//!   enum values (`uuid()`, `cuid()` ... are computed by the client: no default);
//! - `enum` blocks (`@map` on values, `@@map` on the enum): named enum types.
//!
//! `datasource`, `generator` and `@updatedAt`/`@ignore`/`@@ignore` are accepted;
//! composite `type`s and `view`s define no table (a warning says so). Anything it
//! cannot read (a syntax error, an unknown type, a key naming a field the model does
//! not have) is an error at its file, line and column: discovery then fails, so a
//! model is never silently dropped from a migration.

use std::collections::HashMap;

use sqlalembic_plugin::discovery::{
    Backend, Diagnostic, Discovered, LocatedTable, Request, project,
};
use sqlalembic_plugin::schema::{
    Column, ColumnType, EnumType, ForeignKey, Index, Precision, PrimaryKey, ScalarType, Table,
    UniqueConstraint,
};

struct Prisma;

impl Backend for Prisma {
    fn discover(_request: Request) -> Result<Discovered, Vec<Diagnostic>> {
        let files =
            project::list("**/*.prisma").map_err(|e| vec![Diagnostic::error("PRISMA000", &e)])?;
        let mut schema = Parsed::default();
        let mut diagnostics = Vec::new();
        for path in files {
            match project::read_to_string(&path) {
                Ok(text) => parse_file(&path, &text, &mut schema, &mut diagnostics),
                Err(e) => {
                    diagnostics.push(Diagnostic::error("PRISMA000", &e).at(&path, None, None));
                }
            }
        }
        let tables = resolve(&schema, &mut diagnostics);
        Ok(Discovered {
            tables,
            diagnostics,
        })
    }
}

sqlalembic_plugin::export_discovery_backend!(Prisma);

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: u32,
    col: u32,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Punct(char),
    /// `@@`
    AtAt,
    Newline,
}

fn lex(text: &str) -> Result<Vec<(Tok, Pos)>, (String, Pos)> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut col) = (0, 1u32, 1u32);
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, col };
        let mut advance = |n: usize, i: &mut usize| {
            *i += n;
            col += n as u32;
        };
        match c {
            '\n' => {
                out.push((Tok::Newline, pos));
                i += 1;
                line += 1;
                col = 1;
            }
            c if c.is_whitespace() => advance(1, &mut i),
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    advance(1, &mut i);
                }
            }
            '"' => {
                let mut s = String::new();
                advance(1, &mut i);
                loop {
                    match chars.get(i) {
                        None | Some('\n') => return Err(("Unterminated string".into(), pos)),
                        Some('"') => {
                            advance(1, &mut i);
                            break;
                        }
                        Some('\\') => {
                            let escaped = match chars.get(i + 1) {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some(other) => *other,
                                None => return Err(("Unterminated string".into(), pos)),
                            };
                            s.push(escaped);
                            advance(2, &mut i);
                        }
                        Some(other) => {
                            s.push(*other);
                            advance(1, &mut i);
                        }
                    }
                }
                out.push((Tok::Str(s), pos));
            }
            '@' if chars.get(i + 1) == Some(&'@') => {
                out.push((Tok::AtAt, pos));
                advance(2, &mut i);
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                advance(1, &mut i);
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '.')
                {
                    advance(1, &mut i);
                }
                out.push((Tok::Num(chars[start..i].iter().collect()), pos));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                {
                    advance(1, &mut i);
                }
                out.push((Tok::Ident(chars[start..i].iter().collect()), pos));
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ',' | ':' | '=' | '?' | '.' | '@' => {
                out.push((Tok::Punct(c), pos));
                advance(1, &mut i);
            }
            other => return Err((format!("Unexpected character `{other}`"), pos)),
        }
    }
    out.push((Tok::Newline, Pos { line, col }));
    Ok(out)
}

// ---------------------------------------------------------------------------
// Parser

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Num(String),
    Ident(String),
    Call(String, Vec<Arg>),
    List(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq)]
struct Arg {
    name: Option<String>,
    value: Value,
}

#[derive(Debug, Clone)]
struct Attr {
    /// `id`, `default`, `db.VarChar` ...
    name: String,
    args: Vec<Arg>,
    pos: Pos,
}

impl Attr {
    /// The argument called `name`, or the first positional one when `positional`.
    fn arg(&self, name: &str, positional: bool) -> Option<&Value> {
        self.args
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .or_else(|| {
                positional
                    .then(|| self.args.iter().find(|a| a.name.is_none()))
                    .flatten()
            })
            .map(|a| &a.value)
    }
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    ty: String,
    /// `Unsupported("...")`'s text.
    unsupported: Option<String>,
    optional: bool,
    list: bool,
    attrs: Vec<Attr>,
    pos: Pos,
}

impl Field {
    fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone)]
struct Model {
    name: String,
    file: String,
    pos: Pos,
    fields: Vec<Field>,
    attrs: Vec<Attr>,
}

impl Model {
    fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone)]
struct Enum {
    name: String,
    /// (value, the name it has in the database)
    values: Vec<(String, String)>,
    db_name: String,
}

#[derive(Debug, Default)]
struct Parsed {
    models: Vec<Model>,
    enums: Vec<Enum>,
}

struct Parser<'a> {
    toks: &'a [(Tok, Pos)],
    i: usize,
}

type PResult<T> = Result<T, (String, Pos)>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].0
    }

    fn pos(&self) -> Pos {
        self.toks[self.i.min(self.toks.len() - 1)].1
    }

    fn next(&mut self) -> (Tok, Pos) {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        self.i += 1;
        t
    }

    fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }

    fn eat(&mut self, c: char) -> bool {
        if *self.peek() == Tok::Punct(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err((
                format!("Expected `{c}`, found {}", describe(self.peek())),
                self.pos(),
            ))
        }
    }

    fn ident(&mut self) -> PResult<String> {
        match self.next() {
            (Tok::Ident(s), _) => Ok(s),
            (other, pos) => Err((format!("Expected a name, found {}", describe(&other)), pos)),
        }
    }

    fn skip_newlines(&mut self) {
        while !self.at_end() && *self.peek() == Tok::Newline {
            self.i += 1;
        }
    }

    /// Skips to the end of the line (error recovery).
    fn skip_line(&mut self) {
        while !self.at_end() && *self.peek() != Tok::Newline {
            if *self.peek() == Tok::Punct('}') {
                return;
            }
            self.i += 1;
        }
    }

    fn value(&mut self) -> PResult<Value> {
        match self.next() {
            (Tok::Str(s), _) => Ok(Value::Str(s)),
            (Tok::Num(n), _) => Ok(Value::Num(n)),
            (Tok::Ident(name), _) => {
                if self.eat('(') {
                    let args = self.args(')')?;
                    Ok(Value::Call(name, args))
                } else {
                    Ok(Value::Ident(name))
                }
            }
            (Tok::Punct('['), _) => {
                let mut items = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.eat(']') {
                        break;
                    }
                    items.push(self.value()?);
                    self.skip_newlines();
                    if !self.eat(',') {
                        self.skip_newlines();
                        self.expect(']')?;
                        break;
                    }
                }
                Ok(Value::List(items))
            }
            (other, pos) => Err((format!("Expected a value, found {}", describe(&other)), pos)),
        }
    }

    /// Arguments up to `close` (the opening bracket is consumed).
    fn args(&mut self, close: char) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(close) {
                return Ok(args);
            }
            let named = matches!(self.peek(), Tok::Ident(_))
                && self.toks.get(self.i + 1).map(|t| &t.0) == Some(&Tok::Punct(':'));
            let name = if named {
                let n = self.ident()?;
                self.expect(':')?;
                Some(n)
            } else {
                None
            };
            let value = self.value()?;
            args.push(Arg { name, value });
            self.skip_newlines();
            if !self.eat(',') {
                self.skip_newlines();
                self.expect(close)?;
                return Ok(args);
            }
        }
    }

    /// `@name(.name)*[(args)]` after the `@` / `@@`.
    fn attr(&mut self, pos: Pos) -> PResult<Attr> {
        let mut name = self.ident()?;
        while self.eat('.') {
            name.push('.');
            name.push_str(&self.ident()?);
        }
        let args = if self.eat('(') {
            self.args(')')?
        } else {
            Vec::new()
        };
        Ok(Attr { name, args, pos })
    }

    fn field(&mut self) -> PResult<Field> {
        let pos = self.pos();
        let name = self.ident()?;
        let ty_pos = self.pos();
        let ty = self.ident()?;
        let mut unsupported = None;
        if self.eat('(') {
            let args = self.args(')')?;
            match (ty.as_str(), args.as_slice()) {
                (
                    "Unsupported",
                    [
                        Arg {
                            value: Value::Str(s),
                            ..
                        },
                    ],
                ) => unsupported = Some(s.clone()),
                _ => return Err((format!("Type `{ty}` takes no arguments"), ty_pos)),
            }
        }
        let mut list = false;
        if self.eat('[') {
            self.expect(']')?;
            list = true;
        }
        let optional = self.eat('?');
        let mut attrs = Vec::new();
        loop {
            let at = self.pos();
            if self.eat('@') {
                attrs.push(self.attr(at)?);
            } else {
                break;
            }
        }
        Ok(Field {
            name,
            ty,
            unsupported,
            optional,
            list,
            attrs,
            pos,
        })
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Num(n) => format!("`{n}`"),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::AtAt => "`@@`".into(),
        Tok::Newline => "the end of the line".into(),
    }
}

fn error_at(code: &str, path: &str, pos: Pos, message: &str) -> Diagnostic {
    Diagnostic::error(code, message).at(path, Some(pos.line), Some(pos.col))
}

fn warning_at(code: &str, path: &str, pos: Pos, message: &str) -> Diagnostic {
    Diagnostic::warning(code, message).at(path, Some(pos.line), Some(pos.col))
}

fn parse_file(path: &str, text: &str, out: &mut Parsed, diagnostics: &mut Vec<Diagnostic>) {
    let toks = match lex(text) {
        Ok(t) => t,
        Err((message, pos)) => {
            diagnostics.push(error_at("PRISMA001", path, pos, &message));
            return;
        }
    };
    let mut p = Parser { toks: &toks, i: 0 };
    loop {
        p.skip_newlines();
        if p.at_end() {
            return;
        }
        let pos = p.pos();
        let keyword = match p.ident() {
            Ok(k) => k,
            Err((message, pos)) => {
                diagnostics.push(error_at("PRISMA001", path, pos, &message));
                return;
            }
        };
        let name = match p.ident() {
            Ok(n) => n,
            Err((message, pos)) => {
                diagnostics.push(error_at("PRISMA001", path, pos, &message));
                return;
            }
        };
        if let Err((message, pos)) = p.expect('{') {
            diagnostics.push(error_at("PRISMA001", path, pos, &message));
            return;
        }
        match keyword.as_str() {
            "model" => {
                let model = parse_model(&mut p, path, name, pos, diagnostics);
                out.models.push(model);
            }
            "enum" => out.enums.push(parse_enum(&mut p, path, name, diagnostics)),
            "datasource" | "generator" => skip_block(&mut p),
            "view" | "type" => {
                diagnostics.push(warning_at(
                    "PRISMA011",
                    path,
                    pos,
                    &format!("`{keyword} {name}` defines no table: left out"),
                ));
                skip_block(&mut p);
            }
            other => {
                diagnostics.push(error_at(
                    "PRISMA001",
                    path,
                    pos,
                    &format!("Unknown block `{other}`: expected `model`, `enum`, `datasource`, `generator`, `view` or `type`"),
                ));
                skip_block(&mut p);
            }
        }
    }
}

fn skip_block(p: &mut Parser<'_>) {
    let mut depth = 1;
    while !p.at_end() && depth > 0 {
        match p.next().0 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => depth -= 1,
            _ => {}
        }
    }
}

fn parse_model(
    p: &mut Parser<'_>,
    path: &str,
    name: String,
    pos: Pos,
    diagnostics: &mut Vec<Diagnostic>,
) -> Model {
    let mut model = Model {
        name,
        file: path.to_owned(),
        pos,
        fields: Vec::new(),
        attrs: Vec::new(),
    };
    loop {
        p.skip_newlines();
        if p.at_end() {
            diagnostics.push(error_at(
                "PRISMA001",
                path,
                pos,
                &format!("Model `{}` is not closed with `}}`", model.name),
            ));
            return model;
        }
        if p.eat('}') {
            return model;
        }
        let at = p.pos();
        let parsed = if *p.peek() == Tok::AtAt {
            p.next();
            p.attr(at).map(|a| model.attrs.push(a))
        } else {
            p.field().map(|f| model.fields.push(f))
        };
        let end = match parsed {
            Ok(()) => match p.peek() {
                Tok::Newline | Tok::Punct('}') => Ok(()),
                other => Err((
                    format!("Unexpected {} after the field", describe(other)),
                    p.pos(),
                )),
            },
            Err(e) => Err(e),
        };
        if let Err((message, pos)) = end {
            diagnostics.push(error_at("PRISMA001", path, pos, &message));
            p.skip_line();
        }
    }
}

fn parse_enum(
    p: &mut Parser<'_>,
    path: &str,
    name: String,
    diagnostics: &mut Vec<Diagnostic>,
) -> Enum {
    let mut e = Enum {
        db_name: name.clone(),
        name,
        values: Vec::new(),
    };
    loop {
        p.skip_newlines();
        if p.at_end() || p.eat('}') {
            return e;
        }
        let at = p.pos();
        let parsed: PResult<()> = (|| {
            if *p.peek() == Tok::AtAt {
                p.next();
                let attr = p.attr(at)?;
                match (attr.name.as_str(), attr.arg("name", true)) {
                    ("map", Some(Value::Str(s))) => e.db_name = s.clone(),
                    ("schema", _) => {}
                    (other, _) => {
                        diagnostics.push(warning_at(
                            "PRISMA010",
                            path,
                            at,
                            &format!("Unknown enum attribute `@@{other}`: ignored"),
                        ));
                    }
                }
                return Ok(());
            }
            let value = p.ident()?;
            let mut db = value.clone();
            loop {
                let at = p.pos();
                if !p.eat('@') {
                    break;
                }
                let attr = p.attr(at)?;
                if let ("map", Some(Value::Str(s))) = (attr.name.as_str(), attr.arg("name", true)) {
                    db = s.clone();
                }
            }
            e.values.push((value, db));
            Ok(())
        })();
        if let Err((message, pos)) = parsed {
            diagnostics.push(error_at("PRISMA001", path, pos, &message));
            p.skip_line();
        }
    }
}

// ---------------------------------------------------------------------------
// Prisma schema -> tables

const SCALARS: &[&str] = &[
    "String", "Boolean", "Int", "BigInt", "Float", "Decimal", "DateTime", "Json", "Bytes",
];

/// A model's table name and the database names of its fields.
struct Names<'a> {
    table: String,
    schema: Option<String>,
    columns: HashMap<&'a str, String>,
}

/// A string argument; only `name` may also be given positionally (`@map("x")`).
fn string_arg(attr: &Attr, name: &str) -> Option<String> {
    match attr.arg(name, name == "name") {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

fn names(model: &Model) -> Names<'_> {
    let table = model
        .attr("map")
        .and_then(|a| string_arg(a, "name"))
        .unwrap_or_else(|| model.name.clone());
    let schema = model.attr("schema").and_then(|a| string_arg(a, "name"));
    let columns = model
        .fields
        .iter()
        .map(|f| {
            let db = f
                .attr("map")
                .and_then(|a| string_arg(a, "name"))
                .unwrap_or_else(|| f.name.clone());
            (f.name.as_str(), db)
        })
        .collect();
    Names {
        table,
        schema,
        columns,
    }
}

/// Field names of a list argument (`[a, b(sort: Desc)]`).
fn field_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::List(items) => items
            .iter()
            .map(|v| match v {
                Value::Ident(n) | Value::Call(n, _) => Some(n.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn resolve(schema: &Parsed, diagnostics: &mut Vec<Diagnostic>) -> Vec<LocatedTable> {
    let enums: HashMap<&str, &Enum> = schema.enums.iter().map(|e| (e.name.as_str(), e)).collect();
    let models: HashMap<&str, &Model> =
        schema.models.iter().map(|m| (m.name.as_str(), m)).collect();
    let all_names: HashMap<&str, Names<'_>> = schema
        .models
        .iter()
        .map(|m| (m.name.as_str(), names(m)))
        .collect();
    let mut out = Vec::new();
    for model in &schema.models {
        let errors_before = errors(diagnostics);
        let n = &all_names[model.name.as_str()];
        let path = model.file.as_str();
        let mut table = Table::new(&n.table);
        table.schema.clone_from(&n.schema);
        let column_of = |field: &str| n.columns.get(field).cloned();
        let mut uniques_by_map = Vec::new();
        for f in &model.fields {
            if models.contains_key(f.ty.as_str()) {
                if let Some(fk) = relation(model, f, &all_names, diagnostics) {
                    table.foreign_keys.push(fk);
                }
                continue;
            }
            let Some(mut ty) = column_type(f, &enums, path, diagnostics) else {
                continue;
            };
            if f.list {
                ty.array_dimensions = 1;
            }
            let mut column = Column::new(&n.columns[f.name.as_str()], ty);
            column.nullable = f.optional;
            for attr in &f.attrs {
                match attr.name.as_str() {
                    "id" => {
                        column.primary_key = true;
                        column.nullable = false;
                        if let Some(map) = string_arg(attr, "map") {
                            table.primary_key = Some(PrimaryKey {
                                name: Some(map),
                                columns: vec![column.name.clone()],
                            });
                        }
                    }
                    "unique" => match string_arg(attr, "map") {
                        Some(map) => uniques_by_map.push(UniqueConstraint {
                            name: Some(map),
                            columns: vec![column.name.clone()],
                        }),
                        None => column.unique = true,
                    },
                    "default" => {
                        column.server_default = default_sql(attr, f, &enums, path, diagnostics);
                        if matches!(attr.arg("value", true), Some(Value::Call(c, _)) if c == "autoincrement")
                        {
                            column.autoincrement = Some(true);
                        }
                    }
                    "map" | "updatedAt" | "ignore" | "relation" => {}
                    name if name.starts_with("db.") => {}
                    other => diagnostics.push(warning_at(
                        "PRISMA010",
                        path,
                        attr.pos,
                        &format!("Unknown field attribute `@{other}`: ignored"),
                    )),
                }
            }
            table.columns.push(column);
        }
        table.uniques.extend(uniques_by_map);
        for attr in &model.attrs {
            let fields = || -> Option<Vec<String>> {
                let names = field_list(attr.arg("fields", true))?;
                names.iter().map(|f| column_of(f)).collect()
            };
            let missing = |diagnostics: &mut Vec<Diagnostic>| {
                let listed = field_list(attr.arg("fields", true)).unwrap_or_default();
                let unknown: Vec<&String> = listed
                    .iter()
                    .filter(|f| !n.columns.contains_key(f.as_str()))
                    .collect();
                diagnostics.push(error_at(
                    "PRISMA003",
                    path,
                    attr.pos,
                    &if unknown.is_empty() {
                        format!(
                            "`@@{}` needs a list of fields: `@@{}([a, b])`",
                            attr.name, attr.name
                        )
                    } else {
                        format!(
                            "`@@{}` names {}, which model `{}` does not have",
                            attr.name,
                            unknown
                                .iter()
                                .map(|f| format!("`{f}`"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            model.name
                        )
                    },
                ));
            };
            match attr.name.as_str() {
                "id" => match fields() {
                    Some(columns) => {
                        for c in &mut table.columns {
                            if columns.contains(&c.name) {
                                c.primary_key = true;
                                c.nullable = false;
                            }
                        }
                        if let Some(map) = string_arg(attr, "map") {
                            table.primary_key = Some(PrimaryKey {
                                name: Some(map),
                                columns,
                            });
                        } else if columns.len() > 1 {
                            table.primary_key = Some(PrimaryKey {
                                name: None,
                                columns,
                            });
                        }
                    }
                    None => missing(diagnostics),
                },
                "unique" => match fields() {
                    Some(columns) => table.uniques.push(UniqueConstraint {
                        name: string_arg(attr, "map"),
                        columns,
                    }),
                    None => missing(diagnostics),
                },
                "index" => match fields() {
                    Some(columns) => {
                        let name = string_arg(attr, "map")
                            .unwrap_or_else(|| format!("{}_{}_idx", n.table, columns.join("_")));
                        table.indexes.push(Index {
                            name,
                            table: n.table.clone(),
                            columns,
                            unique: false,
                            predicate: None,
                        });
                    }
                    None => missing(diagnostics),
                },
                "map" | "schema" | "ignore" => {}
                other => diagnostics.push(warning_at(
                    "PRISMA010",
                    path,
                    attr.pos,
                    &format!("Unknown model attribute `@@{other}`: ignored"),
                )),
            }
        }
        // Prisma integer keys auto-increment only with `@default(autoincrement())`;
        // the IR's default for a lone integer key is to auto-increment, so say it.
        let pk: Vec<String> = table
            .primary_key_columns()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let lone_key = |c: &Column| {
            pk.len() == 1
                && pk[0] == c.name
                && c.server_default.is_none()
                && !table
                    .foreign_keys
                    .iter()
                    .any(|fk| fk.columns.contains(&c.name))
        };
        let flags: Vec<Option<bool>> = table
            .columns
            .iter()
            .map(
                |c| match (c.type_.is_integer() && lone_key(c), c.autoincrement) {
                    (true, Some(true)) => None,
                    (true, None) => Some(false),
                    (_, other) => other,
                },
            )
            .collect();
        for (c, flag) in table.columns.iter_mut().zip(flags) {
            c.autoincrement = flag;
        }
        if errors(diagnostics) > errors_before {
            // Reported: a half-read table would only add confusing follow-up errors.
            continue;
        }
        if table.columns.is_empty() {
            diagnostics.push(error_at(
                "PRISMA004",
                path,
                model.pos,
                &format!(
                    "Model `{}` has no scalar field: a table needs a column",
                    model.name
                ),
            ));
            continue;
        }
        out.push(LocatedTable {
            table,
            path: path.to_owned(),
            line: model.pos.line,
        });
    }
    out
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == sqlalembic_plugin::discovery::Severity::Error)
        .count()
}

/// The foreign key a relation field declares (`@relation(fields: ..., references: ...)`),
/// or `None` for the side without `fields`.
fn relation(
    model: &Model,
    field: &Field,
    names: &HashMap<&str, Names<'_>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ForeignKey> {
    let attr = field.attr("relation")?;
    let fields = attr.arg("fields", false);
    let references = attr.arg("references", false);
    if fields.is_none() && references.is_none() {
        return None;
    }
    let path = model.file.as_str();
    let here = &names[model.name.as_str()];
    let there = &names[field.ty.as_str()];
    let fail = |diagnostics: &mut Vec<Diagnostic>, message: String| {
        diagnostics.push(error_at("PRISMA004", path, attr.pos, &message));
        None
    };
    let (Some(fields), Some(references)) = (field_list(fields), field_list(references)) else {
        return fail(
            diagnostics,
            format!(
                "`@relation` of `{}.{}` needs both `fields: [...]` and `references: [...]`",
                model.name, field.name
            ),
        );
    };
    if fields.len() != references.len() {
        return fail(
            diagnostics,
            format!(
                "`@relation` of `{}.{}` lists {} field(s) but {} reference(s)",
                model.name,
                field.name,
                fields.len(),
                references.len()
            ),
        );
    }
    let mut columns = Vec::new();
    for f in &fields {
        match here.columns.get(f.as_str()) {
            Some(c) => columns.push(c.clone()),
            None => {
                return fail(
                    diagnostics,
                    format!(
                        "`@relation` names field `{f}`, which model `{}` does not have",
                        model.name
                    ),
                );
            }
        }
    }
    let mut ref_columns = Vec::new();
    for r in &references {
        match there.columns.get(r.as_str()) {
            Some(c) => ref_columns.push(c.clone()),
            None => {
                return fail(
                    diagnostics,
                    format!(
                        "`@relation` references field `{r}`, which model `{}` does not have",
                        field.ty
                    ),
                );
            }
        }
    }
    let action = |name: &str| match attr.arg(name, false) {
        Some(Value::Ident(a)) => match a.as_str() {
            "Cascade" => Some("cascade".to_owned()),
            "Restrict" => Some("restrict".to_owned()),
            "NoAction" => Some("no action".to_owned()),
            "SetNull" => Some("set null".to_owned()),
            "SetDefault" => Some("set default".to_owned()),
            _ => None,
        },
        _ => None,
    };
    Some(ForeignKey {
        name: string_arg(attr, "map"),
        columns,
        ref_schema: there.schema.clone(),
        ref_table: there.table.clone(),
        ref_columns,
        on_delete: action("onDelete"),
        on_update: action("onUpdate"),
    })
}

fn column_type(
    f: &Field,
    enums: &HashMap<&str, &Enum>,
    path: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ColumnType> {
    if let Some(text) = &f.unsupported {
        return Some(ColumnType::custom(text));
    }
    if let Some(e) = enums.get(f.ty.as_str()) {
        return Some(ColumnType::of(ScalarType::Enum(EnumType {
            name: Some(e.db_name.clone()),
            values: e.values.iter().map(|(_, db)| db.clone()).collect(),
        })));
    }
    if !SCALARS.contains(&f.ty.as_str()) {
        diagnostics.push(error_at(
            "PRISMA002",
            path,
            f.pos,
            &format!(
                "Field `{}` has type `{}`, which is no scalar type, enum or model of the schema",
                f.name, f.ty
            ),
        ));
        return None;
    }
    if let Some(native) = f.attrs.iter().find(|a| a.name.starts_with("db.")) {
        return Some(native_type(&native.name[3..], &native.args));
    }
    Some(ColumnType::of(match f.ty.as_str() {
        "String" => ScalarType::Text,
        "Boolean" => ScalarType::Boolean,
        "Int" => ScalarType::Integer,
        "BigInt" => ScalarType::BigInteger,
        "Float" => ScalarType::Float,
        "Decimal" => ScalarType::Numeric(Some(Precision {
            precision: 65,
            scale: 30,
        })),
        "DateTime" => ScalarType::DateTime(false),
        "Json" => ScalarType::Json,
        _ => ScalarType::LargeBinary,
    }))
}

fn native_type(name: &str, args: &[Arg]) -> ColumnType {
    let nums: Vec<u32> = args
        .iter()
        .filter_map(|a| match &a.value {
            Value::Num(n) => n.parse().ok(),
            _ => None,
        })
        .collect();
    let scalar = match (name, nums.as_slice()) {
        ("Text", _) => ScalarType::Text,
        ("VarChar", [n]) => ScalarType::String(Some(*n)),
        ("VarChar", _) => ScalarType::String(None),
        ("Uuid", _) => ScalarType::Uuid,
        ("SmallInt", _) => ScalarType::SmallInteger,
        ("Integer" | "Int", _) => ScalarType::Integer,
        ("BigInt", _) => ScalarType::BigInteger,
        ("Decimal", [p, s]) => ScalarType::Numeric(Some(Precision {
            precision: *p,
            scale: *s,
        })),
        ("Decimal", [p]) => ScalarType::Numeric(Some(Precision {
            precision: *p,
            scale: 0,
        })),
        ("Decimal", _) => ScalarType::Numeric(None),
        ("DoublePrecision" | "Double", _) => ScalarType::Float,
        ("Boolean", _) => ScalarType::Boolean,
        ("Timestamp" | "DateTime", _) => ScalarType::DateTime(false),
        ("Timestamptz", _) => ScalarType::DateTime(true),
        ("Date", _) => ScalarType::Date,
        ("Time", _) => ScalarType::Time,
        ("Json", _) => ScalarType::Json,
        ("ByteA" | "Blob", _) => ScalarType::LargeBinary,
        (other, nums) => {
            let args: Vec<String> = nums.iter().map(u32::to_string).collect();
            let name = other.to_ascii_lowercase();
            return ColumnType::custom(&if args.is_empty() {
                name
            } else {
                format!("{name}({})", args.join(","))
            });
        }
    };
    ColumnType::of(scalar)
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The server default of `@default(...)`, or `None` for values the Prisma client
/// computes (`autoincrement()`, `uuid()`, `cuid()` ...).
fn default_sql(
    attr: &Attr,
    f: &Field,
    enums: &HashMap<&str, &Enum>,
    path: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let value = attr.arg("value", true)?;
    let unsupported = |diagnostics: &mut Vec<Diagnostic>, what: &str| {
        diagnostics.push(error_at(
            "PRISMA005",
            path,
            attr.pos,
            &format!("Cannot read `@default({what})` of field `{}`", f.name),
        ));
        None
    };
    match value {
        Value::Call(name, args) => match name.as_str() {
            "now" => Some("CURRENT_TIMESTAMP".to_owned()),
            "dbgenerated" => match args.first().map(|a| &a.value) {
                Some(Value::Str(expr)) => Some(expr.clone()),
                _ => None,
            },
            "autoincrement" | "uuid" | "cuid" | "nanoid" | "ulid" | "sequence" => None,
            other => unsupported(diagnostics, &format!("{other}()")),
        },
        Value::Str(s) => Some(sql_string(s)),
        Value::Num(n) => Some(n.clone()),
        Value::Ident(i) if i == "true" || i == "false" => Some(i.clone()),
        Value::Ident(i) => match enums.get(f.ty.as_str()) {
            Some(e) => match e.values.iter().find(|(v, _)| v == i) {
                Some((_, db)) => Some(sql_string(db)),
                None => {
                    diagnostics.push(error_at(
                        "PRISMA005",
                        path,
                        attr.pos,
                        &format!("`{i}` is not a value of enum `{}`", e.name),
                    ));
                    None
                }
            },
            None => unsupported(diagnostics, i),
        },
        Value::List(items) if items.is_empty() => Some("'{}'".to_owned()),
        Value::List(_) => unsupported(diagnostics, "[...]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<LocatedTable>, Vec<Diagnostic>) {
        let mut parsed = Parsed::default();
        let mut diagnostics = Vec::new();
        parse_file("schema.prisma", text, &mut parsed, &mut diagnostics);
        let tables = resolve(&parsed, &mut diagnostics);
        (tables, diagnostics)
    }

    const BLOG: &str = r#"
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

/// People.
enum Role {
  USER
  ADMIN @map("admin")
  @@map("role")
}

model User {
  id        Int      @id @default(autoincrement())
  email     String   @unique @db.VarChar(255)
  name      String?
  role      Role     @default(USER)
  createdAt DateTime @default(now()) @map("created_at") @db.Timestamptz(6)
  posts     Post[]

  @@map("users")
}

model Post {
  id       Int      @id @default(autoincrement())
  title    String
  author   User     @relation(fields: [authorId], references: [id], onDelete: Cascade, onUpdate: NoAction)
  authorId Int      @map("author_id")
  tags     String[]
  price    Decimal  @default(0) @db.Decimal(10, 2)

  @@unique([authorId, title])
  @@index([title(sort: Desc)], map: "ix_post_title")
}

model Tag {
  a Int
  b String
  @@id([a, b], map: "pk_tag")
}
"#;

    #[test]
    fn a_blog_schema_becomes_tables() {
        let (tables, diagnostics) = parse(BLOG);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let names: Vec<&str> = tables.iter().map(|t| t.table.name.as_str()).collect();
        assert_eq!(names, ["users", "Post", "Tag"]);
        let users = &tables[0].table;
        assert_eq!(tables[0].line, 14);
        let email = users.column("email").expect("email");
        assert!(email.unique && !email.nullable);
        assert_eq!(email.type_.scalar, ScalarType::String(Some(255)));
        assert!(users.column("name").expect("name").nullable);
        let role = users.column("role").expect("role");
        assert_eq!(role.server_default.as_deref(), Some("'USER'"));
        assert_eq!(
            role.type_.scalar,
            ScalarType::Enum(EnumType {
                name: Some("role".into()),
                values: vec!["USER".into(), "admin".into()]
            })
        );
        let created = users.column("created_at").expect("mapped");
        assert_eq!(created.type_.scalar, ScalarType::DateTime(true));
        assert_eq!(created.server_default.as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(users.column("id").expect("id").autoincrement, None);
        let post = &tables[1].table;
        assert_eq!(post.foreign_keys.len(), 1);
        let fk = &post.foreign_keys[0];
        assert_eq!(fk.columns, ["author_id"]);
        assert_eq!(
            (fk.ref_table.as_str(), fk.ref_columns.as_slice()),
            ("users", &["id".to_owned()][..])
        );
        assert_eq!(fk.on_delete.as_deref(), Some("cascade"));
        assert_eq!(fk.on_update.as_deref(), Some("no action"));
        assert_eq!(post.column("tags").expect("tags").type_.array_dimensions, 1);
        assert_eq!(
            post.column("price")
                .expect("price")
                .server_default
                .as_deref(),
            Some("0")
        );
        assert_eq!(post.uniques[0].columns, ["author_id", "title"]);
        assert_eq!(post.indexes[0].name, "ix_post_title");
        assert_eq!(post.indexes[0].columns, ["title"]);
        let tag = &tables[2].table;
        assert_eq!(
            tag.primary_key.as_ref().and_then(|p| p.name.as_deref()),
            Some("pk_tag")
        );
        assert!(tag.columns.iter().all(|c| c.primary_key && !c.nullable));
        // A lone Int key without autoincrement() does not auto-increment.
        let (t, _) = parse("model A {\n  id Int @id\n}\n");
        assert_eq!(t[0].table.columns[0].autoincrement, Some(false));
    }

    #[test]
    fn problems_are_located() {
        let (_, d) = parse("model A {\n  id Int @id\n  b Strng\n}\n");
        assert_eq!(
            (d[0].code.as_str(), d[0].line, d[0].column),
            ("PRISMA002", Some(3), Some(3))
        );
        let (_, d) = parse("model A {\n  id Int @id @default(\n}\n");
        assert_eq!(d[0].code, "PRISMA001");
        assert_eq!(d[0].line, Some(3), "{}", d[0].message);
        let (_, d) = parse("model A {\n  id Int @id\n  @@index([nope])\n}\n");
        assert_eq!(d[0].code, "PRISMA003");
        assert!(d[0].message.contains("`nope`"), "{}", d[0].message);
        let (_, d) = parse(
            "model A {\n  id Int @id\n  b B @relation(fields: [x], references: [id])\n}\nmodel B {\n  id Int @id\n}\n",
        );
        assert_eq!(d[0].code, "PRISMA004");
        let (_, d) = parse("model A {\n  id Int @id @fancy\n}\n");
        assert_eq!(d[0].code, "PRISMA010");
        assert_eq!(
            d[0].severity,
            sqlalembic_plugin::discovery::Severity::Warning
        );
    }
}
