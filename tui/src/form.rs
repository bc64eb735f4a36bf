//! A small modal form: labelled text fields, some secret, some a fixed choice. Keyboard only:
//! Tab/↓ next field, Shift-Tab/↑ previous, ←/→ change a choice, Enter submit, Esc cancel.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
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
    /// Print a pass's slip, or save it as a PDF.
    PrintSlip,
    Backup,
    Restore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    /// Shown in full, never cut (the form is as wide as its longest label).
    pub label: &'static str,
    /// How to fill it in; shown in full under the fields while the field has the cursor.
    pub hint: &'static str,
    /// Marked "*"; an empty required field refuses the submit and gets the cursor.
    pub required: bool,
    pub value: String,
    pub secret: bool,
    /// When set, the value is one of these (←/→ to change).
    pub choices: Vec<&'static str>,
    /// One entry per row (items): Enter starts the next row, rows are joined with '\n'.
    pub list: bool,
    pub max_len: usize,
}

impl Field {
    /// A text field. A label ending in " *" is a required field (the mark is drawn apart).
    pub fn text(name: &'static str, label: &'static str) -> Self {
        let (label, required) = match label.strip_suffix(" *") {
            Some(l) => (l, true),
            None => (label, false),
        };
        Field {
            name,
            label,
            hint: "",
            required,
            value: String::new(),
            secret: false,
            choices: vec![],
            list: false,
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

    /// One entry per row (Enter = next row).
    pub fn list(name: &'static str, label: &'static str) -> Self {
        Field {
            list: true,
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

    pub fn hint(mut self, h: &'static str) -> Self {
        self.hint = h;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The rows of a list field (the last may be the one being typed).
    pub fn rows(&self) -> Vec<&str> {
        self.value.split('\n').collect()
    }

    fn label_text(&self) -> String {
        if self.required {
            format!("{} *", self.label)
        } else {
            self.label.to_string()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub kind: FormKind,
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// A complaint from the last submit (a required field left empty, the server's refusal).
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

    /// The first required field that is still empty: says so and puts the cursor on it.
    pub fn missing_required(&self) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.required && f.value.trim().is_empty())
            .map(|f| format!("{} is required", f.label))
    }

    /// Puts the cursor on the field a complaint names, if any; the earliest mention wins.
    /// A field is named by its label as the console writes it ("Return by: ...", "Carried by
    /// is required") or by its name as the server does ("return_due must be ..."), so a pass
    /// "already inside since 12:14 (Main gate, desk)" names no field. Returns whether one was
    /// found.
    pub fn focus_named_in(&mut self, complaint: &str) -> bool {
        let hit = self
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let mut at: Vec<usize> = Vec::new();
                for tail in [":", " is ", " must ", " cannot ", " has "] {
                    for word in [f.label, f.name] {
                        if word.is_empty() {
                            continue;
                        }
                        let needle = format!("{word}{tail}");
                        if let Some(p) = complaint.find(&needle) {
                            // A whole word: not the end of a longer one.
                            let before = complaint[..p].chars().next_back();
                            if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') {
                                at.push(p);
                            }
                        }
                    }
                }
                at.into_iter().min().map(|p| (p, i))
            })
            .min();
        match hit {
            Some((_, i)) => {
                self.focus = i;
                true
            }
            None => false,
        }
    }

    /// Keeps what was typed, shows the complaint, and puts the cursor on the field at fault.
    pub fn refuse(&mut self, complaint: impl Into<String>) {
        let c = complaint.into();
        self.focus_named_in(&c);
        self.error = Some(c);
    }

    pub fn on_key(&mut self, key: KeyEvent) -> FormEvent {
        let n = self.fields.len().max(1);
        match key.code {
            KeyCode::Esc => return FormEvent::Cancel,
            KeyCode::Enter => {
                // In a list, Enter ends the row and starts the next one (an empty row ends the
                // list: Enter there submits).
                if let Some(f) = self.fields.get_mut(self.focus).filter(|f| f.list) {
                    let last_empty = f.rows().last().is_none_or(|r| r.trim().is_empty());
                    if !last_empty && f.value.chars().count() < f.max_len {
                        f.value.push('\n');
                        return FormEvent::Editing;
                    }
                }
                return FormEvent::Submit;
            }
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

    /// Rows of the form body: (field index or None, text). Labels sit in a column as wide as the
    /// longest label, so none is cut; a value too long for its row shows its end (the cursor).
    fn body_rows(&self, width: usize) -> Vec<(Option<usize>, String)> {
        let label_w = self
            .fields
            .iter()
            .map(|f| f.label_text().chars().count())
            .max()
            .unwrap_or(0);
        // A very narrow screen: labels above their values instead.
        let above = label_w + 6 > width / 2;
        let value_w = if above {
            width.saturating_sub(4)
        } else {
            width.saturating_sub(label_w + 4)
        };
        let mut rows = Vec::new();
        for (i, fl) in self.fields.iter().enumerate() {
            let focused = i == self.focus;
            let marker = if focused { "> " } else { "  " };
            let cursor = if focused && fl.choices.is_empty() {
                "_"
            } else {
                ""
            };
            let shown: Vec<String> = if fl.secret {
                vec!["*".repeat(fl.value.chars().count())]
            } else if !fl.choices.is_empty() {
                vec![format!("< {} >", fl.value)]
            } else if fl.list {
                let r = fl.rows();
                let n = r.len();
                r.iter()
                    .enumerate()
                    .map(|(k, row)| {
                        if n == 1 && row.is_empty() {
                            String::new()
                        } else {
                            format!("{}. {row}", k + 1)
                        }
                    })
                    .collect()
            } else {
                vec![fl.value.clone()]
            };
            let last = shown.len().saturating_sub(1);
            let shown: Vec<String> = shown
                .into_iter()
                .enumerate()
                .map(|(k, v)| {
                    let v = if k == last { format!("{v}{cursor}") } else { v };
                    let n = v.chars().count();
                    if n > value_w {
                        v.chars().skip(n - value_w).collect()
                    } else {
                        v
                    }
                })
                .collect();
            if above {
                rows.push((Some(i), format!("{marker}{}", fl.label_text())));
                for v in shown {
                    rows.push((Some(i), format!("    {v}")));
                }
            } else {
                for (k, v) in shown.into_iter().enumerate() {
                    let label = if k == 0 {
                        fl.label_text()
                    } else {
                        String::new()
                    };
                    let m = if k == 0 { marker } else { "  " };
                    rows.push((Some(i), format!("{m}{label:<label_w$}: {v}")));
                }
            }
        }
        rows
    }

    pub fn draw(&self, f: &mut Frame, area: Rect) {
        let w = area.width.saturating_sub(2).min(76);
        let inner_w = w.saturating_sub(2) as usize;
        let rows = self.body_rows(inner_w);
        // Under the fields: the focused field's hint (in full, wrapped), then the keys or the
        // complaint.
        let mut foot: Vec<String> = Vec::new();
        if let Some(fl) = self.fields.get(self.focus) {
            if !fl.hint.is_empty() {
                foot.extend(wrap_words(fl.hint, inner_w));
            }
        }
        match &self.error {
            Some(e) => foot.extend(wrap_words(&format!("! {e}"), inner_w)),
            None => foot.extend(wrap_words(
                "Enter submit · Esc cancel · Tab/↓ next · ←/→ choose",
                inner_w,
            )),
        }
        let want = rows.len() + 1 + foot.len() + 2;
        let h = (want as u16).min(area.height);
        let pop = centered(area, w, h);
        f.render_widget(Clear, pop);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(format!(" {} ", fit(&self.title, inner_w.saturating_sub(2))));
        let inner = block.inner(pop);
        f.render_widget(block, pop);
        // Rows that do not fit scroll so the focused field stays in view; the foot stays.
        let room = (inner.height as usize)
            .saturating_sub(foot.len() + 1)
            .max(1);
        let first_focus = rows
            .iter()
            .position(|(i, _)| *i == Some(self.focus))
            .unwrap_or(0);
        let last_focus = rows
            .iter()
            .rposition(|(i, _)| *i == Some(self.focus))
            .unwrap_or(0);
        let skip = if rows.len() <= room {
            0
        } else {
            last_focus
                .saturating_sub(room - 1)
                .min(first_focus)
                .min(rows.len() - room)
        };
        let mut lines: Vec<Line> = rows
            .iter()
            .skip(skip)
            .take(room)
            .map(|(i, t)| {
                let style = if *i == Some(self.focus) {
                    Style::default().add_modifier(Modifier::BOLD)
                } else {
                    Style::default()
                };
                Line::from(Span::styled(t.clone(), style))
            })
            .collect();
        while lines.len() < room {
            lines.push(Line::raw(""));
        }
        lines.push(Line::raw(if skip > 0 || skip + room < rows.len() {
            "  (more fields: Tab/↓)"
        } else {
            ""
        }));
        lines.extend(foot.into_iter().map(Line::raw));
        f.render_widget(Paragraph::new(lines), inner);
    }
}

/// Splits text into rows of at most `w` columns at spaces (a longer word is cut into pieces).
pub fn wrap_words(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in s.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > w {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(word.chars().take(w).collect());
            word = word.chars().skip(w).collect();
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > w {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
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

#[cfg(test)]
mod layout_tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn list_fields_take_one_row_per_item_and_enter_on_an_empty_row_submits() {
        let mut f = Form::new(
            FormKind::MaterialReturn,
            "t",
            vec![Field::list("items", "Items *")],
        );
        assert!(f.fields[0].required);
        assert_eq!(f.fields[0].label, "Items");
        for c in "urea 2 bags".chars() {
            f.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(f.on_key(key(KeyCode::Enter)), FormEvent::Editing);
        for c in "pump 1 pc".chars() {
            f.on_key(key(KeyCode::Char(c)));
        }
        f.on_key(key(KeyCode::Enter));
        assert_eq!(f.fields[0].rows(), vec!["urea 2 bags", "pump 1 pc", ""]);
        assert_eq!(f.on_key(key(KeyCode::Enter)), FormEvent::Submit);
        let rows = f.body_rows(70);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(rows[0].1.contains("Items *: 1. urea 2 bags"), "{rows:?}");
        assert!(rows[1].1.ends_with("2. pump 1 pc"), "{rows:?}");
    }

    #[test]
    fn a_complaint_puts_the_cursor_on_the_field_it_names() {
        let mut f = Form::new(
            FormKind::MaterialReturn,
            "t",
            vec![
                Field::text("name", "Carried by *"),
                Field::text("return_due", "Return by"),
            ],
        );
        f.refuse("Validation failed: return_due must be a date");
        assert_eq!(f.focus, 1);
        f.refuse("Carried by is required");
        assert_eq!(f.focus, 0);
        f.focus = 1;
        f.refuse("Not done: the server is not running");
        assert_eq!(f.focus, 1, "no field named: the cursor stays");
        f.refuse("Refused: Already inside since 12:14 (Main gate, desk)");
        assert_eq!(f.focus, 1, "a place name is not a field");
        assert_eq!(wrap_words("aa bb cc", 5), vec!["aa bb", "cc"]);
    }
}
