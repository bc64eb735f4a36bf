//! hr rules (plain types, no I/O).
