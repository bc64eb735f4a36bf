//! estate operations.
