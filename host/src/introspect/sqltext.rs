//! A small SQL tokenizer and parsers for the DDL text SQLite keeps in `sqlite_master`.
//!
//! Input: one `CREATE TABLE` or `CREATE INDEX` statement as SQLite stores it. Output: its
//! columns' constraint clauses (checks, `AUTOINCREMENT`, constraint names), its table
//! constraints and an index's entries and `WHERE` predicate, each as a verbatim slice of
//! the input. The tokenizer understands quotes (`'...'`, `"..."`, `` `...` ``, `[...]`),
//! comments and nested parentheses; it does not validate SQL and never fails: text it
//! cannot read yields fewer facts, not an error.

/// What a [`Token`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: keyword, identifier or number.
    Word,
    /// `"x"`, `` `x` `` or `[x]`.
    QuotedIdent,
    /// `'text'` (also `X'..'` blobs, as one token).
    String,
    LParen,
    RParen,
    Comma,
    /// Any other character (operators, `.`, `;`).
    Punct,
}

/// One token, located by byte offsets into the tokenized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: TokenKind,
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

impl Token<'_> {
    /// True for a bare word equal to `keyword` (ASCII case-insensitive).
    pub fn is_keyword(&self, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    /// The identifier this token names: a bare word as written, a quoted one unquoted.
    pub fn ident(&self) -> Option<String> {
        match self.kind {
            TokenKind::Word => Some(self.text.to_owned()),
            TokenKind::QuotedIdent => Some(unquote_ident(self.text)),
            // SQLite accepts a string literal where an identifier is expected.
            TokenKind::String => Some(self.text[1..self.text.len() - 1].replace("''", "'")),
            _ => None,
        }
    }
}

/// `"a""b"` -> `a"b`, `` `x` `` -> `x`, `[x]` -> `x`; other text unchanged.
pub fn unquote_ident(text: &str) -> String {
    let bytes = text.as_bytes();
    if bytes.len() >= 2 {
        let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
        let inner = &text[1..text.len() - 1];
        match (first, last) {
            (b'"', b'"') => return inner.replace("\"\"", "\""),
            (b'`', b'`') => return inner.replace("``", "`"),
            (b'[', b']') => return inner.to_owned(),
            _ => {}
        }
    }
    text.to_owned()
}

