//! What flows to terminals: users (from the HR roll or enrolled on a terminal), templates, and
//! the command queue they travel in. A command is queued per approved terminal, delivered in
//! the answer to its poll (`getrequest`), and retried until the terminal reports `Return=0`.

use serde_json::{json, Value};

use crate::domain::hr::Employee;
use crate::domain::terminals::{
    clean, cmd_delete_user, cmd_update_template, cmd_update_user, normal_pin, parse_devicecmd,
    pin_of_code, CommandState, EmployeePin, PinEntry, Template, TerminalCommand, TerminalUser,
    UnknownPunch, MAX_PIN,
};
use crate::store::tables::terminals::{COMMANDS_OPEN, META};
use crate::store::{self, Tx};

use super::super::hr::Get;
use super::super::{hr, identity, Result, ServiceError, Services};

/// Commands in one poll answer at most (the protocol asks for answers under ~900 KB).
pub const MAX_PER_POLL: usize = 50;
const MAX_POLL_BYTES: usize = 512 << 10;
/// A delivered command with no result by then is sent again.
pub const RESEND_SECS: i64 = 60;

const PINS_INDEXED: &[u8] = b"pins-indexed";

fn cmd_key(sn: &str, id: u64) -> Vec<u8> {
    store::key(&[sn.as_bytes(), &id.to_be_bytes()])
}

/// Queues one command for one terminal.
pub fn queue(tx: &mut Tx, sn: &str, text: String, now: i64) -> Result<u64> {
    let id = identity::next_id(tx, "terminal_cmd")?;
    let c = TerminalCommand {
        id,
        sn: sn.to_string(),
        text,
        state: CommandState::Queued,
        created_unix: now,
        sent_unix: None,
        tries: 0,
        last_return: None,
        done_unix: None,
    };
    let k = cmd_key(sn, id);
    tx.put(&k, &c);
    tx.index(COMMANDS_OPEN, &k);
    Ok(id)
}

