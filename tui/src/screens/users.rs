//! Users: add one (with a role), reset a password, disable / enable an account, lift every
//! lockout that refuses a user (its own and its devices').

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use serde_json::{json, Value};

use super::{
    draw_note, draw_table, matching, placeholder, rows_of, set_query, Action, Ctx, Load, Screen,
    Sel,
};
use crate::data::{boolean, int, text};
use crate::form::{Field, Form, FormKind};
use crate::io::{Cmd, Reply, Tag};

pub const ROLES: &[&str] = &[
    "clerk",
    "gate_guard",
    "supervisor",
    "manager",
    "admin",
    "labourer",
];

#[derive(Debug, Default)]
pub struct Users {
    pub list: Load<Vec<Value>>,
    /// Login lockouts (`user:<name>` subjects), to mark who needs unlocking.
    pub lockouts: Load<Vec<Value>>,
    pub sel: Sel,
    pub query: String,
}

const KEYS: &[(&str, &str, &str)] = &[
    ("↑/↓", "", "choose a user"),
    ("n", "add", "add a user (username, name, password, role)"),
    (
        "p",
        "password",
        "set a new password (signs the user out everywhere)",
    ),
    ("o", "role", "give the user another role (applies at once)"),
    (
        "u",
        "unlock",
        "lift every lockout refusing the user, its devices' too",
    ),
    (
        "d",
        "disable",
        "disable: no sign-in, every session ends (asks first)",
    ),
    ("e", "enable", "enable a disabled account again"),
    ("F", "", "first-run credentials: shown once, then deleted"),
    ("/", "search", "filter by username, name or role"),
    ("r", "", "refresh"),
];

impl Users {
    pub fn visible(&self) -> Vec<&Value> {
        matching(&self.list, &self.query, &["username", "name", "role"])
    }

    /// Minutes left on a user's login lockout, if locked.
    pub fn locked_for(&self, username: &str) -> Option<i64> {
        let subject = format!("user:{}", username.to_lowercase());
        self.lockouts
            .ready()?
            .iter()
            .find(|l| text(l, "subject") == subject)
            .map(|l| (int(l, "retry_after_secs").unwrap_or(0) + 59) / 60)
    }

    fn selected(&self) -> Option<String> {
        self.visible()
            .get(self.sel.0)
            .map(|u| text(u, "username"))
            .filter(|s| !s.is_empty())
    }
}

