//! Configuration: embedded defaults, then an optional TOML file, then `GATEHOUSE_*` environment
//! overrides (`GATEHOUSE_LISTEN`, `GATEHOUSE_STORE__CACHE_MB`: a double underscore descends into
//! a section), then command-line flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub state_dir: PathBuf,
    /// Default `<state_dir>/admin.sock`.
    pub admin_socket: Option<PathBuf>,
    /// `auto` (text on a terminal, JSON lines otherwise), `text` or `json`.
    pub log_format: String,
    /// tracing filter, e.g. `info` or `gatehouse=debug`.
    pub log_level: String,
    pub site: Site,
    pub store: StoreConfig,
    pub http: Http,
    pub auth: Auth,
    pub codelayer: Codelayer,
    pub estate: Estate,
    pub attendance: Attendance,
    pub gatepass: Gatepass,
    pub backup: Backup,
    pub wablas: Wablas,
    pub security: Security,
    pub upstream: Upstream,
    pub print: Print,
    pub memory: Memory,
}

/// What memory the process plans for. Every size left at 0 here, in `store.cache_mb` and in
/// `http.max_in_flight_body_mb` is derived from one figure, the memory limit (`Config::budget`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Memory {
    /// 0 = the cgroup memory limit (the unit's MemoryMax), else 512 MiB.
    pub limit_mb: u64,
    /// Finished heavy answers kept for the next caller (0 = 1/16 of the limit).
    pub answers_cache_mb: u64,
    /// Heavy answers being rendered at once (0 = 1/8 of the limit).
    pub answers_render_mb: u64,
}

