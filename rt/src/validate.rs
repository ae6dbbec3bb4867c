//! Runtime support for the JSON-schema validators emitted by `cargo xtask codegen`
//! (`xtask/src/codegen/emit_validators.rs`). Hand-written; not generated.
//!
//! An emitted validator is a `pub fn NAME(v: &serde_json::Value) -> Result<(), Errors>`
//! plus private helper functions generic over a [`Sink`]:
//!
//! * [`Check`] stops at the first error and records nothing: the public entry point runs
//!   it first (valid input, the common case, is decided by this lean pass alone), and the
//!   branches of `anyOf`/`oneOf`/`not` use it, where only validity matters;
//! * [`Collect`] gathers every error: the entry point runs it, through [`collect`], only
//!   when the check pass failed.
//!
//! The success path allocates nothing: the instance location is tracked as a
//! stack-allocated linked list ([`Path`]) and turned into a JSON pointer, like the error
//! message, only when an error is recorded.
//!
//! A `pattern` is a `static rt::Pattern`, compiled on first use by the `regex` crate or, for
//! look-around and back-references, by `regress`, an ECMA-262 engine: JSON Schema specifies
//! ECMA-262 patterns, and Oxide's API alone has 647 look-arounds that would otherwise go unchecked.
//! The generator compiles each pattern with the engine the runtime will use, so a broken one is a
//! generation-time warning, not a run-time panic.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

/// `if S::STOP && !ok { return false; }`: where a loop may run long, a [`Check`] pass
/// leaves at the first failed iteration. For emitted node fns, whose sink type parameter is
/// `S` and whose result so far is `ok`.
#[macro_export]
macro_rules! stop_if_failed {
    ($ok:ident) => {
        if S::STOP && !$ok {
            return false;
        }
    };
}
pub use crate::stop_if_failed;

/// The `format` checks, reachable as `rt::formats` from emitted code.
pub use crate::formats;
pub use regex::Regex;
/// The engine of look-around and back-reference patterns ([`compile_ecma`]).
pub use regress::Regex as EcmaRegex;
use serde_json::Number;
/// The JSON value type validators take (re-exported so emitted signatures stay short).
pub use serde_json::Value;

/// What kind of constraint a [`ValidationError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// A required property is missing; the error's pointer names the missing property.
    Required,
    /// The value has the wrong JSON type.
    Type,
    /// A string (or number) does not conform to its `format`.
    Format,
    /// A string does not match its `pattern`.
    Pattern,
    /// The value is not one of the `enum` values, or not the `const` value.
    Enum,
    /// A string, array or object is too short or too long.
    Length,
    /// A number is out of range, or not a multiple of `multipleOf`.
    Range,
    /// A property that the schema does not allow (`additionalProperties: false`); the
    /// error's pointer names the property.
    AdditionalProperty,
    /// Anything else: `anyOf`, `oneOf`, `not`, `uniqueItems`, a `false` schema.
    Other,
}

/// One validation failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// RFC 6901 JSON pointer of the offending instance (`""` for the root). For
    /// [`ErrorKind::Required`] and [`ErrorKind::AdditionalProperty`] it is the pointer of
    /// the missing or unexpected property itself, e.g. `/threepid/medium`.
    pub pointer: String,
    /// What kind of constraint failed.
    pub kind: ErrorKind,
    /// A short human-readable message, e.g. `expected string, found number`.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// All the errors found in one instance, in schema evaluation order (never empty when
/// returned by a validator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<ValidationError>);

impl Errors {
    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    /// Number of errors.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no errors.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Errors {
    /// One `<pointer>: <message>` line per error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char('\n')?;
            }
            fmt::Display::fmt(e, f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

impl IntoIterator for Errors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Errors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Location of the instance being validated, as a linked list living on the stack of the
/// validator's call chain. Costs nothing until [`Path::to_pointer`] is called.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The document root.
    Root,
    /// A property of the object at the parent path.
    Key(&'a Path<'a>, &'a str),
    /// An element of the array at the parent path.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    /// The path of property `key` of the object here (what emitted checks pass inline).
    #[inline(always)]
    #[must_use]
    pub fn at(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }
}

impl Path<'_> {
    /// The RFC 6901 JSON pointer of this location (`""` for the root; `~` and `/` in keys
    /// escaped as `~0` and `~1`).
    #[must_use]
    pub fn to_pointer(&self) -> String {
        let mut out = String::new();
        self.write_pointer(&mut out);
        out
    }

    fn write_pointer(&self, out: &mut String) {
        match *self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.write_pointer(out);
                out.push('/');
                for c in key.chars() {
                    match c {
                        '~' => out.push_str("~0"),
                        '/' => out.push_str("~1"),
                        c => out.push(c),
                    }
                }
            }
            Path::Index(parent, index) => {
                parent.write_pointer(out);
                // Writing to a String cannot fail.
                let _ = write!(out, "/{index}");
            }
        }
    }
}

