//! Schema → Rust types (serde). Inline anonymous objects are named from their `title`, else
//! from where they sit (`RequestBody` + `Threepid` → `RequestBodyThreepid`), so names are
//! deterministic and readable; a clash with a different shape gets a numeric suffix.
//!
//! The types of the whole crate are emitted at once, into `types.rs`. Optional → `Option`; maps →
//! `BTreeMap`; `additionalProperties: true` beside properties → `#[serde(flatten)] extra`
//! (store-invite keeps every extra parameter); string enums → enums; tuples → tuples; a
//! `oneOf`/`anyOf` of named components with a `discriminator` → an enum with one variant per branch
//! (serialised as the branch, deserialised by the tag's value, `mapping` honoured; the validator
//! checks only the branch the tag names). A struct or enum is named from its `title`, else its
//! component name, else its position (`{Operation}{Params|RequestBody|Response}` + property names).
//!
//! A type's identity is its shape without annotations, `null` (nullability is the use's `Option`)
//! or what only the validator checks (a `format` that picks no other Rust type, bounds, lengths,
//! patterns: v1's and v2's `SignedAssociation` are one type, each operation keeping its own
//! validator): one named type per shape and name, and an untitled shape is one type wherever it
//! occurs. A field whose type is a recursive component is `Box`ed (not inside a `Vec` or map). Each
//! operation module re-exports every named type its roots reach, without the numeric suffix where
//! that is unambiguous (so `bind::SignedAssociation` keeps naming what it did), and names its roots
//! in the same `use` (`pub use crate::types::{…, SignedAssociation as Response};`); a root that is
//! not a named type (`Vec<…>`, `serde_json::Value`) is a `pub type` alias.

use heck::ToPascalCase;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use super::load;

/// Collects the named types of a whole crate (`types.rs`): one per component and per titled
/// shape, shared by every operation that uses it.
#[derive(Default)]
pub struct TypeGen {
    /// name → (the shape's [`core_key`], tokens; empty while the definition is being built)
    defs: BTreeMap<String, (String, TokenStream)>,
    order: Vec<String>,
    /// Names are written `crate::types::Name` (a crate) rather than `Name` (unit tests).
    qualify: bool,
    /// A component's reference (the loader's `x-oxident-ref`) → the name of its type.
    components: BTreeMap<String, String>,
    /// Components that contain themselves: a field of such a type is boxed.
    recursive: BTreeSet<String>,
    /// name → the named types its definition mentions.
    deps: BTreeMap<String, BTreeSet<String>>,
    /// The definitions being built, innermost last.
    defining: Vec<String>,
    /// Named types mentioned outside any definition since [`TypeGen::take_used`].
    used: BTreeSet<String>,
    /// name → the name it would have had without a numeric suffix.
    bases: BTreeMap<String, String>,
    /// [`core_key`] → the name of an untitled shape's type (first come).
    anonymous: BTreeMap<String, String>,
}

/// The shape a named type stands for: the schema without annotations and without `null` in
/// its `type` (nullability belongs to the use, `Option<Name>`, not to the type).
/// Constraints that only the validator checks — a `format` that maps to no other Rust type, a
/// bound, a length, a pattern — are not part of it either: a shape that differs only by them
/// (v1's and v2's `SignedAssociation`, one with `format: mx-user-id`) is one Rust type.
fn core_key(schema: &Value) -> String {
    let mut core = type_shape(schema);
    if let Some(Value::Array(ts)) = core.get_mut("type") {
        ts.retain(|t| t != "null");
    }
    super::emit_validators::validation_key(&core)
}

/// `schema` without the keywords that do not change the Rust type it becomes.
fn type_shape(schema: &Value) -> Value {
    const CHECK_ONLY: [&str; 14] = [
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "format",
    ];
    /// Formats that pick the Rust type (`Binary`, `i32`, …).
    const TYPE_FORMATS: [&str; 8] = [
        "binary", "int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64",
    ];
    match schema {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| {
                    !CHECK_ONLY.contains(&k.as_str())
                        || (*k == "format" && v.as_str().is_some_and(|f| TYPE_FORMATS.contains(&f)))
                })
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        // Maps of names to schemas: every name kept.
                        "properties" | "patternProperties" | "$defs" | "definitions" => match v {
                            Value::Object(named) => Value::Object(
                                named
                                    .iter()
                                    .map(|(n, s)| (n.clone(), type_shape(s)))
                                    .collect(),
                            ),
                            other => other.clone(),
                        },
                        // Data, not schemas.
                        "enum" | "const" | "default" | "example" | "examples" | "required" => {
                            v.clone()
                        }
                        _ => type_shape(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(type_shape).collect()),
        other => other.clone(),
    }
}

