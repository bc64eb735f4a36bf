//! The gatehouse console and its admin-API client. This crate knows nothing of the store or warp:
//! it talks JSON over HTTP on the admin Unix socket, like any other client.
//!
//! Shape (the ratatui component pattern): `app::App` holds the state; `screens::*` are one
//! module per screen; terminal events become actions, actions change state or queue `io::Cmd`s,
//! the loop here runs the commands on worker threads and feeds the replies back; `App::draw`
//! only reads.

pub mod app;
#[cfg(test)]
mod app_tests;
pub mod client;
pub mod data;
pub mod form;
pub mod io;
pub mod screens;

/// Re-exported so tests can build key events without depending on crossterm themselves.
pub use crossterm;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use app::App;
use client::AdminClient;

/// Keys closer together than this are read as one batch (a scanner's line).
const SCAN_GAP: Duration = Duration::from_millis(25);
/// How often the screen in view and the dashboard reload.
pub const REFRESH: Duration = Duration::from_secs(2);
/// One request may take this long (a backup of a large store, a full check).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the console until the user quits. A server that is not running (or a socket we may not
/// use) is shown on screen and retried; it is not an error.
pub fn run_console(socket: std::path::PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err("the console needs a terminal (run it in a shell, over SSH or in tmux)".into());
    }
    let client = AdminClient::new(socket).with_timeout(REQUEST_TIMEOUT);
    let mut terminal = ratatui::try_init()?;
    let _ = crossterm::execute!(std::io::stdout(), EnableMouseCapture);
    let result = event_loop(&mut terminal, &client);
    let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    client: &AdminClient,
) -> Result<(), Box<dyn std::error::Error>> {
    let (tx, rx) = mpsc::channel();
    let mut app = App::new();
    let mut last_tick = Instant::now();
    loop {
        if last_tick.elapsed() >= REFRESH {
            app.tick();
            last_tick = Instant::now();
        }
        // One short-lived thread per request: a slow backup must not hold up the dashboard.
        for cmd in app.take_cmds() {
            let (c, tx) = (client.clone(), tx.clone());
            std::thread::spawn(move || {
                let _ = tx.send(io::run(&c, &cmd));
            });
        }
        while let Ok(reply) = rx.try_recv() {
            app.on_reply(reply);
        }
        terminal.draw(|f| app.draw(f))?;
        if app.quit {
            return Ok(());
        }
        if event::poll(Duration::from_millis(100))? {
            // Read what arrives together (a scanner types a whole pass number and Enter within
            // a few milliseconds): the app tells a scan from typing by the batch.
            let mut batch = vec![event::read()?];
            while event::poll(SCAN_GAP)? {
                batch.push(event::read()?);
                if batch.len() > 64 {
                    break;
                }
            }
            app.on_events(batch);
        }
    }
}

/// Runs every queued command against `client` until none is left (tests, and anything that
/// wants a settled screen without the event loop).
pub fn settle(app: &mut App, client: &AdminClient) {
    for _ in 0..10 {
        let cmds = app.take_cmds();
        if cmds.is_empty() {
            return;
        }
        for c in cmds {
            let reply = io::run(client, &c);
            app.on_reply(reply);
        }
    }
}

/// Draws the app on a `width`×`height` test terminal and returns the screen as text, one line
/// per row, trailing spaces trimmed.
pub fn render(app: &App, width: u16, height: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    t.draw(|f| app.draw(f)).expect("draw");
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
