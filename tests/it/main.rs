//! The one integration-test binary (one link step instead of one per file).
// Tests wait on real processes and sockets (Synapse, sydent, slow clients) with deadlines in
// real time; the server under test still runs on its injected test clock.
#![allow(clippy::disallowed_methods)]
mod common;
mod fake_homeserver;
mod fake_sms_gateway;
mod smtp_sink;

mod binding;
mod cli;
mod client_limits;
mod db_outage;
mod homeserver;
mod http;
mod invites;
mod logs;
mod lookup;
mod mail;
mod multi_instance;
mod ops;
mod properties;
mod schemathesis;
mod shutdown;
mod sms;
mod status;
mod sydent_diff;
mod sydent_import;
mod sydent_peer;
mod synapse;
mod tidy;
mod tls;
mod validation;
mod walkthrough;
