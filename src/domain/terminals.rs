//! Biometric terminals (ZKTeco ADMS / "iclock" push): the records the box keeps about them and
//! the rules of their plain-text protocol — parsing upload lines (tolerant of the firmware
//! variants in the field), mapping statuses to punch directions, PIN ↔ employee, the terminal's
//! time zone, and rendering the commands and the options block. No I/O.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::attendance::Direction;

/// The longest serial number accepted (real ones are 13–20 characters).
pub const MAX_SN: usize = 32;
/// The longest PIN accepted (the protocol allows up to 24 on newer firmware).
pub const MAX_PIN: usize = 24;

/// A terminal's serial number: letters, digits, `-`, `_`, `.`; 1–32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Sn(pub String);

impl Sn {
    pub fn parse(s: &str) -> Option<Sn> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= MAX_SN
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        ok.then(|| Sn(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Staff decide whether a terminal may deliver data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminalState {
    /// Contacted the box; waits for staff. Its data is not accepted (it keeps it).
    Pending,
    Approved,
    Blocked,
}

impl TerminalState {
    pub fn as_str(self) -> &'static str {
        match self {
            TerminalState::Pending => "pending",
            TerminalState::Approved => "approved",
            TerminalState::Blocked => "blocked",
        }
    }
}

/// Upload stamps per table, echoed at the next handshake so the terminal resumes there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stamps {
    pub attlog: String,
    pub operlog: String,
    pub attphoto: String,
}

/// What the box knows about one terminal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Terminal {
    pub sn: String,
    pub state: TerminalState,
    pub model: String,
    pub firmware: String,
    pub push_version: String,
    /// The address it last spoke from (the request's peer) or reported in INFO.
    pub ip: String,
    pub first_seen_unix: i64,
    pub last_seen_unix: i64,
    pub stamps: Stamps,
    /// The zone of the terminal's wall clock, minutes east of UTC, set by staff.
    pub tz_offset_min: Option<i32>,
    /// The zone the terminal reported itself (options / registry), minutes.
    pub reported_tz_min: Option<i32>,
    /// Terminal clock − box clock, seconds, estimated from real-time pushes.
    pub drift_secs: Option<i64>,
    /// Poll interval the box asked for (seconds).
    pub delay_secs: u32,
    pub user_count: Option<u64>,
    pub fp_count: Option<u64>,
    pub face_count: Option<u64>,
    pub punches_stored: u64,
    pub duplicates: u64,
    pub malformed: u64,
    pub unknown_pins: u64,
    pub photos: u64,
    pub templates: u64,
    pub last_upload_unix: Option<i64>,
    pub changed_unix: i64,
}

impl Terminal {
    pub fn new(sn: &Sn, now: i64) -> Terminal {
        Terminal {
            sn: sn.0.clone(),
            state: TerminalState::Pending,
            model: String::new(),
            firmware: String::new(),
            push_version: String::new(),
            ip: String::new(),
            first_seen_unix: now,
            last_seen_unix: now,
            stamps: Stamps::default(),
            tz_offset_min: None,
            reported_tz_min: None,
            drift_secs: None,
            delay_secs: DEFAULT_DELAY_SECS,
            user_count: None,
            fp_count: None,
            face_count: None,
            punches_stored: 0,
            duplicates: 0,
            malformed: 0,
            unknown_pins: 0,
            photos: 0,
            templates: 0,
            last_upload_unix: None,
            changed_unix: now,
        }
    }

    /// The zone its punch times are in: staff's setting, else its own report, else the site's.
    pub fn zone_min(&self, site_offset_min: i32) -> i32 {
        self.tz_offset_min
            .or(self.reported_tz_min)
            .unwrap_or(site_offset_min)
    }

    /// Silent for longer than three poll intervals (at least two minutes).
    pub fn silent(&self, now: i64) -> bool {
        now - self.last_seen_unix > (3 * self.delay_secs as i64).max(120)
    }
}

pub const DEFAULT_DELAY_SECS: u32 = 10;

