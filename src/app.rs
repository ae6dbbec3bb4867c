//! The application as the accept loop runs it: the generated dispatcher
//! (`oxident_api::server::dispatch`) over this server's [`Api`], inside the edge
//! ([`crate::edge`]), with the operator's switches for the deprecated v1 API.

use crate::api::Api;
use crate::api::request::HttpRules;
use crate::edge::errors::empty;
use crate::edge::{AccessLog, App, Cors, Hook};
use crate::ops::metrics::RequestMetrics;
use crate::state::AppState;
use http::StatusCode;
use std::sync::Arc;
use std::time::Duration;

/// The whole application, as the accept loop (`serve.rs`) and tests run it.
pub fn app(state: Arc<AppState>) -> App {
    let prefix = u32::try_from(state.clock.now_ms().rem_euclid(1 << 31)).unwrap_or(0);
    let body_limit = state.config.server.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs.max(1));
    let v1 = V1Access::of(&state.config.api);
    let api = Arc::new(Api::new(
        state.services.clone(),
        HttpRules::from_config(&state.config),
    ));
    let mut hooks: Vec<Box<dyn Hook>> = vec![Box::new(Cors), Box::new(AccessLog)];
    // Counting costs a second routing per request: only when someone can scrape the counts.
    if state.config.metrics.bind.is_some() {
        hooks.push(Box::new(RequestMetrics(state.ops.metrics.clone())));
    }
    App::with_hooks(prefix, body_limit, timeout, hooks, move |request, peer| {
        if v1.refuses(request.uri().path()) {
            // An empty 404: the edge answers it as Matrix JSON, `M_UNRECOGNIZED`.
            return Box::pin(std::future::ready(empty(StatusCode::NOT_FOUND)));
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
