//! work rules (plain types, no I/O).
