//! What the console asks of the server (`Cmd`) and what comes back (`Reply`). Screens only
//! build `Cmd`s and read `Reply`s; the event loop (or a test) runs them with the `AdminClient`.

use serde_json::Value;

use crate::client::{AdminClient, ClientError};

/// What a reply is for, so the `App` can hand it to the right state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tag {
    Dashboard,
    Devices,
    Gatepasses,
    GatepassSummary,
    GatepassDetail,
    Attendance,
    Users,
    Lockouts,
    Outbox,
    Logs,
    Backup,
    Check,
    BackupStatus,
    Terminals,
    TerminalCommands,
    TerminalUnknown,
    /// The attendance screen's muster of its day.
    MusterDay,
    /// The dashboard's charts and needs-action list.
    Charts,
    /// An action (approve, issue, unlock ...); the text says what was done, for the status line.
    Done(String),
    /// The first-run credentials, taken (and so deleted on the box) to be shown once.
    FirstRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cmd {
    pub tag: Tag,
    pub method: &'static str,
    pub path: String,
    pub body: Option<Value>,
}

impl Cmd {
    pub fn get(tag: Tag, path: impl Into<String>) -> Self {
        Cmd {
            tag,
            method: "GET",
            path: path.into(),
            body: None,
        }
    }

    pub fn post(tag: Tag, path: impl Into<String>, body: Value) -> Self {
        Cmd {
            tag,
            method: "POST",
            path: path.into(),
            body: Some(body),
        }
    }
}

/// Why the server could not be reached at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offline {
    NotRunning(String),
    Permission(String),
    Broken(String),
}

impl Offline {
    pub fn message(&self) -> &str {
        match self {
            Offline::NotRunning(m) | Offline::Permission(m) | Offline::Broken(m) => m,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    Ok(Value),
    /// The server does not offer this endpoint (yet): an older or partial build.
    NotAvailable,
    /// The server refused or failed the request; its message.
    Failed(String),
    Offline(Offline),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub tag: Tag,
    pub fetch: Fetch,
}

/// Runs one command. Never panics; every outcome is a `Fetch`.
pub fn run(client: &AdminClient, cmd: &Cmd) -> Reply {
    let fetch = match client.request(cmd.method, &cmd.path, cmd.body.as_ref()) {
        Err(ClientError::NotRunning(_)) => Fetch::Offline(Offline::NotRunning(format!(
            "The gatehouse server is not running (no admin socket at {}).",
            client.socket().display()
        ))),
        Err(ClientError::PermissionDenied(_)) => Fetch::Offline(Offline::Permission(format!(
            "Permission denied on the admin socket {}: run the console as the gatehouse user or a member of its group.",
            client.socket().display()
        ))),
        Err(ClientError::Io(e)) => Fetch::Offline(Offline::Broken(format!(
            "The admin socket stopped answering: {e}"
        ))),
        Err(ClientError::Protocol(e)) => Fetch::Failed(format!("unexpected answer: {e}")),
        Ok(a) => {
            let route_missing = a.status == 405
                || (a.status == 404
                    && a.body
                        .get("error")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.starts_with("No such endpoint")));
            if route_missing {
                Fetch::NotAvailable
            } else {
                match a.into_data() {
                    Ok(v) => Fetch::Ok(v),
                    Err(e) => Fetch::Failed(e),
                }
            }
        }
    };
    Reply {
        tag: cmd.tag.clone(),
        fetch,
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_socket_is_offline_not_an_error() {
        let c = AdminClient::new("/nonexistent/gatehouse/admin.sock");
        let r = run(&c, &Cmd::get(Tag::Dashboard, "/admin/dashboard"));
        assert!(matches!(r.fetch, Fetch::Offline(Offline::NotRunning(_))));
        assert_eq!(r.tag, Tag::Dashboard);
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(enc("B 1234 XY/é"), "B%201234%20XY%2F%C3%A9");
    }
}
