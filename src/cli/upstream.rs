//! `gatehouse upstream status`: replication progress, through the admin API (in-process on the
//! store when no server runs).

use clap::Subcommand;

use super::{admin, emit, Global};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum UpstreamCmd {
    /// Pending entries, last shipped number, lag and last error.
    Status,
}

pub fn run(cfg: &Config, g: &Global, cmd: UpstreamCmd) -> Result<(), String> {
    match cmd {
        UpstreamCmd::Status => {
            let d = admin(cfg, "GET", "/admin/upstream", None)?;
            emit(g, &d, || {
                let mut s = if d["enabled"].as_bool() == Some(true) {
                    format!(
                        "upstream {} as box '{}'\n",
                        d["url"].as_str().unwrap_or(""),
                        d["box_id"].as_str().unwrap_or("")
                    )
                } else {
                    "upstream replication is off (no [upstream] url); changes are kept in the outbox\n"
                        .to_string()
                };
                s.push_str(&format!(
                    "pending: {} (about {} bytes)\nshipped_seq: {} of {}\nlag_s: {}\nlast_error: {}",
                    d["pending"],
                    d["backlog_bytes"],
                    d["shipped_seq"],
                    d["last_seq"],
                    d["lag_s"],
                    d["last_error"].as_str().unwrap_or("none")
                ));
                s
            })
        }
    }
}
