//! The application as the accept loop runs it: the generated dispatcher
//! (`oxident_api::server::dispatch`) over this server's [`Api`], inside the edge
//! ([`crate::edge`]), with the operator's switches for the deprecated v1 API; and the admin
//! listener's application ([`admin_app`]), the same dispatcher serving only the admin paths.

use crate::api::Api;
use crate::api::request::HttpRules;
use crate::edge::errors::{empty, matrix_response};
use crate::edge::{AccessLog, App, Cors, Hook};
use crate::error::{ApiError, MatrixError};
use crate::ops::admin::AdminGate;
use crate::ops::metrics::RequestMetrics;
use crate::state::AppState;
use http::StatusCode;
use std::sync::Arc;
use std::time::Duration;

/// The whole application, as the accept loop (`serve.rs`) and tests run it.
pub fn app(state: Arc<AppState>) -> App {
    let Parts {
        prefix,
        body_limit,
        timeout,
        api,
    } = Parts::of(&state);
    let v1 = V1Access::of(&state.config.api);
    let mut hooks: Vec<Box<dyn Hook>> = vec![Box::new(Cors), Box::new(AccessLog)];
    // Counting costs a second routing per request: only when someone can scrape the counts.
    if state.config.metrics.bind.is_some() {
        hooks.push(Box::new(RequestMetrics(state.ops.metrics.clone())));
    }
    App::with_hooks(prefix, body_limit, timeout, hooks, move |request, peer| {
        if v1.refuses(request.uri().path()) || is_admin_path(request.uri().path()) {
            // An empty 404: the edge answers it as Matrix JSON, `M_UNRECOGNIZED`.
            return Box::pin(std::future::ready(empty(StatusCode::NOT_FOUND)));
        }
        oxident_api::server::dispatch(&api, request, peer)
    })
}

/// What both listeners' applications are made of: the edge's settings and the API.
struct Parts {
    /// Request ids start from the clock, so two runs' ids differ.
    prefix: u32,
    body_limit: usize,
    timeout: Duration,
    api: Arc<Api>,
}

impl Parts {
    fn of(state: &AppState) -> Self {
        Self {
            prefix: u32::try_from(state.clock.now_ms().rem_euclid(1 << 31)).unwrap_or(0),
            body_limit: state.config.server.body_limit_bytes,
            timeout: Duration::from_secs(state.config.server.request_timeout_secs.max(1)),
            api: Arc::new(Api::new(
                state.services.clone(),
                HttpRules::from_config(&state.config),
            )),
        }
    }
}

/// Where `spec/admin.yaml`'s operations live. The client port answers them as it answers any
/// unknown path (their existence is not its to tell); the admin listener serves nothing else.
const ADMIN_PREFIX: &str = "/_matrix/identity/internal";

fn is_admin_path(path: &str) -> bool {
    path.strip_prefix(ADMIN_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The admin listener's application (`[admin] bind`): the admin paths only, each request
/// first checked against `[admin] secret` when one is set (a wrong or missing secret:
/// `401 M_UNAUTHORIZED`, before the body is read). No CORS: no browser page of another origin
/// has any business here.
pub fn admin_app(state: Arc<AppState>) -> App {
    let Parts {
        prefix,
        body_limit,
        timeout,
        api,
    } = Parts::of(&state);
    let gate = AdminGate::of(&state.config.admin);
    let hooks: Vec<Box<dyn Hook>> = vec![Box::new(AccessLog)];
    App::with_hooks(prefix, body_limit, timeout, hooks, move |request, peer| {
        if !is_admin_path(request.uri().path()) {
            return Box::pin(std::future::ready(empty(StatusCode::NOT_FOUND)));
        }
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if !gate.admits(authorization) {
            let refusal = MatrixError::from(ApiError::AdminUnauthorized);
            return Box::pin(std::future::ready(matrix_response(&refusal)));
        }
        oxident_api::server::dispatch(&api, request, peer)
    })
}

/// Which v1 paths the operator switched off (`[api]`); all served by default, so the hot
/// path pays one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V1Access {
    All,
    NoBind,
    None,
}

impl V1Access {
    fn of(api: &crate::config::ApiConfig) -> Self {
        match (api.enable_v1_access, api.enable_v1_associations) {
            (false, _) => V1Access::None,
            (true, false) => V1Access::NoBind,
            (true, true) => V1Access::All,
        }
    }

    fn refuses(self, path: &str) -> bool {
        const V1: &str = "/_matrix/identity/api/v1";
        match self {
            V1Access::All => false,
            V1Access::None => path.starts_with(V1),
            V1Access::NoBind => path
                .strip_prefix(V1)
                .is_some_and(|rest| rest.trim_end_matches('/') == "/3pid/bind"),
        }
    }
}
