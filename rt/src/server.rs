//! The wire work shared by every generated route: reading and decoding bodies and parameters,
//! turning validator findings into [`Rejection`]s, and writing responses. Generated handlers are
//! a few calls into this module, so the behaviour is written (and reviewed) once.
//!
//! `accept::<Op>` does the wire work of every operation: JSON bodies whatever the Content-Type
//! (clients need not send one); form bodies where the spec's `consumes` allows them (Matrix's v1
//! endpoints); `multipart/form-data` bodies (`multipart`); query, path, header and cookie
//! parameters typed per schema (an array parameter repeated, `?t=a&t=b`, or delimited, `?t=a,b`, as
//! its `style`/`explode` or Swagger's `collectionFormat` says: `ScalarKind::Array`); path templates
//! with literals inside a segment (`{name}:cancel`, `{stem}.{ext}`: `match_template`); raw bodies
//! (`application/octet-stream` and other non-JSON media with a string schema: `Vec<u8>`,
//! `BodyMode::Bytes`); `text/plain` answers written as text (`text_response`); validation before
//! deserialisation, and serialisation of the answer. `handle` answers with the spec's first 2xx
//! (`Op::SUCCESS`); an operation documenting several JSON successes has an enum `Response`, a
//! variant per status (`Statuses`), written with the variant's status by `serve_statuses`. Every
//! error is written in the operation's `Error` shape, and a validator's refusal names the JSON
//! pointer in its message.

use super::validate::Errors;
use super::{BodyMode, Operation, RawResponse, Rejection, RejectionKind, ScalarKind};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// Largest request body read by default; a server may put a smaller limit in front.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The answer of `server::dispatch`: the matched handler's future, boxed once so the
/// caller holds one small, nameable future whatever the operation.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// A response that is known before any handler runs (404, 405, a bad path parameter).
pub fn ready(response: Response) -> ResponseFuture {
    Box::pin(std::future::ready(response))
}

/// What a handler may need about the request besides its typed parameters.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub method: Method,
    /// Path and query exactly as sent (needed to verify signed requests).
    pub uri: Uri,
    pub headers: HeaderMap,
    /// The peer address, when the server knows it.
    pub remote_addr: Option<SocketAddr>,
    /// The validated JSON body, when the operation has one.
    pub body: Option<Value>,
}

impl RequestContext {
    /// Takes the request head over (no copy of the header map: handlers build the context
    /// after reading what they need from `parts`). The peer comes from the accept loop, not
    /// from a request extension, so no request pays for an extension map.
    pub fn from_parts(parts: Parts, remote_addr: Option<SocketAddr>) -> Self {
        Self {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            remote_addr,
            body: None,
        }
    }

    /// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }

    /// The deprecated `access_token` query parameter.
    pub fn query_access_token(&self) -> Option<String> {
        let query = self.uri.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    }
}

fn bad_json(message: impl Into<String>) -> Rejection {
    Rejection::new(RejectionKind::BadBody, message)
}

/// Reads the body as a JSON value: JSON whatever the Content-Type says (clients need not send
/// one), or form fields when the operation accepts `application/x-www-form-urlencoded` and the
/// request says so. Form values are typed by `form_kinds` before validation.
pub async fn read_body(
    parts: &Parts,
    body: Body,
    form_kinds: Option<&[(&str, ScalarKind)]>,
) -> Result<Value, Rejection> {
    let bytes = body_bytes(body).await?;
    parse_body(parts, &bytes, form_kinds)
}

/// Reads the body straight into `T`, for operations whose body schema serde's derive checks
/// exactly (the code generator decides which: `typed_decode_is_exact`). A body serde refuses
/// — or one that is not a JSON object, or a form — is read as [`read_body`] and
/// [`decode_owned`] read it, so every error is the validator's, with its path.
pub async fn read_typed_body<T: DeserializeOwned>(
    parts: &Parts,
    body: Body,
    form_kinds: Option<&[(&str, ScalarKind)]>,
    validate: fn(&Value) -> Result<(), Errors>,
) -> Result<T, Rejection> {
    let bytes = body_bytes(body).await?;
    // serde's derive would also take a JSON array for a struct: only objects are tried.
    if first_byte(&bytes) == Some(b'{')
        && let Ok(typed) = serde_json::from_slice::<T>(&bytes)
    {
        return Ok(typed);
    }
    decode_owned(parse_body(parts, &bytes, form_kinds)?, validate)
}

async fn body_bytes(body: Body) -> Result<axum::body::Bytes, Rejection> {
    axum::body::to_bytes(body, DEFAULT_BODY_LIMIT)
        .await
        .map_err(|_| Rejection::too_large())
}

