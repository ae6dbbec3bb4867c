//! Model → the files of the generated crate: one module per spec file, one per operation
//! (types + validators + facts), the handler trait and router, and the operation registry.
//!
//! Per operation: `Params`/`RequestBody`/`Response` types, validators (a part whose schema has a
//! shared validator re-exports it: `pub use crate::shared::validate_error as
//! validate_response_404;`) and `Op`, whose `rt::Operation` impl is the one place the operation's
//! facts are written: id, method, path, deprecation, security, responses with their validators,
//! parameter and form typing, body mode, and the validators as consts of fn-pointer type (`const
//! VALIDATE_BODY: crate::rt::Validator = validate_body;`). One generic, unit-tested
//! `rt::server::accept::<Op>` does the wire work of every operation: there are no per-operation
//! handler bodies.
//!
//! The crate's other files: `server.rs` (below); `validate.rs`, the registry by operationId (one
//! `OperationInfo::of::<…::Op>(name, file)` per operation); `types.rs` (`emit_types`); `shared.rs`,
//! one validator per shape that occurs more than once in the emitted code (roots such as the error
//! body in ~90 responses, and objects or alternatives nested anywhere) plus every recursive
//! component, whose root helper `x_n0`, generic over the sink, operations' validators and other
//! shared ones call (scalars and arrays of scalars stay inline, cheaper than a call); `lib.rs`,
//! `pub use oxident_rt as rt;` and the modules. A module holding emitted validators starts with
//! `emit_validators::module_prelude()` (`use crate::rt::validate as rt;` and the lint allows).
//!
//! `server.rs` holds one trait per spec file (`AssociationsApi`, `V2LookupApi`, …) with one async
//! method per operation (typed arguments, the request context by reference) and an associated `type
//! Error: From<rt::Rejection> + IntoResponse`, the API's wire shape: the runtime's refusals of that
//! file's operations become an `Error` and are written as the implementation's own errors are. Each
//! method returns `impl rt::server::Answer<Response, Self::Error>`, a `Send` future of the result,
//! so implementations are plain `async fn`s. `trait OxidentApi` is all of them, plus the provided
//! `write_rejection` for refusals no operation owns (404, 405, an undecodable path parameter), by
//! default through the first file's `Error`.
//!
//! `route(method, path)` finds a request's operation: one `match` on the literal paths, an arm per
//! path giving each method's `Route`, then `rt::server::find_route`, which picks the method's route
//! or tries the static `TEMPLATED` table, one row per path, most literal segments first (axum's
//! precedence). A sorted table searched at run time instead of the `match` cost a status request
//! ~100 instructions: rustc compiles the `match` to length tests and inlined comparisons with the
//! constants. An unknown path is a 404, a known path with another method a 405 with an `Allow`
//! header the runtime lists from the path's methods (HEAD beside GET, OPTIONS everywhere), both
//! `Rejection`s; a GET route answers HEAD. `dispatch(&api, request, peer)` routes, then calls
//! `rt::server::handle` (through `serve_json`/`serve_raw`/`serve_text`, which take the request as
//! one `Routed`) with the operation's `Op` and a closure calling the trait method, as one boxed
//! future; each arm is one line, `Route::BindV2 => call!(serve_json, v2_associations::bind_v2,
//! body),`, the closure written once in a local `call!` macro. `router(api)` is an axum `Router`
//! with `dispatch` as its fallback, for services that mount the API beside their own routes;
//! Oxident's server calls `dispatch` directly, because axum's router cost a boxed route clone, a
//! boxed handler future and a URL-params extension per request, and moving its futures through the
//! layers was the largest user-space cost of a status request (docs/benchmarks.md).
//!
//! Where serde's derive checks a body schema exactly (all properties required and plain: a string,
//! boolean, number or `int64`, or an unconstrained array of those; `typed_decode_is_exact` decides,
//! 11 operations today, v2 lookup among them), the handler parses the body straight into its type
//! (`BodyMode::Typed`, `rt::server::read_typed_body`), and only a body serde refuses takes the
//! validating path, for the validator's error: no `Value` tree for the valid case
//! (`generated/tests/typed_bodies.rs` checks both paths agree). The parsed JSON is dropped once
//! decoded, except for operations marked `x-keep-raw-body: true` in the spec (unbind: a
//! homeserver's signature covers the exact body), which get it in `RequestContext::body`.

use super::emit_types::{TypeGen, doc_attrs, ident};
use super::emit_validators::{
    PRELUDE_NAMES, SharedIndex, emit_validator_with, module_prelude, subschemas, validation_key,
    worth_sharing,
};
use super::load;
use super::model::{Operation, ParamLocation, Spec, SpecFile};
use anyhow::{Context, Result, bail};
use heck::ToPascalCase;
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const HEADER: &str = "// @generated by cargo xtask codegen — do not edit.";

pub fn render(tokens: TokenStream, what: &str) -> Result<String> {
    let file: syn::File =
        syn::parse2(tokens).with_context(|| format!("emitted code for {what} does not parse"))?;
    Ok(space_items(&prettyplease::unparse(&file)))
}