/// A command queued for a terminal and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalCommand {
    pub id: u64,
    pub sn: String,
    /// The command line as sent after `C:<id>:`.
    pub text: String,
    pub state: CommandState,
    pub created_unix: i64,
    pub sent_unix: Option<i64>,
    pub tries: u32,
    pub last_return: Option<i64>,
    pub done_unix: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandState {
    Queued,
    /// Delivered in a getrequest answer; waiting for its devicecmd result.
    Sent,
    /// The terminal answered `Return=0`.
    Done,
    /// Refused too many times (the last code is kept); no longer sent.
    Failed,
}

impl CommandState {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Queued => "queued",
            CommandState::Sent => "sent",
            CommandState::Done => "done",
            CommandState::Failed => "failed",
        }
    }
}

/// How many refusals (`Return≠0`) before a command is given up.
pub const MAX_COMMAND_TRIES: u32 = 5;

impl TerminalCommand {
    /// Whether it goes out in the answer to a poll at `now`: queued ones at once; sent ones
    /// again when no result came within `resend_secs` (the terminal lost the answer).
    pub fn due(&self, now: i64, resend_secs: i64) -> bool {
        match self.state {
            CommandState::Queued => true,
            CommandState::Sent => self.sent_unix.is_none_or(|t| now - t >= resend_secs),
            CommandState::Done | CommandState::Failed => false,
        }
    }

    /// Applies a devicecmd result; true when the command is finished (done or given up).
    pub fn result(&mut self, ret: i64, now: i64) -> bool {
        self.last_return = Some(ret);
        if ret == 0 {
            self.state = CommandState::Done;
            self.done_unix = Some(now);
            true
        } else if self.tries >= MAX_COMMAND_TRIES {
            self.state = CommandState::Failed;
            self.done_unix = Some(now);
            true
        } else {
            self.state = CommandState::Queued;
            false
        }
    }
}

/// A terminal user as every terminal should hold it (from the HR roll or enrolled on a terminal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalUser {
    pub pin: String,
    pub name: String,
    /// 0 user, 2 enroller, 6 admin, 14 super admin.
    pub privilege: u32,
    pub password: String,
    pub card: String,
    pub group: String,
    pub verify: String,
    /// The employee it belongs to, when the PIN maps to one.
    pub employee: Option<String>,
    /// The terminal it was enrolled on (None: from the HR roll).
    pub source_sn: Option<String>,
    pub updated_unix: i64,
}

impl TerminalUser {
    pub fn same_content(&self, o: &TerminalUser) -> bool {
        self.pin == o.pin
            && self.name == o.name
            && self.privilege == o.privilege
            && self.password == o.password
            && self.card == o.card
            && self.group == o.group
            && self.verify == o.verify
    }
}

/// An employee's PIN on the terminals, as imported (`terminal_pin`, card, privilege).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmployeePin {
    pub pin: String,
    /// True when staff gave it; false when derived from the code (E002 → 2).
    pub explicit: bool,
    pub card: String,
    pub privilege: u32,
}

/// PIN → employee code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinEntry {
    pub code: String,
    pub explicit: bool,
}

/// A biometric template enrolled on a terminal; the template text is a blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub pin: String,
    /// `FP`, `FACE` or `BIODATA`.
    pub kind: String,
    /// Finger index / face id / BIODATA `No`.
    pub fid: String,
    /// The line's other fields (Valid, Size, Type, ...) in order, without the template.
    pub fields: Vec<(String, String)>,
    /// SHA-256 hex of the template text (store blobs).
    pub blob: String,
    pub source_sn: String,
    pub updated_unix: i64,
}

/// A punch whose PIN belongs to nobody on the roll: kept for review, not lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnknownPunch {
    pub sn: String,
    pub pin: String,
    /// The terminal's wall-clock time, as sent.
    pub local_time: NaiveDateTime,
    pub at_unix: i64,
    pub status: u16,
    pub verify: u16,
    pub received_unix: i64,
}

/// The source terminal of a punch stored from a terminal (its `request_id` is
/// `adms:<SN>:<PIN>:<time>`).
pub fn source_terminal(request_id: &str) -> Option<&str> {
    request_id.strip_prefix("adms:")?.split(':').next()
}

pub fn punch_request_id(sn: &str, pin: &str, local: NaiveDateTime) -> String {
    format!("adms:{sn}:{pin}:{}", local.format("%Y%m%d%H%M%S"))
}