fn first_byte(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn parse_body(
    parts: &Parts,
    bytes: &[u8],
    form_kinds: Option<&[(&str, ScalarKind)]>,
) -> Result<Value, Rejection> {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if let Some(kinds) = form_kinds
        && let Some(boundary) = content_type.and_then(crate::multipart::boundary)
    {
        // Form fields in parts: typed and validated as a URL-encoded form's are.
        let binary: Vec<&str> = kinds
            .iter()
            .filter(|(_, kind)| matches!(kind, ScalarKind::Binary))
            .map(|(name, _)| *name)
            .collect();
        let parts = crate::multipart::parse(&boundary, bytes)?;
        return Ok(typed_object(
            crate::multipart::pairs(parts, &binary)?,
            kinds,
        ));
    }
    let is_form =
        content_type.is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let first = first_byte(bytes);
    // `curl -d '{...}'` labels JSON as a form; a body that opens like a JSON object is JSON.
    if is_form
        && first != Some(b'{')
        && let Some(kinds) = form_kinds
    {
        return Ok(typed_object(form_pairs(bytes), kinds));
    }
    if first.is_none() {
        return Err(bad_json("Request body must be a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(|e| bad_json(format!("Body is not valid JSON: {e}")))
}

/// Query string (and path) parameters as a JSON object, typed by `kinds`; a value that does not
/// parse as its kind stays a string so the validator reports it with its path.
pub fn read_params(
    parts: &Parts,
    path_params: Vec<(String, String)>,
    kinds: &[(&str, ScalarKind)],
) -> Result<Value, Rejection> {
    let mut pairs = parts
        .uri
        .query()
        .map_or_else(Vec::new, |q| form_pairs(q.as_bytes()));
    pairs.extend(path_params);
    Ok(typed_object(pairs, kinds))
}

/// `application/x-www-form-urlencoded` pairs (a query string, a form body), owned. Never
/// fails: bytes that are not UTF-8 after decoding become U+FFFD, as in browsers. Straight
/// from `form_urlencoded` rather than through `serde_urlencoded`'s deserializer, which gave
/// the same pairs for ~500 more instructions per request (docs/benchmarks.md).
fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Parameters from the query string, the path, and the named headers and cookies, typed by
/// `kinds` (as [`read_params`]).
pub fn read_all_params(
    parts: &Parts,
    path_params: Vec<(String, String)>,
    kinds: &[(&str, ScalarKind)],
    headers: &[&str],
    cookies: &[&str],
) -> Result<Value, Rejection> {
    if headers.is_empty() && cookies.is_empty() {
        return read_params(parts, path_params, kinds);
    }
    let mut pairs = path_params;
    for name in headers {
        for value in parts.headers.get_all(*name) {
            if let Ok(v) = value.to_str() {
                pairs.push(((*name).to_owned(), v.to_owned()));
            }
        }
    }
    if !cookies.is_empty() {
        for header in parts.headers.get_all(header::COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            for pair in text.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=')
                    && cookies.contains(&k)
                {
                    pairs.push((k.to_owned(), v.to_owned()));
                }
            }
        }
    }
    let Value::Object(mut map) = read_params(parts, Vec::new(), kinds)? else {
        return Ok(Value::Object(Map::new()));
    };
    if let Value::Object(extra) = typed_object(pairs, kinds) {
        map.extend(extra);
    }
    Ok(Value::Object(map))
}

fn typed_scalar(kind: ScalarKind, v: String) -> Value {
    match kind {
        ScalarKind::String | ScalarKind::Binary | ScalarKind::Array(..) => Value::String(v),
        ScalarKind::Integer => v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(v)),
        ScalarKind::Number => v
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::String(v), Value::Number),
        ScalarKind::Boolean => match v.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(v),
        },
    }
}

fn typed_object(pairs: Vec<(String, String)>, kinds: &[(&str, ScalarKind)]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        let kind = kinds
            .iter()
            .find(|(name, _)| *name == k)
            .map_or(ScalarKind::String, |(_, kind)| *kind);
        if let ScalarKind::Array(item, delimiter) = kind {
            // Every occurrence adds to the array; a delimited one adds each of its parts.
            let values: Vec<String> = match delimiter {
                Some(_) if v.is_empty() => Vec::new(),
                Some(d) => v.split(d).map(str::to_owned).collect(),
                None => vec![v],
            };
            let entry = map.entry(k).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.extend(values.into_iter().map(|v| typed_scalar(*item, v)));
            }
            continue;
        }
        let value = typed_scalar(kind, v);
        map.insert(k, value);
    }
    Value::Object(map)
}

/// [`check_and_decode`] for a value the caller no longer needs: strings move into the typed
/// body instead of being copied (a 1000-address lookup would otherwise hold both).
pub fn decode_owned<T: DeserializeOwned>(
    value: Value,
    validate: fn(&Value) -> Result<(), Errors>,
) -> Result<T, Rejection> {
    validate(&value).map_err(|e| Rejection::from_validation(&e))?;
    serde_json::from_value(value).map_err(|e| Rejection::new(RejectionKind::Invalid, e.to_string()))
}

/// Validates then deserialises; the validator's findings become the spec's 400 errors.
pub fn check_and_decode<T: DeserializeOwned>(
    value: &Value,
    validate: fn(&Value) -> Result<(), Errors>,
) -> Result<T, Rejection> {
    validate(value).map_err(|e| Rejection::from_validation(&e))?;
    T::deserialize(value).map_err(|e| Rejection::new(RejectionKind::Invalid, e.to_string()))
}

/// Everything a handler needs before the implementation is called, for any operation: the
/// parameters (query, then path) typed, validated and decoded, the body read, validated and
/// decoded as the operation says ([`BodyMode`]), and the request context. An error is the
/// spec's answer to send as it is.
pub async fn accept<Op: Operation>(
    request: axum::extract::Request,
    peer: Option<SocketAddr>,
    path_params: Vec<(String, String)>,
) -> Result<(RequestContext, Op::Params, Op::Body), Rejection> {
    let (parts, body) = request.into_parts();
    let params = params_of::<Op>(&parts, path_params)?;
    let mut raw = None;
    let body = match Op::BODY {
        BodyMode::None => {
            drop(body);
            unit()?
        }
        BodyMode::Typed => read_typed_body(&parts, body, Op::FORM_KINDS, Op::VALIDATE_BODY).await?,
        BodyMode::Validated => decode_owned(
            read_body(&parts, body, Op::FORM_KINDS).await?,
            Op::VALIDATE_BODY,
        )?,
        BodyMode::Bytes => {
            Op::body_from_bytes(body_bytes(body).await?.to_vec()).ok_or_else(|| {
                Rejection::new(RejectionKind::Internal, "The operation takes no raw body")
            })?
        }
        BodyMode::KeepRaw => {
            let value = read_body(&parts, body, Op::FORM_KINDS).await?;
            let decoded = check_and_decode(&value, Op::VALIDATE_BODY)?;
            raw = Some(value);
            decoded
        }
    };
    let mut ctx = RequestContext::from_parts(parts, peer);
    ctx.body = raw;
    Ok((ctx, params, body))
}

