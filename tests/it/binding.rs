//! Tests of the binding area.