/// Where emitted validators report errors.
pub trait Sink {
    /// `true` if validation should stop at the first error (only validity matters).
    const STOP: bool;
    /// Records an error at `path`; `message` is only called if the error is kept.
    fn fail(&mut self, path: &Path<'_>, kind: ErrorKind, message: impl FnOnce() -> String);

    /// Records an error and gives `false`, so that one emitted statement
    /// (`ok = s.reject(..)`) both reports and remembers the failure.
    #[inline(always)]
    fn reject(
        &mut self,
        path: &Path<'_>,
        kind: ErrorKind,
        message: impl FnOnce() -> String,
    ) -> bool {
        self.fail(path, kind, message);
        false
    }

    /// A `type` check: `is` says whether `v` has one of the `expected` types; records
    /// the error when not, and gives `is` (emitted as `ok &= s.is_type(..)`).
    #[inline(always)]
    fn is_type(&mut self, path: &Path<'_>, v: &Value, expected: &'static str, is: bool) -> bool {
        if !is {
            self.fail(path, ErrorKind::Type, || type_error(expected, v));
        }
        is
    }

    /// A `type` check against several types (a mask of [`NULL`], [`BOOLEAN`], [`NUMBER`],
    /// [`STRING`], [`ARRAY`], [`OBJECT`]).
    #[inline(always)]
    fn of_types(&mut self, path: &Path<'_>, v: &Value, mask: u8) -> bool {
        let is = type_bit(v) & mask != 0;
        if !is {
            self.fail(path, ErrorKind::Type, || {
                type_error(&describe_types(mask), v)
            });
        }
        is
    }

    /// `enum` of strings only: `v` is one of `allowed`.
    #[inline(always)]
    fn str_enum(&mut self, path: &Path<'_>, v: &Value, allowed: &'static [&'static str]) -> bool {
        let holds = v.as_str().is_some_and(|s| allowed.contains(&s));
        if !holds {
            self.fail(path, ErrorKind::Enum, || {
                enum_error(v, &list_strings(allowed))
            });
        }
        holds
    }

    /// `oneOf` whose branches are string constants, none in two branches: exactly one
    /// matches iff `v` is one of `choices` (reported as `oneOf` is).
    #[inline(always)]
    fn one_of_strs(
        &mut self,
        path: &Path<'_>,
        v: &Value,
        choices: &'static [&'static str],
    ) -> bool {
        let holds = v.as_str().is_some_and(|s| choices.contains(&s));
        if !holds {
            self.fail(path, ErrorKind::Other, || {
                String::from("does not match any of the schemas in oneOf")
            });
        }
        holds
    }

    /// `oneOf`: exactly one of `branches` (node fns, checked for validity only) accepts `v`.
    #[inline]
    fn one_of(&mut self, path: &Path<'_>, v: &Value, branches: &[Branch]) -> bool {
        let count = branches.iter().filter(|f| f(v, path, &mut Check)).count();
        if count != 1 {
            self.fail(path, ErrorKind::Other, || {
                if count == 0 {
                    String::from("does not match any of the schemas in oneOf")
                } else {
                    format!("matches {count} of the schemas in oneOf, expected exactly one")
                }
            });
        }
        count == 1
    }

    /// `anyOf`: at least one of `branches` accepts `v`.
    #[inline]
    fn any_of(&mut self, path: &Path<'_>, v: &Value, branches: &[Branch]) -> bool {
        let holds = branches.iter().any(|f| f(v, path, &mut Check));
        if !holds {
            self.fail(path, ErrorKind::Other, || {
                String::from("does not match any of the schemas in anyOf")
            });
        }
        holds
    }

    /// The value as a string, or `None` with the type error recorded and `ok` cleared
    /// (a schema whose one type has keywords of its own).
    #[inline(always)]
    fn string<'v>(
        &mut self,
        path: &Path<'_>,
        v: &'v Value,
        ok: &mut bool,
        expected: &'static str,
    ) -> Option<&'v String> {
        match v {
            Value::String(x) => Some(x),
            _ => {
                *ok = self.wrong_type(path, v, expected);
                None
            }
        }
    }

    /// As [`Sink::string`], for numbers.
    #[inline(always)]
    fn number<'v>(
        &mut self,
        path: &Path<'_>,
        v: &'v Value,
        ok: &mut bool,
        expected: &'static str,
    ) -> Option<&'v Number> {
        match v {
            Value::Number(x) => Some(x),
            _ => {
                *ok = self.wrong_type(path, v, expected);
                None
            }
        }
    }

    /// As [`Sink::string`], for arrays.
    #[inline(always)]
    fn array<'v>(
        &mut self,
        path: &Path<'_>,
        v: &'v Value,
        ok: &mut bool,
        expected: &'static str,
    ) -> Option<&'v Vec<Value>> {
        match v {
            Value::Array(x) => Some(x),
            _ => {
                *ok = self.wrong_type(path, v, expected);
                None
            }
        }
    }

    /// As [`Sink::string`], for objects.
    #[inline(always)]
    fn object<'v>(
        &mut self,
        path: &Path<'_>,
        v: &'v Value,
        ok: &mut bool,
        expected: &'static str,
    ) -> Option<&'v serde_json::Map<String, Value>> {
        match v {
            Value::Object(x) => Some(x),
            _ => {
                *ok = self.wrong_type(path, v, expected);
                None
            }
        }
    }

    /// `type: string` (one type, no other keyword of its own): [`Sink::is_type`] spelled short.
    #[inline(always)]
    fn is_string(&mut self, path: &Path<'_>, v: &Value) -> bool {
        self.is_type(path, v, "string", v.is_string())
    }

    /// `type: boolean`, as [`Sink::is_string`].
    #[inline(always)]
    fn is_boolean(&mut self, path: &Path<'_>, v: &Value) -> bool {
        self.is_type(path, v, "boolean", v.is_boolean())
    }

    /// `type: number`, as [`Sink::is_string`].
    #[inline(always)]
    fn is_number(&mut self, path: &Path<'_>, v: &Value) -> bool {
        self.is_type(path, v, "number", v.is_number())
    }

    /// `type: array`, as [`Sink::is_string`].
    #[inline(always)]
    fn is_array(&mut self, path: &Path<'_>, v: &Value) -> bool {
        self.is_type(path, v, "array", v.is_array())
    }

    /// `type: object`, as [`Sink::is_string`].
    #[inline(always)]
    fn is_object(&mut self, path: &Path<'_>, v: &Value) -> bool {
        self.is_type(path, v, "object", v.is_object())
    }

    /// `type: null`, as [`Sink::is_string`].
    #[inline(always)]
    fn is_null(&mut self, path: &Path<'_>, v: &Value) -> bool {
        self.is_type(path, v, "null", v.is_null())
    }

    /// `type: integer`: the number `n` (which is `v`) has no fractional part; `expected`
    /// names the allowed types in the message.
    #[inline(always)]
    fn whole(&mut self, path: &Path<'_>, v: &Value, n: &Number, expected: &'static str) -> bool {
        self.is_type(path, v, expected, is_integer(n))
    }

    /// A value of a type the schema does not allow: records the error, gives `false`.
    #[inline(always)]
    fn wrong_type(&mut self, path: &Path<'_>, v: &Value, expected: &'static str) -> bool {
        self.is_type(path, v, expected, false)
    }

    /// A keyword check whose message is fixed: records it when `holds` is false.
    #[inline(always)]
    fn check(
        &mut self,
        path: &Path<'_>,
        kind: ErrorKind,
        holds: bool,
        message: &'static str,
    ) -> bool {
        if !holds {
            self.fail(path, kind, || String::from(message));
        }
        holds
    }

    /// `minLength`: `s` has at least `n` characters.
    #[inline(always)]
    fn min_chars(&mut self, path: &Path<'_>, s: &str, n: usize) -> bool {
        let holds = !chars_lt(s, n);
        if !holds {
            self.fail(path, ErrorKind::Length, || {
                format!(
                    "must be at least {} long, found {}",
                    plural(n, "character"),
                    s.chars().count()
                )
            });
        }
        holds
    }

    /// `maxLength`: `s` has at most `n` characters.
    #[inline(always)]
    fn max_chars(&mut self, path: &Path<'_>, s: &str, n: usize) -> bool {
        let holds = !chars_gt(s, n);
        if !holds {
            self.fail(path, ErrorKind::Length, || {
                format!(
                    "must be at most {} long, found {}",
                    plural(n, "character"),
                    s.chars().count()
                )
            });
        }
        holds
    }

    /// `minItems` / `minProperties`: `len` (of what `noun` counts) is at least `n`.
    #[inline(always)]
    fn min_len(&mut self, path: &Path<'_>, len: usize, n: usize, noun: &'static str) -> bool {
        let holds = len >= n;
        if !holds {
            self.fail(path, ErrorKind::Length, || {
                format!("must have at least {}, found {len}", plural(n, noun))
            });
        }
        holds
    }

    /// `maxItems` / `maxProperties`: `len` is at most `n`.
    #[inline(always)]
    fn max_len(&mut self, path: &Path<'_>, len: usize, n: usize, noun: &'static str) -> bool {
        let holds = len <= n;
        if !holds {
            self.fail(path, ErrorKind::Length, || {
                format!("must have at most {}, found {len}", plural(n, noun))
            });
        }
        holds
    }

    /// `minimum`, `maximum` and their exclusive forms: `n` compared with `bound` as `cmp`
    /// says (`n >= bound` for [`Cmp::Ge`]).
    #[inline(always)]
    fn in_range<B: Bound>(&mut self, path: &Path<'_>, n: &Number, cmp: Cmp, bound: B) -> bool {
        let ord = bound.compare(n);
        let holds = match cmp {
            Cmp::Ge => ord.is_ge(),
            Cmp::Gt => ord.is_gt(),
            Cmp::Le => ord.is_le(),
            Cmp::Lt => ord.is_lt(),
        };
        if !holds {
            self.fail(path, ErrorKind::Range, || {
                format!("must be {} {bound}, found {n}", cmp.symbol())
            });
        }
        holds
    }

    /// `multipleOf`.
    #[inline(always)]
    fn multiple_of(
        &mut self,
        path: &Path<'_>,
        n: &Number,
        holds: bool,
        divisor: &'static str,
    ) -> bool {
        if !holds {
            self.fail(path, ErrorKind::Range, || {
                format!("must be a multiple of {divisor}, found {n}")
            });
        }
        holds
    }

    /// A numeric `format` (`int32`, `int64`).
    #[inline(always)]
    fn number_format(
        &mut self,
        path: &Path<'_>,
        n: &Number,
        is: fn(&Number) -> bool,
        what: &'static str,
    ) -> bool {
        let holds = is(n);
        if !holds {
            self.fail(path, ErrorKind::Format, || {
                format!("{n} is not a valid {what}")
            });
        }
        holds
    }

    /// A string `format`; `what` names a valid value in the message.
    #[inline(always)]
    fn format(
        &mut self,
        path: &Path<'_>,
        s: &str,
        is: fn(&str) -> bool,
        what: &'static str,
    ) -> bool {
        let holds = is(s);
        if !holds {
            self.fail(path, ErrorKind::Format, || format_error(s, what));
        }
        holds
    }

    /// `pattern`, checked by its compiled [`Pattern`].
    #[inline(always)]
    fn matches(&mut self, path: &Path<'_>, s: &str, pattern: &'static Pattern) -> bool {
        let holds = pattern.is_match(s);
        if !holds {
            self.fail(path, ErrorKind::Pattern, || {
                pattern_error(s, pattern.source())
            });
        }
        holds
    }

    /// `pattern`, checked by emitted code (literal and ASCII-class patterns).
    #[inline(always)]
    fn pattern(&mut self, path: &Path<'_>, s: &str, holds: bool, pattern: &'static str) -> bool {
        if !holds {
            self.fail(path, ErrorKind::Pattern, || pattern_error(s, pattern));
        }
        holds
    }

    /// `enum`: `allowed` lists the values for the message.
    #[inline(always)]
    fn is_enum(&mut self, path: &Path<'_>, v: &Value, holds: bool, allowed: &'static str) -> bool {
        if !holds {
            self.fail(path, ErrorKind::Enum, || enum_error(v, allowed));
        }
        holds
    }

    /// `const`: `expected` is the value as JSON, for the message.
    #[inline(always)]
    fn is_const(
        &mut self,
        path: &Path<'_>,
        v: &Value,
        holds: bool,
        expected: &'static str,
    ) -> bool {
        if !holds {
            self.fail(path, ErrorKind::Enum, || const_error(v, expected));
        }
        holds
    }

    /// A property `additionalProperties: false` does not allow: records it, gives `false`.
    #[inline(always)]
    fn unexpected(&mut self, path: &Path<'_>, key: &str) -> bool {
        self.fail(path, ErrorKind::AdditionalProperty, || {
            format!("unexpected property {}", quote(key))
        });
        false
    }

    /// A `required` check: `present` says whether the object at `parent` has `name`;
    /// records the error (pointing at the missing property) when not, and gives `present`.
    #[inline(always)]
    fn has(&mut self, parent: &Path<'_>, name: &'static str, present: bool) -> bool {
        if !present {
            self.fail(&Path::Key(parent, name), ErrorKind::Required, || {
                format!("missing required property {}", Value::from(name))
            });
        }
        present
    }
}

