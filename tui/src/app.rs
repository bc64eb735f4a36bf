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
}

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
            },
            site: String::new(),
            queue: Vec::new(),
            in_flight: HashSet::new(),
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
        self.load(vec![Cmd::get(Tag::Dashboard, "/admin/dashboard")]);
        let cmds = self.screens[self.current].refresh();
        self.load(cmds);
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
                Fetch::Ok(d) => match text(d, "number") {
                    n if n.is_empty() => format!("Done: {what}."),
                    n => format!("Done: {what} (pass {n})."),
                },
                Fetch::NotAvailable => "Not available on this server yet.".into(),
                Fetch::Failed(e) => format!("Refused: {e}"),
                Fetch::Offline(o) => format!("Not done: {}", o.message()),
            });
            if matches!(reply.fetch, Fetch::Ok(_)) {
                self.refresh_current();
            }
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
                if self.screen().searchable() {
                    self.search = Some(self.screen().query().to_string());
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
                if !self.screen().query().is_empty() {
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
                    Ok(action) => self.act(action),
                    Err(e) => {
                        form.error = Some(e);
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
            Paragraph::new(self.footer()).style(Style::default().add_modifier(Modifier::DIM)),
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

    fn footer(&self) -> String {
        let mut s = "? help  q quit  Tab screens".to_string();
        for (k, short, _) in self.screen().keys() {
            if !short.is_empty() {
                s.push_str(&format!("  {k} {short}"));
            }
        }
        s
    }

    fn draw_help(&self, f: &mut Frame, area: Rect) {
        let mut lines = vec![Line::raw(format!("{} — keys", self.screen().title()))];
        lines.extend(screens::help_lines(self.screen().keys()));
        lines.push(Line::raw(""));
        lines.push(Line::raw("Everywhere"));
        lines.extend(screens::help_lines(&[
            ("Tab/S-Tab", "", "next / previous screen (or 1-8, or click)"),
            ("/", "", "search (where the screen has one)"),
            ("Esc", "", "back out: close, clear the search"),
            ("?", "", "this help; any key closes it"),
            ("q", "", "quit"),
        ]));
        let h = (lines.len() as u16 + 2).min(area.height);
        let pop = centered(area, area.width.saturating_sub(2).min(76), h);
        f.render_widget(Clear, pop);
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Help ")),
            pop,
        );
    }
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