/// One request of the operation `Op`, start to finish, as the one boxed future the
/// dispatcher returns: [`accept`], then `call` (the implementation, given the context,
/// parameters and body), then `respond` ([`json_response`] or [`raw_response`]) with the
/// operation's success status. Errors are written in the API's shape, its error type `E`:
/// the implementation's own as they are, the runtime's [`Rejection`]s made into an `E`
/// first. Every generated route is this function with its `Op`.
pub fn handle<Op, T, E, Fut, F>(
    _op: Op,
    request: axum::extract::Request,
    peer: Option<SocketAddr>,
    path_params: Vec<(String, String)>,
    respond: Responder<T>,
    call: F,
) -> ResponseFuture
where
    Op: Operation + 'static,
    T: 'static,
    E: From<Rejection> + IntoResponse,
    F: FnOnce(RequestContext, Op::Params, Op::Body) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    if matches!(Op::BODY, BodyMode::None) {
        // Nothing to read: the request is accepted before the future is made, so the boxed
        // future holds the implementation's future alone — not the request, nor the states
        // of body reads this operation never does (a status request moved and allocated
        // ~1 000 instructions' worth more without this).
        let answer = accept_head::<Op>(request, peer, path_params)
            .map(|(ctx, params, body)| call(ctx, params, body));
        return Box::pin(async move {
            match answer {
                Ok(called) => finish::<Op, T, E>(called.await, respond),
                Err(e) => E::from(e).into_response(),
            }
        });
    }
    if matches!(Op::BODY, BodyMode::Typed) {
        // Likewise the typed-body operations (the v2 lookup among them) get a future with
        // that one body read in it, not every body mode's.
        return Box::pin(async move {
            match accept_typed::<Op>(request, peer, path_params).await {
                Ok((ctx, params, body)) => {
                    finish::<Op, T, E>(call(ctx, params, body).await, respond)
                }
                Err(e) => E::from(e).into_response(),
            }
        });
    }
    Box::pin(async move {
        match accept::<Op>(request, peer, path_params).await {
            Ok((ctx, params, body)) => finish::<Op, T, E>(call(ctx, params, body).await, respond),
            Err(e) => E::from(e).into_response(),
        }
    })
}

/// How a kind of answer is written ([`json_response`], [`raw_response`], …): the response,
/// or the rejection to write in the API's error shape when the answer cannot be written.
pub type Responder<T> = fn(T) -> Result<Response, Rejection>;

/// The implementation's result as the response: its answer with the operation's success
/// status, or its error in its own shape.
fn finish<Op: Operation, T, E: From<Rejection> + IntoResponse>(
    result: Result<T, E>,
    respond: Responder<T>,
) -> Response {
    match result.map(respond) {
        Ok(Ok(response)) => success::<Op>(response),
        Ok(Err(rejection)) => E::from(rejection).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A routed request: everything [`handle`] takes that is the same for every operation, so the generated dispatcher names it once and each route is
/// its `Op`, its kind of answer and the call (`serve_json(routed, Op, |ctx, params, body| …)`).
/// [`serve_json`], [`serve_raw`] and [`serve_text`] are [`handle`] with their responder;
/// nothing is boxed or dispatched dynamically beyond what [`handle`] does.
pub struct Routed {
    pub request: axum::extract::Request,
    pub peer: Option<SocketAddr>,
    pub path_params: Vec<(String, String)>,
}

impl Routed {
    /// [`handle`] for this request, answering through `respond`.
    #[inline]
    fn serve<Op, T, E, Fut, F>(self, op: Op, respond: Responder<T>, call: F) -> ResponseFuture
    where
        Op: Operation + 'static,
        T: 'static,
        E: From<Rejection> + IntoResponse,
        F: FnOnce(RequestContext, Op::Params, Op::Body) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let Routed {
            request,
            peer,
            path_params,
        } = self;
        handle(op, request, peer, path_params, respond, call)
    }
}

/// [`handle`] with a JSON answer ([`json_response`]).
#[inline]
pub fn serve_json<Op, T, E, Fut, F>(routed: Routed, op: Op, call: F) -> ResponseFuture
where
    Op: Operation + 'static,
    T: Serialize + 'static,
    E: From<Rejection> + IntoResponse,
    F: FnOnce(RequestContext, Op::Params, Op::Body) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    routed.serve(op, json_response::<T>, call)
}

/// [`handle`] with a JSON answer whose value picks its status ([`statuses_response`]).
#[inline]
pub fn serve_statuses<Op, T, E, Fut, F>(routed: Routed, op: Op, call: F) -> ResponseFuture
where
    Op: Operation + 'static,
    T: Serialize + crate::Statuses + 'static,
    E: From<Rejection> + IntoResponse,
    F: FnOnce(RequestContext, Op::Params, Op::Body) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    routed.serve(op, statuses_response::<T>, call)
}

/// [`handle`] with a page or redirect ([`raw_response`]).
#[inline]
pub fn serve_raw<Op, E, Fut, F>(routed: Routed, op: Op, call: F) -> ResponseFuture
where
    Op: Operation + 'static,
    E: From<Rejection> + IntoResponse,
    F: FnOnce(RequestContext, Op::Params, Op::Body) -> Fut + Send + 'static,
    Fut: Future<Output = Result<RawResponse, E>> + Send + 'static,
{
    routed.serve(op, raw_response, call)
}

/// [`handle`] with a `text/plain` answer ([`text_response`]).
#[inline]
pub fn serve_text<Op, E, Fut, F>(routed: Routed, op: Op, call: F) -> ResponseFuture
where
    Op: Operation + 'static,
    E: From<Rejection> + IntoResponse,
    F: FnOnce(RequestContext, Op::Params, Op::Body) -> Fut + Send + 'static,
    Fut: Future<Output = Result<String, E>> + Send + 'static,
{
    routed.serve(op, text_response, call)
}

/// The operation's success status on an answer written as 200.
fn success<Op: Operation>(mut response: Response) -> Response {
    if Op::SUCCESS != 200
        && response.status() == StatusCode::OK
        && let Ok(status) = StatusCode::from_u16(Op::SUCCESS)
    {
        *response.status_mut() = status;
    }
    response
}