/// Names no nested type may take: the fixed root names every operation module exports, and
/// prelude/std names the generated code (validators included) uses unqualified.
const RESERVED_TYPE_NAMES: [&str; 14] = [
    "Params",
    "RequestBody",
    "Response",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "Self",
    "Value",
];

/// A PascalCase identifier of ASCII letters and digits (empty when `raw` has none).
pub fn pascal_words(raw: &str) -> String {
    raw.to_pascal_case()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// An identifier; whatever `name` holds (names come from the spec), the result is one: other
/// characters become `_`, and a leading digit gets a `_` before it.
pub fn ident(name: &str) -> Ident {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    Ident::new(&s, Span::call_site())
}

/// A Rust field name for a JSON property (the JSON name is kept by a serde rename when they
/// differ).
fn field_ident(json_name: &str) -> String {
    let snake = super::model::snake_words(json_name);
    if snake.is_empty() || snake.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("field_{snake}").trim_end_matches('_').to_string();
    }
    if matches!(snake.as_str(), "self" | "crate" | "super" | "extra") {
        return format!("{snake}_");
    }
    snake
}

fn field_ident_tokens(name: &str) -> Ident {
    if super::model::is_keyword(name) && !matches!(name, "rt" | "server" | "validate") {
        Ident::new_raw(name, Span::call_site())
    } else {
        ident(name)
    }
}

