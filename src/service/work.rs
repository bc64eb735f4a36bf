//! work operations.
