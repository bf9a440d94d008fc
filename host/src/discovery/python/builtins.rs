//! Python's builtins and the methods of `str`, `list`, `tuple` and `dict`, on evaluated
//! [`Value`]s, plus `%`-formatting, `str.format`, format specs and the `re` functions
//! model code uses to build names.
//!
//! Input: values the evaluator already has. Output: a value, or the reason it cannot be
//! computed (the evaluator turns that into an unknown at the right place). Everything
//! here is pure: a "mutating" method returns the new container, and the evaluator
//! rebinds the variable that held it.

use std::rc::Rc;

use super::eval::Value;

/// Why a builtin could not be computed.
pub type Reason = String;

/// Python's truth value of `v`, when it is known.
pub fn truthy(v: &Value<'_>) -> Option<bool> {
    Some(match v {
        Value::None => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Seq(items) => !items.is_empty(),
        Value::Dict(items) => !items.is_empty(),
        Value::Unknown(_) | Value::Opaque => return None,
        // SQL expressions refuse `bool()` in SQLAlchemy ("Boolean value of this clause is
        // not defined"); calls of other libraries are objects of unknown truth.
        Value::Call(_) | Value::Attr(..) => return None,
        _ => true,
    })
}

/// `str(v)`, for the values whose text is known.
pub fn to_str(v: &Value<'_>) -> Option<String> {
    Some(match v {
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_repr(*f),
        Value::Str(s) => s.to_string(),
        Value::EnumMember(class, member) => format!("{}.{member}", class.name()),
        Value::Seq(items) => {
            let parts: Option<Vec<String>> = items.iter().map(repr).collect();
            format!("[{}]", parts?.join(", "))
        }
        _ => return None,
    })
}

/// `repr(v)`.
pub fn repr(v: &Value<'_>) -> Option<String> {
    match v {
        Value::Str(s) => Some(if s.contains('\'') && !s.contains('"') {
            format!("\"{s}\"")
        } else {
            format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
        }),
        other => to_str(other),
    }
}

fn float_repr(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Equality of two known values; `None` when it cannot be decided.
pub fn equal(a: &Value<'_>, b: &Value<'_>) -> Option<bool> {
    Some(match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Bool(x), Value::Int(y)) | (Value::Int(y), Value::Bool(x)) => i64::from(*x) == *y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            for (a, b) in x.iter().zip(y.iter()) {
                if !equal(a, b)? {
                    return Some(false);
                }
            }
            true
        }
        (Value::Lib(x), Value::Lib(y)) | (Value::Builtin(x), Value::Builtin(y)) => x == y,
        (Value::Class(x), Value::Class(y)) => x == y,
        (Value::EnumMember(c, x), Value::EnumMember(d, y)) => c == d && x == y,
        (Value::Unknown(_) | Value::Opaque, _) | (_, Value::Unknown(_) | Value::Opaque) => {
            return None;
        }
        (Value::Call(_) | Value::Attr(..) | Value::Instance(_), _)
        | (_, Value::Call(_) | Value::Attr(..) | Value::Instance(_)) => return None,
        // Values of different known kinds (a string and a number, a class and None).
        _ => false,
    })
}

/// `a is b`: identity of singletons and of the same project object.
pub fn identical(a: &Value<'_>, b: &Value<'_>) -> Option<bool> {
    match (a, b) {
        (Value::None, Value::None) => Some(true),
        (Value::None, Value::Unknown(_)) | (Value::Unknown(_), Value::None) => None,
        (Value::None, _) | (_, Value::None) => Some(false),
        (Value::Bool(x), Value::Bool(y)) => Some(x == y),
        (Value::Class(x), Value::Class(y)) => Some(x == y),
        (Value::Lib(x), Value::Lib(y)) => Some(x == y),
        _ => None,
    }
}

/// `a < b` (and the other orderings through it).
pub fn less(a: &Value<'_>, b: &Value<'_>) -> Option<bool> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x < y),
        (Value::Float(x), Value::Float(y)) => Some(x < y),
        (Value::Int(x), Value::Float(y)) => Some((*x as f64) < *y),
        (Value::Float(x), Value::Int(y)) => Some(*x < (*y as f64)),
        (Value::Str(x), Value::Str(y)) => Some(x < y),
        _ => None,
    }
}

/// `needle in haystack`.
pub fn contains(haystack: &Value<'_>, needle: &Value<'_>) -> Option<bool> {
    match (haystack, needle) {
        (Value::Str(h), Value::Str(n)) => Some(h.contains(&**n)),
        (Value::Seq(items), n) => {
            for item in items.iter() {
                if equal(item, n)? {
                    return Some(true);
                }
            }
            Some(false)
        }
        (Value::Dict(items), n) => {
            for (k, _) in items.iter() {
                if equal(k, n)? {
                    return Some(true);
                }
            }
            Some(false)
        }
        _ => None,
    }
}

/// The items `for x in v` visits (dict keys for a dict).
pub fn iterate<'p>(v: &Value<'p>) -> Result<Vec<Value<'p>>, Reason> {
    match v {
        Value::Seq(items) => Ok(items.to_vec()),
        Value::Dict(items) => Ok(items.iter().map(|(k, _)| k.clone()).collect()),
        Value::Str(s) => Ok(s
            .chars()
            .map(|c| Value::Str(c.to_string().into()))
            .collect()),
        _ => Err("Cannot iterate over this value statically".into()),
    }
}