/// Rustdoc attributes from a spec description. Leading indentation is dropped and fences get
/// a `text` tag, so no description can turn into a doctest; lines continuing a list item are
/// indented under it (clippy's `doc_lazy_continuation`), tabs become spaces.
pub fn doc_attrs(text: &str) -> TokenStream {
    let cleaned = clean_markup(text).replace('\t', "    ");
    let mut out = TokenStream::new();
    // The indentation of the list item being continued, if any.
    let mut list_indent: Option<usize> = None;
    let mut in_fence = false;
    for raw in cleaned.trim().lines() {
        let mut line = raw.trim_start().to_string();
        if line.starts_with("```") {
            if !in_fence {
                line = "```text".to_string();
            }
            in_fence = !in_fence;
            list_indent = None;
        } else if in_fence {
            line = raw.trim_end().to_string();
        } else if line.is_empty() {
            list_indent = None;
        } else if let Some(marker) = list_marker(&line) {
            list_indent = Some(marker);
        } else if let Some(n) = list_indent {
            line.insert_str(0, &" ".repeat(n));
        }
        if !in_fence && !line.starts_with("```") {
            line = link_bare_urls(&line);
        }
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        out.extend(quote!(#[doc = #line]));
    }
    out
}

/// Wraps bare `http(s)://` URLs in `<…>` (rustdoc's `bare_urls`), leaving those already in a
/// link, an autolink or inline code alone.
fn link_bare_urls(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(at) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let before = &rest[..at];
        out.push_str(before);
        let preceding = out.chars().next_back();
        let in_code = out.matches('`').count() % 2 == 1;
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | '`'))
            .map_or(rest.len(), |i| at + i);
        let mut url = &rest[at..end];
        url = url.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let end = at + url.len();
        if in_code || matches!(preceding, Some('<' | '(')) || before.ends_with("]: ") {
            out.push_str(url);
        } else {
            out.push('<');
            out.push_str(url);
            out.push('>');
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The width of a Markdown list marker starting `line` (`- `, `* `, `+ `, `12. `).
fn list_marker(line: &str) -> Option<usize> {
    if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("+ ") {
        return Some(2);
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    (digits > 0 && line[digits..].starts_with(". ")).then_some(digits + 2)
}

/// Removes site-generator shortcodes (`{{% added-in v="1.18" %}}`) from upstream descriptions.
pub fn clean_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether clippy's `enum_variant_names` would fire: three or more variants sharing their
/// first or last camel-case word, or a variant starting or ending with the enum's name.
fn variant_names_repeat<'a>(enum_name: &str, variants: impl Iterator<Item = &'a str>) -> bool {
    fn words(s: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in s.chars() {
            match out.last_mut() {
                Some(w) if !c.is_ascii_uppercase() => w.push(c),
                _ => out.push(c.to_string()),
            }
        }
        out
    }
    let variants: Vec<&str> = variants.collect();
    if variants
        .iter()
        .any(|v| v.starts_with(enum_name) || v.ends_with(enum_name))
    {
        return true;
    }
    if variants.len() < 3 {
        return false;
    }
    let split: Vec<Vec<String>> = variants.iter().map(|v| words(v)).collect();
    let shared = |pick: fn(&Vec<String>) -> Option<&String>| {
        let first = pick(&split[0]);
        first.is_some() && split.iter().all(|w| pick(w) == first)
    };
    shared(|w| w.first()) || shared(|w| w.last())
}

/// A `oneOf`/`anyOf` whose branches a `discriminator` tells apart: the tag property and,
/// per branch, the tag value, the branch's name and schema.
pub struct Discriminated<'a> {
    pub property: &'a str,
    pub branches: Vec<(String, String, &'a Value)>,
}

/// The branches of `schema` by discriminator value, when every branch is a named component
/// (its name, or the `mapping` entry pointing at it, is the tag value).
pub fn discriminated(schema: &Value) -> Option<Discriminated<'_>> {
    let property = schema.pointer("/discriminator/propertyName")?.as_str()?;
    let list = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))?
        .as_array()?;
    let mapping = schema
        .pointer("/discriminator/mapping")
        .and_then(Value::as_object);
    let mut branches = Vec::new();
    for branch in list {
        let name = branch.get(load::REF_NAME)?.as_str()?;
        let key = branch
            .get(load::REF_KEY)
            .and_then(Value::as_str)
            .unwrap_or("");
        let mapped: Vec<String> = mapping
            .into_iter()
            .flatten()
            .filter(|(_, target)| {
                target.as_str().is_some_and(|t| {
                    t == name
                        || (t.contains('#') && key.ends_with(t.rsplit('#').next().unwrap_or(t)))
                        || t.rsplit('/').next() == Some(name)
                })
            })
            .map(|(tag, _)| tag.clone())
            .collect();
        if mapped.is_empty() {
            branches.push((name.to_string(), name.to_string(), branch));
        } else {
            for tag in mapped {
                branches.push((tag, name.to_string(), branch));
            }
        }
    }
    (!branches.is_empty()).then_some(Discriminated { property, branches })
}

fn types_of(schema: &Value) -> (Vec<String>, bool) {
    let mut nullable = false;
    let list: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => {
            if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
                vec!["object".into()]
            } else if schema.get("items").is_some() || schema.get("prefixItems").is_some() {
                vec!["array".into()]
            } else {
                vec![]
            }
        }
    };
    let list = list
        .into_iter()
        .filter(|t| {
            if t == "null" {
                nullable = true;
                false
            } else {
                true
            }
        })
        .collect();
    (list, nullable)
}

impl TypeGen {
    pub fn new() -> Self {
        Self::default()
    }