// ---------------------------------------------------------------------------------------------
// Upload tables and lines

/// The `table=` of an upload, case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadTable {
    AttLog,
    OperLog,
    AttPhoto,
    BioData,
    Options,
    Other(String),
}

impl UploadTable {
    pub fn parse(s: &str) -> UploadTable {
        match s.trim().to_ascii_uppercase().as_str() {
            "ATTLOG" => UploadTable::AttLog,
            "OPERLOG" => UploadTable::OperLog,
            "ATTPHOTO" => UploadTable::AttPhoto,
            "BIODATA" => UploadTable::BioData,
            "OPTIONS" => UploadTable::Options,
            other => UploadTable::Other(other.to_string()),
        }
    }
}

/// Status 0–5 of an ATTLOG line; anything else is undefined (255 on real terminals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PunchKind {
    CheckIn,
    CheckOut,
    BreakOut,
    BreakIn,
    OvertimeIn,
    OvertimeOut,
    Undefined,
}

impl PunchKind {
    pub fn of_status(status: u16) -> PunchKind {
        match status {
            0 => PunchKind::CheckIn,
            1 => PunchKind::CheckOut,
            2 => PunchKind::BreakOut,
            3 => PunchKind::BreakIn,
            4 => PunchKind::OvertimeIn,
            5 => PunchKind::OvertimeOut,
            _ => PunchKind::Undefined,
        }
    }

    /// The punch direction; `None` for undefined (resolved by first-in/last-out).
    pub fn direction(self) -> Option<Direction> {
        match self {
            PunchKind::CheckIn | PunchKind::BreakIn | PunchKind::OvertimeIn => Some(Direction::In),
            PunchKind::CheckOut | PunchKind::BreakOut | PunchKind::OvertimeOut => {
                Some(Direction::Out)
            }
            PunchKind::Undefined => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PunchKind::CheckIn => "check-in",
            PunchKind::CheckOut => "check-out",
            PunchKind::BreakOut => "break-out",
            PunchKind::BreakIn => "break-in",
            PunchKind::OvertimeIn => "overtime-in",
            PunchKind::OvertimeOut => "overtime-out",
            PunchKind::Undefined => "undefined",
        }
    }
}

/// One ATTLOG record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttLine {
    pub pin: String,
    /// The terminal's wall-clock time.
    pub local: NaiveDateTime,
    pub status: u16,
    pub verify: u16,
    pub workcode: String,
    /// Newer firmware's `TimeOffset` column, as minutes east of UTC.
    pub offset_min: Option<i32>,
}

