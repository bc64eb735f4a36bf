//! `gatehouse terminal list | approve --sn SN | block --sn SN` (DESIGN.md §3.5, §3.6).

use clap::Subcommand;
use serde_json::json;

use super::{admin, emit, table, Global};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum TerminalCmd {
    /// Every terminal that has contacted the box: state, model, address, last contact.
    List,
    /// Let a terminal deliver punches (its backlog then arrives); queues the roll's users to it.
    Approve {
        /// The terminal's serial number (as `terminal list` shows it).
        #[arg(long)]
        sn: String,
        /// The zone of the terminal's clock when it is not the site's, e.g. +05:30 or 330.
        #[arg(long, allow_hyphen_values = true)]
        timezone: Option<String>,
    },
    /// Refuse a terminal's data (it keeps its punches).
    Block {
        /// The terminal's serial number; a blocked terminal keeps its punches.
        #[arg(long)]
        sn: String,
    },
}

pub fn run(cfg: &Config, g: &Global, cmd: TerminalCmd) -> Result<(), String> {
    let (path, sn, verb, zone) = match cmd {
        TerminalCmd::List => {
            let d = admin(cfg, "GET", "/admin/terminals", None)?;
            return emit(g, &d, || {
                table(
                    &d,
                    &[
                        "sn",
                        "state",
                        "model",
                        "ip",
                        "last_seen",
                        "punches_stored",
                        "queued_commands",
                    ],
                )
            });
        }
        TerminalCmd::Approve { sn, timezone } => {
            ("/admin/terminals/approve", sn, "approved", timezone)
        }
        TerminalCmd::Block { sn } => ("/admin/terminals/block", sn, "blocked", None),
    };
    let mut body = json!({ "sn": sn });
    if let Some(z) = zone {
        body["timezone"] = json!(z);
    }
    let d = admin(cfg, "POST", path, Some(body))?;
    emit(g, &d, || {
        format!(
            "terminal {sn} {verb} ({} commands queued)",
            d["commands_queued"]
        )
    })
}
