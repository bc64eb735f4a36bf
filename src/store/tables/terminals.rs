//! Trees of the biometric-terminal area (records in src/domain/terminals.rs, keys chosen by
//! src/service/terminals.rs).

use super::TableInfo;
use crate::domain::terminals::{
    EmployeePin, PinEntry, Template, Terminal, TerminalCommand, TerminalUser, UnknownPunch,
};
use crate::store::Record;

/// Counter (store::counters) of the terminals on record (capped: service::terminals).
pub const COUNT_TERMINALS: &str = "terminals.count";

/// Serial number → terminal.
impl Record for Terminal {
    const TREE: &'static str = "terminals";
}
/// Serial ‖ 0 ‖ command id (BE) → command and its state.
impl Record for TerminalCommand {
    const TREE: &'static str = "terminal_commands";
}
/// PIN → the user every terminal should hold.
impl Record for TerminalUser {
    const TREE: &'static str = "terminal_users";
}
/// Employee code → its PIN (explicit or derived), card and privilege.
impl Record for EmployeePin {
    const TREE: &'static str = "terminal_employee_pins";
}
/// PIN (normalised) → employee code.
impl Record for PinEntry {
    const TREE: &'static str = "terminal_pins";
}
/// PIN ‖ 0 ‖ kind ‖ 0 ‖ finger/face id → template metadata (the template is a blob).
impl Record for Template {
    const TREE: &'static str = "terminal_templates";
}
/// Serial ‖ 0 ‖ PIN ‖ 0 ‖ yyyymmddhhmmss → a punch whose PIN maps to no employee.
impl Record for UnknownPunch {
    const TREE: &'static str = "terminal_unknown_punches";
}

/// Serial ‖ 0 ‖ command id (BE): commands not yet done or given up.
pub const COMMANDS_OPEN: &str = "terminal_commands_open";
/// Serial ‖ 0 ‖ PIN ‖ 0 ‖ yyyymmddhhmmss: every ATTLOG line already stored (re-sends store nothing).
pub const PUNCHES_SEEN: &str = "terminal_punches_seen";
/// PIN ‖ 0 ‖ serial ‖ 0 ‖ yyyymmddhhmmss: unknown-PIN punches by PIN, adopted when the PIN is
/// given to an employee.
pub const UNKNOWN_BY_PIN: &str = "terminal_unknown_by_pin";
/// Markers of one-time jobs (`pins-indexed`).
pub const META: &str = "terminal_meta";

pub fn tables() -> Vec<TableInfo> {
    vec![
        crate::table!(Terminal),
        crate::table!(TerminalCommand),
        crate::table!(TerminalUser),
        crate::table!(EmployeePin),
        crate::table!(PinEntry),
        crate::table!(Template),
        crate::table!(UnknownPunch),
        crate::index_table!(COMMANDS_OPEN),
        crate::index_table!(PUNCHES_SEEN),
        crate::index_table!(UNKNOWN_BY_PIN),
        crate::index_table!(META),
    ]
}

/// Replicated upstream (store::outbox): the staff's decisions on terminals.
pub fn replicated() -> Vec<crate::store::outbox::Replicated> {
    use crate::store::outbox::render_key;
    vec![crate::replicated!(Terminal, "terminal", render_key)]
}