/// The operation's query, path, header and cookie parameters, validated and decoded.
fn params_of<Op: Operation>(
    parts: &Parts,
    path_params: Vec<(String, String)>,
) -> Result<Op::Params, Rejection> {
    match Op::PARAM_KINDS {
        Some(kinds) => decode_owned(
            read_all_params(parts, path_params, kinds, Op::HEADERS, Op::COOKIES)?,
            Op::VALIDATE_PARAMS,
        ),
        None => unit(),
    }
}

/// [`accept`] for a [`BodyMode::Typed`] operation.
async fn accept_typed<Op: Operation>(
    request: axum::extract::Request,
    peer: Option<SocketAddr>,
    path_params: Vec<(String, String)>,
) -> Result<(RequestContext, Op::Params, Op::Body), Rejection> {
    let (parts, body) = request.into_parts();
    let params = params_of::<Op>(&parts, path_params)?;
    let body = read_typed_body(&parts, body, Op::FORM_KINDS, Op::VALIDATE_BODY).await?;
    Ok((RequestContext::from_parts(parts, peer), params, body))
}

/// [`accept`] for an operation without a body: parameters only, no await.
fn accept_head<Op: Operation>(
    request: axum::extract::Request,
    peer: Option<SocketAddr>,
    path_params: Vec<(String, String)>,
) -> Result<(RequestContext, Op::Params, Op::Body), Rejection> {
    let (parts, body) = request.into_parts();
    drop(body);
    let params = params_of::<Op>(&parts, path_params)?;
    Ok((RequestContext::from_parts(parts, peer), params, unit()?))
}

/// The value of an absent part (`()`): what a unit deserialises from.
fn unit<T: DeserializeOwned>() -> Result<T, Rejection> {
    serde_json::from_value(Value::Null)
        .map_err(|e| Rejection::new(RejectionKind::Internal, e.to_string()))
}

/// What a generated handler method returns: a `Send` future of the method's answer or its
/// error. Any such future is one (`async fn` implementations included); the alias keeps the
/// emitted signatures short.
pub trait Answer<T, E>: Future<Output = Result<T, E>> + Send {}

impl<F: Future<Output = Result<T, E>> + Send, T, E> Answer<T, E> for F {}

/// One templated path of a generated router's table: the template and the route of each
/// method it answers.
pub type PathRoutes<R> = (&'static str, &'static [(Method, R)]);

/// The route for `method` and its path parameters, decoded: `literal` is what the generated
/// `match` on the whole path found (each method's route; empty when the path is no literal
/// one), else the first of `templated` whose template `path` fits ([`match_template`]). A
/// GET route answers HEAD unless the path has a HEAD route of its own, as axum's
/// `MethodRouter::get`. An unknown path is a 404 [`Rejection`], a known path with another
/// method a 405 ([`allowed`]). The literal paths stay a `match` in the generated code: rustc
/// compiles it to length tests and inlined comparisons with the constants, about half the
/// instructions of searching a sorted table.
#[inline]
pub fn find_route<R: Copy>(
    method: &Method,
    path: &str,
    literal: &'static [(Method, R)],
    templated: &[PathRoutes<R>],
) -> Result<(R, Vec<(String, String)>), Rejection> {
    let (methods, params) = if literal.is_empty() {
        let mut found = None;
        for (template, methods) in templated {
            if let Some(params) = match_template(path, template) {
                found = Some((*methods, params?));
                break;
            }
        }
        found.ok_or_else(Rejection::not_found)?
    } else {
        (literal, Vec::new())
    };
    let pick = |wanted: &Method| methods.iter().find(|(m, _)| m == wanted).map(|(_, r)| *r);
    match pick(method) {
        Some(route) => Ok((route, params)),
        None if *method == Method::HEAD => match pick(&Method::GET) {
            Some(route) => Ok((route, params)),
            None => Err(allowed(methods)),
        },
        None => Err(allowed(methods)),
    }
}

/// The `405` of a path answering `methods`, with its `Allow` header: those methods, HEAD
/// where GET answers it, and OPTIONS, which the server's edge answers on every path (CORS
/// preflight); sorted.
fn allowed<R>(methods: &[(Method, R)]) -> Rejection {
    let mut allow: Vec<&str> = methods.iter().map(|(m, _)| m.as_str()).collect();
    for implied in ["HEAD", "OPTIONS"] {
        if (implied == "OPTIONS" || allow.contains(&"GET")) && !allow.contains(&implied) {
            allow.push(implied);
        }
    }
    allow.sort_unstable();
    Rejection::method_not_allowed(&allow.join(", "))
}

/// Matches `path` (as sent, percent-encoded) against a route template such as
/// `/a/{id}/b`: literal segments compare byte for byte, each `{name}` takes one non-empty
/// segment. `None` when the path does not fit; otherwise the parameters, percent-decoded,
/// or a 400 [`RejectionKind::Invalid`] when one does not decode to UTF-8. The same rules as axum's
/// router (matchit), which the generated dispatcher replaces.
pub fn match_template(
    path: &str,
    template: &str,
) -> Option<Result<Vec<(String, String)>, Rejection>> {
    let mut given = path.strip_prefix('/')?.split('/');
    let mut captured = Vec::new();
    for expected in template.strip_prefix('/')?.split('/') {
        let segment = given.next()?;
        if !expected.contains('{') {
            if segment != expected {
                return None;
            }
            continue;
        }
        if !match_segment(segment, expected, &mut captured) {
            return None;
        }
    }
    if given.next().is_some() {
        return None;
    }
    Some(
        captured
            .into_iter()
            .map(|(name, raw)| {
                percent_decode(raw)
                    .map(|value| (name.to_owned(), value))
                    .ok_or_else(|| Rejection::new(RejectionKind::Invalid, "Invalid path parameter"))
            })
            .collect(),
    )
}