/// The memory budget, every pool sized from the limit unless configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub limit_bytes: u64,
    pub store_cache_bytes: u64,
    pub answers_cache_bytes: u64,
    pub answers_render_kib: u32,
    pub request_bodies_kib: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Site {
    pub name: String,
    /// The estate's offset from UTC in minutes; "today" is the site's local day.
    pub timezone_offset_minutes: i32,
    pub timezone_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The store's page cache (redb's; half of it holds a transaction's dirty pages); 0 = derive
    /// it at each open from the memory limit (1/32 of it, 4..=32 MiB; 512 MiB assumed without
    /// one) and the store's size
    /// (`Config::cache_bytes_for`: a big store gets up to 1/16 of the limit).
    pub cache_mb: u64,
    pub idempotency_ttl_hours: u64,
    /// Ignored since the store moved to redb (the log checkpoints by itself, a start replays
    /// at most one checkpoint's worth); still accepted so configuration files of the sled
    /// releases, which reopened sled in quiet hours by these three, keep loading.
    pub checkpoint_after_mb: u64,
    pub checkpoint_from_hour: u32,
    pub checkpoint_to_hour: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    pub max_body_bytes: usize,
    pub max_image_bytes: usize,
    pub request_timeout_secs: u64,
    /// LAN requests handled at once; more are answered 503 at once (in the family's envelope).
    pub max_in_flight: usize,
    /// Request bodies held in memory at once, all requests together; past it, 503. 0 = 1/8 of
    /// the memory limit (and at least two bodies of `max_body_bytes`).
    pub max_in_flight_body_mb: usize,
    /// A connection must deliver its request line and headers within this many seconds, or it
    /// is closed (a stalled or half-open client must not hold a connection for ever).
    pub header_read_timeout_secs: u64,
    /// Longest wait for the next piece of a request body; past it, 408 and the connection closes.
    pub body_read_timeout_secs: u64,
    /// Slowest body transfer accepted (bytes/s, averaged, after a grace of
    /// `body_read_timeout_secs`): a client dripping a byte now and then gets 408 as well.
    pub min_body_rate_bytes_per_sec: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    pub password_min_len: usize,
    pub pbkdf2_iterations: u32,
    pub client_token_ttl_minutes: i64,
    pub user_token_ttl_hours: i64,
    pub refresh_token_ttl_hours: i64,
    pub access_token_ttl_minutes: i64,
    pub signature_skew_secs: i64,
    pub lockout_after_failures: u32,
    pub lockout_minutes: i64,
    pub reset_code_ttl_minutes: i64,
    pub authorize_token_idle_hours: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Codelayer {
    pub session_idle_minutes: i64,
    /// Clients older than this `N.N.N.N` get e=426.
    pub min_client_version: String,
    pub face_threshold: String,
    pub app_id: String,
    pub product_name: String,
}

/// Estate labour, muster and faces (Codelayer estate operations).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Estate {
    /// A muster line heavier than this (gross, kg) is refused as a bad weight.
    pub max_gross_weight_kg: f64,
    /// How far a handheld's netWeight may be from the server's (kg) and still be accepted;
    /// the server's value is stored either way.
    pub net_weight_tolerance_kg: f64,
    /// About how many bytes of face images one Download Face File answer carries; more
    /// follow with `more: "T"`.
    pub face_file_max_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attendance {
    /// Two punches of one direction within this window are one punch (double taps, retries).
    pub dedupe_window_secs: i64,
    /// Above this speed between two punches the later one is flagged as likely spoofed.
    pub max_plausible_speed_kmh: f64,
    /// A punch whose reported GPS accuracy is worse (larger) than this is refused: such a fix
    /// cannot tell inside a fence from outside it. The accuracy also widens every fence.
    pub max_gps_accuracy_m: f64,
    /// A device clock further than this from the server's flags the punch (the punch time is
    /// always the server's).
    pub device_clock_skew_secs: i64,
    /// A clock-in without a clock-out for longer than this is treated as a forgotten clock-out.
    pub max_open_shift_hours: i64,
    /// How early before its start a clock-in still counts for a shift.
    pub early_clock_in_minutes: i64,
    /// How late after its end a clock-out still counts for a shift.
    pub late_clock_out_minutes: i64,
    /// Worked minutes for a full day when the employee has no shift.
    pub full_day_minutes: u32,
    /// Longest period one HR request (emp_attendance, emp_leavesummary, ...) may ask for.
    pub hr_max_range_days: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gatepass {
    /// Validity of a pass when the request names none.
    pub default_valid_hours: u32,
    pub max_valid_hours: u32,
    /// Most material lines on one pass.
    pub max_items: usize,
    /// Most rows one desk listing returns (newest first).
    pub list_limit: usize,
    /// How far in the future a handheld's `datetime` may be (clock drift).
    pub clock_skew_secs: i64,
    /// A handheld's repeat of a move without its own `datetime`, at the same gate by the same
    /// guard within this many seconds, is a retry (the first answer); later it is refused.
    pub retry_window_secs: i64,
}

/// Where the console's `p` sends a gate pass slip (`service::gatepass::slip`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Print {
    /// `pdf` (save a PDF file under `pdf_dir`), `cups` (the PDF to `lp -d <cups_printer>`) or
    /// `escpos` (raw ESC/POS bytes to `device`, a receipt printer on USB or a serial port).
    pub mode: String,
    pub cups_printer: String,
    /// The CUPS client command (`lp`).
    pub lp_command: String,
    /// `/dev/usb/lp0`, `/dev/ttyUSB0`, ...
    pub device: String,
    /// Where saved slips go; empty = `<state>/slips`.
    pub pdf_dir: PathBuf,
}

impl Default for Print {
    fn default() -> Self {
        Self {
            mode: "pdf".into(),
            cups_printer: String::new(),
            lp_command: "lp".into(),
            device: String::new(),
            pdf_dir: PathBuf::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Backup {
    /// Folder for scheduled backups (e.g. a mounted USB stick); empty = no schedule.
    pub dir: PathBuf,
    pub every_hours: u64,
    pub keep: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Wablas {
    /// Shared secret the gateway sends as `?secret=` or `x-wablas-secret`; empty = callback refused.
    pub callback_secret: String,
    /// Where to send outbox messages (`<api_url>/api/send-message`), e.g. a LAN relay
    /// `http://10.0.0.5:8081`; empty = messages stay in the outbox for the console. Plain HTTP
    /// only: the box ships no TLS client, so reaching wablas.com needs a relay.
    pub api_url: String,
    /// The gateway's token (`token.secret_key`), sent as the Authorization header.
    pub token: String,
}

/// Replication to a PostgreSQL-wire database (DESIGN.md §3.7); off without a URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Upstream {
    /// `postgres://user:password@host:5432/db` (`?sslmode=require` for TLS); empty = off.
    pub url: String,
    /// This box's name upstream; empty = the site name.
    pub box_id: String,
    /// Outbox entries per upstream transaction.
    pub batch: usize,
    /// How often the shipper looks for new entries when it has caught up.
    pub interval_ms: u64,
}

impl Default for Upstream {
    fn default() -> Self {
        Self {
            url: String::new(),
            box_id: String::new(),
            batch: 500,
            interval_ms: 1000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            state_dir: PathBuf::from("./gatehouse-data"),
            admin_socket: None,
            log_format: "auto".into(),
            log_level: "info".into(),
            site: Site::default(),
            store: StoreConfig::default(),
            http: Http::default(),
            auth: Auth::default(),
            codelayer: Codelayer::default(),
            estate: Estate::default(),
            attendance: Attendance::default(),
            gatepass: Gatepass::default(),
            backup: Backup::default(),
            wablas: Wablas::default(),
            security: Security::default(),
            upstream: Upstream::default(),
            print: Print::default(),
            memory: Memory::default(),
        }
    }
}

impl Default for Site {
    fn default() -> Self {
        Self {
            name: "Estate".into(),
            timezone_offset_minutes: 420,
            timezone_name: "Asia/Jakarta".into(),
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            cache_mb: 0,
            idempotency_ttl_hours: 48,
            checkpoint_after_mb: 64,
            checkpoint_from_hour: 1,
            checkpoint_to_hour: 5,
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 << 20,
            max_image_bytes: 2 << 20,
            request_timeout_secs: 30,
            max_in_flight: 256,
            max_in_flight_body_mb: 0,
            header_read_timeout_secs: 5,
            body_read_timeout_secs: 5,
            min_body_rate_bytes_per_sec: 1024,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            password_min_len: 8,
            pbkdf2_iterations: 100_000,
            client_token_ttl_minutes: 60,
            user_token_ttl_hours: 24 * 30,
            refresh_token_ttl_hours: 24 * 7,
            access_token_ttl_minutes: 60,
            signature_skew_secs: 300,
            lockout_after_failures: 5,
            lockout_minutes: 15,
            reset_code_ttl_minutes: 15,
            authorize_token_idle_hours: 24 * 30,
        }
    }
}

impl Default for Codelayer {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            min_client_version: "1.0.0.0".into(),
            face_threshold: "3".into(),
            app_id: "POABS".into(),
            product_name: "Gatehouse Estate".into(),
        }
    }
}

impl Default for Estate {
    fn default() -> Self {
        Self {
            max_gross_weight_kg: 200.0,
            net_weight_tolerance_kg: 0.05,
            face_file_max_bytes: 4 << 20,
        }
    }
}

impl Default for Attendance {
    fn default() -> Self {
        Self {
            dedupe_window_secs: 120,
            max_plausible_speed_kmh: 120.0,
            max_gps_accuracy_m: 100.0,
            device_clock_skew_secs: 300,
            max_open_shift_hours: 20,
            early_clock_in_minutes: 120,
            late_clock_out_minutes: 240,
            full_day_minutes: 420,
            hr_max_range_days: 366,
        }
    }
}

impl Default for Gatepass {
    fn default() -> Self {
        Self {
            default_valid_hours: 12,
            max_valid_hours: 72,
            max_items: 100,
            list_limit: 500,
            clock_skew_secs: 300,
            retry_window_secs: 120,
        }
    }
}

impl Default for Backup {
    fn default() -> Self {
        Self {
            dir: PathBuf::new(),
            every_hours: 24,
            keep: 7,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// `GATEHOUSE_*` variables that name no setting.
const NOT_SETTINGS: &[&str] = &["CONFIG", "LOG"];

/// Where the CLI looks for a configuration file when none is given (the install script puts
/// one there), so `gatehouse user add` on the box finds the service's socket and state.
pub const SYSTEM_CONFIG: &str = "/etc/gatehouse/gatehouse.toml";

impl Config {
    /// Defaults ← file ← environment (`vars`, usually `std::env::vars()`).
    pub fn load(
        file: Option<&Path>,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut value = toml::Value::try_from(Config::default())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
            let from_file: toml::Value = toml::from_str(&text)
                .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
            merge(&mut value, from_file);
        }
        for (k, v) in vars {
            let Some(rest) = k.strip_prefix("GATEHOUSE_") else {
                continue;
            };
            // Variables that are not settings: the config file's path (read by the CLI) and
            // the log filter (read by telemetry).
            if NOT_SETTINGS.contains(&rest) {
                continue;
            }
            let path: Vec<String> = rest
                .to_ascii_lowercase()
                .split("__")
                .map(str::to_string)
                .collect();
            set_path(&mut value, &path, &v)
                .map_err(|e| ConfigError::Invalid(format!("{k}: {e}")))?;
        }
        let cfg: Config = value
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let a = &self.attendance;
        for (ok, what) in [
            (
                a.dedupe_window_secs >= 0,
                "attendance.dedupe_window_secs must not be negative",
            ),
            (
                a.max_plausible_speed_kmh > 0.0,
                "attendance.max_plausible_speed_kmh must be positive",
            ),
            (
                a.max_gps_accuracy_m > 0.0,
                "attendance.max_gps_accuracy_m must be positive",
            ),
            (
                a.device_clock_skew_secs >= 0,
                "attendance.device_clock_skew_secs must not be negative",
            ),
            (
                a.max_open_shift_hours >= 1,
                "attendance.max_open_shift_hours must be at least 1",
            ),
            (
                a.early_clock_in_minutes >= 0 && a.late_clock_out_minutes >= 0,
                "attendance.early_clock_in_minutes and late_clock_out_minutes must not be negative",
            ),
            (
                a.full_day_minutes >= 1,
                "attendance.full_day_minutes must be at least 1",
            ),
            (
                a.hr_max_range_days >= 1,
                "attendance.hr_max_range_days must be at least 1",
            ),
        ] {
            if !ok {
                return Err(ConfigError::Invalid(what.into()));
            }
        }
        if !matches!(self.print.mode.as_str(), "pdf" | "cups" | "escpos") {
            return Err(ConfigError::Invalid(
                "print.mode must be pdf, cups or escpos".into(),
            ));
        }
        if self.gatepass.retry_window_secs < 0 {
            return Err(ConfigError::Invalid(
                "gatepass.retry_window_secs must not be negative".into(),
            ));
        }
        if self.auth.pbkdf2_iterations < 100_000 {
            return Err(ConfigError::Invalid(
                "auth.pbkdf2_iterations must be at least 100000".into(),
            ));
        }
        if self.store.idempotency_ttl_hours < 24 {
            return Err(ConfigError::Invalid(
                "store.idempotency_ttl_hours must be at least 24".into(),
            ));
        }
        if !(-720..=840).contains(&self.site.timezone_offset_minutes) {
            return Err(ConfigError::Invalid(
                "site.timezone_offset_minutes must be within -720..=840".into(),
            ));
        }
        if !self.wablas.api_url.is_empty() && !self.wablas.api_url.starts_with("http://") {
            return Err(ConfigError::Invalid(
                "wablas.api_url must be an http:// address (a relay on the LAN); this build has no TLS client".into(),
            ));
        }
        Ok(())
    }

    pub fn admin_socket_path(&self) -> PathBuf {
        self.admin_socket
            .clone()
            .unwrap_or_else(|| self.state_dir.join("admin.sock"))
    }

    /// The store cache in bytes for a store whose files hold `db_bytes`: configured, or
    /// derived from the memory limit and the store's size. A small store gets the budget's
    /// 1/32 of the limit; a big one 1/16 of its size, up to 1/16 of the limit (at most
    /// 32 MiB). Why: the inner nodes above a big store's leaves outgrow 1/64 — measured at 1 M
    /// punches (707 MiB, on sled), a day read again had p99 65.8 µs with 8 MiB and 18.3 µs with
    /// 32 MiB (13.6 µs at 10 k rows) — while a small store never fills more than the floor.
    pub fn cache_bytes_for(&self, db_bytes: u64) -> u64 {
        if self.store.cache_mb > 0 {
            return self.store.cache_mb << 20;
        }
        let floor = self.budget().store_cache_bytes;
        let most = (self.memory_limit_bytes() / 16).min(32 << 20).max(floor);
        (db_bytes / 16).clamp(floor, most)
    }

    /// The memory this process may use: `memory.limit_mb`, else the cgroup limit (the unit's
    /// MemoryMax), else the shipped unit's 512 MiB. Every pool is sized from it (`budget`).
    pub fn memory_limit_bytes(&self) -> u64 {
        if self.memory.limit_mb > 0 {
            return (self.memory.limit_mb << 20).max(64 << 20);
        }
        cgroup_memory_limit().unwrap_or(512 << 20).max(64 << 20)
    }

    /// The one place pools are sized: under the shipped 512 MiB, store cache 16 MiB (a store
    /// past 256 MiB gets up to 32 MiB, `cache_bytes_for`), answers cache 32 MiB, answers being
    /// rendered 64 MiB, request bodies in flight 64 MiB (about 190 MiB planned, 240 with a big
    /// store; the rest is code, stacks and per-request work).
    pub fn budget(&self) -> Budget {
        let limit = self.memory_limit_bytes();
        let mb = |configured: u64, derived: u64| {
            if configured > 0 {
                configured << 20
            } else {
                derived
            }
        };
        // 1/32, 4..=32 MiB. redb keeps a transaction's dirty pages in half of its cache and
        // writes the rest out mid-transaction, reading them back when touched again: with
        // 8 MiB (1/64, the rule sized for sled, which held 2.5 times its cache) a drain of
        // busy Clock Ins did so for 23 % of the samples (evictions 13.1 %, page reads 10.1 %);
        // 16 MiB left 8.6 % and took the bench's peak from 31 to 39 MiB (issue 15, 36th stop).
        let store_cache_bytes = mb(self.store.cache_mb, ((limit >> 20) / 32).clamp(4, 32) << 20);
        let answers_cache_bytes = mb(self.memory.answers_cache_mb, limit / 16);
        let answers_render = mb(self.memory.answers_render_mb, limit / 8);
        let bodies = mb(
            self.http.max_in_flight_body_mb as u64,
            (limit / 8).max(2 * self.http.max_body_bytes as u64),
        );
        Budget {
            limit_bytes: limit,
            store_cache_bytes,
            answers_cache_bytes,
            answers_render_kib: (answers_render >> 10).min(u32::MAX as u64) as u32,
            request_bodies_kib: (bodies >> 10) as usize,
        }
    }
}

/// glibc gives each thread that allocates under contention an arena of its own (up to 8 per
/// core), and memory freed in one is not reused by another: a burst on the blocking pool
/// (renders, batches) left RSS at twice what the work needed. Two arenas: measured, a Post
/// Muster run peaked at about half. `MALLOC_ARENA_MAX` in the environment still wins.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        /// glibc's `M_ARENA_MAX` (malloc.h).
        const M_ARENA_MAX: i32 = -8;
        // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
        unsafe {
            mallopt(M_ARENA_MAX, 2);
        }
    }
}

/// Hands memory malloc holds free back to the system. glibc keeps what a burst freed (a
/// 25,000-labourer import left about 19 MiB free inside its arena, RSS with it) and trims
/// only the top of the main heap by itself; the server calls this every few seconds
/// (`server::return_freed_memory`). Cheap when there is nothing to return.
pub fn trim_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim takes each arena's lock itself; any thread may call it.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// The tightest `memory.max` on the path from this process's cgroup (v2) up to the root:
/// under systemd that is the unit's `MemoryMax=`.
fn cgroup_memory_limit() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .trim()
        .trim_start_matches('/')
        .to_string();
    let mut dir = PathBuf::from("/sys/fs/cgroup").join(rel);
    let mut best: Option<u64> = None;
    loop {
        if let Some(limit) = std::fs::read_to_string(dir.join("memory.max"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            best = Some(best.map_or(limit, |b| b.min(limit)));
        }
        if !dir.pop() || !dir.starts_with("/sys/fs/cgroup") {
            break;
        }
    }
    best
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn set_path(root: &mut toml::Value, path: &[String], raw: &str) -> Result<(), String> {
    let mut cur = root;
    for (i, part) in path.iter().enumerate() {
        let table = cur.as_table_mut().ok_or("not a section")?;
        if i + 1 == path.len() {
            // Keep the type of the default: numbers stay numbers, booleans booleans.
            let parsed = match table.get(part) {
                Some(toml::Value::Integer(_)) => {
                    toml::Value::Integer(raw.parse().map_err(|_| "expected an integer")?)
                }
                Some(toml::Value::Float(_)) => {
                    toml::Value::Float(raw.parse().map_err(|_| "expected a number")?)
                }
                Some(toml::Value::Boolean(_)) => {
                    toml::Value::Boolean(raw.parse().map_err(|_| "expected true or false")?)
                }
                _ => toml::Value::String(raw.to_string()),
            };
            table.insert(part.clone(), parsed);
            return Ok(());
        }
        cur = table
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn attendance_settings_are_checked() {
        let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())].into_iter();
        assert!(Config::load(None, env("GATEHOUSE_ATTENDANCE__MAX_GPS_ACCURACY_M", "0")).is_err());
        assert!(Config::load(None, env("GATEHOUSE_ATTENDANCE__DEDUPE_WINDOW_SECS", "-1")).is_err());
        assert!(Config::load(None, env("GATEHOUSE_ATTENDANCE__HR_MAX_RANGE_DAYS", "0")).is_err());
        let c = Config::load(None, env("GATEHOUSE_ATTENDANCE__DEDUPE_WINDOW_SECS", "0")).unwrap();
        assert_eq!(c.attendance.dedupe_window_secs, 0);
    }

    use super::*;

    #[test]
    fn env_overrides_file_and_keeps_types() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("g.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9000\"\n[store]\ncache_mb = 32\n").unwrap();
        let vars = vec![
            ("GATEHOUSE_STORE__CACHE_MB".to_string(), "48".to_string()),
            (
                "GATEHOUSE_SITE__NAME".to_string(),
                "Munjamullay".to_string(),
            ),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let c = Config::load(Some(&f), vars.into_iter()).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9000");
        assert_eq!(c.store.cache_mb, 48);
        assert_eq!(c.site.name, "Munjamullay");
        assert_eq!(c.cache_bytes_for(0), 48 << 20);
        assert_eq!(
            c.cache_bytes_for(8 << 30),
            48 << 20,
            "configured wins at any size"
        );
    }

    #[test]
    fn the_store_cache_grows_with_the_store_up_to_a_sixteenth_of_the_limit() {
        let mut c = Config::default();
        c.memory.limit_mb = 512;
        const MIB: u64 = 1 << 20;
        // A small store (the demo estate, a new box): the budget's 1/32 of the limit.
        assert_eq!(c.budget().store_cache_bytes, 16 * MIB);
        assert_eq!(c.cache_bytes_for(0), 16 * MIB);
        assert_eq!(c.cache_bytes_for(256 * MIB), 16 * MIB);
        // Past 256 MiB it follows the store (1/16 of it) ...
        assert_eq!(c.cache_bytes_for(384 * MIB), 24 * MIB);
        // ... up to 1/16 of the limit: 1 M punches (707 MiB) and 10 M (7.7 GiB) get 32 MiB.
        assert_eq!(c.cache_bytes_for(707 * MIB), 32 * MIB);
        assert_eq!(c.cache_bytes_for(7_750 * MIB), 32 * MIB);
        // A tight limit keeps a tight cache: 128 MiB allows 4 MiB, and 8 MiB for a big store.
        c.memory.limit_mb = 128;
        assert_eq!(c.cache_bytes_for(0), 4 * MIB);
        assert_eq!(c.cache_bytes_for(7_750 * MIB), 8 * MIB);
        // A roomy one still stops at 32 MiB.
        c.memory.limit_mb = 4096;
        assert_eq!(c.cache_bytes_for(0), 32 * MIB);
        assert_eq!(c.cache_bytes_for(7_750 * MIB), 32 * MIB);
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        let vars = vec![("GATEHOUSE_STORE__CACHE_MB".to_string(), "lots".to_string())];
        let e = Config::load(None, vars.into_iter())
            .unwrap_err()
            .to_string();
        assert!(e.contains("GATEHOUSE_STORE__CACHE_MB"), "{e}");
        let e = Config::load(
            None,
            vec![("GATEHOUSE_NOPE".into(), "1".into())].into_iter(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}

#[cfg(test)]
mod shipped_file {
    #[test]
    fn the_shipped_config_file_loads_and_matches_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/gatehouse.toml");
        let c = super::Config::load(Some(std::path::Path::new(path)), std::iter::empty()).unwrap();
        let d = super::Config::default();
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.auth.pbkdf2_iterations, d.auth.pbkdf2_iterations);
    }
}

/// Bounds that keep one caller from hurting the others (issue 11).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Security {
    /// A Codelayer session's last use is recorded at most this often (seconds).
    pub session_touch_secs: i64,
    /// Licence requests waiting for approval, all devices together; past it new IMEIs are refused.
    pub licence_pending_max: usize,
    /// Licence requests (`system/license`, `system/register_device`) one source address may make
    /// per minute.
    pub licence_requests_per_minute: u32,
    /// Forgot Password codes one user may be sent per hour.
    pub forgot_password_per_hour: u32,
    /// Disk the stored task reports may use together (KiB); the oldest go first.
    pub report_quota_kb: u64,
    /// Lines in one `hrdetails/emp_attendance` answer; more follow with `page` (`more: "T"`).
    pub hr_page_lines: usize,
}

impl Default for Security {
    fn default() -> Self {
        Self {
            session_touch_secs: 60,
            licence_pending_max: 200,
            licence_requests_per_minute: 20,
            forgot_password_per_hour: 3,
            report_quota_kb: 64 * 1024,
            hr_page_lines: 5000,
        }
    }
}