fn seq<'p>(items: Vec<Value<'p>>) -> Value<'p> {
    Value::Seq(Rc::new(items))
}

fn int_of(v: &Value<'_>) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// The most items `range()` may produce.
const MAX_RANGE: i64 = 100_000;

/// Calls builtin `name`.
pub fn call_builtin<'p>(
    name: &str,
    args: &[Value<'p>],
    kwargs: &[(String, Value<'p>)],
) -> Result<Value<'p>, Reason> {
    if let Some(u) = args
        .iter()
        .chain(kwargs.iter().map(|(_, v)| v))
        .find(|v| v.is_unknown())
    {
        return Ok(u.clone());
    }
    let kw = |n: &str| kwargs.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v);
    let unsupported =
        || format!("Calling `{name}` with these arguments is not evaluated statically");
    Ok(match (name, args) {
        ("dict", []) => Value::Dict(Rc::new(
            kwargs
                .iter()
                .map(|(k, v)| (Value::Str(k.as_str().into()), v.clone()))
                .collect(),
        )),
        ("dict", [Value::Dict(items)]) => {
            let mut out = items.to_vec();
            for (k, v) in kwargs {
                dict_set(&mut out, Value::Str(k.as_str().into()), v.clone());
            }
            Value::Dict(Rc::new(out))
        }
        ("dict", [Value::Seq(pairs)]) => {
            let mut out = Vec::new();
            for p in pairs.iter() {
                match p {
                    Value::Seq(kv) if kv.len() == 2 => {
                        dict_set(&mut out, kv[0].clone(), kv[1].clone())
                    }
                    _ => return Err(unsupported()),
                }
            }
            Value::Dict(Rc::new(out))
        }
        ("list" | "tuple", []) => seq(Vec::new()),
        ("set" | "frozenset", []) => seq(Vec::new()),
        ("list" | "tuple", [v]) => seq(iterate(v)?),
        ("set" | "frozenset", [v]) => {
            let mut out: Vec<Value<'p>> = Vec::new();
            for item in iterate(v)? {
                if !contains(&seq(out.clone()), &item).ok_or_else(unsupported)? {
                    out.push(item);
                }
            }
            seq(out)
        }
        ("str", []) => Value::Str("".into()),
        ("str", [v]) => Value::Str(to_str(v).ok_or_else(unsupported)?.into()),
        ("repr", [v]) => Value::Str(repr(v).ok_or_else(unsupported)?.into()),
        ("int", []) => Value::Int(0),
        ("int", [Value::Int(i)]) => Value::Int(*i),
        ("int", [Value::Bool(b)]) => Value::Int(i64::from(*b)),
        ("int", [Value::Float(f)]) => Value::Int(f.trunc() as i64),
        ("int", [Value::Str(s)]) => Value::Int(
            s.trim()
                .replace('_', "")
                .parse()
                .map_err(|_| format!("`int({s:?})` fails"))?,
        ),
        ("float", [Value::Int(i)]) => Value::Float(*i as f64),
        ("float", [Value::Float(f)]) => Value::Float(*f),
        ("float", [Value::Str(s)]) => Value::Float(
            s.trim()
                .parse()
                .map_err(|_| format!("`float({s:?})` fails"))?,
        ),
        ("bool", []) => Value::Bool(false),
        ("bool", [v]) => Value::Bool(truthy(v).ok_or_else(unsupported)?),
        ("len", [v]) => Value::Int(match v {
            Value::Str(s) => s.chars().count() as i64,
            Value::Seq(items) => items.len() as i64,
            Value::Dict(items) => items.len() as i64,
            _ => return Err(unsupported()),
        }),
        ("abs", [Value::Int(i)]) => Value::Int(i.checked_abs().ok_or_else(unsupported)?),
        ("abs", [Value::Float(f)]) => Value::Float(f.abs()),
        ("range", _) => {
            let ints: Option<Vec<i64>> = args.iter().map(int_of).collect();
            let (start, stop, step) = match ints.as_deref() {
                Some([stop]) => (0, *stop, 1),
                Some([start, stop]) => (*start, *stop, 1),
                Some([start, stop, step]) if *step != 0 => (*start, *stop, *step),
                _ => return Err(unsupported()),
            };
            let len = if step > 0 {
                ((stop - start).max(0) + step - 1) / step
            } else {
                ((start - stop).max(0) - step - 1) / -step
            };
            if len > MAX_RANGE {
                return Err(format!(
                    "`range` of {len} items is too long to evaluate statically"
                ));
            }
            seq((0..len).map(|i| Value::Int(start + i * step)).collect())
        }
        ("enumerate", [v, rest @ ..]) => {
            let start = match rest.first().or(kw("start")) {
                None => 0,
                Some(s) => int_of(s).ok_or_else(unsupported)?,
            };
            seq(iterate(v)?
                .into_iter()
                .enumerate()
                .map(|(i, x)| seq(vec![Value::Int(start + i as i64), x]))
                .collect())
        }
        ("zip", _) => {
            let lists: Vec<Vec<Value<'p>>> = args.iter().map(iterate).collect::<Result<_, _>>()?;
            let n = lists.iter().map(Vec::len).min().unwrap_or(0);
            seq((0..n)
                .map(|i| seq(lists.iter().map(|l| l[i].clone()).collect()))
                .collect())
        }
        ("reversed", [v]) => {
            let mut items = iterate(v)?;
            items.reverse();
            seq(items)
        }
        ("sorted", [v]) => {
            let mut items = iterate(v)?;
            sort_values(&mut items).ok_or_else(unsupported)?;
            if kw("reverse").and_then(truthy) == Some(true) {
                items.reverse();
            }
            seq(items)
        }
        ("min" | "max", _) => {
            let items = match args {
                [one] => iterate(one)?,
                many => many.to_vec(),
            };
            let mut best: Option<Value<'p>> = None;
            for item in items {
                best = Some(match best {
                    None => item,
                    Some(b) => {
                        let item_less = less(&item, &b).ok_or_else(unsupported)?;
                        if (name == "min") == item_less && !matches!(equal(&item, &b), Some(true)) {
                            item
                        } else {
                            b
                        }
                    }
                });
            }
            best.ok_or_else(|| format!("`{name}()` of an empty sequence"))?
        }
        ("sum", [v]) => {
            let mut total = 0i64;
            for item in iterate(v)? {
                total = total
                    .checked_add(int_of(&item).ok_or_else(unsupported)?)
                    .ok_or_else(unsupported)?;
            }
            Value::Int(total)
        }
        ("any" | "all", [v]) => {
            let want = name == "any";
            let mut out = !want;
            for item in iterate(v)? {
                if truthy(&item).ok_or_else(unsupported)? == want {
                    out = want;
                    break;
                }
            }
            Value::Bool(out)
        }
        ("isinstance", [v, kinds]) => {
            let kinds = match kinds {
                Value::Seq(items) => items.to_vec(),
                one => vec![one.clone()],
            };
            let mut out = false;
            for k in &kinds {
                let Value::Builtin(k) = k else {
                    return Err(unsupported());
                };
                let hit = match (&**k, v) {
                    ("str", Value::Str(_)) => true,
                    ("int", Value::Int(_) | Value::Bool(_)) => true,
                    ("float", Value::Float(_)) => true,
                    ("bool", Value::Bool(_)) => true,
                    ("dict", Value::Dict(_)) => true,
                    ("list" | "tuple", Value::Seq(_)) => true,
                    (
                        "str" | "int" | "float" | "bool" | "dict" | "list" | "tuple",
                        Value::None
                        | Value::Bool(_)
                        | Value::Int(_)
                        | Value::Float(_)
                        | Value::Str(_)
                        | Value::Seq(_)
                        | Value::Dict(_),
                    ) => false,
                    _ => return Err(unsupported()),
                };
                out |= hit;
            }
            Value::Bool(out)
        }
        ("print", _) => Value::None,
        // Descriptors made in a class body (`now = staticmethod(utcnow)`): no column.
        ("staticmethod" | "classmethod" | "property", _) => Value::Opaque,
        // A sentinel: `MISSING = object()`.
        ("object", []) => Value::Opaque,
        _ => return Err(unsupported()),
    })
}

/// Sorts numbers or strings; `None` for anything else.
fn sort_values(items: &mut [Value<'_>]) -> Option<()> {
    let mut ok = true;
    items.sort_by(|a, b| match (less(a, b), less(b, a)) {
        (Some(true), _) => std::cmp::Ordering::Less,
        (_, Some(true)) => std::cmp::Ordering::Greater,
        (Some(false), Some(false)) => std::cmp::Ordering::Equal,
        _ => {
            ok = false;
            std::cmp::Ordering::Equal
        }
    });
    ok.then_some(())
}

/// Sets `key` in a dict's items (replacing an equal key in place).
pub fn dict_set<'p>(items: &mut Vec<(Value<'p>, Value<'p>)>, key: Value<'p>, value: Value<'p>) {
    match items.iter().position(|(k, _)| equal(k, &key) == Some(true)) {
        Some(i) => items[i].1 = value,
        None => items.push((key, value)),
    }
}

/// `d[key]`.
pub fn dict_get<'p>(items: &[(Value<'p>, Value<'p>)], key: &Value<'p>) -> Option<Value<'p>> {
    items
        .iter()
        .find(|(k, _)| equal(k, key) == Some(true))
        .map(|(_, v)| v.clone())
}

