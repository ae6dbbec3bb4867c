//! Liveness and readiness. `/health` answers 200 as long as the process serves its operator
//! listener at all; `/ready` answers 200 only when a request to the client port would be
//! served from a complete index with a reachable store and a signing key, so a load balancer
//! or an orchestrator sends no traffic to an instance still building its index at start (which
//! takes seconds per million associations) or cut off from PostgreSQL.

use crate::store::Store;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

/// What `/ready` asks; filled in once the server's state is built.
#[derive(Default)]
pub struct Readiness {
    serving: OnceLock<Serving>,
}

struct Serving {
    store: Arc<dyn Store>,
    signing_keys: usize,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("started", &self.serving.get().is_some())
            .finish()
    }
}

impl Readiness {
    /// The state is built: the store is open and its lookup index loaded (opening a store
    /// builds it), the signing keys are loaded.
    pub fn started(&self, store: Arc<dyn Store>, signing_keys: usize) {
        let _ = self.serving.set(Serving {
            store,
            signing_keys,
        });
    }

    /// Whether the instance is ready, and the checks behind the answer (the JSON body).
    pub fn report(&self) -> (bool, Value) {
        let Some(serving) = self.serving.get() else {
            return (
                false,
                json!({
                    "ready": false,
                    "checks": {"index": "building", "store": "opening", "signing_key": "loading"},
                }),
            );
        };
        let store = serving.store.available();
        let key = serving.signing_keys > 0;
        let ready = store && key;
        (
            ready,
            json!({
                "ready": ready,
                "checks": {
                    "index": "loaded",
                    "store": if store { "reachable" } else { "unreachable" },
                    "signing_key": if key { "present" } else { "missing" },
                },
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Until the state is built (the store opening, its index loading) an instance is not
    /// ready, and says what it waits for.
    #[test]
    fn not_ready_until_started() {
        let readiness = Readiness::default();
        let (ready, report) = readiness.report();
        assert!(!ready);
        assert_eq!(report["checks"]["index"], "building");
    }
}