/// A branch of `oneOf`/`anyOf`: a node fn checked for validity only.
pub type Branch = fn(&Value, &Path<'_>, &mut Check) -> bool;

/// Type bits for [`Sink::of_types`].
pub const NULL: u8 = 1;
/// See [`NULL`].
pub const BOOLEAN: u8 = 2;
/// See [`NULL`]; integers too.
pub const NUMBER: u8 = 4;
/// See [`NULL`].
pub const STRING: u8 = 8;
/// See [`NULL`].
pub const ARRAY: u8 = 16;
/// See [`NULL`].
pub const OBJECT: u8 = 32;

#[inline(always)]
fn type_bit(v: &Value) -> u8 {
    match v {
        Value::Null => NULL,
        Value::Bool(_) => BOOLEAN,
        Value::Number(_) => NUMBER,
        Value::String(_) => STRING,
        Value::Array(_) => ARRAY,
        Value::Object(_) => OBJECT,
    }
}

/// `string or null`, `object, array or null`: the types of `mask`, as the generator's
/// messages name them.
#[must_use]
pub fn describe_types(mask: u8) -> String {
    let names: Vec<&str> = [
        (OBJECT, "object"),
        (ARRAY, "array"),
        (STRING, "string"),
        (NUMBER, "number"),
        (BOOLEAN, "boolean"),
        (NULL, "null"),
    ]
    .into_iter()
    .filter_map(|(bit, name)| (mask & bit != 0).then_some(name))
    .collect();
    match names.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The first ten of `allowed` as JSON strings, for an `enum` message.
fn list_strings(allowed: &[&str]) -> String {
    let mut listed: Vec<String> = allowed
        .iter()
        .take(10)
        .map(|a| Value::from(*a).to_string())
        .collect();
    if allowed.len() > 10 {
        listed.push("…".to_owned());
    }
    listed.join(", ")
}

static NULL_VALUE: Value = Value::Null;

/// `items` whose schema is one fn (an object's or alternative's node, or a shared one):
/// checks each at its index, leaving at the first failure under [`Check`].
#[inline(always)]
pub fn each<S: Sink>(
    items: &[Value],
    path: &Path<'_>,
    s: &mut S,
    check: impl Fn(&Value, &Path<'_>, &mut S) -> bool,
) -> bool {
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        ok &= check(item, &Path::Index(path, i), s);
        if S::STOP && !ok {
            return false;
        }
    }
    ok
}

/// The fast path of an object validator: when `object` has exactly the `keys` (sorted, as
/// serde_json's map iterates) and nothing else, their values in that order — one pass
/// over `N` entries, no `match` on the key and no bitmask. Anything else goes to the
/// general pass.
#[inline(always)]
pub fn exact_keys<'a, const N: usize>(
    object: &'a serde_json::Map<String, Value>,
    keys: [&str; N],
) -> Option<[&'a Value; N]> {
    if object.len() != N {
        return None;
    }
    let mut values = [&NULL_VALUE; N];
    for ((k, v), (key, slot)) in object.iter().zip(keys.iter().zip(values.iter_mut())) {
        if k != key {
            return None;
        }
        *slot = v;
    }
    Some(values)
}

/// How a number must compare with a `minimum`/`maximum` bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `minimum`: at least the bound.
    Ge,
    /// `exclusiveMinimum`: above the bound.
    Gt,
    /// `maximum`: at most the bound.
    Le,
    /// `exclusiveMaximum`: below the bound.
    Lt,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
            Cmp::Le => "<=",
            Cmp::Lt => "<",
        }
    }
}

