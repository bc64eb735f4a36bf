//! attendance operations.
