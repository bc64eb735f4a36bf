//! A small modal form: labelled text fields, some secret, some a fixed choice. Keyboard only:
//! Tab/↓ next field, Shift-Tab/↑ previous, ←/→ change a choice, Enter submit, Esc cancel.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::data::fit;

/// What a form is for; the screen that opened it turns the values into a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKind {
    AddUser,
    ResetPassword,
    SetRole,
    UnlockUser,
    /// First step of issuing: which kind of pass.
    GatepassKind,
    IssueGatepass(&'static str),
    GatepassMove(&'static str),
    MaterialReturn,
    Backup,
    Restore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub secret: bool,
    /// When set, the value is one of these (←/→ to change).
    pub choices: Vec<&'static str>,
    pub max_len: usize,
}

impl Field {
    pub fn text(name: &'static str, label: &'static str) -> Self {
        Field {
            name,
            label,
            value: String::new(),
            secret: false,
            choices: vec![],
            max_len: 200,
        }
    }

    pub fn secret(name: &'static str, label: &'static str) -> Self {
        Field {
            secret: true,
            ..Field::text(name, label)
        }
    }

    pub fn choice(name: &'static str, label: &'static str, choices: &[&'static str]) -> Self {
        Field {
            value: choices.first().copied().unwrap_or("").to_string(),
            choices: choices.to_vec(),
            ..Field::text(name, label)
        }
    }

    pub fn with(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }

    pub fn max(mut self, n: usize) -> Self {
        self.max_len = n;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub kind: FormKind,
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// A complaint from the last submit (e.g. a required field left empty).
    pub error: Option<String>,
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormEvent {
    Editing,
    Submit,
    Cancel,
}

impl Form {
    pub fn new(kind: FormKind, title: impl Into<String>, fields: Vec<Field>) -> Self {
        Form {
            kind,
            title: title.into(),
            fields,
            focus: 0,
            error: None,
        }
    }

    pub fn value(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.trim().to_string())
            .unwrap_or_default()
    }

    /// The first field marked required ("*" in its label) that is still empty.
    pub fn missing_required(&self) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.label.contains(" *") && f.value.trim().is_empty())
            .map(|f| {
                format!(
                    "{} is required",
                    f.label.split(" *").next().unwrap_or(f.name)
                )
            })
    }

    pub fn on_key(&mut self, key: KeyEvent) -> FormEvent {
        let n = self.fields.len().max(1);
        match key.code {
            KeyCode::Esc => return FormEvent::Cancel,
            KeyCode::Enter => return FormEvent::Submit,
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            _ => {
                let Some(f) = self.fields.get_mut(self.focus) else {
                    return FormEvent::Editing;
                };
                if !f.choices.is_empty() {
                    let i = f.choices.iter().position(|c| *c == f.value).unwrap_or(0);
                    let c = f.choices.len();
                    match key.code {
                        KeyCode::Right | KeyCode::Char(' ') => {
                            f.value = f.choices[(i + 1) % c].into()
                        }
                        KeyCode::Left => f.value = f.choices[(i + c - 1) % c].into(),
                        _ => {}
                    }
                    return FormEvent::Editing;
                }
                match key.code {
                    KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                        f.value.clear()
                    }
                    KeyCode::Char(c)
                        if !key.modifiers.contains(KeyModifiers::CONTROL)
                            && f.value.chars().count() < f.max_len =>
                    {
                        f.value.push(c)
                    }
                    KeyCode::Backspace => {
                        f.value.pop();
                    }
                    _ => {}
                }
            }
        }
        FormEvent::Editing
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let h = (self.fields.len() as u16 + 5).min(area.height);
        let w = area.width.saturating_sub(4).min(70);
        let pop = centered(area, w, h);
        f.render_widget(Clear, pop);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(format!(" {} ", self.title));
        let inner = block.inner(pop);
        f.render_widget(block, pop);
        let label_w = 16usize;
        let value_w = (inner.width as usize).saturating_sub(label_w + 4);
        let mut lines: Vec<Line> = Vec::new();
        for (i, fl) in self.fields.iter().enumerate() {
            let focused = i == self.focus;
            let shown = if fl.secret {
                "*".repeat(fl.value.chars().count())
            } else if !fl.choices.is_empty() {
                format!("< {} >", fl.value)
            } else {
                fl.value.clone()
            };
            // Show the end of a long value: that is where the cursor is.
            let shown = if shown.chars().count() > value_w {
                let skip = shown.chars().count() - value_w;
                shown.chars().skip(skip).collect()
            } else {
                shown
            };
            let marker = if focused { "> " } else { "  " };
            let cursor = if focused && fl.choices.is_empty() {
                "_"
            } else {
                ""
            };
            let style = if focused {
                Style::default().add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{marker}{:<w$}", fit(fl.label, label_w), w = label_w),
                    style,
                ),
                Span::raw(": "),
                Span::styled(format!("{shown}{cursor}"), style),
            ]));
        }
        lines.push(Line::raw(""));
        match &self.error {
            Some(e) => lines.push(Line::raw(format!("! {e}"))),
            None => lines.push(Line::raw(
                "Enter submit · Esc cancel · Tab next · ←/→ choose",
            )),
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(h),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, c, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(w),
        Constraint::Fill(1),
    ])
    .areas(mid);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn types_moves_chooses_and_submits() {
        let mut f = Form::new(
            FormKind::AddUser,
            "Add user",
            vec![
                Field::text("username", "Username").max(3),
                Field::choice("role", "Role", &["clerk", "admin"]),
            ],
        );
        for c in "abcd".chars() {
            assert_eq!(f.on_key(key(KeyCode::Char(c))), FormEvent::Editing);
        }
        assert_eq!(f.value("username"), "abc", "max length holds");
        f.on_key(key(KeyCode::Backspace));
        assert_eq!(f.value("username"), "ab");
        f.on_key(key(KeyCode::Tab));
        f.on_key(key(KeyCode::Right));
        assert_eq!(f.value("role"), "admin");
        f.on_key(key(KeyCode::Right));
        assert_eq!(f.value("role"), "clerk", "choices wrap");
        f.on_key(key(KeyCode::BackTab));
        assert_eq!(f.focus, 0);
        assert_eq!(f.on_key(key(KeyCode::Enter)), FormEvent::Submit);
        assert_eq!(f.on_key(key(KeyCode::Esc)), FormEvent::Cancel);
    }
}