/// A numeric bound of a schema: an integer compares exactly, a fraction as `f64`.
pub trait Bound: Copy + fmt::Display {
    /// How `n` compares with this bound.
    fn compare(self, n: &Number) -> Ordering;
}

impl Bound for i64 {
    #[inline(always)]
    fn compare(self, n: &Number) -> Ordering {
        cmp_i64(n, self)
    }
}

impl Bound for f64 {
    #[inline(always)]
    fn compare(self, n: &Number) -> Ordering {
        cmp_f64(n, self)
    }
}

/// The entry point of an emitted validator: the lean [`Check`] pass, then, only if it
/// failed, the [`Collect`] pass that gathers every error. `check` and `all` are the same
/// generic node fn, instantiated for each sink.
#[inline(always)]
pub fn run(
    v: &Value,
    check: impl Fn(&Value, &Path<'_>, &mut Check) -> bool,
    all: impl Fn(&Value, &Path<'_>, &mut Collect) -> bool,
) -> Result<(), Errors> {
    if check(v, &Path::Root, &mut Check) {
        return Ok(());
    }
    collect(|s| {
        all(v, &Path::Root, s);
    })
}

/// A [`Sink`] for validity checks: stops at the first error, records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Check;

impl Sink for Check {
    const STOP: bool = true;
    #[inline(always)]
    fn fail(&mut self, _path: &Path<'_>, _kind: ErrorKind, _message: impl FnOnce() -> String) {}
}

/// A [`Sink`] that records every error. Allocates only when an error is recorded.
#[derive(Debug, Clone, Default)]
pub struct Collect(Vec<ValidationError>);

impl Collect {
    /// An empty collector.
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// `Ok(())` if nothing was recorded, else all the recorded errors.
    pub fn finish(self) -> Result<(), Errors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Errors(self.0))
        }
    }
}