/// Queues a command for every approved terminal but `except` (the one it came from).
pub fn queue_all(tx: &mut Tx, except: Option<&str>, text: &str, now: i64) -> Result<usize> {
    let mut n = 0;
    for sn in super::approved(tx.store())? {
        if Some(sn.as_str()) != except {
            queue(tx, &sn, text.to_string(), now)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Everything a newly approved terminal should hold: every user, then every template.
pub fn queue_everything(svc: &Services, tx: &mut Tx, sn: &str, now: i64) -> Result<usize> {
    let mut n = 0;
    for (_, u) in tx.store().scan::<TerminalUser>(b"")? {
        queue(tx, sn, cmd_update_user(&u), now)?;
        n += 1;
    }
    for (_, t) in tx.store().scan::<Template>(b"")? {
        if t.source_sn == sn {
            continue;
        }
        if let Some(tmp) = template_text(svc, &t) {
            queue(tx, sn, cmd_update_template(&t, &tmp), now)?;
            n += 1;
        }
    }
    Ok(n)
}

fn template_text(svc: &Services, t: &Template) -> Option<String> {
    let id = crate::store::BlobId::parse(&t.blob)?;
    let bytes = svc.store.blobs().get(&id).ok()?;
    String::from_utf8(bytes).ok()
}

/// The first time terminals are used, every employee already on the roll gets its PIN (the
/// digits of its code) and a terminal user; later changes come through `employee_written`.
pub fn ensure_pins(svc: &Services, tx: &mut Tx) -> Result<()> {
    if tx.contains_raw(META, PINS_INDEXED)? {
        return Ok(());
    }
    let today = hr::today(svc);
    let now = svc.now_unix();
    for e in hr::employees(tx.store())? {
        if tx.get::<EmployeePin>(e.code.as_bytes())?.is_some() {
            continue;
        }
        let Some(pin) = pin_of_code(&e.code) else {
            continue;
        };
        if tx.get::<PinEntry>(pin.as_bytes())?.is_some() {
            continue;
        }
        let ep = EmployeePin {
            pin: pin.clone(),
            explicit: false,
            card: String::new(),
            privilege: 0,
        };
        link(tx, &e.code, &ep);
        if e.relieving.as_ref().is_none_or(|r| r.date >= today) {
            tx.put(pin.as_bytes(), &user_of(&e, &ep, None, now));
        }
    }
    tx.index(META, PINS_INDEXED);
    Ok(())
}

fn link(tx: &mut Tx, code: &str, ep: &EmployeePin) {
    tx.put(code.as_bytes(), ep);
    tx.put(
        ep.pin.as_bytes(),
        &PinEntry {
            code: code.to_string(),
            explicit: ep.explicit,
        },
    );
}

fn user_of(e: &Employee, ep: &EmployeePin, old: Option<&TerminalUser>, now: i64) -> TerminalUser {
    TerminalUser {
        pin: ep.pin.clone(),
        name: clean(&e.name).chars().take(24).collect(),
        privilege: ep.privilege,
        password: old.map(|o| o.password.clone()).unwrap_or_default(),
        card: if ep.card.is_empty() {
            old.map(|o| o.card.clone()).unwrap_or_default()
        } else {
            ep.card.clone()
        },
        group: old.map(|o| o.group.clone()).unwrap_or_else(|| "1".into()),
        verify: old.map(|o| o.verify.clone()).unwrap_or_else(|| "0".into()),
        employee: Some(e.code.clone()),
        source_sn: old.and_then(|o| o.source_sn.clone()),
        updated_unix: now,
    }
}

/// After an employee is written (import or admin): its PIN (`terminal_pin` column, else the
/// digits of its code), card (`terminal_card`) and privilege (`terminal_privilege`), and the
/// commands that bring every approved terminal up to date. Returns whether anything changed.
pub fn employee_written(
    svc: &Services,
    tx: &mut Tx,
    e: &Employee,
    get: Get<'_>,
) -> std::result::Result<bool, String> {
    let se = |x: ServiceError| x.to_string();
    let now = svc.now_unix();
    let old = tx
        .get::<EmployeePin>(e.code.as_bytes())
        .map_err(|x| x.to_string())?;
    let explicit = match get("terminal_pin") {
        Some(p) => {
            let p = p.trim().to_string();
            if p.is_empty() || p.len() > MAX_PIN || !p.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "terminal_pin: '{p}' must be 1-{MAX_PIN} letters or digits"
                ));
            }
            Some(normal_pin(&p))
        }
        None => old.as_ref().filter(|o| o.explicit).map(|o| o.pin.clone()),
    };
    let card = match get("terminal_card").or_else(|| get("card")) {
        Some(c) => {
            let c = clean(&c);
            if c.len() > 20 {
                return Err("terminal_card: at most 20 characters".into());
            }
            c
        }
        None => old.as_ref().map(|o| o.card.clone()).unwrap_or_default(),
    };
    let privilege = match get("terminal_privilege") {
        Some(p) => match p.trim().parse::<u32>() {
            Ok(v @ (0 | 2 | 6 | 10 | 14)) => v,
            _ => return Err("terminal_privilege: one of 0, 2, 6, 10, 14".into()),
        },
        None => old.as_ref().map(|o| o.privilege).unwrap_or(0),
    };
    let (pin, is_explicit) = match explicit {
        Some(p) => (Some(p), true),
        None => (pin_of_code(&e.code), false),
    };
    // Who holds the wanted PIN already.
    let pin = match pin {
        Some(p) => {
            match tx
                .get::<PinEntry>(p.as_bytes())
                .map_err(|x| x.to_string())?
            {
                Some(holder) if holder.code != e.code => {
                    if is_explicit && holder.explicit {
                        return Err(format!(
                            "terminal_pin: {p} already belongs to employee {}",
                            holder.code
                        ));
                    }
                    if is_explicit {
                        // A staff-given PIN wins over a derived one; the other employee loses it.
                        tx.delete::<EmployeePin>(holder.code.as_bytes());
                        Some(p)
                    } else {
                        None
                    }
                }
                _ => Some(p),
            }
        }
        None => None,
    };
    let old_pin = old.as_ref().map(|o| o.pin.clone());
    let mut changed = false;
    if let Some(op) = old_pin.as_ref().filter(|op| Some(*op) != pin.as_ref()) {
        // The PIN moved: the old one leaves the terminals.
        if tx
            .get::<PinEntry>(op.as_bytes())
            .map_err(|x| x.to_string())?
            .is_some_and(|h| h.code == e.code)
        {
            tx.delete::<PinEntry>(op.as_bytes());
            tx.delete::<TerminalUser>(op.as_bytes());
            queue_all(tx, None, &cmd_delete_user(op), now).map_err(se)?;
        }
        tx.delete::<EmployeePin>(e.code.as_bytes());
        changed = true;
    }
    let Some(pin) = pin else {
        return Ok(changed);
    };
    let ep = EmployeePin {
        pin: pin.clone(),
        explicit: is_explicit,
        card,
        privilege,
    };
    if old.as_ref() != Some(&ep) {
        link(tx, &e.code, &ep);
        changed = true;
        if old.as_ref().is_none_or(|o| o.pin != ep.pin) {
            let n = super::ingest::adopt_unknown(svc, tx, &pin, e).map_err(se)?;
            if n > 0 {
                tracing::info!(employee = %e.code, pin = %pin, punches = n, "unknown-PIN punches adopted");
            }
        }
    }
    let current = tx
        .get::<TerminalUser>(pin.as_bytes())
        .map_err(|x| x.to_string())?;
    let relieved = e
        .relieving
        .as_ref()
        .is_some_and(|r| r.date < hr::today(svc));
    if relieved {
        if current.is_some() {
            tx.delete::<TerminalUser>(pin.as_bytes());
            queue_all(tx, None, &cmd_delete_user(&pin), now).map_err(se)?;
            changed = true;
        }
        return Ok(changed);
    }
    let want = user_of(e, &ep, current.as_ref(), now);
    if current.as_ref().is_none_or(|c| !c.same_content(&want)) {
        tx.put(pin.as_bytes(), &want);
        queue_all(tx, None, &cmd_update_user(&want), now).map_err(se)?;
        changed = true;
    }
    Ok(changed)
}

