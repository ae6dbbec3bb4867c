//! Tests of the status area.