/// The second pass of an emitted validator, run only when its [`Check`] pass failed:
/// validates again, recording every error. Out of line and cold, so the fast pass stays
/// small.
#[cold]
#[inline(never)]
pub fn collect(validate: impl FnOnce(&mut Collect)) -> Result<(), Errors> {
    let mut s = Collect::new();
    validate(&mut s);
    debug_assert!(
        !s.0.is_empty(),
        "the check pass failed but the collecting pass found no error"
    );
    s.finish()
}

impl Sink for Collect {
    const STOP: bool = false;
    #[cold]
    #[inline(never)]
    fn fail(&mut self, path: &Path<'_>, kind: ErrorKind, message: impl FnOnce() -> String) {
        self.0.push(ValidationError {
            pointer: path.to_pointer(),
            kind,
            message: message(),
        });
    }
}

// ---------------------------------------------------------------------------------------
// Checks used by emitted code.

/// Whether a JSON number is an integer (JSON Schema: a number with a zero fractional part).
#[inline]
#[must_use]
pub fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// Compares a JSON number with an integer bound, exactly.
#[inline]
#[must_use]
pub fn cmp_i64(n: &Number, bound: i64) -> Ordering {
    if let Some(i) = n.as_i64() {
        i.cmp(&bound)
    } else if n.is_u64() {
        // Only u64 values above i64::MAX are not also i64.
        Ordering::Greater
    } else {
        cmp_f64(n, bound as f64)
    }
}

