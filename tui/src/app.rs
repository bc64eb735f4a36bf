//! The console's state and its one update path: events → actions → state. Drawing reads the
//! state only; I/O happens outside (the event loop runs the `Cmd`s this queues and feeds the
//! `Reply`s back through `on_reply`).

use std::collections::HashSet;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::data::{int, text};
use crate::form::{centered, Form, FormEvent};
use crate::io::{Cmd, Fetch, Offline, Reply, Tag};
use crate::screens::{self, Action, Ctx, Screen};

/// Is the server there?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Online,
    Offline(Offline),
}

pub enum Modal {
    Help,
    Form(Form),
    Confirm(String, Cmd),
    /// Text shown once (the first-run credentials); any key closes it.
    Notice(String),
}

pub struct App {
    pub screens: Vec<Box<dyn Screen>>,
    pub current: usize,
    pub modal: Option<Modal>,
    /// The search being typed (`/`), shown on the status line.
    pub search: Option<String>,
    pub conn: Conn,
    /// The last outcome, for the status line.
    pub message: Option<String>,
    pub quit: bool,
    pub ctx: Ctx,
    pub site: String,
    queue: Vec<Cmd>,
    /// Loads sent and not yet answered: a slow server must not pile up refreshes.
    in_flight: HashSet<Tag>,
    /// The form whose submit is on its way: a refusal (or the server being down) opens it
    /// again with what was typed, the reason, and the cursor on the field at fault.
    pending_form: Option<(Tag, Form)>,
    /// The message as last seen by `tick` and since when: an old message clears itself.
    message_seen: Option<(String, i64)>,
}

/// A status message older than this (seconds) is cleared: it no longer says what just happened.
pub const MESSAGE_STALE_SECS: i64 = 15;