/// True for the methods that change their receiver.
pub fn is_mutator(method: &str) -> bool {
    matches!(
        method,
        "append"
            | "extend"
            | "insert"
            | "remove"
            | "clear"
            | "sort"
            | "reverse"
            | "update"
            | "setdefault"
            | "pop"
            | "popitem"
            | "add"
            | "discard"
    )
}

/// A method that changes a list or dict: the call's result and the receiver's new value.
pub fn mutate<'p>(
    recv: &Value<'p>,
    method: &str,
    args: &[Value<'p>],
    kwargs: &[(String, Value<'p>)],
) -> Result<(Value<'p>, Value<'p>), Reason> {
    if let Some(u) = args.iter().find(|v| v.is_unknown()) {
        return Err(match u {
            Value::Unknown(u) => u.message.clone(),
            _ => unreachable!("found by is_unknown"),
        });
    }
    let unsupported = || format!("`.{method}()` with these arguments is not evaluated statically");
    match recv {
        Value::Seq(items) => {
            let mut items = items.to_vec();
            let result = match (method, args) {
                ("append" | "add", [v]) => {
                    if method == "add" && contains(&seq(items.clone()), v) == Some(true) {
                        return Ok((Value::None, seq(items)));
                    }
                    items.push(v.clone());
                    Value::None
                }
                ("extend", [v]) => {
                    items.extend(iterate(v)?);
                    Value::None
                }
                ("insert", [Value::Int(i), v]) => {
                    let len = items.len() as i64;
                    let i = if *i < 0 {
                        (*i + len).max(0)
                    } else {
                        (*i).min(len)
                    };
                    items.insert(i as usize, v.clone());
                    Value::None
                }
                ("remove" | "discard", [v]) => {
                    match items.iter().position(|x| equal(x, v) == Some(true)) {
                        Some(i) => {
                            items.remove(i);
                        }
                        None if method == "discard" => {}
                        None => return Err("`list.remove(x)`: x not in list".into()),
                    }
                    Value::None
                }
                ("clear", []) => {
                    items.clear();
                    Value::None
                }
                ("reverse", []) => {
                    items.reverse();
                    Value::None
                }
                ("sort", []) => {
                    sort_values(&mut items).ok_or_else(unsupported)?;
                    Value::None
                }
                ("pop", []) => items.pop().ok_or("`pop` from an empty list")?,
                ("pop", [Value::Int(i)]) => {
                    let len = items.len() as i64;
                    let i = if *i < 0 { *i + len } else { *i };
                    if i < 0 || i >= len {
                        return Err("`pop` index out of range".into());
                    }
                    items.remove(i as usize)
                }
                _ => return Err(unsupported()),
            };
            Ok((result, seq(items)))
        }
        Value::Dict(items) => {
            let mut items = items.to_vec();
            let result = match (method, args) {
                ("update", rest) => {
                    for arg in rest {
                        match arg {
                            Value::Dict(other) => {
                                for (k, v) in other.iter() {
                                    dict_set(&mut items, k.clone(), v.clone());
                                }
                            }
                            _ => return Err(unsupported()),
                        }
                    }
                    for (k, v) in kwargs {
                        dict_set(&mut items, Value::Str(k.as_str().into()), v.clone());
                    }
                    Value::None
                }
                ("setdefault", [k, rest @ ..]) if rest.len() <= 1 => match dict_get(&items, k) {
                    Some(v) => v,
                    None => {
                        let v = rest.first().cloned().unwrap_or(Value::None);
                        items.push((k.clone(), v.clone()));
                        v
                    }
                },
                ("pop", [k, rest @ ..]) if rest.len() <= 1 => {
                    match items.iter().position(|(x, _)| equal(x, k) == Some(true)) {
                        Some(i) => items.remove(i).1,
                        None => match rest.first() {
                            Some(d) => d.clone(),
                            None => return Err("`dict.pop(key)`: key not found".into()),
                        },
                    }
                }
                ("clear", []) => {
                    items.clear();
                    Value::None
                }
                _ => return Err(unsupported()),
            };
            Ok((result, Value::Dict(Rc::new(items))))
        }
        _ => Err(unsupported()),
    }
}

/// A method of a `str`, `list`/`tuple` or `dict` value that does not change it.
pub fn method<'p>(
    recv: &Value<'p>,
    method: &str,
    args: &[Value<'p>],
    kwargs: &[(String, Value<'p>)],
) -> Result<Value<'p>, Reason> {
    if let Some(u) = args
        .iter()
        .chain(kwargs.iter().map(|(_, v)| v))
        .find(|v| v.is_unknown())
    {
        return Ok(u.clone());
    }
    let unsupported = || format!("`.{method}()` with these arguments is not evaluated statically");
    match recv {
        Value::Str(s) => str_method(s, method, args, kwargs).ok_or_else(unsupported),
        Value::Seq(items) => Ok(match (method, args) {
            ("index", [v]) => Value::Int(
                items
                    .iter()
                    .position(|x| equal(x, v) == Some(true))
                    .ok_or("`index`: value not in list")? as i64,
            ),
            ("count", [v]) => {
                Value::Int(items.iter().filter(|x| equal(x, v) == Some(true)).count() as i64)
            }
            ("copy", []) => recv.clone(),
            ("union", _) => {
                let mut out = items.to_vec();
                for a in args {
                    for item in iterate(a)? {
                        if contains(&seq(out.clone()), &item) != Some(true) {
                            out.push(item);
                        }
                    }
                }
                seq(out)
            }
            _ => return Err(unsupported()),
        }),
        Value::Dict(items) => Ok(match (method, args) {
            ("get", [k, rest @ ..]) if rest.len() <= 1 => {
                dict_get(items, k).unwrap_or_else(|| rest.first().cloned().unwrap_or(Value::None))
            }
            ("keys", []) => seq(items.iter().map(|(k, _)| k.clone()).collect()),
            ("values", []) => seq(items.iter().map(|(_, v)| v.clone()).collect()),
            ("items", []) => seq(items
                .iter()
                .map(|(k, v)| seq(vec![k.clone(), v.clone()]))
                .collect()),
            ("copy", []) => recv.clone(),
            _ => return Err(unsupported()),
        }),
        _ => Err(unsupported()),
    }
}

fn strs<'a>(v: &'a Value<'_>) -> Option<Vec<&'a str>> {
    match v {
        Value::Str(s) => Some(vec![&**s]),
        Value::Seq(items) => items.iter().map(|i| i.as_str()).collect(),
        _ => None,
    }
}

fn str_method<'p>(
    s: &Rc<str>,
    method: &str,
    args: &[Value<'p>],
    kwargs: &[(String, Value<'p>)],
) -> Option<Value<'p>> {
    let text = |t: String| Some(Value::Str(t.into()));
    let chars_arg = |a: Option<&Value<'p>>| -> Option<Option<Vec<char>>> {
        match a {
            None | Some(Value::None) => Some(None),
            Some(Value::Str(c)) => Some(Some(c.chars().collect())),
            _ => None,
        }
    };
    match (method, args) {
        ("lower" | "casefold", []) => text(s.to_lowercase()),
        ("upper", []) => text(s.to_uppercase()),
        ("swapcase", []) => text(
            s.chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<String>()
                    } else {
                        c.to_uppercase().collect()
                    }
                })
                .collect(),
        ),
        ("capitalize", []) => {
            let mut chars = s.chars();
            text(match chars.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            })
        }
        ("title", []) => {
            let mut out = String::new();
            let mut prev_cased = false;
            for c in s.chars() {
                if prev_cased {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                prev_cased = c.is_alphabetic();
            }
            text(out)
        }
        ("strip" | "lstrip" | "rstrip", _) if args.len() <= 1 => {
            let set = chars_arg(args.first())?;
            let is = |c: char| match &set {
                None => c.is_whitespace(),
                Some(set) => set.contains(&c),
            };
            text(match method {
                "strip" => s.trim_matches(is).to_owned(),
                "lstrip" => s.trim_start_matches(is).to_owned(),
                _ => s.trim_end_matches(is).to_owned(),
            })
        }
        ("replace", [Value::Str(a), Value::Str(b), rest @ ..]) => match rest {
            [] => text(s.replace(&**a, b)),
            [Value::Int(n)] if *n >= 0 => text(s.replacen(&**a, b, *n as usize)),
            _ => None,
        },
        ("removeprefix", [Value::Str(p)]) => text(s.strip_prefix(&**p).unwrap_or(s).to_owned()),
        ("removesuffix", [Value::Str(p)]) => text(s.strip_suffix(&**p).unwrap_or(s).to_owned()),
        ("startswith" | "endswith", [prefixes]) => {
            let options = strs(prefixes)?;
            Some(Value::Bool(options.iter().any(|p| {
                if method == "startswith" {
                    s.starts_with(p)
                } else {
                    s.ends_with(p)
                }
            })))
        }
        ("split" | "rsplit", _) => {
            let sep = match args
                .first()
                .or(kwargs.iter().find(|(k, _)| k == "sep").map(|(_, v)| v))
            {
                None | Some(Value::None) => None,
                Some(Value::Str(sep)) if !sep.is_empty() => Some(sep.clone()),
                _ => return None,
            };
            let max = match args
                .get(1)
                .or(kwargs.iter().find(|(k, _)| k == "maxsplit").map(|(_, v)| v))
            {
                None => None,
                Some(Value::Int(n)) if *n < 0 => None,
                Some(Value::Int(n)) => Some(*n as usize),
                _ => return None,
            };
            let parts: Vec<String> = match (&sep, max, method) {
                (None, None, _) => s.split_whitespace().map(str::to_owned).collect(),
                (None, Some(_), _) => return None,
                (Some(sep), None, _) => s.split(&**sep).map(str::to_owned).collect(),
                (Some(sep), Some(n), "split") => {
                    s.splitn(n + 1, &**sep).map(str::to_owned).collect()
                }
                (Some(sep), Some(n), _) => {
                    let mut p: Vec<String> = s.rsplitn(n + 1, &**sep).map(str::to_owned).collect();
                    p.reverse();
                    p
                }
            };
            Some(seq(parts
                .into_iter()
                .map(|p| Value::Str(p.into()))
                .collect()))
        }
        ("partition" | "rpartition", [Value::Str(sep)]) if !sep.is_empty() => {
            let found = if method == "partition" {
                s.find(&**sep)
            } else {
                s.rfind(&**sep)
            };
            let (a, b, c) = match found {
                Some(i) => (&s[..i], &**sep, &s[i + sep.len()..]),
                None if method == "partition" => (&**s, "", ""),
                None => ("", "", &**s),
            };
            Some(seq([a, b, c]
                .iter()
                .map(|x| Value::Str((*x).into()))
                .collect()))
        }
        ("join", [items]) => {
            let parts: Option<Vec<String>> = iterate(items)
                .ok()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect();
            text(parts?.join(s))
        }
        ("format", _) => text(str_format(s, args, kwargs)?),
        ("zfill", [Value::Int(w)]) => {
            let w = usize::try_from(*w).ok()?;
            let len = s.chars().count();
            if len >= w {
                return text(s.to_string());
            }
            let (sign, rest) = match s.chars().next() {
                Some(c @ ('-' | '+')) => (c.to_string(), &s[1..]),
                _ => (String::new(), &**s),
            };
            text(format!("{sign}{}{rest}", "0".repeat(w - len)))
        }
        ("ljust" | "rjust" | "center", [Value::Int(w), rest @ ..]) => {
            let fill = match rest {
                [] => ' ',
                [Value::Str(f)] if f.chars().count() == 1 => f.chars().next()?,
                _ => return None,
            };
            let align = match method {
                "ljust" => '<',
                "rjust" => '>',
                _ => '^',
            };
            text(pad(s, usize::try_from(*w).ok()?, fill, align))
        }
        ("find" | "index" | "rfind", [Value::Str(n)]) => {
            let found = if method == "rfind" {
                s.rfind(&**n)
            } else {
                s.find(&**n)
            };
            match found {
                Some(i) => Some(Value::Int(s[..i].chars().count() as i64)),
                None if method == "index" => None,
                None => Some(Value::Int(-1)),
            }
        }
        ("count", [Value::Str(n)]) if !n.is_empty() => {
            Some(Value::Int(s.matches(&**n).count() as i64))
        }
        ("isupper" | "islower" | "isdigit" | "isalpha" | "isalnum" | "isidentifier", []) => {
            Some(Value::Bool(match method {
                "isupper" => {
                    s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase)
                }
                "islower" => {
                    s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase)
                }
                "isdigit" => !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()),
                "isalpha" => !s.is_empty() && s.chars().all(char::is_alphabetic),
                "isalnum" => !s.is_empty() && s.chars().all(char::is_alphanumeric),
                _ => {
                    let mut chars = s.chars();
                    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                        && chars.all(|c| c == '_' || c.is_alphanumeric())
                }
            }))
        }
        _ => None,
    }
}

