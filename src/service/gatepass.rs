//! gatepass operations.