/// Splits `sql` into tokens, skipping whitespace and comments.
pub fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                continue;
            }
            b'\'' => {
                i = skip_quoted(b, i, b'\'');
                TokenKind::String
            }
            b'"' | b'`' => {
                i = skip_quoted(b, i, c);
                TokenKind::QuotedIdent
            }
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
                TokenKind::QuotedIdent
            }
            b'(' => {
                i += 1;
                TokenKind::LParen
            }
            b')' => {
                i += 1;
                TokenKind::RParen
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            c if is_word_byte(c) => {
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                // `X'00ff'` blob literals and `E'..'` strings are one string token.
                if i - start == 1 && b.get(i) == Some(&b'\'') {
                    i = skip_quoted(b, i, b'\'');
                    TokenKind::String
                } else {
                    TokenKind::Word
                }
            }
            _ => {
                // One character, whole (not one byte of a multi-byte one).
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                TokenKind::Punct
            }
        };
        tokens.push(Token {
            kind,
            text: &sql[start..i],
            start,
            end: i,
        });
    }
    tokens
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The end (exclusive) of the quoted text starting at `start`; doubled quotes escape.
fn skip_quoted(b: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The index of the `)` matching the `(` at `open`, or `tokens.len()` when unbalanced.
pub fn matching_paren(tokens: &[Token<'_>], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// Splits `tokens` at top-level commas.
pub fn split_top_level<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            TokenKind::Comma if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// The source text spanned by `tokens` (empty for no tokens).
pub fn span<'a>(sql: &'a str, tokens: &[Token<'_>]) -> &'a str {
    match (tokens.first(), tokens.last()) {
        (Some(first), Some(last)) => &sql[first.start..last.end],
        _ => "",
    }
}

/// `(x)` -> `x` while one pair of parentheses encloses the whole text; `(a) + (b)` stays.
pub fn strip_outer_parens(text: &str) -> &str {
    let mut text = text.trim();
    loop {
        let tokens = tokenize(text);
        let wrapped = tokens.len() >= 2
            && tokens[0].kind == TokenKind::LParen
            && matching_paren(&tokens, 0) == tokens.len() - 1
            && tokens[tokens.len() - 1].end == text.len();
        if !wrapped {
            return text;
        }
        text = text[1..text.len() - 1].trim();
    }
}

/// True when `text` uses the identifier `name` (bare or quoted, case-insensitive),
/// outside string literals.
pub fn mentions_identifier(text: &str, name: &str) -> bool {
    tokenize(text).iter().any(|t| {
        matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
            && t.ident().is_some_and(|i| i.eq_ignore_ascii_case(name))
    })
}

/// `text` with every use of the identifier `from` (bare or quoted, case-insensitive,
/// outside string literals) replaced by `to`, written by `quote`.
pub fn rename_identifier(
    text: &str,
    from: &str,
    to: &str,
    quote: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for t in tokenize(text) {
        let is_use = matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
            && t.ident().is_some_and(|i| i.eq_ignore_ascii_case(from));
        if is_use {
            out.push_str(&text[last..t.start]);
            if t.kind == TokenKind::Word && is_bare_identifier(to) {
                out.push_str(to);
            } else {
                out.push_str(&quote(to));
            }
            last = t.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_bare_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What a `CREATE TABLE` statement says beyond what SQLite's pragmas report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedTable {
    pub columns: Vec<ParsedColumn>,
    pub constraints: Vec<ParsedConstraint>,
}

/// The constraint clauses of one column definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedColumn {
    pub name: String,
    /// The declared type as written (may be empty).
    pub type_text: String,
    pub autoincrement: bool,
    /// `CONSTRAINT name PRIMARY KEY`.
    pub primary_key_name: Option<String>,
    /// `UNIQUE`, possibly named; `Some(None)` when unnamed.
    pub unique: Option<Option<String>>,
    /// `REFERENCES ...`, possibly named; `Some(None)` when unnamed.
    pub references: Option<Option<String>>,
    /// `CHECK (...)` clauses: (name, condition text).
    pub checks: Vec<(Option<String>, String)>,
}

/// A table constraint of a `CREATE TABLE` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedConstraint {
    PrimaryKey {
        name: Option<String>,
        columns: Vec<String>,
    },
    Unique {
        name: Option<String>,
        columns: Vec<String>,
    },
    Check {
        name: Option<String>,
        sqltext: String,
    },
    ForeignKey {
        name: Option<String>,
        columns: Vec<String>,
    },
}

const COLUMN_CONSTRAINT_KEYWORDS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "NOT",
    "NULL",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "COLLATE",
    "REFERENCES",
    "GENERATED",
    "AS",
];

/// Parses the body of `CREATE TABLE name (...)`.
pub fn parse_create_table(sql: &str) -> ParsedTable {
    let tokens = tokenize(sql);
    let mut parsed = ParsedTable::default();
    let Some(open) = tokens.iter().position(|t| t.kind == TokenKind::LParen) else {
        return parsed;
    };
    let close = matching_paren(&tokens, open);
    let body = &tokens[open + 1..close.min(tokens.len())];
    for item in split_top_level(body) {
        let Some(first) = item.first() else { continue };
        let is_constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|k| first.is_keyword(k));
        if is_constraint {
            if let Some(c) = parse_table_constraint(sql, item) {
                parsed.constraints.push(c);
            }
        } else if let Some(c) = parse_column(sql, item) {
            parsed.columns.push(c);
        }
    }
    parsed
}

fn parse_column(sql: &str, item: &[Token<'_>]) -> Option<ParsedColumn> {
    let name = item.first()?.ident()?;
    let mut column = ParsedColumn {
        name,
        ..ParsedColumn::default()
    };
    let mut i = 1;
    let type_start = i;
    while i < item.len()
        && !COLUMN_CONSTRAINT_KEYWORDS
            .iter()
            .any(|k| item[i].is_keyword(k))
    {
        if item[i].kind == TokenKind::LParen {
            i = matching_paren(item, i);
        }
        i += 1;
    }
    column.type_text = span(sql, &item[type_start..i.min(item.len())]).to_owned();
    let mut pending_name: Option<String> = None;
    while i < item.len() {
        let t = &item[i];
        if t.is_keyword("CONSTRAINT") {
            pending_name = item.get(i + 1).and_then(Token::ident);
            i += 2;
            continue;
        }
        if t.is_keyword("PRIMARY") {
            column.primary_key_name = pending_name.take();
        } else if t.is_keyword("AUTOINCREMENT") {
            column.autoincrement = true;
        } else if t.is_keyword("UNIQUE") {
            column.unique = Some(pending_name.take());
        } else if t.is_keyword("REFERENCES") {
            column.references = Some(pending_name.take());
        } else if t.is_keyword("CHECK") || t.is_keyword("DEFAULT") || t.is_keyword("AS") {
            let is_check = t.is_keyword("CHECK");
            if item.get(i + 1).is_some_and(|n| n.kind == TokenKind::LParen) {
                let close = matching_paren(item, i + 1);
                if is_check {
                    let inner = &item[i + 2..close.min(item.len())];
                    column
                        .checks
                        .push((pending_name.take(), span(sql, inner).trim().to_owned()));
                }
                i = close + 1;
                continue;
            }
        } else if t.kind == TokenKind::LParen {
            i = matching_paren(item, i) + 1;
            continue;
        } else if t.is_keyword("NOT") || t.is_keyword("NULL") || t.is_keyword("COLLATE") {
            pending_name = None;
        }
        i += 1;
    }
    Some(column)
}

fn parse_table_constraint(sql: &str, item: &[Token<'_>]) -> Option<ParsedConstraint> {
    let mut i = 0;
    let mut name = None;
    if item.first()?.is_keyword("CONSTRAINT") {
        name = item.get(1).and_then(Token::ident);
        i = 2;
    }
    let kind = item.get(i)?;
    let paren_after = |from: usize| (from..item.len()).find(|&j| item[j].kind == TokenKind::LParen);
    if kind.is_keyword("CHECK") {
        let open = paren_after(i)?;
        let close = matching_paren(item, open);
        let inner = &item[open + 1..close.min(item.len())];
        return Some(ParsedConstraint::Check {
            name,
            sqltext: span(sql, inner).trim().to_owned(),
        });
    }
    let open = paren_after(i)?;
    let close = matching_paren(item, open);
    let columns: Vec<String> = split_top_level(&item[open + 1..close.min(item.len())])
        .into_iter()
        .filter_map(|part| part.first().and_then(Token::ident))
        .collect();
    if kind.is_keyword("PRIMARY") {
        Some(ParsedConstraint::PrimaryKey { name, columns })
    } else if kind.is_keyword("UNIQUE") {
        Some(ParsedConstraint::Unique { name, columns })
    } else if kind.is_keyword("FOREIGN") {
        Some(ParsedConstraint::ForeignKey { name, columns })
    } else {
        None
    }
}

/// What a `CREATE INDEX` statement says: its entries and partial-index predicate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedIndex {
    /// Column names (unquoted), or expressions as written.
    pub entries: Vec<String>,
    pub where_: Option<String>,
}

/// Parses `CREATE [UNIQUE] INDEX name ON table (entries) [WHERE predicate]`.
pub fn parse_create_index(sql: &str) -> ParsedIndex {
    let tokens = tokenize(sql);
    let mut parsed = ParsedIndex::default();
    let Some(on) = tokens.iter().position(|t| t.is_keyword("ON")) else {
        return parsed;
    };
    let Some(open) = (on..tokens.len()).find(|&i| tokens[i].kind == TokenKind::LParen) else {
        return parsed;
    };
    let close = matching_paren(&tokens, open);
    for part in split_top_level(&tokens[open + 1..close.min(tokens.len())]) {
        match part {
            [single] if matches!(single.kind, TokenKind::Word | TokenKind::QuotedIdent) => {
                parsed.entries.extend(single.ident());
            }
            _ => parsed.entries.push(span(sql, part).to_owned()),
        }
    }
    if let Some(w) = tokens
        .iter()
        .skip(close)
        .position(|t| t.is_keyword("WHERE"))
    {
        let rest = &tokens[close + w + 1..];
        let rest: Vec<Token<'_>> = rest
            .iter()
            .copied()
            .take_while(|t| !(t.kind == TokenKind::Punct && t.text == ";"))
            .collect();
        let text = span(sql, &rest).trim();
        if !text.is_empty() {
            parsed.where_ = Some(text.to_owned());
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_quotes_comments_and_parens() {
        let tokens = tokenize("a \"b \"\"c\" 'it''s' -- note\n (x, [y z]) /* c */ `q`");
        let kinds: Vec<TokenKind> = tokens.iter().map(|t| t.kind).collect();
        use TokenKind::*;
        assert_eq!(
            kinds,
            vec![
                Word,
                QuotedIdent,
                String,
                LParen,
                Word,
                Comma,
                QuotedIdent,
                RParen,
                QuotedIdent
            ]
        );
        assert_eq!(tokens[1].ident().as_deref(), Some("b \"c"));
        assert_eq!(tokens[6].ident().as_deref(), Some("y z"));
        assert_eq!(tokens[8].ident().as_deref(), Some("q"));
    }

    #[test]
    fn parses_create_table_constraints() {
        let sql = r#"CREATE TABLE "posts" (
            "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
            title VARCHAR(200) DEFAULT ('a,b') NOT NULL CHECK (length(title) > 0),
            "status" VARCHAR(5) CONSTRAINT ck_status CHECK ("status" IN ('a', 'b')),
            price NUMERIC(10, 2) UNIQUE,
            user_id INTEGER CONSTRAINT fk_user REFERENCES users (id),
            CONSTRAINT "uq_title" UNIQUE ("title", price),
            CHECK (price > (0)),
            CONSTRAINT fk_x FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
        )"#;
        let parsed = parse_create_table(sql);
        let names: Vec<&str> = parsed.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "title", "status", "price", "user_id"]);
        assert!(parsed.columns[0].autoincrement);
        assert_eq!(parsed.columns[1].type_text, "VARCHAR(200)");
        assert_eq!(parsed.columns[3].type_text, "NUMERIC(10, 2)");
        assert_eq!(
            parsed.columns[1].checks,
            vec![(None, "length(title) > 0".to_owned())]
        );
        assert_eq!(
            parsed.columns[2].checks,
            vec![(
                Some("ck_status".to_owned()),
                "\"status\" IN ('a', 'b')".to_owned()
            )]
        );
        assert_eq!(parsed.columns[3].unique, Some(None));
        assert_eq!(
            parsed.columns[4].references,
            Some(Some("fk_user".to_owned()))
        );
        assert_eq!(
            parsed.constraints,
            vec![
                ParsedConstraint::Unique {
                    name: Some("uq_title".into()),
                    columns: vec!["title".into(), "price".into()]
                },
                ParsedConstraint::Check {
                    name: None,
                    sqltext: "price > (0)".into()
                },
                ParsedConstraint::ForeignKey {
                    name: Some("fk_x".into()),
                    columns: vec!["user_id".into()]
                },
            ]
        );
    }

    #[test]
    fn parses_create_index_entries_and_predicate() {
        let parsed = parse_create_index(
            r#"CREATE UNIQUE INDEX "ix" ON "t" ("a", lower(b), c DESC) WHERE deleted_at IS NULL"#,
        );
        assert_eq!(parsed.entries, ["a", "lower(b)", "c DESC"]);
        assert_eq!(parsed.where_.as_deref(), Some("deleted_at IS NULL"));
        assert_eq!(parse_create_index("CREATE INDEX i ON t(x)").where_, None);
    }

    #[test]
    fn outer_parens_and_identifier_helpers() {
        assert_eq!(strip_outer_parens("((1 + 2))"), "1 + 2");
        assert_eq!(strip_outer_parens("(a) + (b)"), "(a) + (b)");
        assert_eq!(strip_outer_parens("'(x)'"), "'(x)'");
        assert!(mentions_identifier("\"Price\" > 0", "price"));
        assert!(!mentions_identifier("'price' = kind", "price"));
        assert_eq!(
            rename_identifier("price > 0 AND \"price\" < 'price'", "price", "cost", |n| {
                format!("\"{n}\"")
            }),
            "cost > 0 AND \"cost\" < 'price'"
        );
    }
}
