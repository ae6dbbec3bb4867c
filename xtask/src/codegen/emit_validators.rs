//! Emits a JSON-schema validator as Rust code (no schema is interpreted at run time).
//!
//! [`emit_validator`] turns one schema (OpenAPI 3.1 / JSON Schema 2020-12, `$ref`s already
//! resolved into a tree) into `pub fn NAME(v: &serde_json::Value) -> Result<(), Errors>`
//! plus private helpers named `NAME_node<N>` / `NAME_RE<N>` / `NAME_CONST<N>`, so several
//! validators can share a module. The runtime they call is hand-written in
//! `rt/src/validate.rs` and `rt/src/formats.rs` (crate `oxident-rt`).
//!
//! Shape of the emitted code:
//! * one helper fn per schema that must be checked on its own — the root, and the branches
//!   of `anyOf`/`oneOf`/`not`/`if`/`contains` — generic over a `Sink`: `Collect` records all
//!   errors, `Check` stops at the first one and records nothing;
//! * the public fn runs the root helper with `Check` first and, only if that fails, again
//!   with `Collect` (`rt::validate::collect`, out of line): valid input pays for the lean
//!   pass alone (a bind body: ~7.5 ns instead of ~9 ns, see docs/benchmarks.md), invalid
//!   input pays for both passes, and only it allocates (the errors);
//! * everything else is inlined into that fn: a `match` on the JSON type, a single pass
//!   over an object's entries that `match`es on the key and tracks required properties in
//!   a bitmask, a loop over array items;
//! * the instance location is a linked list of `Path`s on the stack; pointers and messages
//!   are built in closures called only when an error is recorded, so the success path
//!   does not allocate.
//!
//! Why emitted code: the speed target (no slower than ajv: ~8 ns for a bind body here) is out of
//! reach of any run-time validator (the jsonschema crate: ~50 ns), and emitted code needs no schema
//! parsing at start-up. Measured: a bind body in 4.2 ns, ajv 7.7 ns (docs/benchmarks.md). The
//! jsonschema crate (with `default-features = false`: its defaults fetch remote `$ref`s) is kept as
//! a test oracle: a differential test checks that both agree on validity and on error paths, and
//! `cargo xtask corpus` compares the two on every example of every corpus spec.
//!
//! An object whose entries are exactly its required properties (the usual valid body) is checked by
//! taking its entries in key order with one `next()` each (`rt::exact_keys`); any other shape gets
//! the single pass with a `match` on the key. The exact-key fast path and the required-property
//! bitmask are emitted only for validators that check (part of) a request body
//! (`SharedIndex::request_side`); response validators look required properties up after their one
//! pass.
//!
//! Compact emission: one line per keyword (`ok &= s.max_chars(p1, string1, 63);`), the checks and
//! their messages being `#[inline(always)]` methods of `rt::validate::Sink`; a nested object or
//! alternative is its own node fn (called from both passes instead of repeated in each), item loops
//! are `rt::each`, and `oneOf`/`anyOf` take their branches as a table. Why: the generated crate is
//! what users review and compile, and a 300-operation API must stay near a hand-written client's
//! size (issue 13: Oxide's API, 315 operations, 177 164 → 47 974 lines, 1.48× progenitor's client).
//! The success path compiles to the same tests as before (instructions per validation unchanged:
//! `scripts/validator-instructions.sh`), with no early return per check (a failed `Check` pass
//! finishes the node, and loops stop at the end of the iteration), which only costs time on invalid
//! input. A module holding validators imports `Path`, `Sink` and `Value` from the runtime; a spec
//! type of one of those names keeps its `crate::types::` path there.
//!
//! A `oneOf`/`anyOf` of named components with a `discriminator` is checked as a tagged union
//! (ARCHITECTURE.md, *OpenAPI's letter and its authors' intent*): the tag (required, a string, one
//! of the branches' tags: `mapping`, else the component name) picks the branch, whose errors are
//! reported; a value that two branches accept is valid, and an unknown or missing tag is one error
//! at the tag's pointer. The discriminator replaces only the alternation it reads (`oneOf`, else
//! `anyOf`); `not`, `if` and the node's other alternation are still checked. A discriminator on a
//! parent without `oneOf`/`anyOf` (inheritance through `allOf`) is an annotation.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail, ensure};
use proc_macro2::{Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use serde_json::{Map, Value};

use super::load;

/// `schema`: a JSON Schema (OpenAPI 3.1 / 2020-12 dialect) with every `$ref` already
/// resolved inline (trees, no cycles).
/// Returns Rust items: `pub fn #fn_name(v: &Value) -> Result<(), rt::Errors>`
/// plus any private helper fns, all with names prefixed by `#fn_name` so that several
/// validators can live in one module. The module must bring the runtime into scope as
/// `rt` ([`module_prelude`]).
pub fn emit_validator(fn_name: &str, schema: &Value) -> Result<proc_macro2::TokenStream> {
    emit_validator_with(fn_name, schema, &SharedIndex::default())
}

/// Validators other validators call instead of repeating the checks: the shapes that occur
/// more than once in the emitted code, and every schema that contains itself.
#[derive(Debug, Default)]
pub struct SharedIndex {
    /// [`validation_key`] → the shared validator's name (`crate::shared::NAME`).
    pub by_key: std::collections::BTreeMap<String, String>,
    /// A component's reference (the loader's `x-oxident-ref`) → its shared validator, for
    /// the stubs where a schema recurses.
    pub by_ref: std::collections::BTreeMap<String, String>,
    /// When known, the shared validators that check part of some request body: objects get
    /// the exact-key fast path only there and in `validate_body` (`None`: everywhere).
    pub request_side: Option<BTreeSet<String>>,
}

impl SharedIndex {
    /// Whether validator `fn_name` checks (part of) a request body.
    fn request_side(&self, fn_name: &str) -> bool {
        fn_name == "validate_body"
            || self
                .request_side
                .as_ref()
                .is_none_or(|names| names.contains(fn_name))
    }
}

/// What a validator depends on: the schema without its annotations (descriptions, examples,
/// vendor extensions), so schemas that differ only in wording share one validator. A
/// recursion stub keeps the component it stands for.
pub fn validation_key(schema: &Value) -> String {
    /// Writes the stripped schema as compact JSON, as `serde_json` would write the stripped
    /// value (the keys order shared validators, so the text must not change), without
    /// building that value: emission asks for the key of every nested schema.
    fn write(v: &Value, out: &mut Vec<u8>, keep_all: bool) {
        match v {
            Value::Object(m) if !keep_all && m.contains_key(load::REF_CYCLE) => {
                out.extend_from_slice(b"{\"$cycle\":");
                scalar(m.get(load::REF_KEY).unwrap_or(&Value::Null), out);
                out.push(b'}');
            }
            Value::Object(m) => {
                out.push(b'{');
                let mut first = true;
                for (k, v) in m {
                    // Property names are data, not keywords: keep every one.
                    if !keep_all
                        && (matches!(
                            k.as_str(),
                            "description" | "example" | "examples" | "deprecated"
                        ) || k.starts_with("x-"))
                    {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    scalar(&Value::String(k.clone()), out);
                    out.push(b':');
                    if !keep_all && k == "properties" && v.is_object() {
                        if let Value::Object(props) = v {
                            out.push(b'{');
                            for (i, (n, s)) in props.iter().enumerate() {
                                if i > 0 {
                                    out.push(b',');
                                }
                                scalar(&Value::String(n.clone()), out);
                                out.push(b':');
                                write(s, out, false);
                            }
                            out.push(b'}');
                        }
                    } else {
                        write(v, out, false);
                    }
                }
                out.push(b'}');
            }
            Value::Array(a) => {
                out.push(b'[');
                for (i, item) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(item, out, false);
                }
                out.push(b']');
            }
            other => scalar(other, out),
        }
    }
    fn scalar(v: &Value, out: &mut Vec<u8>) {
        // Writing a JSON scalar into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, v);
    }
    let mut out = Vec::with_capacity(256);
    write(schema, &mut out, false);
    String::from_utf8(out).unwrap_or_default()
}

/// Whether checking `schema` takes enough code that a shared validator beats a copy.
pub fn worth_sharing(schema: &Value) -> bool {
    let Value::Object(m) = schema else {
        return false;
    };
    // Objects and alternatives; an array of them shares its items' validator instead, and
    // scalars and arrays of scalars are cheaper checked in place than called.
    m.contains_key("properties")
        || m.contains_key("patternProperties")
        || m.get("additionalProperties").is_some_and(Value::is_object)
        || ["anyOf", "oneOf", "allOf", "not", "if"]
            .iter()
            .any(|k| m.contains_key(*k))
}

/// The schemas directly inside `schema` (every keyword holding subschemas).
pub fn subschemas(schema: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let Value::Object(m) = schema else {
        return out;
    };
    for key in [
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
    ] {
        if let Some(v @ Value::Object(_)) = m.get(key) {
            out.push(v);
        }
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = m.get(key) {
            out.extend(props.values());
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        if let Some(Value::Array(list)) = m.get(key) {
            out.extend(list.iter());
        }
    }
    out
}

/// Like [`emit_validator`], calling the validators in `shared` for the subschemas they
/// cover (the name of the shared validator being emitted is never called from itself).
pub fn emit_validator_with(
    fn_name: &str,
    schema: &Value,
    shared: &SharedIndex,
) -> Result<proc_macro2::TokenStream> {
    let name: Ident = syn::parse_str(fn_name)
        .with_context(|| format!("`{fn_name}` is not a valid function name"))?;
    let mut e = Emitter {
        fn_name: fn_name.to_owned(),
        fns: Vec::new(),
        statics: Vec::new(),
        regexes: Vec::new(),
        shared,
    };
    let root = e
        .node_fn(schema)
        .with_context(|| format!("emitting validator `{fn_name}`"))?;
    let doc = match schema.get("title").and_then(Value::as_str) {
        Some(title) => {
            format!(" Validates a JSON value against the `{title}` schema, reporting every error.")
        }
        None => " Validates a JSON value against its schema, reporting every error.".to_owned(),
    };
    let statics = &e.statics;
    let fns = e.fns.iter().flatten();
    Ok(quote! {
        #[doc = #doc]
        pub fn #name(v: &Value) -> Result<(), rt::Errors> {
            rt::run(v, #root, #root)
        }
        #(#statics)*
        #(#fns)*
    })
}

/// What a module holding emitted validators starts with: their signatures and checks name
/// the runtime as `rt`, and one `if` per schema keyword reads better than merged
/// conditions.
pub fn module_prelude() -> TokenStream {
    quote! {
        #![allow(clippy::collapsible_if, clippy::collapsible_match)]
        use crate::rt::validate::{self as rt, Path, Sink, Value};
    }
}

/// Names [`module_prelude`] brings into a module: a re-exported type of the same name is
/// left to its `crate::types::` path there.
pub const PRELUDE_NAMES: [&str; 3] = ["Path", "Sink", "Value"];

/// Keywords that constrain instances but that this emitter does not implement: refusing
/// them beats silently accepting invalid input.
const UNSUPPORTED: &[&str] = &[
    "$ref",
    "$dynamicRef",
    "$recursiveRef",
    "propertyNames",
    "dependentSchemas",
    "dependencies",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// String formats: (format, fn in `rt::formats`, what the message calls a valid value).
pub(crate) const STRING_FORMATS: &[(&str, &str, &str)] = &[
    ("email", "is_email", "email address"),
    ("uri", "is_uri", "URI"),
    ("ipv4", "is_ipv4", "IPv4 address"),
    ("ipv6", "is_ipv6", "IPv6 address"),
    ("uuid", "is_uuid", "UUID"),
    ("mx-user-id", "is_mx_user_id", "Matrix user ID"),
    ("mx-room-id", "is_mx_room_id", "Matrix room ID"),
    ("mx-room-alias", "is_mx_room_alias", "Matrix room alias"),
    ("mx-event-id", "is_mx_event_id", "Matrix event ID"),
    ("mx-mxc-uri", "is_mx_mxc_uri", "Matrix content URI"),
    ("mx-server-name", "is_mx_server_name", "Matrix server name"),
    (
        "mx-unpadded-base64",
        "is_mx_unpadded_base64",
        "unpadded Base64 string",
    ),
    (
        "mx-urlsafe-unpadded-base64",
        "is_mx_urlsafe_unpadded_base64",
        "URL-safe unpadded Base64 string",
    ),
];

/// Number formats, as [`STRING_FORMATS`].
const NUMBER_FORMATS: &[(&str, &str, &str)] = &[
    ("int32", "is_int32", "32-bit integer"),
    ("int64", "is_int64", "64-bit integer"),
];

struct Emitter<'a> {
    fn_name: String,
    shared: &'a SharedIndex,
    /// Helper fns, in order of allocation (slot reserved before the body is emitted).
    fns: Vec<Option<TokenStream>>,
    statics: Vec<TokenStream>,
    /// (translated pattern, static name), to compile each pattern once per validator.
    regexes: Vec<(String, Ident)>,
}

/// The JSON types a `type` keyword allows.
#[derive(Clone, Copy, Default)]
struct Types {
    null: bool,
    boolean: bool,
    integer: bool,
    number: bool,
    string: bool,
    array: bool,
    object: bool,
}

impl Types {
    fn parse(m: &Map<String, Value>) -> Result<Option<Types>> {
        let Some(t) = m.get("type") else {
            return Ok(None);
        };
        let names: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a
                .iter()
                .map(|n| n.as_str().context("`type` array entries must be strings"))
                .collect::<Result<_>>()?,
            other => bail!("`type` must be a string or an array, found {other}"),
        };
        let mut types = Types::default();
        for n in names {
            match n {
                "null" => types.null = true,
                "boolean" => types.boolean = true,
                "integer" => types.integer = true,
                "number" => types.number = true,
                "string" => types.string = true,
                "array" => types.array = true,
                "object" => types.object = true,
                other => bail!("unknown type `{other}`"),
            }
        }
        if m.get("nullable") == Some(&Value::Bool(true)) {
            types.null = true;
        }
        Ok(Some(types))
    }

    /// `string or null`, `object, array or null`.
    fn describe(self) -> String {
        let names: Vec<&str> = [
            (self.object, "object"),
            (self.array, "array"),
            (self.string, "string"),
            (self.number, "number"),
            (self.integer && !self.number, "integer"),
            (self.boolean, "boolean"),
            (self.null, "null"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        match names.split_last() {
            None => "nothing".to_owned(),
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }
}

/// The helper fn of node `index` of validator `fn_name`: `validate_error` → `error_n0`.
/// Short, so that signatures and calls fit on a line; public validators all start with
/// `validate_`, so these never clash with one.
fn node_name(fn_name: &str, index: usize) -> Ident {
    let base = fn_name.strip_prefix("validate_").unwrap_or(fn_name);
    format_ident!("{base}_n{index}")
}

fn depth_ident(prefix: &str, d: usize) -> Ident {
    if d == 0 {
        format_ident!("{prefix}")
    } else {
        format_ident!("{prefix}{d}")
    }
}

fn v_of(d: usize) -> Ident {
    depth_ident("v", d)
}

fn p_of(d: usize) -> Ident {
    depth_ident("p", d)
}

/// The statement recording an error at `path` (an expression of type `&Path`). It does
/// not return early: a [`Check`](rt) pass goes on to the end of the node with `ok` false,
/// which only costs time on invalid input, and loops stop at the end of an iteration
/// ([`stop_if_failed`]).
fn fail_at(path: &TokenStream, kind: &str, message: &TokenStream) -> TokenStream {
    let kind = format_ident!("{kind}");
    quote!(ok = s.reject(#path, rt::ErrorKind::#kind, || #message);)
}

/// Where a loop may run long (array items, object entries): a `Check` pass leaves at the
/// first failed iteration instead of checking every remaining one.
fn stop_if_failed() -> TokenStream {
    quote!(rt::stop_if_failed!(ok);)
}

fn fail(d: usize, kind: &str, message: &TokenStream) -> TokenStream {
    let p = p_of(d);
    fail_at(&quote!(#p), kind, message)
}

/// A message that is known at generation time.
fn static_message(text: &str) -> TokenStream {
    quote!(String::from(#text))
}

/// Number of token trees in `ts`, groups included (a measure of emitted code size).
fn token_count(ts: &TokenStream) -> usize {
    ts.clone()
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => 1 + token_count(&g.stream()),
            _ => 1,
        })
        .sum()
}

/// All identifiers in a token stream (to leave out unused bindings and imports).
fn idents_in(ts: &TokenStream, out: &mut BTreeSet<String>) {
    for tt in ts.clone() {
        match tt {
            TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            TokenTree::Group(g) => idents_in(&g.stream(), out),
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
}

/// `inner` (checks at depth `d + 1`) given its path `path` (a `Path` expression): built in
/// place (`&p.at(key)`) where it is used once and no deeper path borrows it, else bound
/// once (a later property's binding shadows it, so no block is needed).
fn with_path(inner: &TokenStream, pi: &Ident, path: &TokenStream, d: usize) -> TokenStream {
    let count = occurrences(inner, pi);
    if count == 0 {
        inner.clone()
    } else if count == 1 && !uses(inner, &p_of(d + 2)) {
        substitute(inner, pi, &quote!(&#path))
    } else {
        quote!(let #pi = &#path; #inner)
    }
}

/// `body` without its `;` when it is one statement `ok &= …;` / `ok = …;` (a match arm can
/// then be that expression).
fn single_expression(body: &TokenStream) -> Option<TokenStream> {
    let tokens: Vec<TokenTree> = body.clone().into_iter().collect();
    let (last, rest) = tokens.split_last()?;
    let is_semi = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == ';');
    let starts_with_ok = matches!(tokens.first(), Some(TokenTree::Ident(i)) if i == "ok");
    (is_semi(last) && starts_with_ok && !rest.iter().any(is_semi))
        .then(|| rest.iter().cloned().collect())
}

/// How often `ident` occurs in `ts`.
fn occurrences(ts: &TokenStream, ident: &Ident) -> usize {
    ts.clone()
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Ident(i) => usize::from(i == *ident),
            TokenTree::Group(g) => occurrences(&g.stream(), ident),
            TokenTree::Punct(_) | TokenTree::Literal(_) => 0,
        })
        .sum()
}

/// `ts` with every `from` replaced by `to` (a variable renamed, or a path built in place).
fn substitute(ts: &TokenStream, from: &Ident, to: &TokenStream) -> TokenStream {
    ts.clone()
        .into_iter()
        .flat_map(|tt| match tt {
            TokenTree::Ident(i) if i == *from => to.clone(),
            TokenTree::Group(g) => {
                let mut group =
                    proc_macro2::Group::new(g.delimiter(), substitute(&g.stream(), from, to));
                group.set_span(g.span());
                TokenTree::Group(group).into()
            }
            other => other.into(),
        })
        .collect()
}

fn uses(ts: &TokenStream, ident: &Ident) -> bool {
    let mut set = BTreeSet::new();
    idents_in(ts, &mut set);
    set.contains(&ident.to_string())
}

/// Compact JSON with sorted keys (independent of serde_json's `preserve_order`).
fn json_text(v: &Value) -> String {
    match v {
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(json_text).collect::<Vec<_>>().join(",")
        ),
        Value::Object(o) => {
            let mut entries: Vec<(&String, &Value)> = o.iter().collect();
            entries.sort_by_key(|(k, _)| *k);
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), json_text(v)))
                .collect();
            format!("{{{}}}", entries.join(","))
        }
        v => v.to_string(),
    }
}

fn as_count(m: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => {
            let n = v
                .as_u64()
                .with_context(|| format!("`{key}` must be a non-negative integer, found {v}"))?;
            Ok(Some(usize::try_from(n)?))
        }
    }
}

/// A string literal, or a char literal if it is one character (clippy's preference for
/// `starts_with` and friends).
fn str_or_char(s: &str) -> TokenStream {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => quote!(#c),
        _ => quote!(#s),
    }
}

/// A test of the byte `b` against an ASCII class, using the `u8::is_ascii_*` methods for
/// the classes they cover (clippy's `manual_is_ascii_check`).
fn ascii_class_test(ranges: &[(u8, u8)]) -> TokenStream {
    let mut set = [false; 128];
    for &(lo, hi) in ranges {
        for b in lo..=hi {
            set[usize::from(b & 0x7f)] = true;
        }
    }
    let members =
        |f: fn(&u8) -> bool| -> Vec<usize> { (0u8..128).filter(f).map(usize::from).collect() };
    let mut tests = Vec::new();
    let hex = members(u8::is_ascii_hexdigit);
    if (0..128).all(|b| set[b] == hex.contains(&b)) {
        tests.push(quote!(b.is_ascii_hexdigit()));
        set = [false; 128];
    }
    for (method, f) in [
        (
            "is_ascii_alphanumeric",
            u8::is_ascii_alphanumeric as fn(&u8) -> bool,
        ),
        ("is_ascii_alphabetic", u8::is_ascii_alphabetic),
        ("is_ascii_digit", u8::is_ascii_digit),
        ("is_ascii_lowercase", u8::is_ascii_lowercase),
        ("is_ascii_uppercase", u8::is_ascii_uppercase),
    ] {
        let class = members(f);
        if class.iter().all(|&b| set[b]) {
            let method = format_ident!("{method}");
            tests.push(quote!(b.#method()));
            for b in class {
                set[b] = false;
            }
        }
    }
    // What is left, as ranges of consecutive bytes.
    let mut arms = Vec::new();
    let mut b = 0;
    while b < 128 {
        if !set[b] {
            b += 1;
            continue;
        }
        let lo = b;
        while b + 1 < 128 && set[b + 1] {
            b += 1;
        }
        if b - lo < 2 {
            // `b'-' | b'.'` reads better than `b'-'..=b'.'`.
            arms.extend((lo..=b).map(|x| {
                let x = Literal::byte_character(x as u8);
                quote!(#x)
            }));
        } else {
            let (lo_lit, hi_lit) = (
                Literal::byte_character(lo as u8),
                Literal::byte_character(b as u8),
            );
            arms.push(quote!(#lo_lit..=#hi_lit));
        }
        b += 1;
    }
    if !arms.is_empty() {
        tests.push(quote!(matches!(b, #(#arms)|*)));
    }
    quote!(#(#tests)||*)
}

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A numeric bound as a typed literal (`0i64`, `1.5f64`), for `rt::Bound`.
fn suffixed_bound(bound: &serde_json::Number) -> Result<Literal> {
    if let Some(i) = bound.as_i64() {
        Ok(Literal::i64_suffixed(i))
    } else {
        let f = bound.as_f64().context("numeric bound out of range")?;
        ensure!(f.is_finite(), "numeric bound must be finite");
        Ok(Literal::f64_suffixed(f))
    }
}

/// A numeric bound as a comparison against `number` (yielding an `Ordering`).
fn compare(number: &Ident, bound: &serde_json::Number) -> Result<TokenStream> {
    if let Some(i) = bound.as_i64() {
        let lit = Literal::i64_unsuffixed(i);
        Ok(quote!(rt::cmp_i64(#number, #lit)))
    } else {
        let f = bound.as_f64().context("numeric bound out of range")?;
        ensure!(f.is_finite(), "numeric bound must be finite");
        let lit = Literal::f64_unsuffixed(f);
        Ok(quote!(rt::cmp_f64(#number, #lit)))
    }
}

/// How a `pattern` is checked: simple literal patterns avoid the regex engine.
enum PatternPlan {
    Always,
    StartsWith(String),
    EndsWith(String),
    Equals(String),
    Contains(String),
    /// `^[class]{min,max}$` over an ASCII class: a byte loop, no regex engine.
    AsciiClass {
        ranges: Vec<(u8, u8)>,
        min: usize,
        max: Option<usize>,
    },
    Regex(String),
    /// Look-around or back-references: `rt::Pattern::ecma` (regress) runs it as written.
    Ecma,
}

/// Parses `^[class]+$`, `^[class]*$`, `^[class]{n}$`, `^[class]{n,}$`, `^[class]{n,m}$`
/// whose class is made of ASCII characters, ranges, `\d`, `\w` and escaped punctuation.
fn plan_ascii_class(pattern: &str) -> Option<PatternPlan> {
    let rest = pattern.strip_prefix("^[")?.strip_suffix('$')?;
    let close = rest.rfind(']')?;
    let (class, quantifier) = (&rest[..close], &rest[close + 1..]);
    let (min, max) = match quantifier {
        "+" => (1, None),
        "*" => (0, None),
        q => {
            let q = q.strip_prefix('{')?.strip_suffix('}')?;
            match q.split_once(',') {
                None => {
                    let n = q.parse().ok()?;
                    (n, Some(n))
                }
                Some((lo, "")) => (lo.parse().ok()?, None),
                Some((lo, hi)) => (lo.parse().ok()?, Some(hi.parse().ok()?)),
            }
        }
    };
    if class.starts_with('^') || !class.is_ascii() {
        return None;
    }
    // Single characters first, then fold `a-z` ranges.
    let mut atoms: Vec<Option<(u8, u8)>> = Vec::new(); // None = an unescaped '-'
    let mut bytes = class.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => match bytes.next()? {
                b'd' => atoms.push(Some((b'0', b'9'))),
                b'w' => {
                    atoms.extend([
                        Some((b'0', b'9')),
                        Some((b'A', b'Z')),
                        Some((b'a', b'z')),
                        Some((b'_', b'_')),
                    ]);
                }
                e if e.is_ascii_punctuation() => atoms.push(Some((e, e))),
                _ => return None,
            },
            b'[' | b']' => return None,
            b'-' => atoms.push(None),
            b => atoms.push(Some((b, b))),
        }
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < atoms.len() {
        match (
            atoms[i],
            atoms.get(i + 1).copied(),
            atoms.get(i + 2).copied(),
        ) {
            (Some((lo, lo2)), Some(None), Some(Some((hi, hi2)))) if lo == lo2 && hi == hi2 => {
                if lo > hi {
                    return None;
                }
                ranges.push((lo, hi));
                i += 3;
            }
            (Some(r), _, _) => {
                ranges.push(r);
                i += 1;
            }
            (None, _, _) => {
                ranges.push((b'-', b'-'));
                i += 1;
            }
        }
    }
    if ranges.is_empty() || max.is_some_and(|max| max < min) {
        return None;
    }
    Some(PatternPlan::AsciiClass { ranges, min, max })
}

/// Classifies an ECMA-262 pattern: `^lit`, `lit$`, `^lit$`, `lit`, or a real regex
/// (translated to the `regex` crate's syntax).
/// Whether the emitter can check `pattern` (the degrade pass asks before emission).
pub fn check_pattern(pattern: &str) -> Result<()> {
    plan_pattern(pattern).map(|_| ())
}

fn plan_pattern(pattern: &str) -> Result<PatternPlan> {
    if let Some(plan) = plan_ascii_class(pattern) {
        return Ok(plan);
    }
    let (anchored_start, body) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let mut lit = String::new();
    let mut chars = body.chars().peekable();
    let mut anchored_end = false;
    let mut literal = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => lit.push(e),
                _ => {
                    literal = false;
                    break;
                }
            },
            '$' if chars.peek().is_none() => anchored_end = true,
            '.' | '^' | '$' | '|' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}' => {
                literal = false;
                break;
            }
            c => lit.push(c),
        }
    }
    if !literal {
        let translated = translate_ecma_regex(pattern).and_then(|t| {
            regex::Regex::new(&t)
                .map(|_| t)
                .map_err(|e| anyhow::anyhow!("pattern {pattern:?}: {e}"))
        });
        return match translated {
            Ok(translated) => Ok(PatternPlan::Regex(translated)),
            // Look-around or back-references: the ECMA engine, if it takes the pattern.
            Err(e) => match regress::Regex::new(pattern) {
                Ok(_) => Ok(PatternPlan::Ecma),
                Err(ecma) => Err(anyhow::anyhow!(
                    "{e:#}, nor does an ECMA-262 engine take it ({ecma})"
                )),
            },
        };
    }
    Ok(match (anchored_start, anchored_end) {
        (true, true) => PatternPlan::Equals(lit),
        (_, _) if lit.is_empty() => PatternPlan::Always,
        (true, false) => PatternPlan::StartsWith(lit),
        (false, true) => PatternPlan::EndsWith(lit),
        (false, false) => PatternPlan::Contains(lit),
    })
}

/// Translates the ECMA-262 regex features whose meaning differs in the `regex` crate
/// (`\d`, `\w` are ASCII-only in ECMA) and refuses those it lacks (look-around,
/// back-references).
fn translate_ecma_regex(pattern: &str) -> Result<String> {
    for unsupported in ["(?=", "(?!", "(?<=", "(?<!"] {
        ensure!(
            !pattern.contains(unsupported),
            "pattern {pattern:?}: look-around is not supported"
        );
    }
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    bail!("pattern {pattern:?} ends with a backslash")
                };
                match (e, in_class) {
                    ('d', false) => out.push_str("[0-9]"),
                    ('d', true) => out.push_str("0-9"),
                    ('D', _) => out.push_str("[^0-9]"),
                    ('w', false) => out.push_str("[0-9A-Za-z_]"),
                    ('w', true) => out.push_str("0-9A-Za-z_"),
                    ('W', _) => out.push_str("[^0-9A-Za-z_]"),
                    ('1'..='9', _) => {
                        bail!("pattern {pattern:?}: back-references are not supported")
                    }
                    ('<' | '>', _) => out.push(e),
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

impl Emitter<'_> {
    /// Emits a helper fn validating `schema` against its own instance; returns its name.
    fn node_fn(&mut self, schema: &Value) -> Result<Ident> {
        let index = self.fns.len();
        self.fns.push(None);
        let name = node_name(&self.fn_name, index);
        let body = self.body(schema, 0)?;
        let mut f = wrap_fn(&name, &body);
        // A shared validator's root is what other validators call.
        if index == 0 && self.shared.by_key.values().any(|n| *n == self.fn_name) {
            f = quote!(pub(crate) #f);
            f = move_attrs_before_vis(f);
        }
        self.fns[index] = Some(f);
        Ok(name)
    }

    /// A call to the shared validator covering `schema`, if one does (not from itself).
    /// The fn that checks `schema` at depth `d` when that is a call rather than inline
    /// statements: a shared validator's root, or (below the root) a nested object's or
    /// alternative's own node fn, emitted now.
    fn callee(&mut self, schema: &Value, d: usize) -> Result<Option<TokenStream>> {
        if let Some(f) = self.shared_callee(schema)? {
            return Ok(Some(f));
        }
        if d > 0 && schema.is_object() && worth_sharing(schema) {
            // A nested object or alternative is its own fn: the parent's fast path and
            // general pass both call it instead of each repeating its checks, and the
            // emitted code stays shallow.
            let f = self.node_fn(schema)?;
            return Ok(Some(quote!(#f)));
        }
        Ok(None)
    }

    fn shared_callee(&self, schema: &Value) -> Result<Option<TokenStream>> {
        let shared =
            if let Some(reference) = schema.get(load::REF_CYCLE).and(schema.get(load::REF_KEY)) {
                let Some(f) = reference.as_str().and_then(|r| self.shared.by_ref.get(r)) else {
                    bail!("recursive schema {reference} has no shared validator");
                };
                f
            } else if worth_sharing(schema)
                && let Some(f) = self.shared.by_key.get(&validation_key(schema))
                && *f != self.fn_name
            {
                f
            } else {
                return Ok(None);
            };
        let f = node_name(shared, 0);
        Ok(Some(quote!(crate::shared::#f)))
    }

    fn static_name(&self, kind: &str, index: usize) -> Ident {
        format_ident!("{}_{kind}{index}", self.fn_name.to_uppercase())
    }

    /// Statements validating the value `v{d}` at path `p{d}` against `schema`.
    fn body(&mut self, schema: &Value, d: usize) -> Result<TokenStream> {
        let m = match schema {
            Value::Bool(true) => return Ok(TokenStream::new()),
            Value::Bool(false) => {
                return Ok(fail(
                    d,
                    "Other",
                    &static_message("no value is allowed here"),
                ));
            }
            Value::Object(m) => m,
            other => bail!("a schema must be an object or a boolean, found {other}"),
        };
        if let Some(f) = self.callee(schema, d)? {
            let (v, p) = (v_of(d), p_of(d));
            return Ok(quote!(ok &= #f(#v, #p, &mut *s);));
        }
        if let Some(k) = UNSUPPORTED.iter().find(|k| m.contains_key(**k)) {
            bail!("keyword `{k}` is not supported by the validator emitter");
        }
        let mut out = self.type_dispatch(m, d)?;
        out.extend(self.enum_const(m, d)?);
        out.extend(self.combinators(m, d)?);
        Ok(out)
    }

    /// `type` plus the keywords that apply to one JSON type, as one `match` on the value.
    fn type_dispatch(&mut self, m: &Map<String, Value>, d: usize) -> Result<TokenStream> {
        let (v, p) = (v_of(d), p_of(d));
        let types = Types::parse(m)?;
        let expected = types.map(Types::describe).unwrap_or_default();
        let type_fail = match types {
            Some(_) => quote!(ok = s.wrong_type(#p, #v, #expected);),
            None => TokenStream::new(),
        };
        let allows = |f: fn(&Types) -> bool| types.as_ref().is_none_or(f);

        let number = depth_ident("number", d);
        let mut number_checks = TokenStream::new();
        if let Some(t) = types
            && t.integer
            && !t.number
        {
            let expected = t.describe();
            number_checks.extend(quote!(ok &= s.whole(#p, #v, #number, #expected);));
        }
        number_checks.extend(self.number_checks(m, d)?);

        let string = depth_ident("string", d);
        let array = depth_ident("array", d);
        let object = depth_ident("object", d);
        // (pattern with binding, pattern without, binding, checks, allowed, is_* method)
        let variants = [
            (
                None,
                quote!(Value::Null),
                TokenStream::new(),
                allows(|t| t.null),
                "is_null",
            ),
            (
                None,
                quote!(Value::Bool(_)),
                TokenStream::new(),
                allows(|t| t.boolean),
                "is_boolean",
            ),
            (
                Some(number),
                quote!(Value::Number),
                number_checks,
                allows(|t| t.number || t.integer),
                "is_number",
            ),
            (
                Some(string.clone()),
                quote!(Value::String),
                self.string_checks(m, d)?,
                allows(|t| t.string),
                "is_string",
            ),
            (
                Some(array.clone()),
                quote!(Value::Array),
                self.array_checks(m, d)?,
                allows(|t| t.array),
                "is_array",
            ),
            (
                Some(object.clone()),
                quote!(Value::Object),
                self.object_checks(m, d)?,
                allows(|t| t.object),
                "is_object",
            ),
        ];

        let mut arms = Vec::new(); // (pattern, body, typed accessor)
        let mut empty_allowed = Vec::new(); // (pattern, is_* method)
        let mut rejected = 0;
        for (binding, ctor, checks, allowed, is_method) in variants {
            let pattern = |bound: bool| match (&binding, bound) {
                (Some(b), true) => quote!(#ctor(#b)),
                (Some(_), false) => quote!(#ctor(_)),
                (None, _) => ctor.clone(),
            };
            if checks.is_empty() {
                if allowed {
                    empty_allowed.push((pattern(false), is_method));
                } else {
                    rejected += 1;
                }
                continue;
            }
            let body = if allowed {
                checks
            } else {
                quote!(#type_fail #checks)
            };
            let bound = binding.as_ref().is_some_and(|b| uses(&body, b));
            // `s.string(p, v, &mut ok, expected)`: the value as that type, or the type
            // error recorded (for the one-typed-arm form below).
            let accessor = binding
                .as_ref()
                .filter(|_| allowed)
                .map(|b| (format_ident!("{}", &is_method[3..]), b.clone(), bound));
            arms.push((pattern(bound), body, accessor));
        }

        Ok(if arms.is_empty() {
            if rejected == 0 {
                TokenStream::new()
            } else {
                if let [(_, name)] = empty_allowed.as_slice() {
                    let method = format_ident!("{name}");
                    if name.strip_prefix("is_") == Some(expected.as_str()) {
                        quote!(ok &= s.#method(#p, #v);)
                    } else {
                        quote!(ok &= s.is_type(#p, #v, #expected, #v.#method());)
                    }
                } else if empty_allowed.is_empty() {
                    type_fail
                } else {
                    // Several types, none with checks of its own: one mask test, and the
                    // runtime names the types in the message as `Types::describe` does.
                    let bits = empty_allowed.iter().map(|(_, method)| {
                        format_ident!("{}", method.trim_start_matches("is_").to_uppercase())
                    });
                    quote!(ok &= s.of_types(#p, #v, #(rt::#bits)|*);)
                }
            }
        } else if arms.len() == 1 && (rejected == 0 || empty_allowed.is_empty()) {
            let (pattern, body, accessor) = &arms[0];
            match accessor {
                _ if rejected == 0 => quote!(if let #pattern = #v { #body }),
                Some((method, binding, bound)) => {
                    let binding = if *bound {
                        binding.clone()
                    } else {
                        format_ident!("_{binding}")
                    };
                    quote!(if let Some(#binding) = s.#method(#p, #v, &mut ok, #expected) { #body })
                }
                None => quote!(if let #pattern = #v { #body } else { #type_fail }),
            }
        } else {
            let arms = arms
                .iter()
                .map(|(pattern, body, _)| quote!(#pattern => { #body }));
            let rest = if rejected == 0 {
                if empty_allowed.is_empty() {
                    TokenStream::new()
                } else {
                    quote!(_ => {})
                }
            } else {
                let allowed = empty_allowed.iter().map(|(pattern, _)| pattern);
                let allowed_arm = if empty_allowed.is_empty() {
                    TokenStream::new()
                } else {
                    quote!(#(#allowed)|* => {})
                };
                quote!(#allowed_arm _ => { #type_fail })
            };
            quote!(match #v { #(#arms)* #rest })
        })
    }

    fn string_checks(&mut self, m: &Map<String, Value>, d: usize) -> Result<TokenStream> {
        let string = depth_ident("string", d);
        let mut out = TokenStream::new();
        if let Some(n) = as_count(m, "minLength")?
            && n > 0
        {
            let (p, n) = (p_of(d), lit(n));
            out.extend(quote!(ok &= s.min_chars(#p, #string, #n);));
        }
        if let Some(n) = as_count(m, "maxLength")? {
            let (p, n) = (p_of(d), lit(n));
            out.extend(quote!(ok &= s.max_chars(#p, #string, #n);));
        }
        if let Some(pattern) = m.get("pattern") {
            let pattern = pattern.as_str().context("`pattern` must be a string")?;
            let p = p_of(d);
            if matches!(
                plan_pattern(pattern)?,
                PatternPlan::Regex(_) | PatternPlan::Ecma
            ) {
                let name = self.pattern_static(pattern)?;
                out.extend(quote!(ok &= s.matches(#p, #string, &#name);));
            } else if let Some((matches, _)) = self.pattern_matches(pattern, &string)? {
                out.extend(quote!(ok &= s.pattern(#p, #string, #matches, #pattern);));
            }
        }
        if let Some(format) = m.get("format").and_then(Value::as_str)
            && let Some((_, check, what)) = STRING_FORMATS.iter().find(|(f, _, _)| *f == format)
        {
            let (check, p) = (format_ident!("{check}"), p_of(d));
            out.extend(quote!(ok &= s.format(#p, #string, rt::formats::#check, #what);));
        }
        Ok(out)
    }

    /// The `static` holding `pattern` compiled (`rt::Pattern`), one per pattern and validator.
    fn pattern_static(&mut self, pattern: &str) -> Result<Ident> {
        if let Some((_, name)) = self.regexes.iter().find(|(p, _)| p == pattern) {
            return Ok(name.clone());
        }
        let name = self.static_name("RE", self.regexes.len());
        let init = match plan_pattern(pattern)? {
            PatternPlan::Ecma => quote!(rt::Pattern::ecma(#pattern)),
            PatternPlan::Regex(translated) if translated == pattern => {
                quote!(rt::Pattern::new(#pattern))
            }
            PatternPlan::Regex(translated) => quote!(rt::Pattern::regex(#pattern, #translated)),
            _ => bail!("pattern {pattern:?} needs no engine"),
        };
        self.statics
            .push(quote!(static #name: rt::Pattern = #init;));
        self.regexes.push((pattern.to_owned(), name.clone()));
        Ok(name)
    }

    /// Expressions: whether `subject` (a `&String`) matches `pattern`, and whether it does
    /// not; `None` if it always matches.
    fn pattern_matches(
        &mut self,
        pattern: &str,
        subject: &Ident,
    ) -> Result<Option<(TokenStream, TokenStream)>> {
        let call = match plan_pattern(pattern)? {
            PatternPlan::Always => return Ok(None),
            PatternPlan::Equals(lit) => {
                return Ok(Some((
                    quote!(#subject.as_str() == #lit),
                    quote!(#subject.as_str() != #lit),
                )));
            }
            PatternPlan::StartsWith(lit) => {
                let lit = str_or_char(&lit);
                quote!(#subject.starts_with(#lit))
            }
            PatternPlan::EndsWith(lit) => {
                let lit = str_or_char(&lit);
                quote!(#subject.ends_with(#lit))
            }
            PatternPlan::Contains(lit) => {
                let lit = str_or_char(&lit);
                quote!(#subject.contains(#lit))
            }
            PatternPlan::AsciiClass { ranges, min, max } => {
                // Only ASCII bytes pass, so the byte length is the character count.
                let byte_ok = ascii_class_test(&ranges);
                let all = quote!(#subject.bytes().all(|b| #byte_ok));
                let min_lit = lit(min);
                // (length ok, length wrong)
                let len = match max {
                    None if min == 0 => None,
                    None if min == 1 => {
                        Some((quote!(!#subject.is_empty()), quote!(#subject.is_empty())))
                    }
                    None => Some((
                        quote!(#subject.len() >= #min_lit),
                        quote!(#subject.len() < #min_lit),
                    )),
                    Some(max) if max == min => Some((
                        quote!(#subject.len() == #min_lit),
                        quote!(#subject.len() != #min_lit),
                    )),
                    Some(max) => {
                        let max_lit = lit(max);
                        let ok = quote!((#min_lit..=#max_lit).contains(&#subject.len()));
                        Some((ok.clone(), quote!(!#ok)))
                    }
                };
                return Ok(Some(match len {
                    None => (all.clone(), quote!(!#all)),
                    Some((len_ok, len_wrong)) => {
                        (quote!(#len_ok && #all), quote!(#len_wrong || !#all))
                    }
                }));
            }
            PatternPlan::Regex(_) | PatternPlan::Ecma => {
                let name = self.pattern_static(pattern)?;
                quote!(#name.is_match(#subject))
            }
        };
        Ok(Some((call.clone(), quote!(!#call))))
    }

    fn number_checks(&mut self, m: &Map<String, Value>, d: usize) -> Result<TokenStream> {
        let number = depth_ident("number", d);
        let mut out = TokenStream::new();
        let bound = |key: &str| -> Result<Option<&serde_json::Number>> {
            match m.get(key) {
                None | Some(Value::Bool(_)) => Ok(None),
                Some(Value::Number(n)) => Ok(Some(n)),
                Some(other) => bail!("`{key}` must be a number, found {other}"),
            }
        };
        // OpenAPI 3.0 / draft 4: boolean `exclusiveMinimum` modifies `minimum`.
        let legacy_exclusive = |key: &str| m.get(key) == Some(&Value::Bool(true));
        let mut checks: Vec<(&serde_json::Number, TokenStream)> = Vec::new();
        if let Some(b) = bound("minimum")? {
            if legacy_exclusive("exclusiveMinimum") {
                checks.push((b, quote!(Gt)));
            } else {
                checks.push((b, quote!(Ge)));
            }
        }
        if let Some(b) = bound("exclusiveMinimum")? {
            checks.push((b, quote!(Gt)));
        }
        if let Some(b) = bound("maximum")? {
            if legacy_exclusive("exclusiveMaximum") {
                checks.push((b, quote!(Lt)));
            } else {
                checks.push((b, quote!(Le)));
            }
        }
        if let Some(b) = bound("exclusiveMaximum")? {
            checks.push((b, quote!(Lt)));
        }
        let p = p_of(d);
        for (b, cmp) in checks {
            let bound = suffixed_bound(b)?;
            out.extend(quote!(ok &= s.in_range(#p, #number, rt::Cmp::#cmp, #bound);));
        }
        if let Some(b) = bound("multipleOf")? {
            let divisor = b.to_string();
            let check = match b.as_i64() {
                Some(i) => {
                    ensure!(i > 0, "`multipleOf` must be positive");
                    let lit = Literal::i64_unsuffixed(i);
                    quote!(rt::is_multiple_of_i64(#number, #lit))
                }
                None => {
                    let f = b.as_f64().context("`multipleOf` out of range")?;
                    ensure!(f > 0.0 && f.is_finite(), "`multipleOf` must be positive");
                    let lit = Literal::f64_unsuffixed(f);
                    quote!(rt::is_multiple_of_f64(#number, #lit))
                }
            };
            out.extend(quote!(ok &= s.multiple_of(#p, #number, #check, #divisor);));
        }
        if let Some(format) = m.get("format").and_then(Value::as_str)
            && let Some((_, check, what)) = NUMBER_FORMATS.iter().find(|(f, _, _)| *f == format)
        {
            let check = format_ident!("{check}");
            out.extend(quote!(ok &= s.number_format(#p, #number, rt::formats::#check, #what);));
        }
        Ok(out)
    }

    fn array_checks(&mut self, m: &Map<String, Value>, d: usize) -> Result<TokenStream> {
        let array = depth_ident("array", d);
        let (vi, pi, p) = (v_of(d + 1), p_of(d + 1), p_of(d));
        let index = depth_ident("index", d + 1);
        let mut out = TokenStream::new();
        if let Some(n) = as_count(m, "minItems")?
            && n > 0
        {
            let n = lit(n);
            out.extend(quote!(ok &= s.min_len(#p, #array.len(), #n, "item");));
        }
        if let Some(n) = as_count(m, "maxItems")? {
            let n = lit(n);
            out.extend(quote!(ok &= s.max_len(#p, #array.len(), #n, "item");));
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) {
            let message = "array items must be unique";
            out.extend(
                quote!(ok &= s.check(#p, rt::ErrorKind::Other, rt::all_unique(#array), #message);),
            );
        }
        // 2020-12 `prefixItems` + `items`; draft-4 style `items: [..]` + `additionalItems`.
        let (prefix, rest): (&[Value], Option<&Value>) =
            match (m.get("prefixItems"), m.get("items")) {
                (Some(Value::Array(prefix)), rest) => (prefix, rest),
                (Some(other), _) => bail!("`prefixItems` must be an array, found {other}"),
                (None, Some(Value::Array(prefix))) => (prefix, m.get("additionalItems")),
                (None, rest) => (&[], rest),
            };
        for (j, sub) in prefix.iter().enumerate() {
            let inner = self
                .body(sub, d + 1)
                .with_context(|| format!("in prefixItems/{j}"))?;
            if inner.is_empty() {
                continue;
            }
            let j = lit(j);
            let let_p = if uses(&inner, &pi) {
                quote!(let #pi = &rt::Path::Index(#p, #j);)
            } else {
                quote!()
            };
            let bind = if uses(&inner, &vi) {
                quote!(#vi)
            } else {
                quote!(_)
            };
            // `.first()` for clippy's `get_first`.
            let get = if j.to_string() == "0" {
                quote!(first())
            } else {
                quote!(get(#j))
            };
            out.extend(quote!(if let Some(#bind) = #array.#get { #let_p #inner }));
        }
        if let Some(rest) = rest
            && prefix.is_empty()
            && let Some(f) = self.callee(rest, d + 1).context("in items")?
        {
            // Items checked by one fn: the runtime's loop (index paths, early exit).
            out.extend(quote!(ok &= rt::each(#array, #p, s, #f);));
        } else if let Some(rest) = rest {
            let inner = self.body(rest, d + 1).context("in items")?;
            if !inner.is_empty() {
                let skip = if prefix.is_empty() {
                    quote!()
                } else {
                    let k = lit(prefix.len());
                    quote!(.skip(#k))
                };
                let bind = if uses(&inner, &vi) {
                    quote!(#vi)
                } else {
                    quote!(_)
                };
                let stop = stop_if_failed();
                let p_bind = if uses(&inner, &pi) {
                    quote!(#pi)
                } else {
                    quote!(_)
                };
                out.extend(if prefix.is_empty() {
                    // The runtime's loop with the item's checks as a closure: its own `ok`
                    // starts true for every call, so a `Check` pass tests each item alone.
                    quote!(ok &= rt::each(#array, #p, s, |#bind, #p_bind, s| { let mut ok = true; #inner ok });)
                } else if uses(&inner, &pi) {
                    quote! {
                        for (#index, #bind) in #array.iter().enumerate() #skip {
                            let #pi = &rt::Path::Index(#p, #index);
                            #inner
                            #stop
                        }
                    }
                } else {
                    quote!(for #bind in #array.iter() #skip { #inner #stop })
                });
            }
        }
        if let Some(contains) = m.get("contains") {
            let branch = self.node_fn(contains).context("in contains")?;
            let min = as_count(m, "minContains")?.unwrap_or(1);
            let max = as_count(m, "maxContains")?;
            let count = format_ident!("count");
            let mut checks = TokenStream::new();
            if min > 0 {
                let text = format!(
                    "must contain at least {} matching the `contains` schema, found {{count}}",
                    plural(min, "item", "items")
                );
                let fail = fail(d, "Other", &quote!(format!(#text)));
                let min = lit(min);
                checks.extend(quote!(if #count < #min { #fail }));
            }
            if let Some(max) = max {
                let text = format!(
                    "must contain at most {} matching the `contains` schema, found {{count}}",
                    plural(max, "item", "items")
                );
                let fail = fail(d, "Other", &quote!(format!(#text)));
                let max = lit(max);
                checks.extend(quote!(if #count > #max { #fail }));
            }
            if !checks.is_empty() {
                out.extend(quote! {{
                    let #count = #array.iter().filter(|item| #branch(item, #p, &mut rt::Check)).count();
                    #checks
                }});
            }
        }
        Ok(out)
    }

    fn object_checks(&mut self, m: &Map<String, Value>, d: usize) -> Result<TokenStream> {
        let object = depth_ident("object", d);
        let (vi, pi, p) = (v_of(d + 1), p_of(d + 1), p_of(d));
        let key = depth_ident("key", d + 1);
        let mut out = TokenStream::new();
        if let Some(n) = as_count(m, "minProperties")?
            && n > 0
        {
            let n = lit(n);
            out.extend(quote!(ok &= s.min_len(#p, #object.len(), #n, "property");));
        }
        if let Some(n) = as_count(m, "maxProperties")? {
            let n = lit(n);
            out.extend(quote!(ok &= s.max_len(#p, #object.len(), #n, "property");));
        }

        let empty = Map::new();
        let properties = match m.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(other) => bail!("`properties` must be an object, found {other}"),
        };
        let pattern_properties = match m.get("patternProperties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(other) => bail!("`patternProperties` must be an object, found {other}"),
        };
        let mut required: Vec<&str> = Vec::new();
        if let Some(r) = m.get("required") {
            let r = r.as_array().context("`required` must be an array")?;
            for name in r {
                let name = name
                    .as_str()
                    .context("`required` entries must be strings")?;
                if !required.contains(&name) {
                    required.push(name);
                }
            }
        }
        ensure!(required.len() <= 128, "more than 128 required properties");
        let seen = depth_ident("seen", d);
        let (seen_ty, seen_all) = if required.len() <= 64 {
            let all = u64::MAX >> (64 - required.len().max(1));
            (quote!(u64), Literal::u64_unsuffixed(all))
        } else {
            let all = u128::MAX >> (128 - required.len());
            (quote!(u128), Literal::u128_unsuffixed(all))
        };
        let bit = |i: usize| Literal::u128_unsuffixed(1u128 << i);
        let with_p = |inner: TokenStream| with_path(&inner, &pi, &quote!(#p.at(#key)), d);

        let mut additional = match m.get("additionalProperties") {
            None | Some(Value::Bool(true)) => TokenStream::new(),
            Some(Value::Bool(false)) => quote!(ok = s.unexpected(#pi, #key);),
            Some(schema) => self
                .body(schema, d + 1)
                .context("in additionalProperties")?,
        };
        additional = with_p(additional);

        // Named properties: (name, required bit, declared in `properties`, checks).
        let mut names: Vec<(&str, Option<usize>, bool, TokenStream)> = Vec::new();
        // Sorted, so that the output does not depend on serde_json's `preserve_order`.
        let mut sorted_properties: Vec<(&String, &Value)> = properties.iter().collect();
        sorted_properties.sort_by_key(|(name, _)| *name);
        for (name, sub) in sorted_properties {
            let inner = self
                .body(sub, d + 1)
                .with_context(|| format!("in properties/{name}"))?;
            let bit = required.iter().position(|r| r == name);
            names.push((name.as_str(), bit, true, inner));
        }
        for (i, name) in required.iter().enumerate() {
            if !properties.contains_key(*name) {
                names.push((name, Some(i), false, TokenStream::new()));
            }
        }
        let mut patterns: Vec<(Option<TokenStream>, TokenStream)> = Vec::new();
        let mut sorted_patterns: Vec<(&String, &Value)> = pattern_properties.iter().collect();
        sorted_patterns.sort_by_key(|(pattern, _)| *pattern);
        for (pattern, sub) in sorted_patterns {
            let inner = self
                .body(sub, d + 1)
                .with_context(|| format!("in patternProperties/{pattern}"))?;
            let matches = self
                .pattern_matches(pattern, &key)?
                .map(|(matches, _)| matches);
            patterns.push((matches, with_p(inner)));
        }
        let track_matched = !patterns.is_empty() && !additional.is_empty();
        let matched = depth_ident("matched", d + 1);

        // A property needs looking at if it is required, has checks, or must be told apart
        // from additional properties.
        names.retain(|(_, bit, declared, inner)| {
            bit.is_some() || !inner.is_empty() || (*declared && !additional.is_empty())
        });
        let single_lookup = names.len() == 1 && additional.is_empty() && patterns.is_empty();
        if single_lookup {
            // One property and nothing else to look at: a map lookup beats a pass.
            let (name, bit, _, inner) = &names[0];
            let inner = if uses(inner, &pi) {
                quote!(let #pi = &rt::Path::Key(#p, #name); #inner)
            } else {
                inner.clone()
            };
            let bind = if uses(&inner, &vi) {
                quote!(#vi)
            } else {
                quote!(_)
            };
            let missing = bit.map(|_| quote!(ok &= s.has(#p, #name, false);));
            out.extend(match missing {
                Some(_) if inner.is_empty() => {
                    quote!(ok &= s.has(#p, #name, #object.contains_key(#name));)
                }
                Some(missing) => {
                    quote!(if let Some(#bind) = #object.get(#name) { #inner } else { #missing })
                }
                None if inner.is_empty() => quote!(),
                None => quote!(if let Some(#bind) = #object.get(#name) { #inner }),
            });
        } else {
            // Off the request side speed matters less than size: required properties are
            // looked up after the pass instead of tracked in a bitmask, so an arm is often
            // one line.
            let lean = !self.shared.request_side(&self.fn_name);
            let mut arms = Vec::new();
            for (name, required_bit, declared, inner) in &names {
                if lean && inner.is_empty() && (!*declared || additional.is_empty()) {
                    continue;
                }
                let mark = required_bit.filter(|_| !lean).map(|i| {
                    let b = bit(i);
                    quote!(#seen |= #b;)
                });
                let set_matched = (track_matched && *declared).then(|| quote!(#matched = true;));
                // A name that is only `required` is still an additional property.
                let inner = if *declared || !patterns.is_empty() {
                    with_p(inner.clone())
                } else {
                    additional.clone()
                };
                arms.push((*name, quote!(#mark #set_matched #inner)));
            }
            let dispatch = if arms.is_empty() {
                if patterns.is_empty() {
                    additional.clone()
                } else {
                    TokenStream::new()
                }
            } else {
                let default = if patterns.is_empty() {
                    additional.clone()
                } else {
                    TokenStream::new()
                };
                if arms.len() == 1 {
                    let (name, body) = &arms[0];
                    if default.is_empty() {
                        quote!(if #key.as_str() == #name { #body })
                    } else {
                        quote!(if #key.as_str() == #name { #body } else { #default })
                    }
                } else {
                    let arms = arms
                        .iter()
                        .map(|(name, body)| match single_expression(body) {
                            Some(expression) => quote!(#name => #expression,),
                            None => quote!(#name => { #body }),
                        });
                    quote!(match #key.as_str() { #(#arms)* _ => { #default } })
                }
            };
            let mut loop_body = TokenStream::new();
            if track_matched {
                loop_body.extend(quote!(let mut #matched = false;));
            }
            loop_body.extend(dispatch);
            for (matches, inner) in &patterns {
                let set_matched = track_matched.then(|| quote!(#matched = true;));
                if inner.is_empty() && set_matched.is_none() {
                    continue;
                }
                loop_body.extend(match matches {
                    Some(matches) => quote!(if #matches { #set_matched #inner }),
                    None => quote!(#set_matched #inner),
                });
            }
            if track_matched {
                loop_body.extend(quote!(if !#matched { #additional }));
            }
            let mut general = TokenStream::new();
            if !loop_body.is_empty() {
                let bind = if uses(&loop_body, &vi) {
                    quote!(#vi)
                } else {
                    quote!(_)
                };
                let declare_seen =
                    (!required.is_empty() && !lean).then(|| quote!(let mut #seen: #seen_ty = 0;));
                let stop = stop_if_failed();
                general.extend(quote! {
                    #declare_seen
                    for (#key, #bind) in #object { #loop_body #stop }
                });
            }
            if lean {
                for name in &required {
                    general.extend(quote!(ok &= s.has(#p, #name, #object.contains_key(#name));));
                }
            } else if !required.is_empty() {
                let mut missing = TokenStream::new();
                for (i, name) in required.iter().enumerate() {
                    let b = bit(i);
                    missing.extend(quote!(ok &= s.has(#p, #name, #seen & #b != 0);));
                }
                general.extend(if required.len() == 1 {
                    missing
                } else {
                    quote!(if #seen != #seen_all { #missing })
                });
            }
            let fast = if patterns.is_empty() && self.shared.request_side(&self.fn_name) {
                Self::exact_required_fast_path(&object, &required, properties, &names, d)
            } else {
                None
            };
            out.extend(match fast {
                Some((condition, checks)) => quote!(if #condition { #checks } else { #general }),
                None => general,
            });
        }

        if let Some(deps) = m.get("dependentRequired") {
            let deps = deps
                .as_object()
                .context("`dependentRequired` must be an object")?;
            let mut deps: Vec<(&String, &Value)> = deps.iter().collect();
            deps.sort_by_key(|(name, _)| *name);
            for (name, needed) in deps {
                let needed = needed
                    .as_array()
                    .context("`dependentRequired` values must be arrays")?;
                let mut checks = TokenStream::new();
                for n in needed {
                    let n = n
                        .as_str()
                        .context("`dependentRequired` entries must be strings")?;
                    let text = format!(
                        "missing property {}, required when {} is present",
                        json_text(&Value::from(n)),
                        json_text(&Value::from(name.as_str()))
                    );
                    let fail = fail_at(
                        &quote!(&rt::Path::Key(#p, #n)),
                        "Required",
                        &static_message(&text),
                    );
                    checks.extend(quote!(if !#object.contains_key(#n) { #fail }));
                }
                if !checks.is_empty() {
                    out.extend(quote!(if #object.contains_key(#name) { #checks }));
                }
            }
        }
        Ok(out)
    }

    /// The fast path of an object whose entries are exactly its required properties (the
    /// usual shape of a valid request body): `(condition, checks)`, where `condition`
    /// takes the `object.len()` entries in key order with one `next()` each — no loop, no
    /// `match` on the key, no bitmask — and compares each key with the expected name, and
    /// `checks` are the properties' own checks in that order (the order of the general
    /// loop, so errors come out the same). Measured on the bind body: 3.4 ns against 8.4 ns
    /// for the general loop, which stays for every other shape.
    ///
    /// `None` when it does not apply: no required property, more than 12, one that is only
    /// `required` (not declared, so also an additional property), or checks too large to
    /// emit twice (the fast path repeats them; the bound keeps nested objects from
    /// doubling at every level).
    fn exact_required_fast_path(
        object: &Ident,
        required: &[&str],
        properties: &Map<String, Value>,
        names: &[(&str, Option<usize>, bool, TokenStream)],
        d: usize,
    ) -> Option<(TokenStream, TokenStream)> {
        const MAX_REQUIRED: usize = 12;
        const MAX_TOKENS: usize = 1500;
        if required.is_empty()
            || required.len() > MAX_REQUIRED
            || !required.iter().all(|r| properties.contains_key(*r))
        {
            return None;
        }
        let (vi, pi, p) = (v_of(d + 1), p_of(d + 1), p_of(d));
        let key = depth_ident("key", d + 1);
        let mut sorted: Vec<&str> = required.to_vec();
        sorted.sort_unstable();
        let mut patterns = Vec::new();
        let mut key_checks = Vec::new();
        let mut checks = TokenStream::new();
        let mut tokens = 0;
        for (i, name) in sorted.iter().enumerate() {
            let inner = names
                .iter()
                .find(|(n, ..)| n == name)
                .map(|(.., inner)| inner.clone())
                .unwrap_or_default();
            tokens += token_count(&inner);
            let v_i = format_ident!("v{}_{}", d + 1, i);
            // The entry's own value instead of rebinding it, and the key as the literal it
            // equals; each property's path shadows the previous one's, so no block is
            // needed around its checks.
            let uses_v = uses(&inner, &vi);
            let mut inner = substitute(&inner, &vi, &quote!(#v_i));
            inner = substitute(&inner, &key, &quote!(#name));
            inner = with_path(&inner, &pi, &quote!(#p.at(#name)), d);
            patterns.push(if uses_v { quote!(#v_i) } else { quote!(_) });
            key_checks.push(quote!(#name));
            checks.extend(inner);
        }
        if tokens > MAX_TOKENS {
            return None;
        }
        let condition = quote! {
            let Some([#(#patterns),*]) = rt::exact_keys(#object, [#(#key_checks),*])
        };
        Some((condition, checks))
    }

    /// An expression: whether `v` (a `&Value`) equals one of `values` (JSON equality).
    fn equals_any(&mut self, v: &Ident, values: &[&Value]) -> Result<TokenStream> {
        let mut parts = Vec::new();
        let strings: Vec<&str> = values.iter().filter_map(|x| x.as_str()).collect();
        match strings.as_slice() {
            [] => {}
            [one] => parts.push(quote!(#v.as_str() == Some(#one))),
            many => parts.push(quote!(matches!(#v.as_str(), Some(#(#many)|*)))),
        }
        for value in values {
            parts.push(match value {
                Value::String(_) => continue,
                Value::Null => quote!(#v.is_null()),
                Value::Bool(b) => quote!(#v.as_bool() == Some(#b)),
                Value::Number(n) => {
                    let cmp = compare(&format_ident!("n"), n)?;
                    quote!(#v.as_number().is_some_and(|n| #cmp.is_eq()))
                }
                Value::Array(_) | Value::Object(_) => {
                    let name = self.static_name("CONST", self.statics.len());
                    let ctor = value_ctor(value);
                    self.statics.push(quote! {
                        static #name: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| #ctor);
                    });
                    quote!(rt::json_eq(#v, &#name))
                }
            });
        }
        Ok(if parts.is_empty() {
            quote!(false)
        } else {
            quote!(#(#parts)||*)
        })
    }

    fn enum_const(&mut self, m: &Map<String, Value>, d: usize) -> Result<TokenStream> {
        let (v, p) = (v_of(d), p_of(d));
        let mut out = TokenStream::new();
        let nullable = m.get("nullable") == Some(&Value::Bool(true));
        if let Some(values) = m.get("enum") {
            let values = values.as_array().context("`enum` must be an array")?;
            let mut values: Vec<&Value> = values.iter().collect();
            if nullable && !values.contains(&&Value::Null) {
                values.push(&Value::Null);
            }
            let strings: Option<Vec<&str>> = values.iter().map(|x| x.as_str()).collect();
            if let Some(strings) = strings {
                out.extend(quote!(ok &= s.str_enum(#p, #v, &[#(#strings),*]);));
            } else {
                let any = self.equals_any(&v, &values)?;
                let mut listed: Vec<String> =
                    values.iter().take(10).map(|x| json_text(x)).collect();
                if values.len() > 10 {
                    listed.push("…".to_owned());
                }
                let listed = listed.join(", ");
                out.extend(quote!(ok &= s.is_enum(#p, #v, #any, #listed);));
            }
        }
        if let Some(value) = m.get("const") {
            let any = self.equals_any(&v, &[value])?;
            let text = json_text(value);
            out.extend(quote!(ok &= s.is_const(#p, #v, #any, #text);));
        }
        Ok(out)
    }

    fn combinators(&mut self, m: &Map<String, Value>, d: usize) -> Result<TokenStream> {
        let (v, p) = (v_of(d), p_of(d));
        let mut out = TokenStream::new();
        let branches = |key: &str| -> Result<Option<&Vec<Value>>> {
            match m.get(key) {
                None => Ok(None),
                Some(Value::Array(a)) if !a.is_empty() => Ok(Some(a)),
                Some(other) => bail!("`{key}` must be a non-empty array, found {other}"),
            }
        };
        if let Some(all) = branches("allOf")? {
            for (i, sub) in all.iter().enumerate() {
                out.extend(self.body(sub, d).with_context(|| format!("in allOf/{i}"))?);
            }
        }
        // The alternation a discriminator reads (`oneOf`, else `anyOf`) is replaced by the
        // tag's choice; every other keyword of the node (the other alternation, `not`,
        // `if`) is still checked, as JSON Schema would.
        let mut discriminated_list = None;
        if let Some(d) = super::emit_types::discriminated(&Value::Object(m.clone())) {
            discriminated_list = Some(if m.contains_key("oneOf") {
                "oneOf"
            } else {
                "anyOf"
            });
            // The tag picks the one branch to check (with its errors), as the discriminator
            // says; plain `oneOf` would refuse a value that several branches accept.
            let property = d.property;
            let mut arms = Vec::new();
            let mut tags = Vec::new();
            for (tag, _, branch) in &d.branches {
                let f = self
                    .node_fn(branch)
                    .with_context(|| format!("in the {tag} branch"))?;
                arms.push(quote!(Some(#tag) => ok &= #f(#v, #p, &mut *s),));
                tags.push(tag.clone());
            }
            let message = format!("`{property}` must be one of {}", tags.join(", "));
            let fail = fail_at(
                &quote!(&rt::Path::Key(#p, #property)),
                "Enum",
                &static_message(&message),
            );
            out.extend(quote! {
                if #v.is_object() {
                    match #v.get(#property).and_then(Value::as_str) {
                        #(#arms)*
                        _ => { #fail }
                    }
                }
            });
        }
        if let Some(any) = branches("anyOf")?
            && discriminated_list != Some("anyOf")
            && !any.iter().any(is_trivially_true)
        {
            let mut branches = Vec::new();
            for (i, sub) in any.iter().enumerate() {
                if sub != &Value::Bool(false) {
                    branches.push(self.node_fn(sub).with_context(|| format!("in anyOf/{i}"))?);
                }
            }
            out.extend(quote!(ok &= s.any_of(#p, #v, &[#(#branches),*]);));
        }
        let one_of = if discriminated_list == Some("oneOf") {
            None
        } else {
            branches("oneOf")?
        };
        if let Some(one) = one_of
            && let Some(values) = disjoint_string_choices(one)
        {
            // Each branch one or more string constants, none shared: exactly one branch
            // matches iff the value is one of them, so one list check says the same.
            out.extend(quote!(ok &= s.one_of_strs(#p, #v, &[#(#values),*]);));
        } else if let Some(one) = one_of {
            let mut branches = Vec::new();
            for (i, sub) in one.iter().enumerate() {
                branches.push(self.node_fn(sub).with_context(|| format!("in oneOf/{i}"))?);
            }
            out.extend(quote!(ok &= s.one_of(#p, #v, &[#(#branches),*]);));
        }
        if let Some(not) = m.get("not") {
            let f = self.node_fn(not).context("in not")?;
            let message = "must not match the schema in `not`";
            out.extend(quote!(ok &= s.check(#p, rt::ErrorKind::Other, !#f(#v, #p, &mut rt::Check), #message);));
        }
        if let Some(cond) = m.get("if") {
            let then = m
                .get("then")
                .map(|s| self.body(s, d).context("in then"))
                .transpose()?
                .unwrap_or_default();
            let otherwise = m
                .get("else")
                .map(|s| self.body(s, d).context("in else"))
                .transpose()?
                .unwrap_or_default();
            if !then.is_empty() || !otherwise.is_empty() {
                let f = self.node_fn(cond).context("in if")?;
                out.extend(if otherwise.is_empty() {
                    quote!(if #f(#v, #p, &mut rt::Check) { #then })
                } else if then.is_empty() {
                    quote!(if !#f(#v, #p, &mut rt::Check) { #otherwise })
                } else {
                    quote!(if #f(#v, #p, &mut rt::Check) { #then } else { #otherwise })
                });
            }
        }
        Ok(out)
    }
}

/// The string values of `oneOf` branches that are each only string constants
/// (`{type: string, enum: [..]}` or `const`, with annotations), if no value is in two
/// branches; `None` for any other `oneOf`.
fn disjoint_string_choices(branches: &[Value]) -> Option<Vec<&str>> {
    let mut values: Vec<&str> = Vec::new();
    for branch in branches {
        let m = branch.as_object()?;
        if m.keys()
            .any(|k| !matches!(k.as_str(), "type" | "enum" | "const") && !load::is_annotation(k))
            || m.get("type").is_some_and(|t| t != "string")
        {
            return None;
        }
        let own: Vec<&str> = match (m.get("enum"), m.get("const")) {
            (Some(Value::Array(list)), None) => {
                list.iter().map(Value::as_str).collect::<Option<_>>()?
            }
            (None, Some(Value::String(one))) => vec![one.as_str()],
            _ => return None,
        };
        for value in own {
            if values.contains(&value) {
                return None;
            }
            values.push(value);
        }
    }
    (!values.is_empty()).then_some(values)
}

/// Whether a schema accepts everything (`true`, `{}` or annotations only) — decided on
/// the emitted code being empty would need an emitter; this is the syntactic check.
fn is_trivially_true(schema: &Value) -> bool {
    match schema {
        Value::Bool(b) => *b,
        Value::Object(m) => m.keys().all(|k| {
            matches!(
                k.as_str(),
                "title"
                    | "description"
                    | "example"
                    | "examples"
                    | "deprecated"
                    | "readOnly"
                    | "writeOnly"
                    | "default"
                    | "externalDocs"
                    | "$comment"
                    | "$schema"
                    | "$id"
                    | "$defs"
                    | "definitions"
            ) || k.starts_with("x-")
        }),
        _ => false,
    }
}

/// An expression constructing `value` (for `static LazyLock<Value>`s).
fn value_ctor(value: &Value) -> TokenStream {
    match value {
        Value::Null => quote!(serde_json::Value::Null),
        Value::Bool(b) => quote!(serde_json::Value::Bool(#b)),
        Value::Number(n) => {
            let lit = if let Some(i) = n.as_i64() {
                Literal::i64_suffixed(i)
            } else if let Some(u) = n.as_u64() {
                Literal::u64_suffixed(u)
            } else {
                Literal::f64_suffixed(n.as_f64().unwrap_or_default())
            };
            quote!(serde_json::Value::from(#lit))
        }
        Value::String(s) => quote!(serde_json::Value::from(#s)),
        Value::Array(a) => {
            let items = a.iter().map(value_ctor);
            quote!(serde_json::Value::Array(vec![#(#items),*]))
        }
        Value::Object(o) => {
            let mut sorted: Vec<(&String, &Value)> = o.iter().collect();
            sorted.sort_by_key(|(k, _)| *k);
            let entries = sorted.into_iter().map(|(k, v)| {
                let v = value_ctor(v);
                quote!((String::from(#k), #v))
            });
            quote!(serde_json::Value::Object(serde_json::Map::from_iter([#(#entries),*])))
        }
    }
}

/// `pub(crate) #[attr] fn …` → `#[attr] pub(crate) fn …` (attributes go first).
fn move_attrs_before_vis(f: TokenStream) -> TokenStream {
    let tts: Vec<TokenTree> = f.into_iter().collect();
    // [pub, (crate), #, [..], fn, ...]
    if tts.len() > 4 && matches!(&tts[2], TokenTree::Punct(p) if p.as_char() == '#') {
        let mut out = TokenStream::new();
        out.extend(tts[2..4].iter().cloned());
        out.extend(tts[0..2].iter().cloned());
        out.extend(tts[4..].iter().cloned());
        return out;
    }
    tts.into_iter().collect()
}

/// The helper fn around a node's statements, leaving out unused parameters and imports.
fn wrap_fn(name: &Ident, body: &TokenStream) -> TokenStream {
    let mut ids = BTreeSet::new();
    idents_in(body, &mut ids);
    let param = |n: &str| {
        if ids.contains(n) {
            Ident::new(n, Span::call_site())
        } else {
            format_ident!("_{n}")
        }
    };
    let (v, p, s) = (param("v"), param("p"), param("s"));
    let (init, result) = if ids.contains("ok") {
        (quote!(let mut ok = true;), quote!(ok))
    } else {
        (quote!(), quote!(true))
    };
    quote! {
        fn #name<S: Sink>(#v: &Value, #p: &Path, #s: &mut S) -> bool {
            #init
            #body
            #result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;
    use std::path::{Path, PathBuf};

    fn pretty(tokens: TokenStream) -> String {
        let file: syn::File = match syn::parse2(tokens) {
            Ok(f) => f,
            Err(e) => panic!("emitted code does not parse: {e}"),
        };
        prettyplease::unparse(&file)
    }

    fn emit(schema: Value) -> String {
        match emit_validator("validate_x", &schema) {
            Ok(tokens) => pretty(tokens),
            Err(e) => panic!("emit failed: {e:#}"),
        }
    }

    #[test]
    fn snapshot_object_with_required_and_optional() {
        let code = emit(json!({
            "type": "object",
            "properties": {
                "sid": {"type": "string", "minLength": 1, "maxLength": 255},
                "mxid": {"type": "string", "format": "mx-user-id"},
                "n": {"type": "integer", "minimum": 0}
            },
            "required": ["sid", "mxid"]
        }));
        expect![[r#"
            /// Validates a JSON value against its schema, reporting every error.
            pub fn validate_x(v: &Value) -> Result<(), rt::Errors> {
                rt::run(v, x_n0, x_n0)
            }
            fn x_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
                let mut ok = true;
                if let Some(object) = s.object(p, v, &mut ok, "object") {
                    if let Some([v1_0, v1_1]) = rt::exact_keys(object, ["mxid", "sid"]) {
                        let p1 = &p.at("mxid");
                        if let Some(string1) = s.string(p1, v1_0, &mut ok, "string") {
                            ok
                                &= s
                                    .format(
                                        p1,
                                        string1,
                                        rt::formats::is_mx_user_id,
                                        "Matrix user ID",
                                    );
                        }
                        let p1 = &p.at("sid");
                        if let Some(string1) = s.string(p1, v1_1, &mut ok, "string") {
                            ok &= s.min_chars(p1, string1, 1);
                            ok &= s.max_chars(p1, string1, 255);
                        }
                    } else {
                        let mut seen: u64 = 0;
                        for (key1, v1) in object {
                            match key1.as_str() {
                                "mxid" => {
                                    seen |= 2;
                                    let p1 = &p.at(key1);
                                    if let Some(string1) = s.string(p1, v1, &mut ok, "string") {
                                        ok
                                            &= s
                                                .format(
                                                    p1,
                                                    string1,
                                                    rt::formats::is_mx_user_id,
                                                    "Matrix user ID",
                                                );
                                    }
                                }
                                "n" => {
                                    let p1 = &p.at(key1);
                                    if let Some(number1) = s.number(p1, v1, &mut ok, "integer") {
                                        ok &= s.whole(p1, v1, number1, "integer");
                                        ok &= s.in_range(p1, number1, rt::Cmp::Ge, 0i64);
                                    }
                                }
                                "sid" => {
                                    seen |= 1;
                                    let p1 = &p.at(key1);
                                    if let Some(string1) = s.string(p1, v1, &mut ok, "string") {
                                        ok &= s.min_chars(p1, string1, 1);
                                        ok &= s.max_chars(p1, string1, 255);
                                    }
                                }
                                _ => {}
                            }
                            rt::stop_if_failed!(ok);
                        }
                        if seen != 3 {
                            ok &= s.has(p, "sid", seen & 1 != 0);
                            ok &= s.has(p, "mxid", seen & 2 != 0);
                        }
                    }
                }
                ok
            }
        "#]]
        .assert_eq(&code);
    }

    #[test]
    fn snapshot_map_via_additional_properties() {
        let code = emit(json!({
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string", "pattern": "^@"}}
        }));
        expect![[r#"
            /// Validates a JSON value against its schema, reporting every error.
            pub fn validate_x(v: &Value) -> Result<(), rt::Errors> {
                rt::run(v, x_n0, x_n0)
            }
            fn x_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
                let mut ok = true;
                if let Some(object) = s.object(p, v, &mut ok, "object") {
                    for (key1, v1) in object {
                        let p1 = &p.at(key1);
                        if let Some(array1) = s.array(p1, v1, &mut ok, "array") {
                            ok
                                &= rt::each(
                                    array1,
                                    p1,
                                    s,
                                    |v2, p2, s| {
                                        let mut ok = true;
                                        if let Some(string2) = s.string(p2, v2, &mut ok, "string") {
                                            ok
                                                &= s.pattern(p2, string2, string2.starts_with('@'), "^@");
                                        }
                                        ok
                                    },
                                );
                        }
                        rt::stop_if_failed!(ok);
                    }
                }
                ok
            }
        "#]]
        .assert_eq(&code);
    }

    #[test]
    fn snapshot_tuple_prefix_items() {
        let code = emit(json!({
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": ["integer", "null"]}],
            "items": false,
            "minItems": 1
        }));
        expect![[r#"
            /// Validates a JSON value against its schema, reporting every error.
            pub fn validate_x(v: &Value) -> Result<(), rt::Errors> {
                rt::run(v, x_n0, x_n0)
            }
            fn x_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
                let mut ok = true;
                if let Some(array) = s.array(p, v, &mut ok, "array") {
                    ok &= s.min_len(p, array.len(), 1, "item");
                    if let Some(v1) = array.first() {
                        let p1 = &rt::Path::Index(p, 0);
                        ok &= s.is_string(p1, v1);
                    }
                    if let Some(v1) = array.get(1) {
                        let p1 = &rt::Path::Index(p, 1);
                        match v1 {
                            Value::Number(number1) => {
                                ok &= s.whole(p1, v1, number1, "integer or null");
                            }
                            Value::Null => {}
                            _ => {
                                ok = s.wrong_type(p1, v1, "integer or null");
                            }
                        }
                    }
                    for (index1, _) in array.iter().enumerate().skip(2) {
                        let p1 = &rt::Path::Index(p, index1);
                        ok = s
                            .reject(
                                p1,
                                rt::ErrorKind::Other,
                                || String::from("no value is allowed here"),
                            );
                        rt::stop_if_failed!(ok);
                    }
                }
                ok
            }
        "#]]
        .assert_eq(&code);
    }

    #[test]
    fn snapshot_enum_and_format() {
        let code = emit(json!({
            "type": "object",
            "properties": {
                "medium": {"type": "string", "enum": ["email", "msisdn"]},
                "address": {"type": "string", "format": "email", "pattern": "[a-z]+\\d"}
            },
            "required": ["medium"],
            "additionalProperties": false
        }));
        expect![[r#"
            /// Validates a JSON value against its schema, reporting every error.
            pub fn validate_x(v: &Value) -> Result<(), rt::Errors> {
                rt::run(v, x_n0, x_n0)
            }
            static VALIDATE_X_RE0: rt::Pattern = rt::Pattern::regex("[a-z]+\\d", "[a-z]+[0-9]");
            fn x_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
                let mut ok = true;
                if let Some(object) = s.object(p, v, &mut ok, "object") {
                    if let Some([v1_0]) = rt::exact_keys(object, ["medium"]) {
                        let p1 = &p.at("medium");
                        ok &= s.is_string(p1, v1_0);
                        ok &= s.str_enum(p1, v1_0, &["email", "msisdn"]);
                    } else {
                        let mut seen: u64 = 0;
                        for (key1, v1) in object {
                            match key1.as_str() {
                                "address" => {
                                    let p1 = &p.at(key1);
                                    if let Some(string1) = s.string(p1, v1, &mut ok, "string") {
                                        ok &= s.matches(p1, string1, &VALIDATE_X_RE0);
                                        ok
                                            &= s
                                                .format(
                                                    p1,
                                                    string1,
                                                    rt::formats::is_email,
                                                    "email address",
                                                );
                                    }
                                }
                                "medium" => {
                                    seen |= 1;
                                    let p1 = &p.at(key1);
                                    ok &= s.is_string(p1, v1);
                                    ok &= s.str_enum(p1, v1, &["email", "msisdn"]);
                                }
                                _ => {
                                    ok = s.unexpected(&p.at(key1), key1);
                                }
                            }
                            rt::stop_if_failed!(ok);
                        }
                        ok &= s.has(p, "medium", seen & 1 != 0);
                    }
                }
                ok
            }
        "#]]
        .assert_eq(&code);
    }

    #[test]
    fn a_discriminator_replaces_only_the_alternation_it_reads() {
        // The tag picks the `oneOf` branch; `anyOf` and `not` beside it are still checked.
        let branch = |name: &str| json!({load::REF_KEY: format!("p#/{name}"), load::REF_NAME: name, "type": "object"});
        let code = emit(json!({
            "oneOf": [branch("Cat"), branch("Dog")],
            "discriminator": {"propertyName": "kind"},
            "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
            "not": {"required": ["c"]}
        }));
        assert!(code.contains("Some(\"Cat\") =>"), "{code}");
        assert!(code.contains("s.any_of("), "{code}");
        assert!(
            code.contains("must not match the schema in `not`"),
            "{code}"
        );
        assert!(!code.contains("s.one_of("), "{code}");
    }

    #[test]
    fn refuses_unsupported_keywords_and_bad_names() {
        let err = emit_validator("validate_x", &json!({"properties": {"a": {"$ref": "#/x"}}}))
            .expect_err("unresolved $ref");
        assert!(format!("{err:#}").contains("$ref"), "{err:#}");
        assert!(emit_validator("not a name", &json!({})).is_err());
        assert!(emit_validator("validate_x", &json!({"type": "file"})).is_err());
        assert!(emit_validator("validate_x", &json!({"pattern": "a(?=b"})).is_err());
        assert!(emit_validator("validate_x", &json!({"multipleOf": 0})).is_err());
    }

    #[test]
    fn pattern_plans() {
        let plan = |p: &str| match plan_pattern(p) {
            Ok(PatternPlan::Always) => "always".to_owned(),
            Ok(PatternPlan::StartsWith(l)) => format!("starts_with {l}"),
            Ok(PatternPlan::EndsWith(l)) => format!("ends_with {l}"),
            Ok(PatternPlan::Equals(l)) => format!("equals {l}"),
            Ok(PatternPlan::Contains(l)) => format!("contains {l}"),
            Ok(PatternPlan::Regex(r)) => format!("regex {r}"),
            Ok(PatternPlan::Ecma) => "ecma".to_owned(),
            Ok(PatternPlan::AsciiClass { ranges, min, max }) => {
                format!("class {ranges:?} {min}..{max:?}")
            }
            Err(e) => format!("error {e}"),
        };
        assert_eq!(plan("^@"), "starts_with @");
        assert_eq!(plan("^mxc:\\/\\/"), "starts_with mxc://");
        assert_eq!(plan("^abc$"), "equals abc");
        assert_eq!(plan("\\.org$"), "ends_with .org");
        assert_eq!(plan("foo"), "contains foo");
        assert_eq!(plan("^"), "always");
        assert_eq!(plan(""), "always");
        assert_eq!(plan("^a.c"), "regex ^a.c");
        assert_eq!(
            plan("^[0-9a-zA-Z.=_-]+$"),
            "class [(48, 57), (97, 122), (65, 90), (46, 46), (61, 61), (95, 95), (45, 45)] 1..None"
        );
        assert_eq!(
            plan("^[\\w-]{2,5}$"),
            "class [(48, 57), (65, 90), (97, 122), (95, 95), (45, 45)] 2..Some(5)"
        );
        assert_eq!(plan("^[^a]+$"), "regex ^[^a]+$");
        assert_eq!(plan("^[a-z]+"), "regex ^[a-z]+");
        assert_eq!(plan("^\\d+[\\w-]$"), "regex ^[0-9]+[0-9A-Za-z_-]$");
        // What the `regex` crate lacks, the ECMA-262 engine runs; what neither takes is an
        // error (the degrade pass leaves such a pattern out with a warning).
        assert_eq!(plan("(a)\\1"), "ecma");
        assert_eq!(plan("^(?![0-9]+$)[a-z]+$"), "ecma");
        assert!(plan("^(unclosed").starts_with("error pattern \"^(unclosed\""));
        assert!(plan("^(unclosed").contains("nor does an ECMA-262 engine take it"));
    }

    // ----- the checked-in fixture compiled and run by generated/tests/validators_differential.rs

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The fixture module: one validator per case of `validators_cases.json`, and a table.
    fn fixture_module(cases: &Value) -> String {
        let cases = cases
            .as_array()
            .unwrap_or_else(|| panic!("cases must be an array"));
        let mut items = module_prelude();
        let mut table = Vec::new();
        let mut lean_table = Vec::new();
        // Every case twice: as a request body's validator (fast path, bitmask) and as a
        // response's (`request_side` knows no validator: required properties looked up).
        let lean = SharedIndex {
            request_side: Some(BTreeSet::new()),
            ..SharedIndex::default()
        };
        for case in cases {
            let name = case["name"]
                .as_str()
                .unwrap_or_else(|| panic!("case without a name"));
            let fn_name = format!("validate_{name}");
            items.extend(
                emit_validator(&fn_name, &case["schema"])
                    .unwrap_or_else(|e| panic!("case {name}: {e:#}")),
            );
            let lean_name = format!("validate_{name}_lean");
            items.extend(
                emit_validator_with(&lean_name, &case["schema"], &lean)
                    .unwrap_or_else(|e| panic!("case {name}: {e:#}")),
            );
            let (ident, lean_ident) = (format_ident!("{fn_name}"), format_ident!("{lean_name}"));
            table.push(quote!((#name, #ident)));
            lean_table.push(quote!((#name, #lean_ident)));
        }
        items.extend(quote! {
            /// A validator's signature.
            pub type Validator = fn(&serde_json::Value) -> Result<(), crate::rt::validate::Errors>;
            /// Every fixture validator by case name, as a request body's.
            pub const VALIDATORS: &[(&str, Validator)] = &[#(#table),*];
            /// The same, emitted as a response's (no fast path, required properties looked up).
            pub const LEAN_VALIDATORS: &[(&str, Validator)] = &[#(#lean_table),*];
        });
        format!(
            "// @generated by `cargo test -p xtask` from validators_cases.json \
             (xtask/src/codegen/emit_validators.rs) — do not edit.\n\
             // prettyplease output, compared byte for byte: keep rustfmt away.\n\
             #![cfg_attr(rustfmt, rustfmt::skip)]\n\n{}",
            pretty(items)
        )
    }

    /// Like rust-analyzer's sourcegen tests: the checked-in fixture must equal fresh
    /// emitter output; if it does not, it is rewritten and the test fails once.
    #[test]
    fn validators_fixture_is_up_to_date() {
        let dir = workspace_root().join("generated/tests/fixtures");
        let cases_path = dir.join("validators_cases.json");
        let cases = std::fs::read_to_string(&cases_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", cases_path.display()));
        let cases: Value =
            serde_json::from_str(&cases).unwrap_or_else(|e| panic!("parsing cases: {e}"));
        let fresh = fixture_module(&cases);
        let fixture_path = dir.join("validators_fixture.rs");
        let current = std::fs::read_to_string(&fixture_path).unwrap_or_default();
        if current != fresh {
            std::fs::write(&fixture_path, &fresh)
                .unwrap_or_else(|e| panic!("writing fixture: {e}"));
            panic!(
                "{} was not up to date and has been updated; re-run the tests",
                fixture_path.display()
            );
        }
    }
}
