//! gatepass rules (plain types, no I/O).