    /// The crate-wide generator: names written as `crate::types::Name`, and the components
    /// that recur (any schema in `roots` holding a recursion stub) known in advance.
    pub fn for_crate<'a>(roots: impl IntoIterator<Item = &'a Value>) -> Self {
        fn stubs(v: &Value, out: &mut BTreeSet<String>) {
            match v {
                Value::Object(m) => {
                    if m.contains_key(load::REF_CYCLE)
                        && let Some(Value::String(k)) = m.get(load::REF_KEY)
                    {
                        out.insert(k.clone());
                    }
                    m.values().for_each(|v| stubs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| stubs(v, out)),
                _ => {}
            }
        }
        let mut recursive = BTreeSet::new();
        for r in roots {
            stubs(r, &mut recursive);
        }
        Self {
            qualify: true,
            recursive,
            ..Self::default()
        }
    }

    /// All collected definitions in first-use order.
    pub fn into_tokens(self) -> TokenStream {
        let mut defs = self.defs;
        let mut out = TokenStream::new();
        for name in self.order {
            if let Some((_, t)) = defs.remove(&name) {
                out.extend(t);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// The named types mentioned since the last call, with every type they mention in turn,
    /// each with the name an operation module re-exports it under: its own, or without the
    /// numeric suffix when no other type in the set has that base name.
    pub fn take_used(&mut self) -> Vec<(String, String)> {
        let mut all = BTreeSet::new();
        let mut queue: Vec<String> = std::mem::take(&mut self.used).into_iter().collect();
        while let Some(n) = queue.pop() {
            if all.insert(n.clone())
                && let Some(d) = self.deps.get(&n)
            {
                queue.extend(d.iter().cloned());
            }
        }
        let base_of = |n: &String| self.bases.get(n).cloned().unwrap_or_else(|| n.clone());
        all.iter()
            .map(|n| {
                let base = base_of(n);
                let unique = base != *n
                    && !all.contains(&base)
                    && all.iter().filter(|m| base_of(m) == base).count() == 1;
                (n.clone(), if unique { base } else { n.clone() })
            })
            .collect()
    }

    /// A use of the named type `name`: recorded (dependencies, re-exports) and qualified.
    fn reference(&mut self, name: &str) -> TokenStream {
        match self.defining.last() {
            Some(outer) => {
                self.deps
                    .entry(outer.clone())
                    .or_default()
                    .insert(name.to_string());
            }
            None => {
                self.used.insert(name.to_string());
            }
        }
        let id = ident(name);
        if self.qualify {
            quote!(crate::types::#id)
        } else {
            quote!(#id)
        }
    }

    /// A field's type: a component that contains itself is boxed there (not inside a
    /// `Vec` or map, which already give the indirection).
    fn field_type(&mut self, prop: &Value, hint: &str) -> TokenStream {
        let ty = self.type_for(prop, hint);
        if let Some(Value::String(key)) = prop.get(load::REF_KEY)
            && self.recursive.contains(key)
            && let Some(name) = self.components.get(key)
        {
            let id = ident(name);
            let named = if self.qualify {
                quote!(crate::types::#id)
            } else {
                quote!(#id)
            };
            if ty.to_string() == named.to_string() {
                return quote!(Box<#named>);
            }
            if ty.to_string() == quote!(Option<#named>).to_string() {
                return quote!(Option<Box<#named>>);
            }
        }
        ty
    }

    /// The Rust type for `schema`; named types are registered under `hint` (or the title).
    pub fn type_for(&mut self, schema: &Value, hint: &str) -> TokenStream {
        if schema.get(load::REF_CYCLE).is_some() {
            // Where a component recurses: its name (given when its definition began).
            let name = schema
                .get(load::REF_KEY)
                .and_then(Value::as_str)
                .and_then(|k| self.components.get(k))
                .cloned();
            return match name {
                Some(name) => self.reference(&name),
                None => quote!(serde_json::Value),
            };
        }
        if let Some(branches) = discriminated(schema) {
            return self.tagged_enum(schema, &branches, hint);
        }
        let (types, nullable) = types_of(schema);
        let inner = if types.len() == 1 {
            self.single_type(&types[0], schema, hint)
        } else {
            quote!(serde_json::Value)
        };
        if nullable && types.len() == 1 {
            quote!(Option<#inner>)
        } else {
            inner
        }
    }

    fn single_type(&mut self, ty: &str, schema: &Value, hint: &str) -> TokenStream {
        match ty {
            "string" => {
                if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                    // `null` in the list belongs to the nullable wrapper, not to the enum.
                    let values: Vec<&str> = values
                        .iter()
                        .filter(|v| !v.is_null())
                        .filter_map(Value::as_str)
                        .collect();
                    let all_strings = schema
                        .get("enum")
                        .and_then(Value::as_array)
                        .is_some_and(|vs| vs.iter().all(|v| v.is_string() || v.is_null()));
                    if all_strings && !values.is_empty() {
                        return self.string_enum(schema, &values, hint);
                    }
                }
                if schema.get("format").and_then(Value::as_str) == Some("binary") {
                    // Raw bytes (a file in a multipart form), not text.
                    return quote!(crate::rt::binary::Binary);
                }
                quote!(String)
            }
            "integer" => match schema.get("format").and_then(Value::as_str) {
                Some("int8") => quote!(i8),
                Some("int16") => quote!(i16),
                Some("int32") => quote!(i32),
                Some("uint8") => quote!(u8),
                Some("uint16") => quote!(u16),
                Some("uint32") => quote!(u32),
                Some("uint64") => quote!(u64),
                _ => quote!(i64),
            },
            "number" => quote!(f64),
            "boolean" => quote!(bool),
            "array" => {
                if let Some(tuple) = schema
                    .get("prefixItems")
                    .and_then(Value::as_array)
                    .filter(|t| !t.is_empty())
                {
                    // A tuple-form array (`items: [a, b]` in draft 4) is one Rust tuple; with
                    // a schema for further items as well it stays a list of values.
                    if schema
                        .get("items")
                        .is_some_and(|i| *i != Value::Bool(false))
                    {
                        return quote!(Vec<serde_json::Value>);
                    }
                    let parts: Vec<TokenStream> = tuple
                        .iter()
                        .enumerate()
                        .map(|(i, s)| self.type_for(s, &format!("{hint}Item{i}")))
                        .collect();
                    quote!((#(#parts,)*))
                } else if let Some(items) = schema.get("items") {
                    let item = self.type_for(items, &format!("{hint}Item"));
                    quote!(Vec<#item>)
                } else {
                    quote!(Vec<serde_json::Value>)
                }
            }
            "object" => self.object(schema, hint),
            _ => quote!(serde_json::Value),
        }
    }

    /// The type for an operation's root schema: named after its title or component, else
    /// `{operation}{kind}` (`BindRequestBody`), which the operation module aliases to `kind`.
    pub fn root(&mut self, schema: &Value, kind: &str, operation: &str) -> TokenStream {
        self.type_for(schema, &format!("{}{kind}", pascal_words(operation)))
    }

    fn name_for(&self, schema: &Value, hint: &str) -> String {
        let mut name = [schema.get("title"), schema.get(load::REF_NAME)]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(pascal_words)
            .find(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
            .unwrap_or_else(|| pascal_words(hint));
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            name.insert_str(0, "Type");
        }
        if RESERVED_TYPE_NAMES.contains(&name.as_str()) {
            name.push_str("Object");
        }
        name
    }

    /// Claims a name for the shape `schema`: an identical shape under the same name is
    /// shared (`false`: already defined or being defined), a different one gets the first
    /// free numeric suffix. A component's reference is tied to the name at once, so its
    /// recursion stubs resolve while its fields are built.
    fn reserve(&mut self, base: String, schema: &Value) -> (String, bool) {
        let key = core_key(schema);
        // A shape without a name of its own is the same type wherever it occurs.
        let anonymous = schema.get("title").is_none() && schema.get(load::REF_NAME).is_none();
        if anonymous && let Some(name) = self.anonymous.get(&key) {
            return (name.clone(), false);
        }
        let mut n = 1;
        let (name, fresh) = loop {
            let name = if n == 1 {
                base.clone()
            } else {
                format!("{base}{n}")
            };
            match self.defs.get(&name) {
                Some((existing, _)) if *existing == key => break (name, false),
                Some(_) => n += 1,
                None => {
                    self.defs
                        .insert(name.clone(), (key.clone(), TokenStream::new()));
                    self.order.push(name.clone());
                    self.bases.insert(name.clone(), base.clone());
                    break (name, true);
                }
            }
        };
        if anonymous {
            self.anonymous.entry(key).or_insert_with(|| name.clone());
        }
        if let Some(Value::String(k)) = schema.get(load::REF_KEY) {
            self.components
                .entry(k.clone())
                .or_insert_with(|| name.clone());
        }
        (name, fresh)
    }

    fn define(&mut self, name: &str, tokens: TokenStream) {
        if let Some(entry) = self.defs.get_mut(name) {
            entry.1 = tokens;
        }
    }

    /// `oneOf`/`anyOf` of named objects with a `discriminator`: an enum with one variant per
    /// branch, serialised as the branch is (its own tag property included), deserialised by
    /// the tag's value.
    fn tagged_enum(
        &mut self,
        schema: &Value,
        branches: &Discriminated<'_>,
        hint: &str,
    ) -> TokenStream {
        let base = self.name_for(schema, hint);
        let (name, fresh) = self.reserve(base, schema);
        if fresh {
            self.defining.push(name.clone());
            let id = ident(&name);
            let docs = doc_attrs(
                schema
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            );
            let mut variants = Vec::new();
            let mut arms = Vec::new();
            for (tag, branch_name, branch) in &branches.branches {
                let v = ident(&pascal_words(branch_name));
                let ty = self.type_for(branch, &format!("{name}{}", pascal_words(branch_name)));
                variants.push(quote!(#v(#ty),));
                arms.push(quote! {
                    Some(#tag) => serde_json::from_value(v).map(Self::#v).map_err(serde::de::Error::custom),
                });
            }
            let property = branches.property;
            let unknown = format!("`{property}` names none of the schemas of this value");
            self.define(
                &name,
                quote! {
                    #docs
                    #[derive(Debug, Clone, PartialEq, serde::Serialize)]
                    #[serde(untagged)]
                    pub enum #id { #(#variants)* }
                    impl<'de> serde::Deserialize<'de> for #id {
                        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                            let v = serde_json::Value::deserialize(d)?;
                            match v.get(#property).and_then(serde_json::Value::as_str) {
                                #(#arms)*
                                _ => Err(serde::de::Error::custom(#unknown)),
                            }
                        }
                    }
                },
            );
            self.defining.pop();
        }
        self.reference(&name)
    }

    fn string_enum(&mut self, schema: &Value, values: &[&str], hint: &str) -> TokenStream {
        let base = self.name_for(schema, hint);
        let docs = doc_attrs(
            schema
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        let mut used = BTreeSet::new();
        let mut variants: Vec<(String, String)> = Vec::new();
        for v in values {
            let mut name = pascal_words(v);
            if name.is_empty() {
                name = "Empty".into();
            } else if name.starts_with(|c: char| c.is_ascii_digit()) || name == "Self" {
                name.insert(0, 'V');
            }
            let mut unique = name.clone();
            let mut n = 2;
            while !used.insert(unique.clone()) {
                unique = format!("{name}{n}");
                n += 1;
            }
            if !variants.iter().any(|(json, _)| json == v) {
                variants.push(((*v).to_string(), unique));
            }
        }
        let allow = if variant_names_repeat(&base, variants.iter().map(|(_, v)| v.as_str())) {
            quote!(#[allow(clippy::enum_variant_names, reason = "variant names follow the wire values")])
        } else {
            quote!()
        };
        let variants: Vec<(String, Ident)> =
            variants.into_iter().map(|(j, v)| (j, ident(&v))).collect();
        let (name, fresh) = self.reserve(base, schema);
        if fresh {
            let id = ident(&name);
            let vs = variants
                .iter()
                .map(|(json, v)| quote!(#[serde(rename = #json)] #v,));
            let arms = variants.iter().map(|(json, v)| quote!(Self::#v => #json,));
            let tokens = quote! {
                #docs
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
                #allow
                pub enum #id { #(#vs)* }
                impl #id {
                    /// The value as it appears on the wire.
                    pub fn as_str(self) -> &'static str {
                        match self { #(#arms)* }
                    }
                }
            };
            self.define(&name, tokens);
        }
        self.reference(&name)
    }

    fn object(&mut self, schema: &Value, hint: &str) -> TokenStream {
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let extra_ty: Option<TokenStream> = match additional {
            Some(Value::Bool(true)) => Some(quote!(serde_json::Map<String, serde_json::Value>)),
            Some(Value::Bool(false)) | None => None,
            Some(s) => {
                let base = self.name_for(schema, hint);
                let t = self.type_for(s, &format!("{base}Value"));
                Some(quote!(std::collections::BTreeMap<String, #t>))
            }
        };
        let Some(props) = props.filter(|p| !p.is_empty()) else {
            return match (additional, extra_ty) {
                (Some(Value::Bool(false)), _) => {
                    let base = self.name_for(schema, hint);
                    let docs = doc_attrs(
                        schema
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                    );
                    let (name, fresh) = self.reserve(base, schema);
                    if fresh {
                        let id = ident(&name);
                        self.define(
                            &name,
                            quote! {
                                #docs
                                #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
                                pub struct #id {}
                            },
                        );
                    }
                    self.reference(&name)
                }
                (_, Some(t)) => t,
                (_, None) => quote!(serde_json::Map<String, serde_json::Value>),
            };
        };
        let base = self.name_for(schema, hint);
        let (name, fresh) = self.reserve(base, schema);
        if !fresh {
            return self.reference(&name);
        }
        self.defining.push(name.clone());
        let base = name.clone();
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        let mut used = BTreeSet::new();
        for (json_name, prop) in props {
            let name = field_ident(json_name);
            let mut unique = name.clone();
            let mut n = 2;
            while !used.insert(unique.clone()) {
                unique = format!("{name}_{n}");
                n += 1;
            }
            let fid = field_ident_tokens(&unique);
            let ty = self.field_type(prop, &format!("{base}{}", pascal_words(json_name)));
            let mut docs = prop
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if prop.get("deprecated").and_then(Value::as_bool) == Some(true) {
                docs.push_str("\n\n**Deprecated** in the specification.");
            }
            let docs = doc_attrs(&docs);
            let is_required = required.contains(&json_name.as_str());
            let already_option = ty.to_string().starts_with("Option <");
            let mut serde_args = Vec::new();
            if unique != *json_name {
                serde_args.push(quote!(rename = #json_name));
            }
            if !is_required {
                serde_args.push(quote!(default, skip_serializing_if = "Option::is_none"));
            }
            let serde_attr = if serde_args.is_empty() {
                quote!()
            } else {
                quote!(#[serde(#(#serde_args),*)])
            };
            let ty = if is_required || already_option {
                ty
            } else {
                quote!(Option<#ty>)
            };
            let field = quote!(#docs #serde_attr pub #fid: #ty,);
            fields.push(field);
        }
        if let Some(t) = &extra_ty {
            fields.push(quote! {
                /// Properties beyond the named ones, kept as sent.
                #[serde(flatten)]
                pub extra: #t,
            });
        }
        let docs = doc_attrs(
            schema
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        let id = ident(&name);
        self.define(
            &name,
            quote! {
                #docs
                #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
                pub struct #id { #(#fields)* }
            },
        );
        self.defining.pop();
        self.reference(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(schema: Value, hint: &str) -> String {
        let mut g = TypeGen::new();
        let ty = g.root(&schema, hint, "");
        let defs = g.into_tokens();
        let file: syn::File = match syn::parse2(quote!(pub type Root = #ty; #defs)) {
            Ok(f) => f,
            Err(e) => return format!("parse error: {e}"),
        };
        prettyplease::unparse(&file)
    }

    #[test]
    fn object_with_optional_nullable_map_and_extra() {
        let out = render(
            json!({"type": "object", "additionalProperties": true, "required": ["medium"],
                   "properties": {"medium": {"type": "string"},
                                  "ts": {"type": ["integer", "null"], "format": "int64"},
                                  "type": {"type": "string", "enum": ["a-b", "c"]},
                                  "sigs": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}},
                                  "pairs": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}]},
                                  "key": {"title": "PublicKey", "type": "object", "properties": {"public_key": {"type": "string"}}, "required": ["public_key"]}}}),
            "Payload",
        );
        expect_contains(
            &out,
            &[
                "pub struct Payload {",
                "pub medium: String,",
                "pub ts: Option<i64>,",
                "pub r#type: Option<PayloadType>,",
                "pub sigs: Option<\n        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,\n    >,",
                "pub pairs: Option<(String, String)>,",
                "pub key: Option<PublicKey>,",
                "#[serde(flatten)]\n    pub extra: serde_json::Map<String, serde_json::Value>,",
                "pub enum PayloadType {",
                "#[serde(rename = \"a-b\")]\n    AB,",
            ],
        );
    }

    fn expect_contains(out: &str, needles: &[&str]) {
        for n in needles {
            assert!(out.contains(n), "missing {n:?} in:\n{out}");
        }
    }

    #[test]
    fn clashing_titles_get_suffixes_and_equal_shapes_are_shared() {
        let mut g = TypeGen::new();
        let a = g.type_for(
            &json!({"title": "K", "type": "object", "properties": {"a": {"type": "string"}}}),
            "X",
        );
        let b = g.type_for(
            &json!({"title": "K", "type": "object", "properties": {"b": {"type": "string"}}}),
            "Y",
        );
        let c = g.type_for(
            &json!({"title": "K", "type": "object", "properties": {"a": {"type": "string"}}}),
            "Z",
        );
        assert_eq!(a.to_string(), "K");
        assert_eq!(b.to_string(), "K2");
        assert_eq!(c.to_string(), "K");
    }

    #[test]
    fn names_are_rust_identifiers_and_unique() {
        let out = render(
            json!({"type": "object", "properties": {
                "fooBar": {"type": "string"}, "foo_bar": {"type": "string"}, "$ref": {"type": "string"},
                "self": {"type": "string"}, "9lives": {"type": "string"},
                "inner": {"title": "Result", "type": "object", "properties": {"a": {"type": "string"}}},
                "kind": {"type": ["string", "null"], "enum": ["a-b", "a_b", "Self", "", null]},
                "login": {"type": "string", "enum": ["m.login.x", "m.login.y", "m.login.z"]}}}),
            "Answer",
        );
        expect_contains(
            &out,
            &[
                "pub struct Answer {",
                "pub foo_bar: Option<String>,",
                "#[serde(rename = \"foo_bar\", default, skip_serializing_if = \"Option::is_none\")]\n    pub foo_bar_2: Option<String>,",
                "pub r#ref: Option<String>,",
                "pub self_: Option<String>,",
                "pub field_9lives: Option<String>,",
                // A title that would shadow `Result` in the module is renamed.
                "pub inner: Option<ResultObject>,",
                "pub kind: Option<AnswerKind>,",
                "AB,",
                "AB2,",
                "VSelf,",
                "Empty,",
                "MLoginX,",
                "#[allow(clippy::enum_variant_names, reason = \"variant names follow the wire values\")]\npub enum AnswerLogin {",
            ],
        );
    }

    #[test]
    fn components_are_named_once_and_recursion_is_boxed() {
        let node = json!({"x-oxident-ref": "f#/definitions/Node", "x-oxident-name": "Node",
            "type": "object", "properties": {
                "next": {"x-oxident-ref": "f#/definitions/Node", "x-oxident-name": "Node", "x-oxident-cycle": true},
                "children": {"type": "array", "items": {"x-oxident-ref": "f#/definitions/Node", "x-oxident-name": "Node", "x-oxident-cycle": true}}}});
        let mut g = TypeGen::for_crate([&node]);
        let a = g.root(&node, "Response", "first");
        let b = g.root(&node, "Response", "second");
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(a.to_string(), "crate :: types :: Node");
        let used = g.take_used();
        assert_eq!(used, vec![("Node".to_string(), "Node".to_string())]);
        let defs = g.into_tokens().to_string();
        assert!(
            defs.contains("pub next : Option < Box < crate :: types :: Node > >"),
            "{defs}"
        );
        assert!(
            defs.contains("pub children : Option < Vec < crate :: types :: Node > >"),
            "{defs}"
        );
        assert_eq!(defs.matches("pub struct").count(), 1);
    }

    #[test]
    fn untitled_shapes_are_one_type() {
        let shape = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let mut g = TypeGen::new();
        let a = g.root(&shape, "Params", "one");
        let b = g.root(&shape, "Params", "two");
        assert_eq!(a.to_string(), "OneParams");
        assert_eq!(b.to_string(), "OneParams");
    }

    #[test]
    fn bare_urls_become_autolinks() {
        assert_eq!(
            link_bare_urls(
                "see \"https://a.org/t.html\", https://b.org. [x](https://c.org) <https://d.org> `https://e.org`"
            ),
            "see \"<https://a.org/t.html>\", <https://b.org>. [x](https://c.org) <https://d.org> `https://e.org`"
        );
    }

    #[test]
    fn list_continuations_are_indented() {
        let docs = doc_attrs("Either:\n- one, or\nstill one\n\nafter").to_string();
        assert!(docs.contains("\" - one, or\""));
        assert!(docs.contains("\"   still one\""));
        assert!(docs.contains("\" after\""));
    }

    #[test]
    fn descriptions_cannot_become_doctests() {
        let docs =
            doc_attrs("Intro {{% added-in v=\"1.2\" %}}\n\n    indented code\n```json\n{}\n```");
        let s = docs.to_string();
        assert!(!s.contains("added-in"));
        assert!(s.contains("\" indented code\""));
        assert!(s.contains("```text"));
    }
}