fn pad(s: &str, width: usize, fill: char, align: char) -> String {
    let len = s.chars().count();
    if len >= width {
        return s.to_owned();
    }
    let n = width - len;
    let fills = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    match align {
        '<' => format!("{s}{}", fills(n)),
        '^' => format!("{}{s}{}", fills(n / 2), fills(n - n / 2)),
        _ => format!("{}{s}", fills(n)),
    }
}

/// Formats `v` with a format spec (`03d`, `>10`, `.2f`, `x`).
pub fn format_spec(v: &Value<'_>, spec: &str) -> Option<String> {
    if spec.is_empty() {
        return to_str(v);
    }
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let (mut fill, mut align) = (' ', None);
    if chars.len() >= 2 && matches!(chars[1], '<' | '>' | '^' | '=') {
        fill = chars[0];
        align = Some(chars[1]);
        i = 2;
    } else if matches!(chars.first(), Some('<' | '>' | '^' | '=')) {
        align = Some(chars[0]);
        i = 1;
    }
    let mut sign = '-';
    if let Some(&c @ ('+' | '-' | ' ')) = chars.get(i) {
        sign = c;
        i += 1;
    }
    let mut zero = false;
    if chars.get(i) == Some(&'0') {
        zero = true;
        i += 1;
    }
    let mut width = 0usize;
    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
        width = width * 10 + d as usize;
        i += 1;
    }
    if matches!(chars.get(i), Some(',' | '_')) {
        return None;
    }
    let mut precision = None;
    if chars.get(i) == Some(&'.') {
        i += 1;
        let mut p = 0usize;
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            p = p * 10 + d as usize;
            i += 1;
        }
        precision = Some(p);
    }
    let kind = chars.get(i).copied();
    if i + usize::from(kind.is_some()) != chars.len() {
        return None;
    }
    let numeric = matches!(v, Value::Int(_) | Value::Float(_) | Value::Bool(_));
    let body = match (kind, v) {
        (None | Some('s'), Value::Str(s)) => match precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        },
        (None | Some('d'), Value::Int(n)) => n.abs().to_string(),
        (Some('x'), Value::Int(n)) => format!("{:x}", n.abs()),
        (Some('X'), Value::Int(n)) => format!("{:X}", n.abs()),
        (Some('o'), Value::Int(n)) => format!("{:o}", n.abs()),
        (Some('b'), Value::Int(n)) => format!("{:b}", n.abs()),
        (Some('f'), Value::Int(n)) => format!("{:.*}", precision.unwrap_or(6), (*n as f64).abs()),
        (Some('f'), Value::Float(f)) => format!("{:.*}", precision.unwrap_or(6), f.abs()),
        (None, Value::Float(f)) if precision.is_none() => float_repr(f.abs()),
        (None | Some('s'), other) if !numeric => to_str(other)?,
        _ => return None,
    };
    let negative = match v {
        Value::Int(n) => *n < 0,
        Value::Float(f) => *f < 0.0,
        _ => false,
    };
    let sign_text = match (numeric, negative, sign) {
        (true, true, _) => "-",
        (true, false, '+') => "+",
        (true, false, ' ') => " ",
        _ => "",
    };
    if zero && align.is_none() && numeric {
        let n = width.saturating_sub(sign_text.len() + body.chars().count());
        return Some(format!("{sign_text}{}{body}", "0".repeat(n)));
    }
    let text = format!("{sign_text}{body}");
    let align = align.unwrap_or(if numeric { '>' } else { '<' });
    let fill = if zero && fill == ' ' { '0' } else { fill };
    Some(pad(&text, width, fill, align))
}