/// Compares a JSON number with a non-integer bound.
#[inline]
#[must_use]
pub fn cmp_f64(n: &Number, bound: f64) -> Ordering {
    // serde_json numbers are finite, so the comparison is total.
    n.as_f64()
        .and_then(|f| f.partial_cmp(&bound))
        .unwrap_or(Ordering::Equal)
}

/// `multipleOf` with an integer divisor (`divisor > 0`).
#[inline]
#[must_use]
pub fn is_multiple_of_i64(n: &Number, divisor: i64) -> bool {
    if let Some(i) = n.as_i64() {
        i % divisor == 0
    } else if let Some(u) = n.as_u64() {
        // `divisor > 0`, so the conversion cannot fail.
        u % divisor.unsigned_abs() == 0
    } else {
        is_multiple_of_f64(n, divisor as f64)
    }
}

/// `multipleOf` with a non-integer divisor (`divisor > 0`), tolerant of binary rounding
/// (`0.3` is a multiple of `0.1`).
#[must_use]
pub fn is_multiple_of_f64(n: &Number, divisor: f64) -> bool {
    let Some(x) = n.as_f64() else { return false };
    if x == 0.0 {
        return true;
    }
    let q = x / divisor;
    if !q.is_finite() {
        return false;
    }
    (q - q.round()).abs() <= 1e-9 * q.abs().max(1.0)
}

/// Whether `s` has fewer than `n` characters (Unicode scalar values), counting them only
/// when the byte length does not decide.
#[inline]
#[must_use]
pub fn chars_lt(s: &str, n: usize) -> bool {
    // chars <= bytes <= 4 * chars
    s.len() < n || (s.len() < n.saturating_mul(4) && s.chars().count() < n)
}

/// Whether `s` has more than `n` characters (Unicode scalar values), counting them only
/// when the byte length does not decide.
#[inline]
#[must_use]
pub fn chars_gt(s: &str, n: usize) -> bool {
    s.len() > n && (s.len() > n.saturating_mul(4) || s.chars().count() > n)
}

/// JSON equality as JSON Schema defines it: numbers compare by value (`1 == 1.0`).
#[must_use]
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

