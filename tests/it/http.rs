//! Tests of the http area.