/// One segment against a segment template mixing literals and parameters (`{id}`,
/// `{name}:cancel`, `{stem}.{ext}`): literals compare byte for byte, each parameter takes a
/// non-empty run; where a literal could end a parameter at several places the last one that
/// lets the rest match wins (`a.b.c` against `{stem}.{ext}`: `a.b` and `c`).
fn match_segment<'t, 's>(
    segment: &'s str,
    template: &'t str,
    captured: &mut Vec<(&'t str, &'s str)>,
) -> bool {
    let Some(open) = template.find('{') else {
        return segment == template;
    };
    let (literal, rest) = template.split_at(open);
    let Some(segment) = segment.strip_prefix(literal) else {
        return false;
    };
    let Some(close) = rest.find('}') else {
        return false;
    };
    let name = &rest[1..close];
    let after = &rest[close + 1..];
    let next_literal_len = after.find('{').unwrap_or(after.len());
    if next_literal_len == 0 && !after.is_empty() {
        return false; // two parameters side by side cannot be told apart
    }
    if after.is_empty() {
        if segment.is_empty() {
            return false;
        }
        captured.push((name, segment));
        return true;
    }
    let literal = &after[..next_literal_len];
    let mut ends: Vec<usize> = segment.match_indices(literal).map(|(i, _)| i).collect();
    ends.retain(|i| *i > 0);
    for end in ends.into_iter().rev() {
        let mark = captured.len();
        captured.push((name, &segment[..end]));
        if match_segment(&segment[end..], after, captured) {
            return true;
        }
        captured.truncate(mark);
    }
    false
}

/// `%XX` escapes decoded; `None` when the result is not UTF-8. A `%` not followed by two hex
/// digits stays as it is, as in the URL standard (and the `percent-encoding` crate).
fn percent_decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// A JSON success response (status 200).
pub fn json_response<T: Serialize>(body: T) -> Result<Response, Rejection> {
    Ok(json_bytes(StatusCode::OK, to_json(&body)?))
}

/// A JSON success response with the status its value names (several documented successes).
pub fn statuses_response<T: Serialize + crate::Statuses>(body: T) -> Result<Response, Rejection> {
    let status = StatusCode::from_u16(body.status()).unwrap_or(StatusCode::OK);
    Ok(json_bytes(status, to_json(&body)?))
}

/// The answer as JSON bytes; an answer that does not serialise is the runtime's failure.
fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Rejection> {
    // Room for a typical answer up front: growing from empty took five reallocations for a
    // hundred bytes.
    let mut bytes = Vec::with_capacity(256);
    serde_json::to_writer(&mut bytes, value)
        .map_err(|_| Rejection::new(RejectionKind::Internal, "Internal error"))?;
    Ok(bytes)
}

/// A `text/plain` answer: the string as it is (not a JSON string).
pub fn text_response(text: String) -> Result<Response, Rejection> {
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response())
}

/// A non-JSON success response (HTML page or redirect).
pub fn raw_response(raw: RawResponse) -> Result<Response, Rejection> {
    let status = StatusCode::from_u16(raw.status).unwrap_or(StatusCode::OK);
    let mut response = (status, raw.body).into_response();
    let headers = response.headers_mut();
    if let Some(ct) = raw
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    if let Some(loc) = raw
        .location
        .and_then(|l| HeaderValue::from_str(&location_value(&l)).ok())
    {
        headers.insert(header::LOCATION, loc);
    }
    Ok(response)
}

/// A URI reference fit for `Location` (RFC 3986 characters only): every byte outside the
/// unreserved and reserved sets and `%` is percent-encoded (UTF-8), so a link with spaces or
/// non-ASCII text still redirects where it says instead of being dropped or sent raw. Existing
/// `%XX` escapes are kept.
pub fn location_value(link: &str) -> String {
    percent_encoding::utf8_percent_encode(link, LOCATION_ESCAPED).to_string()
}

/// What [`location_value`] escapes: every byte but RFC 3986's unreserved and reserved
/// characters and `%` (non-ASCII bytes always are).
const LOCATION_ESCAPED: &percent_encoding::AsciiSet = &all_but(
    percent_encoding::NON_ALPHANUMERIC,
    b"-._~:/?#[]@!$&'()*+,;=%",
);

/// `set` without each of `kept` (evaluated at compile time; `kept` is never empty).
const fn all_but(set: &percent_encoding::AsciiSet, kept: &[u8]) -> percent_encoding::AsciiSet {
    let mut out = set.remove(kept[0]);
    let mut i = 1;
    while i < kept.len() {
        out = out.remove(kept[i]);
        i += 1;
    }
    out
}