pub const SCREEN_COUNT: usize = 8;

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    pub fn new() -> Self {
        let screens: Vec<Box<dyn Screen>> = vec![
            Box::new(screens::dashboard::Dashboard::default()),
            Box::new(screens::devices::Devices::default()),
            Box::new(screens::gatepass::Gatepass::default()),
            Box::new(screens::attendance::Attendance::default()),
            Box::new(screens::users::Users::default()),
            Box::new(screens::outbox::Outbox::default()),
            Box::new(screens::logs::Logs::default()),
            Box::new(screens::backup::Backup::default()),
        ];
        let mut app = App {
            screens,
            current: 0,
            modal: None,
            search: None,
            conn: Conn::Connecting,
            message: None,
            quit: false,
            ctx: Ctx {
                now: crate::data::now_unix(),
                tz: 0,
                offline: false,
            },
            site: String::new(),
            queue: Vec::new(),
            in_flight: HashSet::new(),
            pending_form: None,
            message_seen: None,
        };
        app.tick();
        app
    }

    pub fn screen(&self) -> &dyn Screen {
        self.screens[self.current].as_ref()
    }

    /// Every couple of seconds: the dashboard (it tells us the server is there) and the screen
    /// in view.
    pub fn tick(&mut self) {
        self.ctx.now = crate::data::now_unix();
        self.age_message();
        self.load(vec![Cmd::get(Tag::Dashboard, "/admin/dashboard")]);
        let cmds = self.screens[self.current].refresh();
        self.load(cmds);
    }

    /// Clears a message that has been on the status line for `MESSAGE_STALE_SECS` ("Working…"
    /// stays until its answer comes).
    pub fn age_message(&mut self) {
        let now = self.ctx.now;
        match (&self.message, &self.message_seen) {
            (None, _) => self.message_seen = None,
            (Some(m), Some((seen, at))) if m == seen => {
                if now - at >= MESSAGE_STALE_SECS && m != "Working…" {
                    self.message = None;
                    self.message_seen = None;
                }
            }
            (Some(m), _) => self.message_seen = Some((m.clone(), now)),
        }
    }

    /// Queues loads, skipping those already on their way.
    fn load(&mut self, cmds: Vec<Cmd>) {
        for c in cmds {
            if self.in_flight.insert(c.tag.clone()) {
                self.queue.push(c);
            }
        }
    }

    /// The commands to run now.
    pub fn take_cmds(&mut self) -> Vec<Cmd> {
        std::mem::take(&mut self.queue)
    }

    pub fn on_reply(&mut self, reply: Reply) {
        self.in_flight.remove(&reply.tag);
        match &reply.fetch {
            Fetch::Offline(o) => self.conn = Conn::Offline(o.clone()),
            _ => self.conn = Conn::Online,
        }
        self.ctx.offline = matches!(self.conn, Conn::Offline(_));
        self.reopen_refused_form(&reply);
        if reply.tag == Tag::Dashboard {
            if let Fetch::Ok(d) = &reply.fetch {
                self.site = text(d, "site");
                if let Some(tz) = int(d, "timezone_offset_minutes") {
                    self.ctx.tz = tz.clamp(-1439, 1439) as i32;
                }
            }
        }
        if reply.tag == Tag::FirstRun {
            match &reply.fetch {
                Fetch::Ok(d) if !text(d, "text").is_empty() => {
                    self.modal = Some(Modal::Notice(text(d, "text")));
                    self.message =
                        Some("First-run credentials shown; the box no longer keeps them.".into());
                }
                Fetch::Ok(_) => {
                    self.message =
                        Some("No first-run credentials are waiting (already shown).".into())
                }
                Fetch::NotAvailable => {
                    self.message = Some("Not available on this server yet.".into())
                }
                Fetch::Failed(e) => self.message = Some(format!("Refused: {e}")),
                Fetch::Offline(o) => self.message = Some(format!("Not done: {}", o.message())),
            }
        }
        if let Tag::Done(what) = &reply.tag {
            self.message = Some(match &reply.fetch {
                Fetch::Ok(d) if !text(d, "file").is_empty() => {
                    format!("Done: {what}: {}", text(d, "file"))
                }
                Fetch::Ok(d) => match text(d, "number") {
                    n if n.is_empty() || what.contains(&n) => format!("Done: {what}."),
                    n => format!("Done: {what} (pass {n})."),
                },
                Fetch::NotAvailable => "Not available on this server yet.".into(),
                Fetch::Failed(e) => format!("Refused: {e}"),
                Fetch::Offline(o) => format!("Not done: {}", o.message()),
            });
        }
        if matches!(reply.tag, Tag::Check | Tag::GatepassDetail)
            && self.message.as_deref() == Some("Working…")
        {
            self.message = None;
        }
        if reply.tag == Tag::Backup {
            if matches!(reply.fetch, Fetch::Ok(_)) {
                self.refresh_current();
            }
            self.message = Some(match &reply.fetch {
                Fetch::Ok(b) => format!("Done: backup written to {}.", text(b, "file")),
                Fetch::Failed(e) => format!("Backup failed: {e}"),
                Fetch::NotAvailable => "Backup is not available on this server.".into(),
                Fetch::Offline(o) => format!("Backup not done: {}", o.message()),
            });
        }
        for s in self.screens.iter_mut() {
            s.on_reply(&reply);
        }
        // After the screens saw the answer (a new pass changes the view it is shown in).
        if matches!(reply.tag, Tag::Done(_)) && matches!(reply.fetch, Fetch::Ok(_)) {
            self.refresh_current();
        }
    }

    /// A form's submit came back refused or undelivered: the form again, as typed, with why.
    fn reopen_refused_form(&mut self, reply: &Reply) {
        let Some((tag, _)) = &self.pending_form else {
            return;
        };
        if *tag != reply.tag {
            return;
        }
        let (_, mut form) = self.pending_form.take().expect("checked above");
        let why = match &reply.fetch {
            Fetch::Failed(e) => format!("Refused: {e}"),
            Fetch::Offline(o) => format!("Not done: {}", o.message()),
            _ => return,
        };
        if self.modal.is_none() {
            form.refuse(why);
            self.modal = Some(Modal::Form(form));
        }
    }

    /// The index of the screen titled `title`.
    pub fn screen_index(&self, title: &str) -> Option<usize> {
        self.screens.iter().position(|s| s.title() == title)
    }

    /// A batch of terminal events read together. A USB scanner is a keyboard that types a pass
    /// number and Enter faster than anyone can: such a batch, outside a form or the search line,
    /// opens that pass on the gatepass desk with in/out ready, whatever screen is in view.
    pub fn on_events(&mut self, events: Vec<Event>) {
        if self.modal.is_none() && self.search.is_none() {
            if let Some(code) = scanned_code(&events) {
                self.on_scan(&code);
                return;
            }
        }
        for e in events {
            self.on_event(e);
        }
    }

    /// A scanned pass number: the gatepass desk, that pass in full, `i`/`o` ready.
    pub fn on_scan(&mut self, code: &str) {
        let Some(i) = self.screen_index("Gatepass") else {
            return;
        };
        self.select(i);
        let cmds = self.screens[i].scanned(code);
        for c in cmds {
            self.in_flight.insert(c.tag.clone());
            self.queue.push(c);
        }
        self.message = Some(format!(
            "Scanned {code}: i = mark in, o = mark out, p = print, Esc = back"
        ));
    }

    fn refresh_current(&mut self) {
        let cmds = self.screens[self.current].refresh();
        // A user's refresh is always sent, even if an older load is still out.
        for c in cmds {
            self.in_flight.insert(c.tag.clone());
            self.queue.push(c);
        }
    }

    pub fn select(&mut self, i: usize) {
        if i < self.screens.len() && i != self.current {
            self.current = i;
            self.message = None;
            self.refresh_current();
        }
    }

    pub fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            Event::Mouse(m) => self.on_mouse(m),
            _ => {}
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        // A modal or the search line takes every key first.
        if let Some(modal) = self.modal.take() {
            self.modal_key(modal, key);
            return;
        }
        if let Some(mut q) = self.search.take() {
            match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter => {
                    let cmds = self.screens[self.current].search(q.trim());
                    for c in cmds {
                        self.in_flight.insert(c.tag.clone());
                        self.queue.push(c);
                    }
                }
                KeyCode::Backspace => {
                    q.pop();
                    self.search = Some(q);
                }
                KeyCode::Char(c) if q.chars().count() < 100 => {
                    q.push(c);
                    self.search = Some(q);
                }
                _ => self.search = Some(q),
            }
            return;
        }
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Tab => self.select((self.current + 1) % self.screens.len()),
            KeyCode::BackTab => {
                self.select((self.current + self.screens.len() - 1) % self.screens.len())
            }
            KeyCode::Char(c @ '1'..='8') => self.select(c as usize - '1' as usize),
            KeyCode::Char('?') | KeyCode::F(1) => self.modal = Some(Modal::Help),
            KeyCode::Char('/') => {
                if let Some(q) = self.screen().query() {
                    self.search = Some(q.to_string());
                } else {
                    self.message = Some("There is no search on this screen.".into());
                }
            }
            KeyCode::Esc => {
                // Back out: first what the screen has open, then a search filter, then the
                // message.
                if self.screens[self.current].back() {
                    return;
                }
                if self.screen().query().is_some_and(|q| !q.is_empty()) {
                    let cmds = self.screens[self.current].search("");
                    for c in cmds {
                        self.in_flight.insert(c.tag.clone());
                        self.queue.push(c);
                    }
                } else {
                    self.message = None;
                }
            }
            _ => {
                let action = self.screens[self.current].on_key(key);
                self.act(action);
            }
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::None => {}
            Action::Send(c) => {
                self.message = Some("Working…".into());
                self.queue.push(c)
            }
            Action::Scan(code) => self.on_scan(&code),
            Action::Form(f) => self.modal = Some(Modal::Form(f)),
            Action::Confirm(q, c) => self.modal = Some(Modal::Confirm(q, c)),
            Action::Refresh => self.refresh_current(),
            Action::Message(m) => self.message = Some(m),
        }
    }

    fn modal_key(&mut self, modal: Modal, key: KeyEvent) {
        match modal {
            Modal::Help => {
                // Any key closes help; q still quits.
                if key.code == KeyCode::Char('q') {
                    self.quit = true;
                }
            }
            // Any key closes it; the text is gone from the box already.
            Modal::Notice(_) => {}
            Modal::Confirm(q, cmd) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.act(Action::Send(cmd)),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.message = Some("Nothing done.".into())
                }
                _ => self.modal = Some(Modal::Confirm(q, cmd)),
            },
            Modal::Form(mut form) => match form.on_key(key) {
                FormEvent::Editing => self.modal = Some(Modal::Form(form)),
                FormEvent::Cancel => self.message = Some("Nothing done.".into()),
                FormEvent::Submit => match self.screens[self.current].submit_action(&form) {
                    Ok(action) => {
                        if let Action::Send(c) = &action {
                            self.pending_form = Some((c.tag.clone(), form));
                        }
                        self.act(action)
                    }
                    Err(e) => {
                        form.refuse(e);
                        self.modal = Some(Modal::Form(form));
                    }
                },
            },
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) {
        if self.modal.is_some() {
            return;
        }
        match m.kind {
            MouseEventKind::ScrollDown => self.screens[self.current].scroll(1),
            MouseEventKind::ScrollUp => self.screens[self.current].scroll(-1),
            MouseEventKind::Down(MouseButton::Left) if m.row == 1 => {
                if let Some(i) = tab_at(&self.titles(), m.column) {
                    self.select(i);
                }
            }
            _ => {}
        }
    }

    fn titles(&self) -> Vec<&'static str> {
        self.screens.iter().map(|s| s.title()).collect()
    }

    pub fn draw(&self, f: &mut Frame) {
        let area = f.area();
        let [head, tabs, body, status, keys] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.draw_header(f, head);
        self.draw_tabs(f, tabs);
        match &self.conn {
            // A screen that keeps its last data (who is inside) still shows it, marked stale.
            Conn::Offline(o) if self.screen().keeps_stale() => {
                let [banner, rest] =
                    Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
                let what = match o {
                    Offline::Permission(_) => "NO ACCESS to the admin socket",
                    _ => "SERVER DOWN",
                };
                f.render_widget(
                    Paragraph::new(crate::data::fit(
                        &format!("{what}: last known data below, STALE; retrying every 2 s"),
                        banner.width as usize,
                    ))
                    .style(Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)),
                    banner,
                );
                self.screens[self.current].draw(f, rest, &self.ctx);
            }
            Conn::Offline(o) => draw_offline(f, body, o),
            _ => self.screens[self.current].draw(f, body, &self.ctx),
        }
        let status_text = match (&self.search, &self.message) {
            (Some(q), _) => format!("Search: {q}_   (Enter apply · Esc cancel)"),
            (None, Some(m)) => m.clone(),
            (None, None) => String::new(),
        };
        f.render_widget(Paragraph::new(status_text), status);
        f.render_widget(
            Paragraph::new(self.footer_for(keys.width as usize))
                .style(Style::default().add_modifier(Modifier::DIM)),
            keys,
        );
        match &self.modal {
            Some(Modal::Help) => self.draw_help(f, area),
            Some(Modal::Form(form)) => form.draw(f, area),
            Some(Modal::Confirm(q, _)) => {
                let w = area.width.saturating_sub(4).min(60);
                // Room for the wrapped question (a path can be long), a gap and the keys.
                let text_rows = q.chars().count() as u16 / w.saturating_sub(3).max(1) + 2;
                let pop = centered(area, w, text_rows + 4);
                f.render_widget(Clear, pop);
                f.render_widget(
                    Paragraph::new(vec![
                        Line::raw(q.clone()),
                        Line::raw(""),
                        Line::raw("y = yes · n/Esc = no"),
                    ])
                    .wrap(Wrap { trim: true })
                    .block(Block::default().borders(Borders::ALL).title(" Confirm ")),
                    pop,
                );
            }
            Some(Modal::Notice(t)) => {
                let w = area.width.saturating_sub(2).min(100);
                let lines: Vec<Line> = t
                    .split(" | ")
                    .map(|p| Line::raw(p.to_string()))
                    .chain([
                        Line::raw(""),
                        Line::raw("Write them down now: they are not kept. Any key closes."),
                    ])
                    .collect();
                let rows = lines.len() as u16 + 6;
                let pop = centered(area, w, rows);
                f.render_widget(Clear, pop);
                f.render_widget(
                    Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title(" First-run credentials "),
                    ),
                    pop,
                );
            }
            None => {}
        }
    }

    fn draw_header(&self, f: &mut Frame, area: Rect) {
        let conn = match &self.conn {
            Conn::Connecting => "connecting…".to_string(),
            Conn::Online => "online".to_string(),
            Conn::Offline(Offline::Permission(_)) => "NO ACCESS".to_string(),
            Conn::Offline(_) => "OFFLINE".to_string(),
        };
        let now = crate::data::local_datetime(self.ctx.now, self.ctx.tz);
        let site = if self.site.is_empty() {
            String::new()
        } else {
            format!(" · {}", self.site)
        };
        let left = format!(" Gatehouse console{site}");
        let right = format!("server: {conn} · {now} ");
        let pad =
            (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
        f.render_widget(
            Paragraph::new(format!("{left}{}{right}", " ".repeat(pad)))
                .style(Style::default().add_modifier(Modifier::BOLD)),
            area,
        );
    }

    fn draw_tabs(&self, f: &mut Frame, area: Rect) {
        let mut spans = Vec::new();
        for (i, t) in self.titles().iter().enumerate() {
            let label = tab_label(i, t, i == self.current);
            let style = if i == self.current {
                Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            } else {
                Style::default()
            };
            spans.push(Span::styled(label, style));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    /// The key line, whole entries only: "? help" first when everything fits; otherwise the
    /// screen's keys that fit, then "? more" (the help lists every key) and "q quit".
    pub fn footer_for(&self, width: usize) -> String {
        let keys: Vec<String> = self
            .screen()
            .keys()
            .iter()
            .filter(|(_, short, _)| !short.is_empty())
            .map(|(k, short, _)| format!("{k} {short}"))
            .collect();
        let join = |v: &[String]| v.join("  ");
        let mut all = vec!["? help".to_string()];
        all.extend(keys.iter().cloned());
        all.push("Tab screens".into());
        all.push("q quit".into());
        if join(&all).chars().count() <= width {
            return join(&all);
        }
        let tail = ["? more".to_string(), "q quit".to_string()];
        let mut kept: Vec<String> = Vec::new();
        for e in keys {
            let mut trial = kept.clone();
            trial.push(e);
            trial.extend(tail.iter().cloned());
            if join(&trial).chars().count() <= width {
                trial.truncate(trial.len() - tail.len());
                kept = trial;
            } else {
                break;
            }
        }
        kept.extend(tail);
        let s = join(&kept);
        if s.chars().count() <= width {
            s
        } else {
            String::new()
        }
    }

    fn draw_help(&self, f: &mut Frame, area: Rect) {
        let mut lines = vec![Line::raw(format!("{} — keys", self.screen().title()))];
        lines.extend(screens::help_lines(self.screen().keys()));
        lines.push(Line::raw(""));
        lines.push(Line::raw("Everywhere"));
        lines.extend(screens::help_lines(&[
            ("Tab/S-Tab", "", "next / previous screen (or 1-8, or click)"),
            ("/", "", "search (where the screen has one)"),
            (
                "scan",
                "",
                "a pass number scanned (or typed fast + Enter) opens it",
            ),
            ("Esc", "", "back out: close, clear the search"),
            ("?", "", "this help; any key closes it"),
            ("q", "", "quit"),
        ]));
        let w = area.width.saturating_sub(2).min(76);
        // Rows as drawn: a line wider than the box wraps onto more rows.
        let inner = w.saturating_sub(2).max(1) as usize;
        let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
        let h = (rows as u16 + 2).min(area.height);
        let pop = centered(area, w, h);
        f.render_widget(Clear, pop);
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Help ")),
            pop,
        );
    }
}

/// The pass number in a batch of key events that is a scanner's line: at least 4 printable,
/// non-space characters (letters, digits, `-/_.`) and then Enter, nothing else.
pub fn scanned_code(events: &[Event]) -> Option<String> {
    let keys: Vec<&KeyEvent> = events
        .iter()
        .filter_map(|e| match e {
            Event::Key(k) if k.kind != KeyEventKind::Release => Some(k),
            _ => None,
        })
        .collect();
    let (last, chars) = keys.split_last()?;
    if last.code != KeyCode::Enter || chars.len() < 4 || chars.len() > 30 {
        return None;
    }
    let mut code = String::new();
    for k in chars {
        match k.code {
            KeyCode::Char(c)
                if !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    && (c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_' | '.')) =>
            {
                code.push(c)
            }
            _ => return None,
        }
    }
    // A number has a digit; "quit" typed fast is not a pass.
    code.chars().any(|c| c.is_ascii_digit()).then_some(code)
}

/// "[Dashboard]" for the screen in view, " Dashboard " otherwise: brackets, not only colour.
fn tab_label(_i: usize, title: &str, current: bool) -> String {
    if current {
        format!("[{title}]")
    } else {
        format!(" {title} ")
    }
}

/// Which tab is under column `x` (all labels have the same width either way).
pub fn tab_at(titles: &[&str], x: u16) -> Option<usize> {
    let mut start = 0u16;
    for (i, t) in titles.iter().enumerate() {
        let w = tab_label(i, t, false).chars().count() as u16;
        if x >= start && x < start + w {
            return Some(i);
        }
        start += w;
    }
    None
}

fn draw_offline(f: &mut Frame, area: Rect, o: &Offline) {
    let (title, hint) = match o {
        Offline::NotRunning(_) => (
            "SERVER NOT RUNNING",
            "Start it with: sudo systemctl start gatehouse",
        ),
        Offline::Permission(_) => (
            "NO ACCESS TO THE ADMIN SOCKET",
            "Log in as a member of the gatehouse group (or use sudo -u gatehouse).",
        ),
        Offline::Broken(_) => ("SERVER NOT ANSWERING", "It may be restarting."),
    };
    let lines = vec![
        Line::styled(title, Style::default().add_modifier(Modifier::BOLD)),
        Line::raw(""),
        Line::raw(o.message().to_string()),
        Line::raw(""),
        Line::raw(hint),
        Line::raw(""),
        Line::raw("The console keeps trying every 2 seconds. q quits."),
    ];
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL)),
        area,
    );
}