/// A user enrolled or changed on terminal `sn`: kept, and sent to every other terminal.
pub fn user_from_terminal(
    _svc: &Services,
    tx: &mut Tx,
    mut u: TerminalUser,
    sn: &str,
    now: i64,
) -> Result<bool> {
    let current = tx.get::<TerminalUser>(u.pin.as_bytes())?;
    if let Some(c) = &current {
        if c.same_content(&u) {
            return Ok(false);
        }
        u.employee = c.employee.clone();
        // The roll's name wins over what was typed on a keypad, when the PIN is an employee's.
        if c.employee.is_some() && !c.name.is_empty() {
            u.name = c.name.clone();
        }
    } else if let Some(p) = tx.get::<PinEntry>(u.pin.as_bytes())? {
        u.employee = Some(p.code);
    }
    u.updated_unix = now;
    let unchanged = current.as_ref().is_some_and(|c| c.same_content(&u));
    tx.put(u.pin.as_bytes(), &u);
    if !unchanged {
        queue_all(tx, Some(sn), &cmd_update_user(&u), now)?;
    }
    Ok(!unchanged)
}

/// A template enrolled on a terminal: kept (its text is a blob) and sent to every other
/// terminal, after the user it belongs to. Returns whether it was new or changed.
pub fn template_from_terminal(
    _svc: &Services,
    tx: &mut Tx,
    t: Template,
    tmp: &str,
    now: i64,
) -> Result<bool> {
    let key = store::key(&[t.pin.as_bytes(), t.kind.as_bytes(), t.fid.as_bytes()]);
    if tx
        .get::<Template>(&key)?
        .is_some_and(|old| old.blob == t.blob && old.fields == t.fields)
    {
        return Ok(false);
    }
    if tx.get::<TerminalUser>(t.pin.as_bytes())?.is_none() {
        let u = TerminalUser {
            pin: t.pin.clone(),
            name: String::new(),
            privilege: 0,
            password: String::new(),
            card: String::new(),
            group: "1".into(),
            verify: "0".into(),
            employee: tx.get::<PinEntry>(t.pin.as_bytes())?.map(|p| p.code),
            source_sn: Some(t.source_sn.clone()),
            updated_unix: now,
        };
        tx.put(u.pin.as_bytes(), &u);
        queue_all(tx, Some(&t.source_sn), &cmd_update_user(&u), now)?;
    }
    queue_all(tx, Some(&t.source_sn), &cmd_update_template(&t, tmp), now)?;
    tx.put(&key, &t);
    Ok(true)
}

/// The commands due for `sn`, marked sent, as `(id, text)`.
pub async fn deliver(svc: &Services, sn: &str) -> Result<Vec<(u64, String)>> {
    let prefix = store::prefix(&[sn.as_bytes()]);
    let keys = svc.store.index_keys(COMMANDS_OPEN, &prefix)?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let now = svc.now_unix();
    let mut tx = svc.store.begin().await;
    let mut out = Vec::new();
    let mut bytes = 0;
    for k in keys {
        let full = [prefix.clone(), k].concat();
        let Some(mut c) = tx.get::<TerminalCommand>(&full)? else {
            tx.delete_raw(COMMANDS_OPEN, &full);
            continue;
        };
        if !c.due(now, RESEND_SECS) {
            continue;
        }
        if out.len() >= MAX_PER_POLL || bytes + c.text.len() > MAX_POLL_BYTES {
            break;
        }
        bytes += c.text.len() + 16;
        c.state = CommandState::Sent;
        c.sent_unix = Some(now);
        c.tries += 1;
        tx.put(&full, &c);
        out.push((c.id, c.text));
    }
    tx.commit().await?;
    Ok(out)
}