impl Screen for Users {
    fn title(&self) -> &'static str {
        "Users"
    }

    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        KEYS
    }

    fn refresh(&self) -> Vec<Cmd> {
        vec![
            Cmd::get(Tag::Users, "/admin/users"),
            Cmd::get(Tag::Lockouts, "/admin/lockouts"),
        ]
    }

    fn on_reply(&mut self, reply: &Reply) {
        if reply.tag == Tag::Lockouts {
            self.lockouts.take(&reply.fetch, rows_of);
        }
        if reply.tag == Tag::Users {
            self.list.take(&reply.fetch, rows_of);
            let n = self.visible().len();
            self.sel.clamp(n);
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        let n = self.visible().len();
        if self.sel.on_key(&key, n) {
            return Action::None;
        }
        match key.code {
            KeyCode::Char('n') => Action::Form(Form::new(
                FormKind::AddUser,
                "Add a user",
                vec![
                    Field::text("username", "Username").max(64),
                    Field::text("name", "Full name").max(100),
                    Field::secret("password", "Password").max(64),
                    Field::choice("role", "Role", ROLES),
                    Field::text("phone", "Phone").max(20),
                ],
            )),
            KeyCode::Char('F') => Action::Confirm(
                "Show the first-run credentials? They are shown this once and deleted from the box."
                    .into(),
                Cmd::post(Tag::FirstRun, "/admin/first-run", json!({})),
            ),
            KeyCode::Char('p') => match self.selected() {
                Some(u) => Action::Form(Form::new(
                    FormKind::ResetPassword,
                    format!("New password for {u}"),
                    vec![
                        Field::text("username", "Username").with(u).max(64),
                        Field::secret("password", "New password").max(64),
                    ],
                )),
                None => Action::Message("no user selected".into()),
            },
            KeyCode::Char('o') => match self.selected() {
                Some(u) => Action::Form(Form::new(
                    FormKind::SetRole,
                    format!("Role of {u}"),
                    vec![
                        Field::text("username", "Username").with(u).max(64),
                        Field::choice("role", "Role", ROLES),
                    ],
                )),
                None => Action::Message("no user selected".into()),
            },
            KeyCode::Char('u') => match self.selected() {
                Some(u) => Action::Send(Cmd::post(
                    Tag::Done(format!("{u} unlocked")),
                    "/admin/users/unlock",
                    json!({"username": u}),
                )),
                None => Action::Message("no user selected".into()),
            },
            KeyCode::Char('d') => match self.selected() {
                Some(u) => Action::Confirm(
                    format!(
                        "Disable {u}? It can no longer sign in and every session it holds ends."
                    ),
                    Cmd::post(
                        Tag::Done(format!("{u} disabled; its sessions ended")),
                        "/admin/users/disable",
                        json!({"username": u}),
                    ),
                ),
                None => Action::Message("no user selected".into()),
            },
            KeyCode::Char('e') => match self.selected() {
                Some(u) => Action::Send(Cmd::post(
                    Tag::Done(format!("{u} enabled")),
                    "/admin/users/enable",
                    json!({"username": u}),
                )),
                None => Action::Message("no user selected".into()),
            },
            KeyCode::Char('r') => Action::Refresh,
            _ => Action::None,
        }
    }

    fn submit(&mut self, form: &Form) -> Result<Cmd, String> {
        let username = form.value("username");
        if username.is_empty() {
            return Err("a username is required".into());
        }
        if form.kind == FormKind::SetRole {
            return Ok(Cmd::post(
                Tag::Done(format!("{username} is now {}", form.value("role"))),
                "/admin/users/role",
                json!({"username": username, "role": form.value("role")}),
            ));
        }
        // Passwords are sent as typed (not trimmed): spaces may be part of one.
        let password = form
            .fields
            .iter()
            .find(|f| f.name == "password")
            .map(|f| f.value.clone())
            .unwrap_or_default();
        if password.is_empty() {
            return Err("a password is required".into());
        }
        match form.kind {
            FormKind::AddUser => Ok(Cmd::post(
                Tag::Done(format!("user {username} added")),
                "/admin/users",
                json!({"username": username, "password": password, "name": form.value("name"),
                       "role": form.value("role"), "phone": form.value("phone")}),
            )),
            FormKind::ResetPassword => Ok(Cmd::post(
                Tag::Done(format!(
                    "password of {username} changed; its sessions were revoked"
                )),
                "/admin/users/password",
                json!({"username": username, "password": password}),
            )),
            _ => Err("not a user form".into()),
        }
    }

    fn query(&self) -> Option<&str> {
        Some(&self.query)
    }

    fn search(&mut self, q: &str) -> Vec<Cmd> {
        set_query(&mut self.query, &mut self.sel, q);
        vec![]
    }

    fn scroll(&mut self, delta: i32) {
        let n = self.visible().len();
        self.sel.by(delta, n);
    }

    fn draw(&self, f: &mut Frame, area: Rect, _ctx: &Ctx) {
        if let Some(note) = placeholder(&self.list, "Users") {
            draw_note(f, area, &note);
            return;
        }
        let [top, table] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        let total = self.list.ready().map(Vec::len).unwrap_or(0);
        let shown = self.visible();
        draw_note(
            f,
            top,
            &if self.query.is_empty() {
                format!("{total} user{}", if total == 1 { "" } else { "s" })
            } else {
                format!("{} of {total} users match \"{}\"", shown.len(), self.query)
            },
        );
        let rows = shown
            .iter()
            .map(|u| {
                let locked = self.locked_for(&text(u, "username"));
                let active = boolean(u, "active") || u.get("active").is_none();
                let state = match (active, locked) {
                    (false, _) => "disabled".into(),
                    (true, Some(min)) => format!("LOCKED {min}m"),
                    (true, None) => "active".into(),
                };
                vec![
                    text(u, "user_id"),
                    text(u, "username"),
                    text(u, "name"),
                    text(u, "role"),
                    state,
                ]
            })
            .collect();
        draw_table(
            f,
            table,
            vec!["ID", "Username", "Name", "Role", "State"],
            rows,
            &[
                Constraint::Length(5),
                Constraint::Length(18),
                Constraint::Fill(1),
                Constraint::Length(11),
                // "LOCKED 999m" whole: status words are never cut.
                Constraint::Length(11),
            ],
            Some(self.sel.0),
        );
    }
}