/// The lines of a body: decoded lossily (names may be GB2312 or a code page), split on LF,
/// trailing CR stripped, empty lines skipped.
pub fn lines(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .split('\n')
        .map(|l| l.trim_end_matches(['\r', '\0']).to_string())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn valid_pin(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PIN
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses one ATTLOG line: `PIN\tTime\tStatus\tVerify\tWorkcode\tReserved...`; extra columns are
/// ignored except `TimeOffset` (column 11); a line without tabs is split on white space (some
/// firmware). `None` for a malformed line.
pub fn parse_attlog_line(line: &str) -> Option<AttLine> {
    let mut f: Vec<String> = line.split('\t').map(|s| s.trim().to_string()).collect();
    if f.len() < 2 {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 3 {
            return None;
        }
        f = vec![w[0].to_string(), format!("{} {}", w[1], w[2])];
        f.extend(w[3..].iter().map(|s| s.to_string()));
    }
    let pin = f[0].clone();
    if !valid_pin(&pin) {
        return None;
    }
    let local = parse_time(&f[1])?;
    let num = |i: usize| -> Option<Option<u16>> {
        match f.get(i).map(String::as_str) {
            None | Some("") => Some(None),
            Some(v) => v.parse::<u16>().ok().map(Some),
        }
    };
    let status = num(2)?.unwrap_or(255);
    let verify = num(3)?.unwrap_or(0);
    let workcode = f.get(4).cloned().unwrap_or_default();
    let offset_min = f.get(10).and_then(|v| time_offset_min(v));
    Some(AttLine {
        pin,
        local,
        status,
        verify,
        workcode,
        offset_min,
    })
}

/// `TimeOffset`: seconds east of UTC by the document; small values are taken as hours and
/// mid-size ones as minutes (firmware differ). Implausible values are ignored.
fn time_offset_min(v: &str) -> Option<i32> {
    let n: i64 = v.trim().parse().ok()?;
    let min = match n.abs() {
        0..=14 => n * 60,
        15..=840 => n,
        _ if n % 60 == 0 => n / 60,
        _ => return None,
    };
    (min.abs() <= 14 * 60).then_some(min as i32)
}

/// Parses an ATTLOG body: the good lines and how many were malformed.
pub fn parse_attlog(body: &[u8]) -> (Vec<AttLine>, usize) {
    let mut ok = Vec::new();
    let mut bad = 0;
    for l in lines(body) {
        match parse_attlog_line(&l) {
            Some(a) => ok.push(a),
            None => bad += 1,
        }
    }
    (ok, bad)
}

/// One OPERLOG record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperLine {
    /// `USER PIN=..\tName=..` (keys as sent).
    User(Vec<(String, String)>),
    /// `FP`, `FACE`, `FVEIN`, `BIODATA` templates.
    Template {
        kind: String,
        fields: Vec<(String, String)>,
    },
    /// `OPLOG op\toperator\ttime\t...` and other records we only count.
    Other(String),
}

/// `key=value` pairs separated by tabs (a value may itself contain `=`).
pub fn kv_pairs(s: &str) -> Vec<(String, String)> {
    s.split('\t')
        .filter_map(|p| {
            let p = p.trim_matches([' ', '\r']);
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// A value by key, case-insensitive (`PIN`/`Pin`, `TMP`/`Tmp`).
pub fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

pub fn parse_operlog_line(line: &str) -> Option<OperLine> {
    let line = line.trim_start();
    let (tag, rest) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    let tag = tag.to_ascii_uppercase();
    match tag.as_str() {
        "USER" => {
            let kv = kv_pairs(rest);
            field(&kv, "PIN").filter(|p| valid_pin(p))?;
            Some(OperLine::User(kv))
        }
        "FP" | "FACE" | "FVEIN" | "BIODATA" => {
            let kv = kv_pairs(rest);
            field(&kv, "PIN").filter(|p| valid_pin(p))?;
            let tmp = field(&kv, "TMP").filter(|t| !t.is_empty())?;
            if !tmp
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            {
                return None;
            }
            Some(OperLine::Template {
                kind: tag,
                fields: kv,
            })
        }
        "OPLOG" | "USERPIC" | "BIOPHOTO" | "IDCARD" | "ERRORLOG" | "WORKCODE" | "SMS" => {
            Some(OperLine::Other(tag))
        }
        _ => None,
    }
}

/// A terminal user from an OPERLOG `USER` line.
pub fn user_from_line(kv: &[(String, String)], sn: &str, now: i64) -> Option<TerminalUser> {
    let pin = field(kv, "PIN")?.to_string();
    Some(TerminalUser {
        pin,
        name: clean(field(kv, "Name").unwrap_or("")),
        privilege: field(kv, "Pri")
            .or(field(kv, "Privilege"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0),
        password: clean(field(kv, "Passwd").or(field(kv, "Password")).unwrap_or("")),
        card: clean(field(kv, "Card").unwrap_or("")),
        group: clean(field(kv, "Grp").unwrap_or("1")),
        verify: clean(field(kv, "Verify").unwrap_or("0")),
        employee: None,
        source_sn: Some(sn.to_string()),
        updated_unix: now,
    })
}

/// A value fit for a tab-separated command: no tabs, line breaks or NULs.
pub fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n' | '\0'))
        .collect::<String>()
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Commands

pub fn cmd_update_user(u: &TerminalUser) -> String {
    format!(
        "DATA UPDATE USERINFO PIN={}\tName={}\tPri={}\tPasswd={}\tCard={}\tGrp={}\tTZ=0000000100000000\tVerify={}",
        u.pin,
        clean(&u.name),
        u.privilege,
        clean(&u.password),
        clean(&u.card),
        if u.group.is_empty() { "1" } else { &u.group },
        if u.verify.is_empty() { "0" } else { &u.verify },
    )
}

pub fn cmd_delete_user(pin: &str) -> String {
    format!("DATA DELETE USERINFO PIN={pin}")
}

/// The command that puts a template on another terminal, with the template text.
pub fn cmd_update_template(t: &Template, tmp: &str) -> String {
    let table = match t.kind.as_str() {
        "FP" => "FINGERTMP",
        other => other,
    };
    let mut out = format!("DATA UPDATE {table} ");
    let mut parts = Vec::new();
    for (k, v) in &t.fields {
        parts.push(format!("{k}={}", clean(v)));
    }
    parts.push(format!(
        "{}={tmp}",
        if t.kind == "BIODATA" || t.kind == "FVEIN" {
            "Tmp"
        } else {
            "TMP"
        }
    ));
    out.push_str(&parts.join("\t"));
    out
}

/// The key fields of a template line (everything but the template itself) and its id.
pub fn template_parts(kind: &str, kv: &[(String, String)]) -> (String, Vec<(String, String)>) {
    let fields: Vec<(String, String)> = kv
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("TMP"))
        .cloned()
        .collect();
    let fid = match kind {
        "BIODATA" => format!(
            "{}-{}-{}",
            field(kv, "Type").unwrap_or("0"),
            field(kv, "No").unwrap_or("0"),
            field(kv, "Index").unwrap_or("0")
        ),
        _ => field(kv, "FID").unwrap_or("0").to_string(),
    };
    (fid, fields)
}

/// One devicecmd result line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdResult {
    pub id: String,
    pub ret: i64,
    pub cmd: String,
}

/// `ID=..&Return=..&CMD=..` lines; continuation lines (INFO contents) are skipped.
pub fn parse_devicecmd(body: &[u8]) -> Vec<CmdResult> {
    let mut out = Vec::new();
    for l in lines(body) {
        let mut id = None;
        let mut ret = None;
        let mut cmd = String::new();
        for part in l.split('&') {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            match k.trim().to_ascii_uppercase().as_str() {
                "ID" => id = Some(v.trim().to_string()),
                "RETURN" => ret = v.trim().parse::<i64>().ok(),
                "CMD" => cmd = v.trim().to_string(),
                _ => {}
            }
        }
        if let (Some(id), Some(ret)) = (id, ret) {
            out.push(CmdResult { id, ret, cmd });
        }
    }
    out
}

/// What a `getrequest?INFO=` says: firmware, users, fingerprints, punches, address, ...
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub firmware: Option<String>,
    pub users: Option<u64>,
    pub fps: Option<u64>,
    pub ip: Option<String>,
    pub faces: Option<u64>,
}

pub fn parse_info(s: &str) -> Info {
    let f: Vec<&str> = s.split(',').map(str::trim).collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Info {
        firmware: f
            .first()
            .filter(|v| !v.is_empty())
            .map(|v| clean(v).chars().take(64).collect()),
        users: n(1),
        fps: n(2),
        ip: f
            .get(4)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
            .map(|v| v.to_string()),
        faces: n(8),
    }
}

/// `k=v,k=v` (registry, options); a fragment without `=` belongs to the previous value
/// (`~OEMVendor=ZKTECO CO., LTD.`).
pub fn parse_comma_kv(body: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in body.split([',', '\n']) {
        let part = part.trim_end_matches('\r');
        match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !k.contains(' ') => {
                out.push((k.trim().trim_start_matches('~').to_string(), v.to_string()))
            }
            _ => {
                if let Some(last) = out.last_mut() {
                    last.1.push(',');
                    last.1.push_str(part);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Time

/// The terminal's wall-clock time as UTC unix seconds, given its zone (minutes east of UTC).
pub fn to_utc(local: NaiveDateTime, zone_min: i32) -> i64 {
    (local - Duration::minutes(zone_min as i64))
        .and_utc()
        .timestamp()
}

/// A zone as terminals and servers write it: `7` (hours), `330` (minutes), `5.5`, `+07:00`,
/// `-0330`. Minutes east of UTC.
pub fn parse_zone(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (sign, rest) = match s.as_bytes()[0] {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => (1, s),
    };
    let min = if let Some((h, m)) = rest.split_once(':') {
        h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?
    } else if rest.contains('.') {
        (rest.parse::<f64>().ok()? * 60.0).round() as i32
    } else if rest.len() == 4 && (s.starts_with('+') || s.starts_with('-')) {
        rest[..2].parse::<i32>().ok()? * 60 + rest[2..].parse::<i32>().ok()?
    } else {
        let n = rest.parse::<i32>().ok()?;
        if n <= 14 {
            n * 60
        } else {
            n
        }
    };
    let min = sign * min;
    (min.abs() <= 14 * 60).then_some(min)
}

/// `TimeZone=` of the options block: whole hours as hours, otherwise minutes (330 = +5:30).
pub fn zone_option(min: i32) -> String {
    if min % 60 == 0 {
        (min / 60).to_string()
    } else {
        min.to_string()
    }
}

/// The digits of an employee code without leading zeros (E002 → 2); None when it has none.
pub fn pin_of_code(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0');
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// A PIN as terminals compare them: leading zeros do not matter (`0002` is `2`).
pub fn normal_pin(pin: &str) -> String {
    if pin.chars().all(|c| c.is_ascii_digit()) {
        let t = pin.trim_start_matches('0');
        if t.is_empty() {
            "0".into()
        } else {
            t.into()
        }
    } else {
        pin.to_string()
    }
}

/// The earlier punch of the same employee that decides a new one's attendance day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Previous {
    pub at_unix: i64,
    pub direction: Direction,
    pub day: NaiveDate,
}

/// First-in/last-out for status 255: the first punch of an attendance day is an in, any later
/// one an out (the last out of the day is the one that counts). `day_as_in` is the day the
/// punch would open; `prev` the employee's previous punch within the open-shift window.
pub fn resolve_undefined(day_as_in: NaiveDate, prev: Option<Previous>) -> Direction {
    match prev {
        Some(p) if p.direction == Direction::In || p.day == day_as_in => Direction::Out,
        _ => Direction::In,
    }
}

/// The options block answering the handshake.
pub struct OptionsBlock<'a> {
    pub sn: &'a str,
    pub stamps: &'a Stamps,
    pub zone_min: i32,
    pub delay_secs: u32,
    pub error_delay_secs: u32,
    pub trans_interval_min: u32,
}

fn stamp_or_none(s: &str) -> &str {
    if s.is_empty() {
        "None"
    } else {
        s
    }
}

pub fn render_options(o: &OptionsBlock<'_>) -> String {
    let s = o.stamps;
    let lines = [
        format!("GET OPTION FROM: {}", o.sn),
        format!("ATTLOGStamp={}", stamp_or_none(&s.attlog)),
        format!("OPERLOGStamp={}", stamp_or_none(&s.operlog)),
        format!("ATTPHOTOStamp={}", stamp_or_none(&s.attphoto)),
        // Older firmware reads the legacy names; sending both is harmless.
        format!("Stamp={}", stamp_or_none(&s.attlog)),
        format!("OpStamp={}", stamp_or_none(&s.operlog)),
        format!("PhotoStamp={}", stamp_or_none(&s.attphoto)),
        format!("ErrorDelay={}", o.error_delay_secs),
        format!("Delay={}", o.delay_secs),
        "TransTimes=00:00;14:05".to_string(),
        format!("TransInterval={}", o.trans_interval_min),
        "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tFACE\tUserPic".to_string(),
        format!("TimeZone={}", zone_option(o.zone_min)),
        "Realtime=1".to_string(),
        "Encrypt=None".to_string(),
        "ServerVer=2.4.1 gatehouse".to_string(),
        "PushProtVer=2.4.1".to_string(),
        "ATTPHOTOBase64=0".to_string(),
        "MaxPostSize=1048576".to_string(),
    ];
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The zk time encoding used by `rtdata` and `SET OPTIONS DateTime=`.
pub fn zk_time(t: NaiveDateTime) -> i64 {
    use chrono::{Datelike, Timelike};
    let y = t.year() as i64 - 2000;
    (((y * 12 * 31) + (t.month() as i64 - 1) * 31 + t.day() as i64 - 1) * 86_400)
        + ((t.hour() as i64 * 60 + t.minute() as i64) * 60)
        + t.second() as i64
}

#[cfg(test)]
mod tests;