fn num_eq(x: &Number, y: &Number) -> bool {
    if let Some(i) = y.as_i64() {
        cmp_i64(x, i).is_eq()
    } else if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        a == b
    } else {
        match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// `uniqueItems`: whether no two items are equal (by [`json_eq`]).
#[must_use]
pub fn all_unique(items: &[Value]) -> bool {
    if items.len() > 32 && items.iter().all(Value::is_string) {
        let mut strs: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
        strs.sort_unstable();
        return strs.windows(2).all(|w| w[0] != w[1]);
    }
    items
        .iter()
        .enumerate()
        .all(|(i, a)| items[i + 1..].iter().all(|b| !json_eq(a, b)))
}

/// Compiles a `pattern` for a `static LazyLock<Regex>` in emitted code.
///
/// # Panics
/// If the pattern is not a valid `regex` pattern. Emitted patterns come from the API
/// specification and are compiled by the tests of every generated validator.
#[must_use]
pub fn compile_regex(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => panic!("invalid `pattern` in the API specification: {e}"),
    }
}

/// A schema's `pattern`, compiled on first use: the source (for messages) and the engine
/// that runs it — the `regex` crate, on the source translated to its dialect, or, for
/// look-around and back-references, the ECMA-262 engine on the source as written.
pub struct Pattern {
    source: &'static str,
    translated: Option<&'static str>,
    engine: std::sync::OnceLock<Engine>,
}

enum Engine {
    Regex(Regex),
    Ecma(EcmaRegex),
}

impl Pattern {
    /// A pattern the `regex` crate runs as written.
    #[must_use]
    pub const fn new(source: &'static str) -> Self {
        Self::regex(source, source)
    }

    /// A pattern the `regex` crate runs once translated (`\d` is ASCII-only in ECMA-262).
    #[must_use]
    pub const fn regex(source: &'static str, translated: &'static str) -> Self {
        Self {
            source,
            translated: Some(translated),
            engine: std::sync::OnceLock::new(),
        }
    }

    /// A pattern only the ECMA-262 engine runs (look-around, back-references).
    #[must_use]
    pub const fn ecma(source: &'static str) -> Self {
        Self {
            source,
            translated: None,
            engine: std::sync::OnceLock::new(),
        }
    }

    /// The pattern as the schema writes it.
    #[must_use]
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether the pattern matches somewhere in `s`.
    #[inline]
    pub fn is_match(&self, s: &str) -> bool {
        let engine = self.engine.get_or_init(|| match self.translated {
            Some(translated) => Engine::Regex(compile_regex(translated)),
            None => Engine::Ecma(compile_ecma(self.source)),
        });
        match engine {
            Engine::Regex(re) => re.is_match(s),
            Engine::Ecma(re) => re.find(s).is_some(),
        }
    }
}

/// A `pattern` with look-around or back-references, which the `regex` crate lacks: run by
/// an ECMA-262 engine (the dialect JSON Schema specifies). Like [`compile_regex`], only
/// called with patterns the generator has compiled already.
#[must_use]
pub fn compile_ecma(pattern: &str) -> EcmaRegex {
    match EcmaRegex::new(pattern) {
        Ok(re) => re,
        Err(e) => panic!("invalid `pattern` in the API specification: {e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Messages (only built when an error is recorded).

const MAX_QUOTED_CHARS: usize = 64;

/// `1 character`, `3 characters`: `noun` is the singular; the plural adds an `s`
/// (`property` becomes `properties`).
fn plural(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {noun}s"),
    }
}

/// A string as a JSON string literal, shortened to 64 characters.
#[must_use]
pub fn quote(s: &str) -> String {
    let shortened: String;
    let s = match s.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => {
            shortened = format!("{}…", &s[..cut]);
            &shortened
        }
        None => s,
    };
    Value::from(s).to_string()
}

/// A value as compact JSON, shortened for messages.
#[must_use]
pub fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(a) if !a.is_empty() => format!("an array of {} items", a.len()),
        Value::Object(o) if !o.is_empty() => format!("an object with {} properties", o.len()),
        v => v.to_string(),
    }
}

/// The JSON type name used in messages.
#[must_use]
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `expected <expected>, found <type of v>`.
#[must_use]
pub fn type_error(expected: &str, v: &Value) -> String {
    format!("expected {expected}, found {}", type_name(v))
}

/// `"<s>" is not a valid <what>`.
#[must_use]
pub fn format_error(s: &str, what: &str) -> String {
    format!("{} is not a valid {what}", quote(s))
}

/// `"<s>" does not match the pattern "<pattern>"`.
#[must_use]
pub fn pattern_error(s: &str, pattern: &str) -> String {
    format!("{} does not match the pattern {}", quote(s), quote(pattern))
}

/// `<v> is not one of <allowed>`.
#[must_use]
pub fn enum_error(v: &Value, allowed: &str) -> String {
    format!("{} is not one of {allowed}", describe(v))
}