/// `template.format(*args, **kwargs)`.
fn str_format<'p>(
    template: &str,
    args: &[Value<'p>],
    kwargs: &[(String, Value<'p>)],
) -> Option<String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    let mut auto = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    field.push(c);
                }
                let (name, spec) = match field.split_once(':') {
                    Some((n, s)) => (n, s),
                    None => (field.as_str(), ""),
                };
                let (name, conversion) = match name.split_once('!') {
                    Some((n, c)) => (n, Some(c)),
                    None => (name, None),
                };
                let value = if name.is_empty() {
                    auto += 1;
                    args.get(auto - 1)?
                } else if let Ok(i) = name.parse::<usize>() {
                    args.get(i)?
                } else {
                    &kwargs.iter().find(|(k, _)| k == name)?.1
                };
                let piece = match conversion {
                    Some("r") => repr(value)?,
                    Some("s") => to_str(value)?,
                    Some(_) => return None,
                    None => format_spec(value, spec)?,
                };
                out.push_str(&piece);
            }
            '}' => return None,
            other => out.push(other),
        }
    }
    Some(out)
}

/// `template % values`.
pub fn percent_format(template: &str, values: &Value<'_>) -> Option<String> {
    let positional: Vec<Value<'_>> = match values {
        Value::Seq(items) => items.to_vec(),
        Value::Dict(_) => Vec::new(),
        other => vec![other.clone()],
    };
    let mut next = positional.iter();
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut k = String::new();
            for c in chars.by_ref() {
                if c == ')' {
                    break;
                }
                k.push(c);
            }
            key = Some(k);
        }
        let mut spec = String::new();
        let kind = loop {
            let c = chars.next()?;
            if c.is_ascii_alphabetic() {
                break c;
            }
            spec.push(c);
        };
        let value = match (&key, values) {
            (Some(k), Value::Dict(items)) => dict_get(items, &Value::Str(k.as_str().into()))?,
            (Some(_), _) => return None,
            (None, _) => next.next()?.clone(),
        };
        let piece = match kind {
            's' => {
                let s = to_str(&value)?;
                format_spec(&Value::Str(s.into()), &percent_spec(&spec, None))?
            }
            'r' => repr(&value)?,
            'd' | 'i' | 'x' | 'X' | 'o' | 'f' => {
                let value = match (&value, kind) {
                    (Value::Float(f), 'd' | 'i') => Value::Int(f.trunc() as i64),
                    _ => value.clone(),
                };
                let kind = if kind == 'i' { 'd' } else { kind };
                format_spec(&value, &percent_spec(&spec, Some(kind)))?
            }
            _ => return None,
        };
        out.push_str(&piece);
    }
    if next.next().is_some() {
        return None;
    }
    Some(out)
}