/// prettyplease puts no blank lines between items; this puts one before every top-level
/// (column 0) item, its doc comment or its attributes — except between consecutive one-line
/// items (`pub mod a;` / `pub mod b;`), which read better as a block — and before items one
/// level in (trait methods, the router's handlers) that follow the end of another.
pub fn space_items(code: &str) -> String {
    const NESTED: [&str; 5] = ["    ///", "    #[", "    pub ", "    fn ", "    async fn "];
    let level_one = |l: &str| l.starts_with("    ") && !l.starts_with("     ");
    const STARTS: [&str; 14] = [
        "pub ",
        "pub(",
        "#[",
        "///",
        "fn ",
        "async fn ",
        "impl",
        "mod ",
        "const ",
        "static ",
        "struct ",
        "enum ",
        "type ",
        "trait ",
    ];
    let mut out = String::with_capacity(code.len() + code.len() / 16);
    let mut prev: Option<&str> = None;
    for line in code.lines() {
        if let Some(p) = prev {
            let starts_item = STARTS.iter().any(|s| line.starts_with(s));
            // A doc line, an attribute, or the `)]` closing a multi-line attribute.
            let prev_is_preamble = p.starts_with("///")
                || p.starts_with("#[")
                || (!p.starts_with(char::is_whitespace) && p.ends_with(']'));
            let one_liners = !p.starts_with(char::is_whitespace)
                && p.ends_with(';')
                && line.ends_with(';')
                && !line.starts_with("///")
                && !line.starts_with("#[");
            let nested = NESTED.iter().any(|s| line.starts_with(s))
                && level_one(p)
                && (p == "    }" || p.ends_with(';'));
            if (starts_item && !p.is_empty() && !prev_is_preamble && !one_liners) || nested {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        prev = Some(line);
    }
    out
}

/// The module-level import emitted validators need, if `validators` holds any (a part
/// that only calls a shared validator needs none).
fn validator_prelude(validators: &TokenStream) -> TokenStream {
    if validators.to_string().contains("S : Sink") {
        module_prelude()
    } else {
        TokenStream::new()
    }
}

fn with_header(body: &str, source: &str) -> String {
    // prettyplease already formatted it; rustfmt would only churn, so it is told to skip.
    format!("{HEADER}\n// Source: {source}\n#![cfg_attr(rustfmt, rustfmt::skip)]\n{body}")
}

fn scalar_kind(schema: &Value) -> TokenStream {
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    };
    match ty {
        "integer" => quote!(crate::rt::ScalarKind::Integer),
        "number" => quote!(crate::rt::ScalarKind::Number),
        "boolean" => quote!(crate::rt::ScalarKind::Boolean),
        "string" if schema.get("format").and_then(Value::as_str) == Some("binary") => {
            quote!(crate::rt::ScalarKind::Binary)
        }
        _ => quote!(crate::rt::ScalarKind::String),
    }
}

/// `PARAM_KINDS`: each parameter's typing; an array's items typed by their schema, with
/// the delimiter its values are joined with (`None`: one parameter per value).
fn param_kinds(op: &Operation) -> TokenStream {
    let mut params: Vec<&super::model::Param> = op.params.iter().collect();
    params.sort_by(|a, b| a.name.cmp(&b.name));
    let entries = params
        .into_iter()
        .filter(|p| {
            op.params_schema()
                .and_then(|s| {
                    s.pointer(&format!(
                        "/properties/{}",
                        p.name.replace('~', "~0").replace('/', "~1")
                    ))
                    .cloned()
                })
                .is_some()
        })
        .map(|p| {
            let name = &p.name;
            let is_array = match p.schema.get("type") {
                Some(Value::String(t)) => t == "array",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "array"),
                _ => false,
            };
            let kind = if is_array {
                let item = scalar_kind(p.schema.get("items").unwrap_or(&Value::Null));
                let delimiter = match p.delimiter {
                    Some(c) => quote!(Some(#c)),
                    None => quote!(None),
                };
                quote!(crate::rt::ScalarKind::Array(&#item, #delimiter))
            } else {
                scalar_kind(&p.schema)
            };
            quote!((#name, #kind),)
        });
    quote!(&[#(#entries)*])
}

/// The names of the parameters of one location (headers, cookies).
fn names_in(op: &Operation, location: ParamLocation) -> Vec<String> {
    let in_params = op.params_schema();
    op.params
        .iter()
        .filter(|p| p.location == location)
        .filter(|p| {
            in_params
                .as_ref()
                .and_then(|s| s.get("properties"))
                .is_some_and(|props| props.get(&p.name).is_some())
        })
        .map(|p| p.name.clone())
        .collect()
}

fn kinds_table(schema: &Value) -> TokenStream {
    let entries = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            let kind = scalar_kind(s);
            quote!((#name, #kind),)
        });
    quote!(&[#(#entries)*])
}

/// A validator function name for a response key: `validate_response_200`, `..._4xx`.
pub fn response_fn(status: &str) -> String {
    format!("validate_response_{}", status.to_ascii_lowercase())
}

/// A part's validator in its operation module under the fixed name (`validate_body`, …): a
/// re-export from `crate::shared` (added to `reexports`, emitted before the module's own
/// validators) where the schema has a shared validator, else the validator itself.
fn part_validator(
    shared: &SharedValidators,
    name: &str,
    schema: &Value,
    reexports: &mut Vec<TokenStream>,
) -> Result<TokenStream> {
    let Some(shared_name) = shared.index().by_key.get(&validation_key(schema)) else {
        return shared.validator(name, schema);
    };
    let id = ident(name);
    let shared_id = ident(shared_name);
    reexports.push(if shared_name == name {
        quote!(#id)
    } else {
        quote!(#shared_id as #id)
    });
    Ok(TokenStream::new())
}

/// One operation module: its request/response types, its validators, and `Op`, whose
/// `rt::Operation` impl holds the operation's facts (id, method, path, responses, parameter
/// typing, body mode) for the dispatcher and the registry.
pub fn operation_module(
    file: &SpecFile,
    op: &Operation,
    shared: &SharedValidators,
    types: &mut TypeGen,
) -> Result<String> {
    let mut validators = TokenStream::new();
    let op_id = &op.operation_id;
    let method = op.method.to_ascii_uppercase();
    let path = &op.path;

    let mut head = format!("`{method} {path}` (`{op_id}`)");
    if !op.summary.is_empty() {
        head.push_str(&format!("\n\n{}", op.summary.trim()));
    }
    if op.deprecated {
        head.push_str("\n\n**Deprecated** in the specification.");
    }
    let module_doc: Vec<TokenStream> = head
        .lines()
        .map(|l| {
            let l = format!(" {}", l.trim_start());
            quote!(#![doc = #l])
        })
        .collect();

    // The module's items (type aliases) and the `rt::Operation` impl's, side by side.
    let mut items = TokenStream::new();
    let mut aliases: Vec<(&str, TokenStream)> = Vec::new();
    let mut reexports: Vec<TokenStream> = Vec::new();
    let mut op_items = TokenStream::new();
    if op.deprecated {
        op_items.extend(quote!(
            const DEPRECATED: bool = true;
        ));
    }
    if !op.security.is_empty() {
        op_items.extend(quote!(
            const AUTHENTICATED: bool = true;
        ));
    }
    let responses = op.responses.iter().map(|r| {
        let key = &r.status;
        if r.schema.is_some() {
            let f = ident(&response_fn(key));
            quote!((#key, Some(#f)),)
        } else {
            quote!((#key, None),)
        }
    });
    op_items.extend(quote! {
        const RESPONSES: crate::rt::Responses = &[#(#responses)*];
    });
    if let Some(params) = op.params_schema() {
        let ty = types.root(&params, "Params", &op.name);
        let kinds = param_kinds(op);
        validators.extend(part_validator(
            shared,
            "validate_params",
            &params,
            &mut reexports,
        )?);
        aliases.push(("Params", ty));
        op_items.extend(quote! {
            type Params = self::Params;
            const PARAM_KINDS: Option<crate::rt::Kinds> = Some(#kinds);
            const VALIDATE_PARAMS: crate::rt::Validator = validate_params;
        });
    } else {
        op_items.extend(quote!(
            type Params = ();
        ));
    }
    let headers = names_in(op, ParamLocation::Header);
    if !headers.is_empty() {
        op_items.extend(quote!(const HEADERS: &'static [&'static str] = &[#(#headers),*];));
    }
    let cookies = names_in(op, ParamLocation::Cookie);
    if !cookies.is_empty() {
        op_items.extend(quote!(const COOKIES: &'static [&'static str] = &[#(#cookies),*];));
    }
    if op.body.as_ref().is_some_and(|b| b.binary) {
        items.extend(quote! {
            /// The request body as sent (raw bytes, not JSON).
            pub type RequestBody = Vec<u8>;
        });
        op_items.extend(quote! {
            type Body = Vec<u8>;
            const BODY: crate::rt::BodyMode = crate::rt::BodyMode::Bytes;
            fn body_from_bytes(bytes: Vec<u8>) -> Option<Vec<u8>> {
                Some(bytes)
            }
        });
    } else if let Some(body) = &op.body {
        let ty = types.root(&body.schema, "RequestBody", &op.name);
        validators.extend(part_validator(
            shared,
            "validate_body",
            &body.schema,
            &mut reexports,
        )?);
        aliases.push(("RequestBody", ty));
        let mode = if op.keep_raw_body {
            quote!(KeepRaw)
        } else if typed_decode_is_exact(&body.schema) {
            quote!(Typed)
        } else {
            quote!(Validated)
        };
        op_items.extend(quote! {
            type Body = self::RequestBody;
            const BODY: crate::rt::BodyMode = crate::rt::BodyMode::#mode;
            const VALIDATE_BODY: crate::rt::Validator = validate_body;
        });
        if body.form || body.multipart {
            let kinds = kinds_table(&body.schema);
            op_items.extend(quote!(const FORM_KINDS: Option<crate::rt::Kinds> = Some(#kinds);));
        }
    } else {
        op_items.extend(quote!(
            type Body = ();
        ));
    }
    // The handler's success type: the first 2xx JSON body, else a raw (HTML/redirect) response.
    let success = op.success().and_then(|r| r.schema.as_ref().map(|s| (r, s)));
    let successes = op.json_successes();
    match success {
        Some(_) if !op.is_html() && successes.len() > 1 => {
            items.extend(success_enum(op, &successes, types));
        }
        Some((_, schema)) if !op.is_html() => {
            let ty = types.root(schema, "Response", &op.name);
            aliases.push(("Response", ty));
        }
        _ => items.extend(quote! {
            /// This operation answers with a page or a redirect rather than JSON.
            pub type Response = crate::rt::RawResponse;
        }),
    }
    if let Some(status) = op
        .success()
        .and_then(|r| r.numeric_status())
        .filter(|s| *s != 200)
    {
        op_items.extend(quote!(const SUCCESS: u16 = #status;));
    }
    for r in &op.responses {
        if let Some(schema) = &r.schema {
            validators.extend(part_validator(
                shared,
                &response_fn(&r.status),
                schema,
                &mut reexports,
            )?);
        }
    }
    // The named types this operation uses, under the names its module always had, and its
    // fixed names (`Params`, `RequestBody`, `Response`) for them: one `use` where the fixed
    // name is a named type's, a type alias otherwise (`Vec<…>`, `serde_json::Value`).
    let prelude = validator_prelude(&validators);
    let mut uses: Vec<TokenStream> = types
        .take_used()
        .into_iter()
        // The validator prelude's names win; such a type keeps its `crate::types::` path.
        .filter(|(_, local)| prelude.is_empty() || !PRELUDE_NAMES.contains(&local.as_str()))
        .map(|(name, local)| {
            let id = ident(&name);
            if name == local {
                quote!(#id)
            } else {
                let local = ident(&local);
                quote!(#id as #local)
            }
        })
        .collect();
    for (name, ty) in aliases {
        let named = syn::parse2::<syn::Path>(ty.clone()).ok().and_then(|p| {
            let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let plain = p.segments.iter().all(|s| s.arguments.is_none());
            (plain && segments.len() == 3 && segments[0] == "crate" && segments[1] == "types")
                .then(|| ident(&segments[2]))
        });
        let id = ident(name);
        match named {
            Some(named) => uses.push(quote!(#named as #id)),
            None => items.extend(alias(name, &ty)),
        }
    }
    let types = match uses.len() {
        0 => quote!(),
        1 => quote!(pub use crate::types::#(#uses)*;),
        _ => quote!(pub use crate::types::{#(#uses),*};),
    };
    // One line each: grouped in braces they take as many lines, names being long.
    let reexports = quote!(#(pub use crate::shared::#reexports;)*);
    let tokens = quote! {
        #(#module_doc)*
        #prelude
        #items
        #types
        /// This operation for code generic over operations (the dispatcher, the registry).
        pub struct Op;
        impl crate::rt::Operation for Op {
            type Response = self::Response;
            const OPERATION_ID: &'static str = #op_id;
            const METHOD: &'static str = #method;
            const PATH: &'static str = #path;
            #op_items
        }
        #reexports
        #validators
    };
    let rendered = render(tokens, op_id)?;
    Ok(with_header(&rendered, &file.rel_path))
}

/// `Response` of an operation that documents several JSON successes (`200` replaced, `201`
/// created): one variant per status, serialized as its body; the dispatcher answers with the
/// variant's status (`rt::Statuses`).
fn success_enum(
    op: &Operation,
    successes: &[&super::model::Response],
    types: &mut TypeGen,
) -> TokenStream {
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    for r in successes {
        let (Some(status), Some(schema)) = (r.numeric_status(), r.schema.as_ref()) else {
            continue;
        };
        let variant = quote::format_ident!("Status{status}");
        let ty = types.root(schema, &format!("Response{status}"), &op.name);
        let doc = format!(" `{status}`: {}", r.description.trim());
        variants.push(quote!(#[doc = #doc] #variant(#ty),));
        arms.push(quote!(Self::#variant(_) => #status,));
    }
    let doc = format!(
        " The successes `{}` documents; the variant is the status it answers with.",
        op.operation_id
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, serde::Serialize)]
        #[serde(untagged)]
        pub enum Response { #(#variants)* }
        impl crate::rt::Statuses for Response {
            fn status(&self) -> u16 {
                match self { #(#arms)* }
            }
        }
    }
}

/// A fixed name (`Params`, `RequestBody`, `Response`) for the root type, whatever its title,
/// so the router and implementations can always name it.
fn alias(name: &str, ty: &TokenStream) -> TokenStream {
    let id = ident(name);
    quote!(pub type #id = #ty;)
}

pub fn file_module(file: &SpecFile) -> Result<String> {
    let mods = file.operations.iter().map(|op| {
        let m = ident(&op.name);
        if op.name == file.module {
            quote! {
                #[allow(clippy::module_inception, reason = "the operation is named like its file")]
                pub mod #m;
            }
        } else {
            quote!(pub mod #m;)
        }
    });
    let title = if file.title.trim().is_empty() {
        format!(" `{}`", file.rel_path)
    } else {
        format!(" {} (`{}`)", file.title.trim(), file.rel_path)
    };
    let tokens = quote! {
        #![doc = #title]
        #(#mods)*
    };
    Ok(with_header(
        &render(tokens, &file.rel_path)?,
        &file.rel_path,
    ))
}

/// Validators for schemas that occur more than once in the emitted code (the error body
/// above all, and every component used in several places), emitted once in `shared.rs`;
/// operations' validators, and other shared ones, call them. Keyed by the schema's
/// structure ([`validation_key`]), so only identical schemas merge; a schema that contains
/// itself always gets one (the recursion goes through it).
#[derive(Debug, Default)]
pub struct SharedValidators {
    index: SharedIndex,
    schemas: Vec<(String, Value)>,
}

impl SharedValidators {
    pub fn collect(spec: &Spec) -> Self {
        // Occurrences in the code as it would be emitted with sharing: a shape seen before
        // is counted again, but its insides are not (they are emitted once, with it).
        fn visit<'s>(
            schema: &'s Value,
            root: bool,
            count: &mut BTreeMap<String, (usize, &'s Value)>,
            components: &mut BTreeMap<String, &'s Value>,
            recursive: &mut BTreeSet<String>,
        ) {
            if let Some(Value::String(key)) = schema.get(load::REF_KEY) {
                if schema.get(load::REF_CYCLE).is_some() {
                    recursive.insert(key.clone());
                    return;
                }
                components.entry(key.clone()).or_insert(schema);
            }
            if root || worth_sharing(schema) {
                let key = validation_key(schema);
                let entry = count.entry(key).or_insert((0, schema));
                entry.0 += 1;
                if entry.0 > 1 {
                    return;
                }
            }
            for sub in subschemas(schema) {
                visit(sub, false, count, components, recursive);
            }
        }
        // Borrowed, not cloned: on a large spec the schemas are most of the memory.
        let params: Vec<Option<Value>> = spec
            .files
            .iter()
            .flat_map(|f| f.operations.iter())
            .map(|op| op.params_schema())
            .collect();
        let mut count: BTreeMap<String, (usize, &Value)> = BTreeMap::new();
        let mut components = BTreeMap::new();
        let mut recursive = BTreeSet::new();
        let ops = spec.files.iter().flat_map(|f| f.operations.iter());
        for (op, own_params) in ops.zip(&params) {
            let roots = own_params
                .iter()
                .chain(op.body.iter().filter(|b| !b.binary).map(|b| &b.schema))
                .chain(op.responses.iter().filter_map(|r| r.schema.as_ref()));
            for schema in roots {
                visit(schema, true, &mut count, &mut components, &mut recursive);
            }
        }
        // A recursive component is shared even where it occurs once.
        let mut by_ref_key = BTreeMap::new();
        for reference in &recursive {
            if let Some(schema) = components.get(reference) {
                let key = validation_key(schema);
                count.entry(key.clone()).or_insert((0, schema)).0 += 2;
                by_ref_key.insert(reference.clone(), key);
            }
        }
        let mut shared = Self::default();
        let mut taken = BTreeSet::new();
        // Deterministic: by key.
        let repeated: Vec<(String, Value)> = count
            .into_iter()
            .filter(|(_, (n, _))| *n > 1)
            .map(|(k, (_, v))| (k, v.clone()))
            .collect();
        for (i, (key, schema)) in repeated.into_iter().enumerate() {
            let base = schema
                .get("title")
                .or_else(|| schema.get(load::REF_NAME))
                .and_then(Value::as_str)
                .map(|t| format!("validate_{}", super::model::snake_words(t)))
                .or_else(|| {
                    // Untitled (query parameters): named after the properties it lists.
                    let props = schema.get("properties").and_then(Value::as_object)?;
                    let names: Vec<String> = props
                        .keys()
                        .take(4)
                        .map(|k| super::model::snake_words(k))
                        .collect();
                    (!names.is_empty()).then(|| format!("validate_{}", names.join("_")))
                })
                .or_else(|| {
                    // Bare shapes such as `{type: object}` (the `{}` answers).
                    let ty = schema.get("type").and_then(Value::as_str)?;
                    Some(format!("validate_any_{ty}"))
                })
                .filter(|n| syn::parse_str::<syn::Ident>(n).is_ok() && n.len() < 80)
                .unwrap_or_else(|| format!("validate_shared_{i}"));
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            shared.index.by_key.insert(key, name.clone());
            shared.schemas.push((name, schema));
        }
        for (reference, key) in by_ref_key {
            if let Some(name) = shared.index.by_key.get(&key) {
                shared.index.by_ref.insert(reference, name.clone());
            }
        }
        shared.mark_request_side(spec);
        shared
    }

    /// Which shared validators check part of a request body: only those (and the bodies'
    /// own validators) get the exact-key fast path, which buys speed where the server
    /// validates every request and would only add code to response checks.
    fn mark_request_side(&mut self, spec: &Spec) {
        fn walk(schema: &Value, shared: &SharedValidators, marked: &mut BTreeSet<String>) {
            let name = match schema.get(load::REF_CYCLE).and(schema.get(load::REF_KEY)) {
                Some(reference) => reference.as_str().and_then(|r| shared.index.by_ref.get(r)),
                None if worth_sharing(schema) => shared.index.by_key.get(&validation_key(schema)),
                None => None,
            };
            if let Some(name) = name {
                if !marked.insert(name.clone()) {
                    return;
                }
                if let Some((_, own)) = shared.schemas.iter().find(|(n, _)| n == name)
                    && own != schema
                {
                    walk(own, shared, marked);
                    return;
                }
            }
            for sub in subschemas(schema) {
                walk(sub, shared, marked);
            }
        }
        let mut marked = BTreeSet::new();
        for op in spec.files.iter().flat_map(|f| f.operations.iter()) {
            for body in op.body.iter().filter(|b| !b.binary) {
                walk(&body.schema, self, &mut marked);
            }
        }
        self.index.request_side = Some(marked);
    }

    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }

    pub fn index(&self) -> &SharedIndex {
        &self.index
    }

    /// `pub fn <name>` for `schema`: the full validator, or a call to the shared one.
    pub fn validator(&self, name: &str, schema: &Value) -> Result<TokenStream> {
        let Some(shared) = self.index.by_key.get(&validation_key(schema)) else {
            return emit_validator_with(name, schema, &self.index);
        };
        let id = ident(name);
        let shared_id = ident(shared);
        let doc = format!(
            " Validates against a schema other operations use too (`crate::shared::{shared}`)."
        );
        Ok(quote! {
            #[doc = #doc]
            #[inline]
            pub fn #id(v: &serde_json::Value) -> Result<(), crate::rt::validate::Errors> {
                crate::shared::#shared_id(v)
            }
        })
    }

    /// `shared.rs`: one validator per repeated schema; other validators call its root
    /// helper (`NAME_node0`, generic over the sink as theirs are).
    pub fn module(&self, source: &str) -> Result<String> {
        let mut validators = TokenStream::new();
        for (name, schema) in &self.schemas {
            validators.extend(emit_validator_with(name, schema, &self.index)?);
        }
        let prelude = validator_prelude(&validators);
        let tokens = quote! {
            //! Validators for schemas that occur in several places; operations' validators
            //! (and these, for nested and recursive shapes) call them.
            #prelude
            #validators
        };
        Ok(with_header(&render(tokens, "shared.rs")?, source))
    }
}

/// `types.rs`: every named type of the crate (components, titled and operation root shapes).
pub fn types_module(types: TypeGen, source: &str) -> Result<String> {
    let defs = types.into_tokens();
    let tokens = quote! {
        //! The API's named types: one per schema component and per titled shape, whichever
        //! operations use it. Operation modules alias and re-export them.
        #defs
    };
    Ok(with_header(&render(tokens, "types.rs")?, source))
}

/// `source` names the spec tree in the header (`spec/`).
pub fn lib_rs(
    spec: &Spec,
    crate_doc: &str,
    server_feature: bool,
    shared_module: bool,
    types_module: bool,
    source: &str,
) -> Result<String> {
    let mods = spec.files.iter().map(|f| ident(&f.module));
    let doc: Vec<TokenStream> = crate_doc
        .lines()
        .map(|l| {
            let l = format!(" {l}");
            quote!(#![doc = #l])
        })
        .collect();
    let server = if server_feature {
        quote! {
            #[cfg(feature = "server")]
            pub mod server;
        }
    } else {
        quote!()
    };
    let shared = if shared_module {
        quote!(
            pub mod shared;
        )
    } else {
        quote!()
    };
    let types = if types_module {
        quote!(
            pub mod types;
        )
    } else {
        quote!()
    };
    let tokens = quote! {
        #(#doc)*
        /// The hand-written runtime (crate `oxident-rt`), under the name emitted code uses.
        pub use oxident_rt as rt;
        #server
        pub mod validate;
        #shared
        #types
        #(pub mod #mods;)*
        /// The whole API as one OpenAPI 3.1 document with every `$ref` resolved.
        pub const OPENAPI_JSON: &str = include_str!("../openapi.json");
    };
    Ok(with_header(&render(tokens, "lib.rs")?, source))
}

/// The operation registry: every operation's facts and validators (from its `Op`), by
/// operationId.
/// `lib_name` is the crate's Rust name (for the doctest).
pub fn validate_rs(spec: &Spec, lib_name: &str, source: &str) -> Result<String> {
    let mut entries = Vec::new();
    for f in &spec.files {
        for op in &f.operations {
            let m = ident(&f.module);
            let o = ident(&op.name);
            let name = &op.name;
            let file = &f.rel_path;
            entries.push(quote!(OperationInfo::of::<crate::#m::#o::Op>(#name, #file),));
        }
    }
    // The doctest needs an operation of this spec; one with a body shows `request`.
    let all = || spec.files.iter().flat_map(|f| f.operations.iter());
    let json_body = |op: &&Operation| op.body.as_ref().is_some_and(|b| !b.binary);
    let example = match all().find(json_body).or_else(|| all().next()) {
        Some(op) if json_body(&op) => format!(
            "```\nlet body = serde_json::json!({{}});\n// `Ok(verdict)`: the operation exists and has a body schema; the verdict lists\n// every violation with its JSON pointer.\nlet verdict = {lib_name}::validate::request({:?}, &body);\nassert!(verdict.is_ok());\n```",
            op.operation_id
        ),
        Some(op) => format!(
            "```\nassert!({lib_name}::validate::operation({:?}).is_some());\n```",
            op.operation_id
        ),
        None => String::new(),
    };
    let mut module_doc = vec![
        " Validation by operationId, for services that check payloads without serving the API."
            .to_string(),
    ];
    if !example.is_empty() {
        module_doc.push(String::new());
        module_doc.extend(example.lines().map(|l| format!(" {l}")));
    }
    let module_doc = module_doc.iter().map(|l| quote!(#![doc = #l]));
    let tokens = quote! {
        #(#module_doc)*
        use crate::rt::{LookupError, OperationInfo};
        use crate::rt::validate::Errors;
        use serde_json::Value;

        /// Every operation of the specification.
        pub static OPERATIONS: &[OperationInfo] = &[#(#entries)*];

        /// The operation with this operationId (or crate-wide snake_case name).
        pub fn operation(id: &str) -> Option<&'static OperationInfo> {
            OPERATIONS.iter().find(|o| o.operation_id == id).or_else(|| OPERATIONS.iter().find(|o| o.name == id))
        }

        fn lookup(id: &str) -> Result<&'static OperationInfo, LookupError> {
            operation(id).ok_or_else(|| LookupError::UnknownOperation(id.to_string()))
        }

        /// Checks a request body. `Ok(Err(errors))` lists every violation with its JSON pointer.
        pub fn request(operation_id: &str, body: &Value) -> Result<Result<(), Errors>, LookupError> {
            let op = lookup(operation_id)?;
            let v = op.request_body.ok_or_else(|| LookupError::NoSchema { operation_id: op.operation_id.to_string(), part: "the request body".into() })?;
            Ok(v(body))
        }

        /// Checks query and path parameters given as one JSON object.
        pub fn request_params(operation_id: &str, params: &Value) -> Result<Result<(), Errors>, LookupError> {
            let op = lookup(operation_id)?;
            let v = op.request_params.ok_or_else(|| LookupError::NoSchema { operation_id: op.operation_id.to_string(), part: "request parameters".into() })?;
            Ok(v(params))
        }

        /// Checks a response body against the schema documented for its status.
        pub fn response(operation_id: &str, status: u16, body: &Value) -> Result<Result<(), Errors>, LookupError> {
            let op = lookup(operation_id)?;
            let v = op.response_validator(status).ok_or_else(|| LookupError::NoSchema { operation_id: op.operation_id.to_string(), part: format!("status {status}") })?;
            Ok(v(body))
        }
    };
    Ok(with_header(&render(tokens, "validate.rs")?, source))
}

/// Whether serde's derived `Deserialize` for the type emitted from `schema` (a request body)
/// succeeds only on JSON objects the validator accepts, and then builds the same value as
/// validating and converting would. Then the generated handler parses the body straight into
/// its type — no `serde_json::Value` tree, no second walk — and only what serde refuses goes
/// the validating way, for the spec's precise error.
///
/// Conservative on purpose: an object whose properties are all required and plain — a string,
/// boolean, number or 64-bit integer without further constraints, or an unconstrained array of
/// those — with `additionalProperties` unsaid (serde ignores unknown properties; the
/// validator allows them; `true` would add a flattened map, whose buffering serde does its
/// own way).
/// An optional property is not plain (serde takes `null` for a missing `Option`, the schema
/// does not), nor is anything with a format, pattern, enum, bound or nested object. serde's
/// derive also accepts a JSON array for a struct; the runtime only tries it on bodies that
/// open with `{`. A duplicate key makes serde fail, so it falls back too.
pub(crate) fn typed_decode_is_exact(schema: &Value) -> bool {
    let Some(root) = schema.as_object() else {
        return false;
    };
    let annotation = |key: &str| {
        matches!(
            key,
            "description" | "title" | "example" | "examples" | "deprecated" | "default"
        ) || key.starts_with("x-")
    };
    let plain_scalar = |s: &Value| {
        let Some(m) = s.as_object() else {
            return false;
        };
        let ty = m.get("type").and_then(Value::as_str);
        // `int64` is what an `i64` holds; other formats bound the value or the text.
        let format_ok = m
            .get("format")
            .is_none_or(|f| ty == Some("integer") && f == "int64");
        matches!(ty, Some("string" | "boolean" | "number" | "integer"))
            && format_ok
            && m.keys()
                .all(|k| k == "type" || k == "format" || annotation(k))
    };
    let plain = |s: &Value| {
        if plain_scalar(s) {
            return true;
        }
        let Some(m) = s.as_object() else {
            return false;
        };
        m.get("type").and_then(Value::as_str) == Some("array")
            && m.get("items").is_some_and(plain_scalar)
            && m.keys()
                .all(|k| k == "type" || k == "items" || annotation(k))
    };
    let Some(properties) = root.get("properties").and_then(Value::as_object) else {
        return false;
    };
    let required: BTreeSet<&str> = root
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    root.get("type").and_then(Value::as_str) == Some("object")
        && root
            .keys()
            .all(|k| matches!(k.as_str(), "type" | "properties" | "required") || annotation(k))
        && !properties.is_empty()
        && required.len() == properties.len()
        && properties
            .iter()
            .all(|(name, s)| required.contains(name.as_str()) && plain(s))
}

/// The handler trait (one method per operation), the dispatcher that routes a request to its
/// handler and does the wire work, and an axum router built on the dispatcher.
pub fn server_rs(spec: &Spec, trait_name: &str, source: &str) -> Result<String> {
    let trait_id = ident(trait_name);
    let mut variants = Vec::new();
    // Each route's operationId (metrics and logs label requests with it).
    let mut route_ids = Vec::new();
    let mut calls = Vec::new();
    let mut responders: Vec<TokenStream> = Vec::new();
    // Path template → (method, route variant); templates with parameters are matched after
    // every literal path, as axum's router does.
    let mut routes: Vec<(String, Vec<(String, TokenStream)>)> = Vec::new();
    // One trait per spec file, each with its own error type; the API trait is all of them.
    let mut file_traits = Vec::new();
    let mut file_trait_ids = Vec::new();
    for f in &spec.files {
        let mut methods = Vec::new();
        for op in &f.operations {
            let m = ident(&f.module);
            let o = ident(&op.name);
            let variant = ident(&op.name.to_pascal_case());
            // The route, then the summary in the same paragraph.
            let mut doc = format!(
                "`{} {}` (`{}`{})",
                op.method.to_ascii_uppercase(),
                op.path,
                op.operation_id,
                if op.deprecated { ", deprecated" } else { "" }
            );
            if !op.summary.is_empty() {
                doc.push_str(&format!(":\n{}", op.summary.trim()));
            }
            let docs = doc_attrs(&doc);
            let mut args = vec![quote!(ctx: &RequestContext)];
            // The parts the method takes, as the dispatcher's `call!` names them.
            let mut parts = Vec::new();
            if op.params_schema().is_some() {
                args.push(quote!(params: #m::#o::Params));
                parts.push(quote!(params));
            }
            if op.body.is_some() {
                args.push(quote!(body: #m::#o::RequestBody));
                parts.push(quote!(body));
            }
            // How the answer is written: JSON, a page or redirect (`raw`), or `text/plain`.
            let respond = if op.is_html() || op.success().and_then(|r| r.schema.as_ref()).is_none()
            {
                quote!(serve_raw)
            } else if op.success().is_some_and(|r| r.text) {
                quote!(serve_text)
            } else if op.json_successes().len() > 1 {
                quote!(serve_statuses)
            } else {
                quote!(serve_json)
            };
            if !responders
                .iter()
                .any(|r| r.to_string() == respond.to_string())
            {
                responders.push(respond.clone());
            }
            methods.push(quote! {
                #docs
                fn #o(&self, #(#args),*) -> impl Answer<#m::#o::Response, Self::Error>;
            });
            variants.push(quote!(#variant,));
            let id = &op.operation_id;
            route_ids.push(quote!(Route::#variant => #id,));
            calls.push(quote!(Route::#variant => call!(#respond, #m::#o #(, #parts)*),));
            let found = quote!(Route::#variant);
            match routes.iter_mut().find(|(p, _)| *p == op.path) {
                Some((_, list)) => {
                    if list.iter().any(|(m, _)| *m == op.method) {
                        bail!(
                            "two operations route `{} {}` (the second is `{}` in {})",
                            op.method.to_ascii_uppercase(),
                            op.path,
                            op.operation_id,
                            f.rel_path
                        );
                    }
                    list.push((op.method.clone(), found));
                }
                None => routes.push((op.path.clone(), vec![(op.method.clone(), found)])),
            }
        }
        if f.operations.is_empty() {
            continue;
        }
        let file_trait = ident(&format!("{}Api", f.module.to_pascal_case()));
        let doc = format!(
            " The operations of `{}`, one method each; `Error` is what they fail with, and the \
             shape every error of theirs is written in: the runtime's own refusals (bad body, \
             invalid parameter, …) become an `Error` too.",
            f.rel_path
        );
        file_traits.push(quote! {
            #[doc = #doc]
            pub trait #file_trait: Send + Sync + 'static {
                type Error: From<crate::rt::Rejection> + ::axum::response::IntoResponse + Send;
                #(#methods)*
            }
        });
        file_trait_ids.push(file_trait);
    }
    // Literal paths (one `match`), then templates: more literal segments first, then by
    // text, so the order never depends on the spec's file order.
    let literal_segments = |p: &str| p.split('/').filter(|s| !s.starts_with('{')).count();
    let order = |p: &str| {
        let templated = p.contains('{');
        (
            templated,
            if templated {
                usize::MAX - literal_segments(p)
            } else {
                0
            },
        )
    };
    routes.sort_by(|a, b| order(&a.0).cmp(&order(&b.0)).then_with(|| a.0.cmp(&b.0)));
    let methods = |list: &[(String, TokenStream)]| {
        let methods = list.iter().map(|(method, found)| {
            let m = ident(&method.to_ascii_uppercase());
            quote!((Method::#m, #found))
        });
        quote!(&[#(#methods),*])
    };
    let literal = routes
        .iter()
        .filter(|(p, _)| !p.contains('{'))
        .map(|(path, list)| {
            let methods = methods(list);
            quote!(#path => #methods,)
        });
    let templated = routes
        .iter()
        .filter(|(p, _)| p.contains('{'))
        .map(|(path, list)| {
            let methods = methods(list);
            quote!((#path, #methods),)
        });
    // An API without operations (webhooks only) routes nothing.
    let dispatch_body = if calls.is_empty() {
        quote! {
            let _ = (api, peer);
            match route(request.method(), request.uri().path()) {
                Ok((route, _)) => match route {},
                Err(e) => crate::rt::server::ready(A::write_rejection(e)),
            }
        }
    } else {
        quote! {
            let (route, path_params) = match route(request.method(), request.uri().path()) {
                Ok(found) => found,
                Err(e) => return crate::rt::server::ready(A::write_rejection(e)),
            };
            use crate::rt::server::{Routed, #(#responders),*};
            let routed = Routed { request, peer, path_params };
            let api = ::std::sync::Arc::clone(api);
            macro_rules! call {
                ($serve:ident, $m:ident::$o:ident) => {
                    $serve(routed, $m::$o::Op, move |ctx, (), ()| async move { A::$o(&api, &ctx).await })
                };
                ($serve:ident, $m:ident::$o:ident, params) => {
                    $serve(routed, $m::$o::Op, move |ctx, params, ()| async move { A::$o(&api, &ctx, params).await })
                };
                ($serve:ident, $m:ident::$o:ident, body) => {
                    $serve(routed, $m::$o::Op, move |ctx, (), body| async move { A::$o(&api, &ctx, body).await })
                };
                ($serve:ident, $m:ident::$o:ident, params, body) => {
                    $serve(routed, $m::$o::Op, move |ctx, params, body| async move { A::$o(&api, &ctx, params, body).await })
                };
            }
            match route {
                #(#calls)*
            }
        }
    };
    // The operation modules by their names (`::axum`, `::std` are absolute below, so a
    // module named like a crate shadows nothing), and the trait methods' types.
    let module_uses = if calls.is_empty() {
        quote!()
    } else {
        let mods = spec
            .files
            .iter()
            .filter(|f| !f.operations.is_empty())
            .map(|f| ident(&f.module));
        quote! {
            use crate::{#(#mods),*};
            use crate::rt::server::{Answer, RequestContext};
        }
    };
    // Routing refusals belong to no operation: the first file's error type writes them (an
    // implementation usually has one error type for all), or the runtime's neutral shape
    // when the API has no operations.
    let (rejection_doc, rejection_default) = match file_trait_ids.first() {
        Some(first) => {
            let doc = format!(
                " By default as `{first}::Error` writes it; an implementation whose files fail \
                 with different error types may choose here."
            );
            (
                quote!(#[doc = #doc]),
                quote!(::axum::response::IntoResponse::into_response(<<Self as #first>::Error as From<crate::rt::Rejection>>::from(rejection))),
            )
        }
        None => (
            quote!(#[doc = " By default in the runtime's neutral shape."]),
            quote!(::axum::response::IntoResponse::into_response(rejection)),
        ),
    };
    let tokens = quote! {
        //! The handler trait, the dispatcher that routes requests to it, and an axum router
        //! built on the dispatcher.
        use ::axum::http::Method;
        use crate::rt::server::PathRoutes;
        #module_uses

        /// The whole API: one trait per spec file (below), each with its own error type, and
        /// how errors are written. The dispatcher validates and decodes every request before
        /// a method is called, so implementations see typed, schema-valid values only.
        pub trait #trait_id: #(#file_trait_ids +)* Send + Sync + 'static {
            /// How a request no operation takes is refused (an unknown path, a method the path
            /// does not answer, a path parameter that does not decode): as the API's error
            /// type writes the [`crate::rt::Rejection`].
            #rejection_doc
            fn write_rejection(rejection: crate::rt::Rejection) -> ::axum::response::Response {
                #rejection_default
            }
        }
        #(#file_traits)*

        /// The operation a request is for, as [`route`] finds it: one variant per operation,
        /// named after it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            #(#variants)*
        }

        impl Route {
            /// The operation's `operationId`, as the spec spells it.
            pub const fn operation_id(self) -> &'static str {
                match self {
                    #(#route_ids)*
                }
            }
        }

        /// The templated paths, each with its methods' routes, in the order they are tried
        /// (more literal segments first).
        static TEMPLATED: &[PathRoutes<Route>] = &[#(#templated)*];

        /// The operation for `method` and `path` (as sent, still percent-encoded) and its
        /// path parameters, decoded. An unknown path is a 404 rejection, a known path with
        /// another method a 405 with the `Allow` header's methods, a path parameter that is
        /// not UTF-8 once decoded a 400. Literal paths are one
        /// `match` (each with its methods' routes); templated ones are tried after them.
        pub fn route(method: &Method, path: &str) -> Result<(Route, Vec<(String, String)>), crate::rt::Rejection> {
            let literal: &[(Method, Route)] = match path {
                #(#literal)*
                _ => &[],
            };
            crate::rt::server::find_route(method, path, literal, TEMPLATED)
        }

        /// Answers `request` with its operation's handler: decoding, validation, the call,
        /// and the JSON (or page) written back. `peer` is the client's address as the accept
        /// loop knows it. One allocation per request (the handler's boxed future); nothing
        /// about the API is cloned. Each route is `call!(serve_kind, module::operation,
        /// parts…)`: the operation's `Op` served with that kind of answer, calling the
        /// method of the same name with the context and the parts the operation has (`A::method`,
        /// fully qualified: an operation may be named like a method of `Arc`).
        pub fn dispatch<A: #trait_id>(
            api: &::std::sync::Arc<A>,
            request: ::axum::extract::Request,
            peer: Option<::std::net::SocketAddr>,
        ) -> crate::rt::server::ResponseFuture {
            #dispatch_body
        }

        /// Every route of the specification as an axum router (for services that mount the
        /// API beside routes of their own): [`dispatch`] as its fallback, with the peer
        /// address from `ConnectInfo` when the server provides it. Behind the `router`
        /// feature: a server that calls [`dispatch`] itself does not build axum's router.
        #[cfg(feature = "router")]
        pub fn router<A: #trait_id>(api: ::std::sync::Arc<A>) -> ::axum::Router {
            ::axum::Router::new().fallback(move |request: ::axum::extract::Request| {
                let peer = request
                    .extensions()
                    .get::<::axum::extract::ConnectInfo<::std::net::SocketAddr>>()
                    .map(|c| c.0);
                dispatch(&api, request, peer)
            })
        }

    };
    let rendered = render(tokens, "server.rs")?;
    Ok(with_header(&readable_call_macro(&rendered), source))
}

/// prettyplease prints a `macro_rules!` body as loose tokens (`A:: $o (& api, & ctx)`); the
/// dispatcher's `call!` is put back as it reads in the source.
fn readable_call_macro(rendered: &str) -> String {
    const START: &str = "    macro_rules! call {\n";
    const CALL: &str = "    macro_rules! call {
        ($serve:ident, $m:ident::$o:ident) => {
            $serve(routed, $m::$o::Op, move |ctx, (), ()| async move {
                A::$o(&api, &ctx).await
            })
        };
        ($serve:ident, $m:ident::$o:ident, params) => {
            $serve(routed, $m::$o::Op, move |ctx, params, ()| async move {
                A::$o(&api, &ctx, params).await
            })
        };
        ($serve:ident, $m:ident::$o:ident, body) => {
            $serve(routed, $m::$o::Op, move |ctx, (), body| async move {
                A::$o(&api, &ctx, body).await
            })
        };
        ($serve:ident, $m:ident::$o:ident, params, body) => {
            $serve(routed, $m::$o::Op, move |ctx, params, body| async move {
                A::$o(&api, &ctx, params, body).await
            })
        };
    }
";
    let Some(start) = rendered.find(START) else {
        return rendered.to_owned();
    };
    let Some(len) = rendered[start..].find("\n    }\n") else {
        return rendered.to_owned();
    };
    format!(
        "{}{CALL}{}",
        &rendered[..start],
        &rendered[start + len + 7..]
    )
}

pub fn trait_name_for(crate_name: &str) -> String {
    let base = crate_name
        .trim_end_matches("-api")
        .trim_end_matches("_api")
        .to_pascal_case();
    format!("{base}Api")
}

#[cfg(test)]
mod tests {
    use super::typed_decode_is_exact;
    use serde_json::json;

    #[test]
    fn typed_decoding_only_for_plain_all_required_objects() {
        let object = |properties: serde_json::Value, required: &[&str]| json!({"type": "object", "properties": properties, "required": required});
        let exact = [
            object(json!({"a": {"type": "string"}}), &["a"]),
            object(
                json!({"a": {"type": "array", "items": {"type": "string"}, "example": ["x"]},
                       "b": {"type": "boolean", "description": "d"},
                       "c": {"type": "integer", "format": "int64"},
                       "d": {"type": "number"}}),
                &["a", "b", "c", "d"],
            ),
            json!({"type": "object", "title": "T", "description": "d",
                   "properties": {"a": {"type": "string"}}, "required": ["a"]}),
        ];
        for schema in &exact {
            assert!(typed_decode_is_exact(schema), "{schema}");
        }
        let not_exact = [
            // Optional: serde takes `null` as a missing `Option`.
            object(
                json!({"a": {"type": "string"}, "b": {"type": "string"}}),
                &["a"],
            ),
            object(json!({"a": {"type": "string", "pattern": "^x"}}), &["a"]),
            object(
                json!({"a": {"type": "string", "format": "mx-user-id"}}),
                &["a"],
            ),
            object(json!({"a": {"type": "string", "enum": ["x"]}}), &["a"]),
            object(json!({"a": {"type": "string", "minLength": 1}}), &["a"]),
            object(json!({"a": {"type": "integer", "format": "int32"}}), &["a"]),
            object(json!({"a": {"type": ["string", "null"]}}), &["a"]),
            object(
                json!({"a": {"type": "array", "items": {"type": "string"}, "maxItems": 3}}),
                &["a"],
            ),
            object(
                json!({"a": {"type": "array", "items": {"type": "object"}}}),
                &["a"],
            ),
            object(json!({"a": {"type": "object", "properties": {}}}), &["a"]),
            object(json!({"a": {}}), &["a"]),
            object(json!({"a": {"type": "string"}}), &["a", "b"]),
            object(json!({}), &[]),
            json!({"type": "object", "additionalProperties": false,
                   "properties": {"a": {"type": "string"}}, "required": ["a"]}),
            json!({"type": "object", "additionalProperties": true,
                   "properties": {"a": {"type": "string"}}, "required": ["a"]}),
            json!({"type": "object", "minProperties": 1,
                   "properties": {"a": {"type": "string"}}, "required": ["a"]}),
            json!({"type": "array", "items": {"type": "string"}}),
            json!({"allOf": [{"type": "object"}]}),
        ];
        for schema in &not_exact {
            assert!(!typed_decode_is_exact(schema), "{schema}");
        }
    }
}