/// `expected <expected>, found <v>`.
#[must_use]
pub fn const_error(v: &Value, expected: &str) -> String {
    format!("expected {expected}, found {}", describe(v))
}

impl ValidationError {
    /// A `format: email` failure: some APIs answer these with an error code of their own
    /// (`RejectionKind::InvalidEmail`) rather than the generic invalid-value one.
    pub fn is_invalid_email(&self) -> bool {
        self.kind == ErrorKind::Format && self.message.ends_with(" is not a valid email address")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_escape_tilde_and_slash() {
        let root = Path::Root;
        assert_eq!(root.to_pointer(), "");
        let a = Path::Key(&root, "a/b");
        let b = Path::Index(&a, 3);
        let c = Path::Key(&b, "m~n");
        assert_eq!(c.to_pointer(), "/a~1b/3/m~0n");
        assert_eq!(Path::Key(&root, "").to_pointer(), "/");
    }

    #[test]
    fn display_is_one_line_per_error() {
        let errors = Errors(vec![
            ValidationError {
                pointer: "/threepid/medium".into(),
                kind: ErrorKind::Required,
                message: "missing required property \"medium\"".into(),
            },
            ValidationError {
                pointer: "/sid".into(),
                kind: ErrorKind::Type,
                message: "expected string, found number".into(),
            },
        ]);
        assert_eq!(
            errors.to_string(),
            "/threepid/medium: missing required property \"medium\"\n/sid: expected string, found number"
        );
    }

    #[test]
    fn collect_and_check() {
        let mut c = Collect::new();
        c.fail(&Path::Root, ErrorKind::Other, || "x".into());
        let errs = c.finish().expect_err("one error");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs.0[0].pointer, "");
        assert!(Collect::new().finish().is_ok());
        let mut check = Check;
        check.fail(&Path::Root, ErrorKind::Other, || {
            unreachable!("message built by Check")
        });
    }

    #[test]
    fn numbers() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert!(is_integer(&n(json!(1))));
        assert!(is_integer(&n(json!(1.0))));
        assert!(is_integer(&n(json!(u64::MAX))));
        assert!(!is_integer(&n(json!(1.5))));
        assert_eq!(cmp_i64(&n(json!(u64::MAX)), i64::MAX), Ordering::Greater);
        assert_eq!(cmp_i64(&n(json!(-3)), -2), Ordering::Less);
        assert_eq!(cmp_i64(&n(json!(2.5)), 2), Ordering::Greater);
        assert_eq!(cmp_f64(&n(json!(2)), 2.5), Ordering::Less);
        assert!(is_multiple_of_i64(&n(json!(10)), 5));
        assert!(is_multiple_of_i64(&n(json!(10.0)), 5));
        assert!(!is_multiple_of_i64(&n(json!(11)), 5));
        assert!(is_multiple_of_f64(&n(json!(0.3)), 0.1));
        assert!(!is_multiple_of_f64(&n(json!(0.35)), 0.1));
    }

    #[test]
    fn lengths_count_chars() {
        assert!(chars_lt("", 1));
        assert!(!chars_lt("a", 1));
        assert!(chars_lt("éé", 3)); // 4 bytes, 2 chars
        assert!(!chars_lt("ééé", 3));
        assert!(!chars_gt("ééé", 3)); // 6 bytes, 3 chars
        assert!(chars_gt("éééé", 3));
        assert!(chars_gt("abcd", 3));
    }

    #[test]
    fn equality_and_uniqueness() {
        assert!(json_eq(&json!([1, {"a": 2.0}]), &json!([1.0, {"a": 2}])));
        assert!(!json_eq(&json!([1]), &json!(["1"])));
        assert!(!all_unique(&[json!(1), json!(1.0)]));
        assert!(all_unique(&[json!(1), json!("1")]));
        let many: Vec<Value> = (0..100).map(|i| json!(format!("s{i}"))).collect();
        assert!(all_unique(&many));
        let mut dup = many.clone();
        dup.push(json!("s42"));
        assert!(!all_unique(&dup));
    }

    #[test]
    fn messages() {
        assert_eq!(
            format_error("a@b@c", "email address"),
            r#""a@b@c" is not a valid email address"#
        );
        assert_eq!(
            type_error("string or null", &json!(1)),
            "expected string or null, found number"
        );
        let long = "x".repeat(100);
        assert_eq!(quote(&long), format!("\"{}…\"", "x".repeat(64)));
        assert_eq!(
            enum_error(&json!(3), r#""a", "b""#),
            r#"3 is not one of "a", "b""#
        );
    }
}
