//! One module per screen. A screen holds its own state, turns keys into `Action`s, turns
//! replies into state and draws itself. It never does I/O: it returns `Cmd`s for the `App` to
//! run.

pub mod attendance;
pub mod backup;
pub mod charts;
pub mod dashboard;
pub mod devices;
pub mod gatepass;
pub mod logs;
pub mod outbox;
pub mod terminals;
pub mod users;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;
use serde_json::Value;

use crate::data::text;
use crate::form::Form;
use crate::io::{Cmd, Fetch, Reply, Tag};

/// What every screen may read while drawing.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub now: i64,
    /// The site's offset from UTC in minutes (from the dashboard).
    pub tz: i32,
    /// The server cannot be reached: what a screen shows is its last known data.
    pub offline: bool,
}

/// What a key asks the `App` to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    Send(Cmd),
    Form(Form),
    /// Ask "y/n" first, then send.
    Confirm(String, Cmd),
    Refresh,
    Message(String),
    /// A pass number read by a scanner (or typed): open it on the gatepass desk.
    Scan(String),
}

pub trait Screen {
    fn title(&self) -> &'static str;
    /// (key, short label for the footer ("" = not in the footer), what it does for the help).
    fn keys(&self) -> &'static [(&'static str, &'static str, &'static str)];
    /// The commands that load this screen's data.
    fn refresh(&self) -> Vec<Cmd>;
    fn on_reply(&mut self, reply: &Reply);
    fn on_key(&mut self, key: KeyEvent) -> Action;
    fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx);
    /// Turns a submitted form into a command, or says what is wrong with it.
    fn submit(&mut self, _form: &Form) -> Result<Cmd, String> {
        Err("this screen has no form".into())
    }
    /// Like `submit`, for forms that lead to another form rather than straight to a command.
    fn submit_action(&mut self, form: &Form) -> Result<Action, String> {
        self.submit(form).map(Action::Send)
    }
    /// The `/` search typed so far; None when the screen has no search.
    fn query(&self) -> Option<&str> {
        None
    }
    /// Applies a search; returns the commands to reload with it (none for a local filter).
    fn search(&mut self, _q: &str) -> Vec<Cmd> {
        vec![]
    }
    /// Esc: closes what the screen has open (a detail view). False when nothing was open.
    fn back(&mut self) -> bool {
        false
    }
    /// Mouse wheel / list movement.
    fn scroll(&mut self, _delta: i32) {}
    /// A scanned pass number (see `App::on_events`); the commands that load it.
    fn scanned(&mut self, _code: &str) -> Vec<Cmd> {
        vec![]
    }
    /// True when the screen has data worth showing, marked stale, while the server is down.
    fn keeps_stale(&self) -> bool {
        false
    }
}

/// Data that is loading, loaded, not offered by this server, or failed.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Load<T> {
    #[default]
    Waiting,
    Ready(T),
    NotAvailable,
    Failed(String),
}

impl<T> Load<T> {
    /// Takes a reply: offline replies keep what was shown (the banner says why it is stale).
    pub fn take(&mut self, fetch: &Fetch, parse: impl FnOnce(&Value) -> T) {
        match fetch {
            Fetch::Ok(v) => *self = Load::Ready(parse(v)),
            Fetch::NotAvailable => *self = Load::NotAvailable,
            Fetch::Failed(e) => *self = Load::Failed(e.clone()),
            Fetch::Offline(_) => {}
        }
    }

    pub fn ready(&self) -> Option<&T> {
        match self {
            Load::Ready(t) => Some(t),
            _ => None,
        }
    }
}

/// The list under the answer (a bare array, or `items`/`data` inside an object).
pub fn rows_of(v: &Value) -> Vec<Value> {
    if let Some(a) = v.as_array() {
        return a.clone();
    }
    for k in ["items", "rows", "list"] {
        if let Some(a) = v.get(k).and_then(Value::as_array) {
            return a.clone();
        }
    }
    vec![]
}

/// Says why there is nothing to show, or `None` when the data is ready.
pub fn placeholder<T>(load: &Load<T>, what: &str) -> Option<String> {
    match load {
        Load::Waiting => Some(format!("Loading {what}…")),
        Load::NotAvailable => Some(format!(
            "{what}: not available on this server yet (its admin endpoint is missing)."
        )),
        Load::Failed(e) => Some(format!("{what}: the server answered with an error: {e}")),
        Load::Ready(_) => None,
    }
}

pub fn draw_note(f: &mut Frame, area: Rect, text: &str) {
    f.render_widget(
        Paragraph::new(text.to_string()).wrap(Wrap { trim: true }),
        area,
    );
}

/// A selection within a list of `len` rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sel(pub usize);

impl Sel {
    pub fn clamp(&mut self, len: usize) {
        self.0 = self.0.min(len.saturating_sub(1));
    }

    pub fn by(&mut self, delta: i32, len: usize) {
        if len == 0 {
            self.0 = 0;
            return;
        }
        let i = self.0 as i64 + delta as i64;
        self.0 = i.clamp(0, len as i64 - 1) as usize;
    }

    /// Arrow keys, PgUp/PgDn, Home/End, j/k. True when the key moved the selection.
    pub fn on_key(&mut self, key: &KeyEvent, len: usize) -> bool {
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.by(1, len),
            KeyCode::Up | KeyCode::Char('k') => self.by(-1, len),
            KeyCode::PageDown => self.by(10, len),
            KeyCode::PageUp => self.by(-10, len),
            KeyCode::Home => self.0 = 0,
            KeyCode::End => self.0 = len.saturating_sub(1),
            _ => return false,
        }
        true
    }
}

/// A table whose selected row is marked with "> " (readable without colour) and reversed.
pub fn draw_table(
    f: &mut Frame,
    area: Rect,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    widths: &[ratatui::layout::Constraint],
    sel: Option<usize>,
) {
    let head = Row::new(header)
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let body: Vec<Row> = rows.into_iter().map(Row::new).collect();
    let table = Table::new(body, widths.to_vec())
        .header(head)
        .column_spacing(1)
        .highlight_symbol("> ")
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut st = TableState::default().with_selected(sel);
    f.render_stateful_widget(table, area, &mut st);
}

/// Key lines for the help overlay.
pub fn help_lines(keys: &[(&str, &str, &str)]) -> Vec<Line<'static>> {
    keys.iter()
        .map(|(k, _, what)| Line::raw(format!("  {k:<12} {what}")))
        .collect()
}

/// Whether a reply is one of `tags`.
/// A list's rows that contain `query` (any case) in one of `fields`; all rows for an empty
/// query, none while the list is not loaded.
pub fn matching<'a>(list: &'a Load<Vec<Value>>, query: &str, fields: &[&str]) -> Vec<&'a Value> {
    let q = query.to_lowercase();
    list.ready()
        .map(|rows| {
            rows.iter()
                .filter(|row| {
                    q.is_empty()
                        || fields
                            .iter()
                            .any(|k| text(row, k).to_lowercase().contains(&q))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Takes a new local search: the selection goes back to the first row.
pub fn set_query(query: &mut String, sel: &mut Sel, q: &str) {
    *query = q.to_string();
    *sel = Sel(0);
}

pub fn is(reply: &Reply, tag: Tag) -> bool {
    reply.tag == tag
}
