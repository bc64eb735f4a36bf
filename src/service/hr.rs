//! hr operations.