/// Built by hand: `(status, bytes).into_response()` would insert an octet-stream
/// content type first, only for it to be replaced. Public so that an implementation's error
/// shape writes its JSON the same way.
pub fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The `Allow` header a 405 carries, on whatever response the API writes for it.
pub fn with_allow(mut response: Response, allow: Option<&str>) -> Response {
    if let Some(allow) = allow.and_then(|a| HeaderValue::from_str(a).ok()) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

/// The neutral error shape, `{"error": "<kind>", "message": "..."}` with the rejection's
/// status (and `Allow`): what a generated crate answers when its implementation fails with
/// [`Rejection`] itself rather than an error type of its own.
impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = serde_json::to_vec(&self.body()).unwrap_or_default();
        with_allow(json_bytes(status, bytes), self.allow.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::{location_value, match_template};

    #[test]
    fn locations_are_percent_encoded() {
        assert_eq!(
            location_value("https://example.org/a b?q=ü&x=%20"),
            "https://example.org/a%20b?q=%C3%BC&x=%20"
        );
        assert_eq!(
            location_value("https://x/\"<>^`{|}\n"),
            "https://x/%22%3C%3E%5E%60%7B%7C%7D%0A"
        );
        let plain = "https://example.org/p?a=1&b=[x]#frag";
        assert_eq!(location_value(plain), plain);
    }

    fn params(path: &str, template: &str) -> Option<Result<Vec<(String, String)>, u16>> {
        match_template(path, template).map(|r| r.map_err(|e| e.status))
    }

    fn found(pairs: &[(&str, &str)]) -> Option<Result<Vec<(String, String)>, u16>> {
        Some(Ok(pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()))
    }

    #[test]
    fn templates_match_whole_segments() {
        let t = "/v2/pubkey/{keyId}";
        assert_eq!(
            params("/v2/pubkey/ed25519:0", t),
            found(&[("keyId", "ed25519:0")])
        );
        assert_eq!(
            params("/v2/pubkey/ed25519%3A0", t),
            found(&[("keyId", "ed25519:0")])
        );
        assert_eq!(params("/v2/pubkey/a%2Fb", t), found(&[("keyId", "a/b")]));
        assert_eq!(params("/v2/pubkey/%zz", t), found(&[("keyId", "%zz")]));
        assert_eq!(params("/v2/pubkey/", t), None);
        assert_eq!(params("/v2/pubkey", t), None);
        assert_eq!(params("/v2/pubkey/a/b", t), None);
        assert_eq!(params("/v2/pubkey/a/", t), None);
        assert_eq!(params("/v2/pubkeys/a", t), None);
        assert_eq!(params("v2/pubkey/a", t), None);
        assert_eq!(params("/v2/pubkey/%FF", t), Some(Err(400)));
        let cancel = "/operations/{name}:cancel";
        assert_eq!(
            params("/operations/op1:cancel", cancel),
            found(&[("name", "op1")])
        );
        assert_eq!(params("/operations/:cancel", cancel), None);
        assert_eq!(params("/operations/op1:stop", cancel), None);
        let file = "/files/{stem}.{ext}";
        assert_eq!(
            params("/files/a.b.c", file),
            found(&[("stem", "a.b"), ("ext", "c")])
        );
        assert_eq!(params("/files/readme", file), None);
        assert_eq!(params("/files/.c", file), None);
        let two = "/a/{x}/b/{y}";
        assert_eq!(params("/a/1/b/2", two), found(&[("x", "1"), ("y", "2")]));
        assert_eq!(params("/a/1/c/2", two), None);
    }

    #[test]
    fn routes_are_found_by_path_then_method() {
        use super::{Method, PathRoutes, find_route};
        static TEMPLATED: &[PathRoutes<u8>] = &[
            ("/a/{id}/y", &[(Method::DELETE, 6)]),
            ("/a/{id}", &[(Method::GET, 7)]),
        ];
        // As the generated `route` does: a `match` on the literal paths, then the templates.
        let find = |method: Method, path: &str| {
            let literal: &'static [(Method, u8)] = match path {
                "/a" => &[(Method::GET, 1)],
                "/b" => &[(Method::POST, 2), (Method::HEAD, 3)],
                "/a/x" => &[(Method::GET, 4), (Method::PUT, 5)],
                _ => &[],
            };
            find_route(&method, path, literal, TEMPLATED)
                .map(|(route, params)| (route, params.len()))
                .map_err(|e| (e.status, e.allow))
        };
        assert_eq!(find(Method::GET, "/a"), Ok((1, 0)));
        assert_eq!(find(Method::HEAD, "/a"), Ok((1, 0)), "GET answers HEAD");
        assert_eq!(
            find(Method::HEAD, "/b"),
            Ok((3, 0)),
            "unless HEAD has a route"
        );
        assert_eq!(
            find(Method::PUT, "/a/x"),
            Ok((5, 0)),
            "a literal beats a template"
        );
        assert_eq!(find(Method::GET, "/a/7"), Ok((7, 1)));
        assert_eq!(find(Method::DELETE, "/a/7/y"), Ok((6, 1)));
        assert_eq!(find(Method::GET, "/c"), Err((404, None)));
        assert_eq!(find(Method::GET, "/a/"), Err((404, None)));
        assert_eq!(
            find(Method::POST, "/a/x"),
            Err((405, Some("GET, HEAD, OPTIONS, PUT".into())))
        );
        assert_eq!(
            find(Method::GET, "/b"),
            Err((405, Some("HEAD, OPTIONS, POST".into())))
        );
        assert_eq!(
            find(Method::GET, "/a/7/y"),
            Err((405, Some("DELETE, OPTIONS".into())))
        );
    }

    mod generic_handler {
        use super::super::{accept, handle, json_response};
        use crate::validate::{ErrorKind, Errors, Path, Sink, collect};
        use crate::{BodyMode, Operation, Rejection, RejectionKind, ScalarKind};
        use axum::body::Body;
        use axum::http::{Request, StatusCode};
        use axum::response::IntoResponse;
        use serde_json::{Value, json};

        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Params {
            n: i64,
            id: String,
        }

        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Payload {
            a: String,
        }

        fn require(v: &Value, key: &'static str) -> Result<(), Errors> {
            if v.get(key).is_some() {
                return Ok(());
            }
            collect(|s| {
                s.fail(&Path::Key(&Path::Root, key), ErrorKind::Required, || {
                    format!("missing required property {key:?}")
                })
            })
        }

        struct Both;
        impl Operation for Both {
            type Params = Params;
            type Body = Payload;
            type Response = Value;
            const OPERATION_ID: &'static str = "both";
            const METHOD: &'static str = "POST";
            const PATH: &'static str = "/things/{id}";
            const PARAM_KINDS: Option<&'static [(&'static str, ScalarKind)]> =
                Some(&[("n", ScalarKind::Integer)]);
            const BODY: BodyMode = BodyMode::Validated;
            const VALIDATE_PARAMS: crate::Validator = |v| require(v, "n");
            const VALIDATE_BODY: crate::Validator = |v| require(v, "a");
        }

        struct Raw;
        impl Operation for Raw {
            type Params = ();
            type Body = Payload;
            type Response = Value;
            const OPERATION_ID: &'static str = "raw";
            const METHOD: &'static str = "POST";
            const PATH: &'static str = "/raw";
            const BODY: BodyMode = BodyMode::KeepRaw;
            const VALIDATE_BODY: crate::Validator = |v| require(v, "a");
        }

        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Query {
            tags: Vec<String>,
            ids: Vec<i64>,
            session: String,
            #[serde(rename = "X-Request-Id")]
            request_id: String,
        }

        struct Everywhere;
        impl Operation for Everywhere {
            type Params = Query;
            type Body = ();
            type Response = Value;
            const OPERATION_ID: &'static str = "everywhere";
            const METHOD: &'static str = "GET";
            const PATH: &'static str = "/q";
            const PARAM_KINDS: Option<&'static [(&'static str, ScalarKind)]> = Some(&[
                ("tags", ScalarKind::Array(&ScalarKind::String, None)),
                ("ids", ScalarKind::Array(&ScalarKind::Integer, Some(','))),
            ]);
            const HEADERS: &'static [&'static str] = &["X-Request-Id"];
            const COOKIES: &'static [&'static str] = &["session"];
            const VALIDATE_PARAMS: crate::Validator = |v| require(v, "X-Request-Id");
        }

        #[tokio::test]
        async fn arrays_headers_and_cookies_are_parameters() {
            let request = Request::get("/q?tags=a&tags=b&ids=1,2,3")
                .header("x-request-id", "r1")
                .header("cookie", "other=1; session=s3")
                .body(Body::empty())
                .unwrap_or_default();
            let (_, params, ()) = accept::<Everywhere>(request, None, Vec::new())
                .await
                .map_err(|e| e.status)
                .unwrap_or_else(|s| panic!("refused with {s}"));
            assert_eq!(
                params,
                Query {
                    tags: vec!["a".into(), "b".into()],
                    ids: vec![1, 2, 3],
                    session: "s3".into(),
                    request_id: "r1".into(),
                }
            );
            let no_header = Request::get("/q?tags=a&ids=1")
                .body(Body::empty())
                .unwrap_or_default();
            let refused = accept::<Everywhere>(no_header, None, Vec::new()).await;
            assert_eq!(refused.err().map(|e| e.status), Some(400));
        }

        struct Upload;
        impl Operation for Upload {
            type Params = ();
            type Body = Vec<u8>;
            type Response = Value;
            const OPERATION_ID: &'static str = "upload";
            const METHOD: &'static str = "POST";
            const PATH: &'static str = "/upload";
            const BODY: BodyMode = BodyMode::Bytes;
            fn body_from_bytes(bytes: Vec<u8>) -> Option<Vec<u8>> {
                Some(bytes)
            }
        }

        #[tokio::test]
        async fn text_answers_are_written_as_they_are() {
            let Ok(r) = super::super::text_response("pong".to_owned()) else {
                panic!("text is always written");
            };
            assert_eq!(
                r.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("text/plain; charset=utf-8")
            );
            let bytes = axum::body::to_bytes(r.into_body(), 64)
                .await
                .unwrap_or_default();
            assert_eq!(&bytes[..], b"pong");
        }

        #[tokio::test]
        async fn bytes_bodies_are_handed_over_unparsed() {
            let request = Request::post("/upload")
                .header("content-type", "application/octet-stream")
                .body(Body::from(vec![0_u8, 159, 146, 150]))
                .unwrap_or_default();
            let (_, (), body) = accept::<Upload>(request, None, Vec::new())
                .await
                .map_err(|e| e.status)
                .unwrap_or_else(|s| panic!("refused with {s}"));
            assert_eq!(body, vec![0_u8, 159, 146, 150]);
        }

        struct Nothing;
        impl Operation for Nothing {
            type Params = ();
            type Body = ();
            type Response = Value;
            const OPERATION_ID: &'static str = "nothing";
            const METHOD: &'static str = "GET";
            const PATH: &'static str = "/nothing";
        }

        fn post(uri: &str, body: &str) -> axum::extract::Request {
            Request::post(uri)
                .body(Body::from(body.to_owned()))
                .unwrap_or_default()
        }

        fn path() -> Vec<(String, String)> {
            vec![("id".to_owned(), "x1".to_owned())]
        }

        #[tokio::test]
        async fn accept_types_validates_and_decodes_params_and_body() {
            let (ctx, params, body) =
                accept::<Both>(post("/things/x1?n=7", r#"{"a":"b"}"#), None, path())
                    .await
                    .map_err(|e| e.status)
                    .unwrap_or_else(|s| panic!("refused with {s}"));
            assert_eq!(
                params,
                Params {
                    n: 7,
                    id: "x1".into()
                }
            );
            assert_eq!(body, Payload { a: "b".into() });
            assert_eq!(
                ctx.body, None,
                "only KeepRaw operations keep the parsed body"
            );
        }

        #[tokio::test]
        async fn accept_answers_with_the_spec_errors() {
            let status = |r: Result<_, Rejection>| r.err().map(|e| (e.status, e.kind));
            let missing = accept::<Both>(post("/things/x1", r#"{"a":"b"}"#), None, path()).await;
            assert_eq!(status(missing), Some((400, RejectionKind::Missing)));
            let bad_json = accept::<Both>(post("/things/x1?n=1", "{"), None, path()).await;
            assert_eq!(status(bad_json), Some((400, RejectionKind::BadBody)));
            let no_field = accept::<Both>(post("/things/x1?n=1", "{}"), None, path()).await;
            assert_eq!(status(no_field), Some((400, RejectionKind::Missing)));
        }

        #[tokio::test]
        async fn keep_raw_keeps_the_parsed_body_and_nothing_ignores_input() {
            let (ctx, (), body) =
                accept::<Raw>(post("/raw", r#"{"a":"b","x":1}"#), None, Vec::new())
                    .await
                    .map_err(|e| e.status)
                    .unwrap_or_else(|s| panic!("refused with {s}"));
            assert_eq!(body, Payload { a: "b".into() });
            assert_eq!(ctx.body, Some(json!({"a": "b", "x": 1})));
            let got = accept::<Nothing>(post("/nothing?junk", "not json"), None, Vec::new()).await;
            assert!(got.is_ok());
        }

        #[derive(serde::Deserialize)]
        struct Form {
            file: crate::binary::Binary,
            note: String,
            n: i64,
        }

        struct UploadOp;
        impl Operation for UploadOp {
            type Params = ();
            type Body = Form;
            type Response = Value;
            const OPERATION_ID: &'static str = "upload";
            const METHOD: &'static str = "POST";
            const PATH: &'static str = "/upload";
            const BODY: BodyMode = BodyMode::Validated;
            const FORM_KINDS: Option<&'static [(&'static str, ScalarKind)]> = Some(&[
                ("file", ScalarKind::Binary),
                ("n", ScalarKind::Integer),
                ("note", ScalarKind::String),
            ]);
            const VALIDATE_BODY: crate::Validator = |v| require(v, "n");
        }

        fn multipart(body: &'static [u8]) -> axum::extract::Request {
            Request::post("/upload")
                .header(
                    axum::http::header::CONTENT_TYPE,
                    "multipart/form-data; boundary=b0",
                )
                .body(Body::from(body))
                .unwrap_or_default()
        }

        #[tokio::test]
        async fn multipart_fields_are_typed_validated_and_files_keep_their_bytes() {
            // `file` without a file name still keeps its bytes: the schema says binary.
            let body = b"--b0\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\x00\xfe\xff\r\n--b0\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nh\xc3\xa9\r\n--b0\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n42\r\n--b0--\r\n";
            let got = accept::<UploadOp>(multipart(body), None, Vec::new()).await;
            let Ok((_, (), upload)) = got else {
                panic!("refused: {:?}", got.err());
            };
            assert_eq!(upload.file.as_bytes(), [0, 0xfe, 0xff]);
            assert_eq!(upload.note, "hé");
            assert_eq!(upload.n, 42);
            // The validator sees the form: a missing field is its error, not a parse error.
            let missing =
                b"--b0\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--b0--\r\n";
            let err = accept::<UploadOp>(multipart(missing), None, Vec::new())
                .await
                .err();
            assert_eq!(
                err.map(|e| (e.status, e.message.contains("n"))),
                Some((400, true))
            );
            // A text field that is not UTF-8, and a body that is not multipart after all.
            let latin =
                b"--b0\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\xff\r\n--b0--\r\n";
            for bad in [&latin[..], b"{\"n\": 1}"] {
                let err = accept::<UploadOp>(multipart(bad), None, Vec::new())
                    .await
                    .err();
                assert_eq!(err.map(|e| e.kind), Some(RejectionKind::BadBody));
            }
        }

        #[tokio::test]
        async fn handle_calls_the_implementation_only_for_accepted_requests() {
            let ok = handle(
                Both,
                post("/things/x1?n=2", r#"{"a":"z"}"#),
                None,
                path(),
                json_response,
                |_ctx, p: Params, b: Payload| async move {
                    Ok::<_, Rejection>(json!({"n": p.n, "a": b.a}))
                },
            )
            .await;
            assert_eq!(ok.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(ok.into_body(), 1024)
                .await
                .unwrap_or_default();
            assert_eq!(
                serde_json::from_slice::<Value>(&bytes).ok(),
                Some(json!({"n": 2, "a": "z"}))
            );
            let refused = handle(
                Both,
                post("/things/x1", "{}"),
                None,
                path(),
                json_response,
                |_ctx, _p: Params, _b: Payload| async move {
                    Err::<Value, _>(Rejection::new(RejectionKind::Internal, "called"))
                },
            )
            .await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
            // Another API's error shape, and a create answered 201.
            struct Created;
            impl Operation for Created {
                type Params = ();
                type Body = ();
                type Response = Value;
                const OPERATION_ID: &'static str = "created";
                const METHOD: &'static str = "POST";
                const PATH: &'static str = "/c";
                const SUCCESS: u16 = 201;
            }
            struct Problem(u16);
            impl From<Rejection> for Problem {
                fn from(r: Rejection) -> Self {
                    Problem(r.status)
                }
            }
            impl IntoResponse for Problem {
                fn into_response(self) -> axum::response::Response {
                    (
                        StatusCode::from_u16(self.0).unwrap_or(StatusCode::BAD_REQUEST),
                        "problem",
                    )
                        .into_response()
                }
            }
            let created = handle(
                Created,
                post("/c", ""),
                None,
                Vec::new(),
                json_response,
                |_ctx, (), ()| async move { Ok::<_, Problem>(json!({"id": 1})) },
            )
            .await;
            assert_eq!(created.status(), StatusCode::CREATED);
            // Several documented successes: the answer's variant picks the status.
            #[derive(serde::Serialize)]
            #[serde(untagged)]
            enum Put {
                Replaced(Value),
                Made(Value),
            }
            impl crate::Statuses for Put {
                fn status(&self) -> u16 {
                    match self {
                        Put::Replaced(_) => 200,
                        Put::Made(_) => 201,
                    }
                }
            }
            for (answer, status) in [
                (Put::Made(json!({"id": 2})), StatusCode::CREATED),
                (Put::Replaced(json!({"id": 2})), StatusCode::OK),
            ] {
                let got = handle(
                    Nothing,
                    post("/nothing", ""),
                    None,
                    Vec::new(),
                    crate::server::statuses_response,
                    |_ctx, (), ()| async move { Ok::<_, Rejection>(answer) },
                )
                .await;
                assert_eq!(got.status(), status);
                let body = axum::body::to_bytes(got.into_body(), 1024)
                    .await
                    .unwrap_or_default();
                assert_eq!(
                    serde_json::from_slice::<Value>(&body).ok(),
                    Some(json!({"id": 2}))
                );
            }
            let failed = handle(
                Created,
                post("/c", ""),
                None,
                Vec::new(),
                json_response,
                |_ctx, (), ()| async move { Err::<Value, _>(Problem(409)) },
            )
            .await;
            assert_eq!(failed.status(), StatusCode::CONFLICT);
            let text = axum::body::to_bytes(failed.into_body(), 1024)
                .await
                .unwrap_or_default();
            assert_eq!(&text[..], b"problem");
        }
    }
}