/// A printf-style spec (`-5`, `05`, `.2`) as a format spec.
fn percent_spec(spec: &str, kind: Option<char>) -> String {
    let (left, rest) = match spec.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, spec),
    };
    let mut out = String::new();
    if left {
        out.push('<');
    } else if kind.is_none() {
        out.push('>');
    }
    out.push_str(rest);
    if let Some(k) = kind {
        out.push(k);
    }
    out
}

/// Python's `re` syntax in the regex crate's dialect: `(?P<name>` -> `(?<name>`.
fn pattern(p: &str) -> Result<fancy_regex::Regex, Reason> {
    fancy_regex::Regex::new(&p.replace("(?P<", "(?<").replace("(?P=", "\\k<"))
        .map_err(|e| format!("The pattern {p:?} is not understood: {e}"))
}

/// A Python replacement template (`\1`, `\g<1>`, `\g<name>`) in the regex crate's spelling.
fn replacement(t: &str) -> String {
    let mut out = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let mut n = String::new();
                        for c in chars.by_ref() {
                            if c == '>' {
                                break;
                            }
                            n.push(c);
                        }
                        out.push_str(&format!("${{{n}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// `re.sub`, `re.match`, `re.fullmatch`, `re.search`, `re.split`, `re.findall`,
/// `re.escape` on literal patterns and strings. A match is the sequence of its groups
/// (group 0 first), no match is `None`.
pub fn re_call<'p>(func: &str, args: &[Value<'p>]) -> Result<Value<'p>, Reason> {
    if let Some(u) = args.iter().find(|v| v.is_unknown()) {
        return Ok(u.clone());
    }
    let s = |i: usize| -> Result<&str, Reason> {
        args.get(i).and_then(Value::as_str).ok_or_else(|| {
            format!("`re.{func}` needs literal string arguments to be evaluated statically")
        })
    };
    let groups = |c: fancy_regex::Captures<'_>| -> Value<'p> {
        seq((0..c.len())
            .map(|i| match c.get(i) {
                Some(m) => Value::Str(m.as_str().into()),
                None => Value::None,
            })
            .collect())
    };
    let err = |e: fancy_regex::Error| format!("The pattern cannot be applied: {e}");
    Ok(match func {
        "escape" => Value::Str(fancy_regex::escape(s(0)?).into_owned().into()),
        "sub" => {
            let (re, text) = (pattern(s(0)?)?, s(2)?);
            let count = match args.get(3) {
                None => 0,
                Some(Value::Int(n)) if *n >= 0 => *n as usize,
                _ => return Err("`re.sub` count must be a literal number".into()),
            };
            let rep = replacement(s(1)?);
            let out = re.try_replacen(text, count, rep.as_str()).map_err(err)?;
            Value::Str(out.into_owned().into())
        }
        "match" | "fullmatch" | "search" => {
            let p = s(0)?;
            let anchored = match func {
                "match" => format!("\\A(?:{p})"),
                "fullmatch" => format!("\\A(?:{p})\\z"),
                _ => p.to_owned(),
            };
            match pattern(&anchored)?.captures(s(1)?).map_err(err)? {
                Some(c) => groups(c),
                None => Value::None,
            }
        }
        "split" => {
            let re = pattern(s(0)?)?;
            let parts: Result<Vec<Value<'p>>, Reason> = re
                .split(s(1)?)
                .map(|p| p.map(|p| Value::Str(p.into())).map_err(err))
                .collect();
            seq(parts?)
        }
        "findall" => {
            let re = pattern(s(0)?)?;
            let mut out = Vec::new();
            for c in re.captures_iter(s(1)?) {
                let c = c.map_err(err)?;
                let pick = |i: usize| Value::Str(c.get(i).map_or("", |m| m.as_str()).into());
                out.push(match c.len() {
                    1 => pick(0),
                    2 => pick(1),
                    n => seq((1..n).map(pick).collect()),
                });
            }
            seq(out)
        }
        other => return Err(format!("`re.{other}` is not evaluated statically")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value<'static> {
        Value::Str(v.into())
    }

    #[test]
    fn formats_like_python() {
        assert_eq!(format_spec(&Value::Int(7), "03d").as_deref(), Some("007"));
        assert_eq!(format_spec(&Value::Int(-7), "04d").as_deref(), Some("-007"));
        assert_eq!(format_spec(&s("ab"), ">4").as_deref(), Some("  ab"));
        assert_eq!(format_spec(&s("ab"), "*^6").as_deref(), Some("**ab**"));
        assert_eq!(
            format_spec(&Value::Float(1.5), ".2f").as_deref(),
            Some("1.50")
        );
        assert_eq!(
            percent_format(
                "%s_%03d",
                &Value::Seq(Rc::new(vec![s("ix"), Value::Int(4)]))
            )
            .as_deref(),
            Some("ix_004")
        );
        let d = Value::Dict(Rc::new(vec![(s("t"), s("user"))]));
        assert_eq!(
            percent_format("ix_%(t)s_100%%", &d).as_deref(),
            Some("ix_user_100%")
        );
        assert_eq!(
            str_format("{}_{0}_{name!r}", &[s("a")], &[("name".into(), s("b"))]).as_deref(),
            Some("a_a_'b'")
        );
    }

    #[test]
    fn regex_functions_take_python_syntax() {
        let snake = re_call("sub", &[s("(?<!^)(?=[A-Z])"), s("_"), s("UserProfile")]).expect("sub");
        assert_eq!(snake.as_str(), Some("User_Profile"));
        let groups =
            re_call("sub", &[s("([a-z0-9])([A-Z])"), s(r"\1_\2"), s("aB1C")]).expect("sub");
        assert_eq!(groups.as_str(), Some("a_B1_C"));
        assert!(matches!(
            re_call("match", &[s("x"), s("yx")]).expect("match"),
            Value::None
        ));
        let Value::Seq(g) = re_call("match", &[s("(?P<a>y)x"), s("yx")]).expect("match") else {
            panic!("match")
        };
        assert_eq!(g[1].as_str(), Some("y"));
    }

    #[test]
    fn containers_mutate_by_value() {
        let d = Value::Dict(Rc::new(vec![(s("a"), Value::Int(1))]));
        let (r, d) = mutate(&d, "setdefault", &[s("b"), Value::Int(2)], &[]).expect("setdefault");
        assert!(matches!(r, Value::Int(2)));
        let (r, d) = mutate(&d, "pop", &[s("a")], &[]).expect("pop");
        assert!(matches!(r, Value::Int(1)));
        assert_eq!(
            call_builtin("len", &[d], &[]).ok().and_then(|v| int_of(&v)),
            Some(1)
        );
        let words = str_method(&Rc::from("a_b_c"), "split", &[s("_"), Value::Int(1)], &[]);
        let Some(Value::Seq(parts)) = words else {
            panic!("split")
        };
        assert_eq!(parts[1].as_str(), Some("b_c"));
    }
}