/// Applies a devicecmd body; returns how many results matched a command of this terminal.
pub async fn results(svc: &Services, sn: &str, body: &[u8]) -> Result<usize> {
    let rs = parse_devicecmd(body);
    if rs.is_empty() {
        return Ok(0);
    }
    let now = svc.now_unix();
    let mut tx = svc.store.begin().await;
    let mut n = 0;
    for r in rs {
        let Ok(id) = r.id.parse::<u64>() else {
            continue;
        };
        let k = cmd_key(sn, id);
        let Some(mut c) = tx.get::<TerminalCommand>(&k)? else {
            continue;
        };
        if matches!(c.state, CommandState::Done | CommandState::Failed) {
            continue;
        }
        if c.result(r.ret, now) {
            tx.delete_raw(COMMANDS_OPEN, &k);
        }
        if r.ret != 0 {
            tracing::warn!(sn, id, ret = r.ret, cmd = %r.cmd, "terminal refused a command");
        }
        tx.put(&k, &c);
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

/// Commands of one terminal (or all), newest first, at most `limit`; `open` = not finished.
pub fn commands_json(svc: &Services, sn: Option<&str>, open: bool, limit: usize) -> Result<Value> {
    let prefix = sn
        .map(|s| store::prefix(&[s.as_bytes()]))
        .unwrap_or_default();
    let mut out = Vec::new();
    let rfc = super::super::attendance::rfc3339;
    if open {
        for k in svc.store.index_keys(COMMANDS_OPEN, &prefix)? {
            let full = [prefix.clone(), k].concat();
            if let Some(c) = svc.store.get::<TerminalCommand>(&full)? {
                out.push(c);
            }
            if out.len() >= limit {
                break;
            }
        }
    } else {
        let all: Vec<TerminalCommand> = svc
            .store
            .scan::<TerminalCommand>(&prefix)?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        out = all.into_iter().rev().take(limit).collect();
    }
    Ok(Value::Array(
        out.into_iter()
            .map(|c| {
                let verb: String = c
                    .text
                    .split('\t')
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(60)
                    .collect();
                json!({
                    "id": c.id,
                    "sn": c.sn,
                    "command": verb,
                    "text": c.text.chars().take(200).collect::<String>(),
                    "state": c.state.as_str(),
                    "tries": c.tries,
                    "last_return": c.last_return,
                    "created": rfc(c.created_unix),
                    "sent": c.sent_unix.map(rfc),
                    "done": c.done_unix.map(rfc),
                })
            })
            .collect(),
    ))
}

/// Punches whose PIN maps to no employee, for review (at most `limit`).
pub fn unknown_punches_json(svc: &Services, sn: Option<&str>, limit: usize) -> Result<Value> {
    let prefix = sn
        .map(|s| store::prefix(&[s.as_bytes()]))
        .unwrap_or_default();
    let mut out = Vec::new();
    for r in svc.store.scan_iter::<UnknownPunch>(&prefix)? {
        let (_, u) = r?;
        out.push(json!({
            "sn": u.sn,
            "pin": u.pin,
            "local_time": u.local_time.format("%Y-%m-%d %H:%M:%S").to_string(),
            "time": super::super::attendance::rfc3339(u.at_unix),
            "status": u.status,
            "verify": u.verify,
            "received": super::super::attendance::rfc3339(u.received_unix),
        }));
        if out.len() >= limit {
            break;
        }
    }
    Ok(Value::Array(out))
}

/// Users as every terminal should hold them (at most `limit`).
pub fn users_json(svc: &Services, limit: usize) -> Result<Value> {
    let mut out = Vec::new();
    for r in svc.store.scan_iter::<TerminalUser>(b"")? {
        let (_, u) = r?;
        out.push(json!({
            "pin": u.pin, "name": u.name, "privilege": u.privilege, "card": u.card,
            "employee_code": u.employee, "enrolled_on": u.source_sn,
        }));
        if out.len() >= limit {
            break;
        }
    }
    Ok(Value::Array(out))
}

/// `cdata?table=RemoteAtt&PIN=`: the user's USERINFO line, when the box knows the PIN.
pub fn remote_user_line(svc: &Services, pin: &str) -> Result<Option<String>> {
    let pin = normal_pin(pin);
    Ok(svc
        .store
        .get::<TerminalUser>(pin.as_bytes())?
        .map(|u| cmd_update_user(&u)))
}
