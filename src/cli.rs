//! The command line (DESIGN.md §3.5). Administration commands go through the running server's
//! admin socket when one answers, and otherwise run the very same admin handlers in-process on
//! the store. With `--json`, stdout is exactly one JSON document; everything else is stderr.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use crate::config::Config;

mod backups;
mod devices;
mod docs;
mod password;
mod reports;
mod terminals;
mod transfer;
mod upstream;

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse",
    version,
    about = "Estate gatehouse appliance server",
    long_about = "Estate gatehouse appliance server: handheld attendance and gatepass devices, the \
daily-activity app, biometric terminals and the gatehouse console, on one box.\n\n\
Administration commands reach the running server through its admin socket, or work directly on \
the store when no server runs. Only `serve` creates a store."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// TOML configuration file.
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// State directory (database, blobs, admin socket).
    #[arg(long, global = true)]
    pub state: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run the server (creates the store on first start).
    Serve {
        /// Listen address, e.g. 0.0.0.0:8080 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
        /// Seed a demo estate (idempotent).
        #[arg(long)]
        demo: bool,
    },
    /// The gatehouse console (attaches to the running server).
    Console,
    /// User accounts: add, list, roles, lockouts, passwords.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Daily Activity client systems (app key pairs).
    Client {
        #[command(subcommand)]
        cmd: ClientCmd,
    },
    /// Codelayer handheld licences.
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Import a CSV file as a spreadsheet saves it (UTF-8 with or without BOM, `,` or `;`).
    #[command(after_long_help = transfer::import_kinds_help())]
    Import {
        /// What the file holds (see the list of kinds below: `gatehouse import --help`).
        kind: String,
        /// The CSV file; its header line names the columns.
        file: PathBuf,
    },
    /// Export records to CSV, XLSX or a printable PDF summary.
    #[command(after_long_help = transfer::export_kinds_help())]
    Export {
        /// What to export (see the list of kinds below: `gatehouse export --help`).
        kind: String,
        /// First site-local day, YYYY-MM-DD (default: today; the closing's day).
        #[arg(long)]
        from: Option<String>,
        /// Last site-local day, YYYY-MM-DD (default: --from).
        #[arg(long)]
        to: Option<String>,
        /// csv, xlsx or pdf (default: from --out's extension, else csv; must agree with it).
        #[arg(long)]
        format: Option<String>,
        /// Output file (default: <kind>-<from>-<to>.<format> in the current directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// CSV for Excel: starts with a UTF-8 byte-order mark so names show right.
        #[arg(long)]
        excel: bool,
    },
    /// Write a backup of the whole store (online); also `backup list` and `backup prune`.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        /// Backup file, or a folder to write a new timestamped gatehouse-<time>.ghb in.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(subcommand)]
        cmd: Option<backups::BackupCmd>,
    },
    /// Restore the store from a backup file (the server must be stopped).
    Restore {
        /// The backup file (.ghb) to restore.
        #[arg(long)]
        from: PathBuf,
        /// Replace a live store without asking (for scripts).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Decode every stored value and verify every blob.
    Check,
    /// Biometric terminals (ZKTeco ADMS push): list, approve, block.
    Terminal {
        #[command(subcommand)]
        cmd: terminals::TerminalCmd,
    },
    /// Replication to the upstream PostgreSQL-wire database.
    Upstream {
        #[command(subcommand)]
        cmd: upstream::UpstreamCmd,
    },
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    Completions {
        /// The shell to complete for.
        shell: docs::Shell,
    },
    /// Print the manual page (roff) on stdout, or write one page per command into --dir.
    Man {
        /// Folder to write gatehouse.1 and gatehouse-<command>.1 pages into.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user account. The password is asked on the terminal, or read with --password-stdin.
    Add {
        /// Sign-in name (what the handheld or app asks for).
        #[arg(long)]
        username: String,
        #[command(flatten)]
        password: password::PasswordArgs,
        /// admin, manager, supervisor, clerk, gate_guard or labourer.
        #[arg(long, default_value = "clerk")]
        role: String,
        /// Full name shown on the console and in reports (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// Mobile number for password-reset messages (WhatsApp), e.g. 6282299757260.
        #[arg(long)]
        phone: Option<String>,
    },
    /// List user accounts.
    List,
    /// Give a user another role (takes effect at once).
    Role {
        /// The user's sign-in name.
        #[arg(long)]
        username: String,
        /// admin, manager, supervisor, clerk, gate_guard or labourer.
        #[arg(long)]
        role: String,
    },
    /// Lift a login lockout.
    Unlock {
        /// The user's sign-in name.
        #[arg(long)]
        username: String,
    },
    /// Disable an account: it can no longer sign in and every session it holds ends.
    Disable {
        /// The user's sign-in name.
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account again (and lift its lockouts).
    Enable {
        /// The user's sign-in name.
        #[arg(long)]
        username: String,
    },
    /// Set a new password (revokes the user's sessions); asked on the terminal or --password-stdin.
    ResetPassword {
        /// The user's sign-in name.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        password: password::PasswordArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClientCmd {
    /// Add a client system; prints its app key and private key (the private key only once).
    Add {
        /// A name for the client system, e.g. "HR office".
        #[arg(long)]
        name: String,
    },
    /// List client systems.
    List,
    /// Revoke a client system: its app key and every token issued to it stop working.
    Revoke {
        /// The client's app key (see `client list`).
        #[arg(long)]
        app_key: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Approve a handheld's licence (it may be approved before it first asks).
    Approve {
        /// The handheld's IMEI: 14 to 16 digits (spaces, dashes and slashes are ignored).
        #[arg(long)]
        imei: String,
    },
    /// Reject a handheld's licence request.
    Reject {
        /// The handheld's IMEI: 14 to 16 digits.
        #[arg(long)]
        imei: String,
    },
    /// Block a handheld (ends its sessions).
    Block {
        /// The handheld's IMEI: 14 to 16 digits.
        #[arg(long)]
        imei: String,
    },
    /// A new licence key for an approved device (lost, or taken by another): delivered once to
    /// the next licence request; the old key and its sessions stop working.
    Reissue {
        /// The handheld's IMEI (14–16 digits).
        #[arg(long)]
        imei: String,
    },
    /// List handhelds with their licence status and when each was last seen.
    List,
}

/// Entry point; returns the exit status.
pub fn main() -> i32 {
    crate::config::limit_malloc_arenas();
    let cli = Cli::parse();
    let json_out = cli.global.json;
    match run(cli) {
        Ok(()) => 0,
        Err(msg) => {
            if json_out && !EMITTED.load(std::sync::atomic::Ordering::Relaxed) {
                println!("{}", json!({"ok": false, "error": msg}));
            }
            eprintln!("gatehouse: {msg}");
            1
        }
    }
}

fn load_config(g: &Global) -> Result<Config, String> {
    let system = std::path::Path::new(crate::config::SYSTEM_CONFIG);
    let file = g
        .config
        .as_deref()
        .or_else(|| system.exists().then_some(system));
    let mut cfg = Config::load(file, std::env::vars()).map_err(|e| e.to_string())?;
    if let Some(s) = &g.state {
        cfg.state_dir = s.clone();
    }
    Ok(cfg)
}

fn run(cli: Cli) -> Result<(), String> {
    let mut cfg = load_config(&cli.global)?;
    let g = cli.global.clone();
    match cli.cmd {
        Cmd::Serve { listen, demo } => {
            if let Some(l) = listen {
                cfg.listen = l;
            }
            crate::telemetry::init_logs(&cfg.log_format, &cfg.log_level);
            let rt = runtime()?;
            rt.block_on(crate::server::serve(
                cfg,
                crate::server::ServeOptions { demo },
            ))
        }
        Cmd::Console => {
            gatehouse_tui::run_console(cfg.admin_socket_path()).map_err(|e| e.to_string())
        }
        Cmd::User { cmd } => match cmd {
            UserCmd::Add {
                username,
                password,
                role,
                name,
                phone,
            } => {
                let password = password.read(&format!("password for '{username}'"))?;
                let body = json!({"username": username, "password": password, "role": role,
                                  "name": name.unwrap_or_default(), "phone": phone.unwrap_or_default()});
                let d = admin(&cfg, "POST", "/admin/users", Some(body))?;
                emit(&g, &d, || {
                    format!(
                        "user '{}' added (id {}, role {})",
                        d["username"].as_str().unwrap_or(""),
                        d["user_id"],
                        d["role"].as_str().unwrap_or("")
                    )
                })
            }
            UserCmd::List => {
                let d = admin(&cfg, "GET", "/admin/users", None)?;
                emit(&g, &d, || {
                    table(&d, &["user_id", "username", "name", "role", "state"])
                })
            }
            UserCmd::Role { username, role } => {
                let d = admin(
                    &cfg,
                    "POST",
                    "/admin/users/role",
                    Some(json!({"username": username, "role": role})),
                )?;
                emit(&g, &d, || {
                    format!("'{username}' is now {}", d["role"].as_str().unwrap_or(""))
                })
            }
            UserCmd::Unlock { username } => {
                let d = admin(
                    &cfg,
                    "POST",
                    "/admin/users/unlock",
                    Some(json!({"username": username})),
                )?;
                emit(&g, &d, || format!("'{username}' unlocked"))
            }
            UserCmd::Disable { username } => {
                let d = admin(
                    &cfg,
                    "POST",
                    "/admin/users/disable",
                    Some(json!({"username": username})),
                )?;
                emit(&g, &d, || {
                    let e = &d["sessions_ended"];
                    format!(
                        "'{username}' disabled; sessions ended: {} Daily Activity, {} Codelayer, {} Authorize",
                        e["daily_activity_tokens"], e["codelayer_sessions"], e["authorize_tokens"]
                    )
                })
            }
            UserCmd::Enable { username } => {
                let d = admin(
                    &cfg,
                    "POST",
                    "/admin/users/enable",
                    Some(json!({"username": username})),
                )?;
                emit(&g, &d, || format!("'{username}' enabled"))
            }
            UserCmd::ResetPassword { username, password } => {
                let password = password.read(&format!("new password for '{username}'"))?;
                let d = admin(
                    &cfg,
                    "POST",
                    "/admin/users/password",
                    Some(json!({"username": username, "password": password})),
                )?;
                emit(&g, &d, || {
                    format!("password of '{username}' changed; its sessions were revoked")
                })
            }
        },
        Cmd::Client { cmd } => match cmd {
            ClientCmd::Add { name } => {
                let d = admin(&cfg, "POST", "/admin/clients", Some(json!({"name": name})))?;
                emit(&g, &d, || {
                    format!(
                        "client '{}' added\napp_key:     {}\nprivate_key: {}\n(the private key is shown once; give it to the client system's operator)",
                        d["name"].as_str().unwrap_or(""),
                        d["app_key"].as_str().unwrap_or(""),
                        d["private_key"].as_str().unwrap_or("")
                    )
                })
            }
            ClientCmd::List => {
                let d = admin(&cfg, "GET", "/admin/clients", None)?;
                emit(&g, &d, || table(&d, &["name", "app_key", "revoked"]))
            }
            ClientCmd::Revoke { app_key } => {
                let d = admin(
                    &cfg,
                    "POST",
                    "/admin/clients/revoke",
                    Some(json!({"app_key": app_key})),
                )?;
                emit(&g, &d, || {
                    format!(
                        "client '{}' ({app_key}) revoked",
                        d["name"].as_str().unwrap_or("")
                    )
                })
            }
        },
        Cmd::Device { cmd } => {
            let (path, imei, verb) = match &cmd {
                DeviceCmd::Approve { imei } => ("/admin/devices/approve", imei.clone(), "approved"),
                DeviceCmd::Reject { imei } => ("/admin/devices/reject", imei.clone(), "rejected"),
                DeviceCmd::Block { imei } => ("/admin/devices/block", imei.clone(), "blocked"),
                DeviceCmd::Reissue { imei } => (
                    "/admin/devices/reissue",
                    imei.clone(),
                    "licence key re-issued",
                ),
                DeviceCmd::List => return devices::device_list(&cfg, &g),
            };
            devices::device_decide(&cfg, &g, path, &imei, verb)
        }
        Cmd::Terminal { cmd } => terminals::run(&cfg, &g, cmd),
        Cmd::Import { kind, file } => transfer::import(&cfg, &g, &kind, &file),
        Cmd::Export {
            kind,
            from,
            to,
            format,
            out,
            excel,
        } => transfer::export(
            &cfg,
            &g,
            &kind,
            from.as_deref(),
            to.as_deref(),
            transfer::ExportOpts {
                format: format.as_deref(),
                out: out.as_deref(),
                excel,
            },
        ),
        Cmd::Completions { shell } => docs::completions(shell),
        Cmd::Man { dir } => docs::man(dir.as_deref()),
        Cmd::Backup { cmd: Some(cmd), .. } => backups::run(&cfg, &g, cmd),
        Cmd::Backup { out: None, .. } => Err(
            "say where: gatehouse backup --out FILE|DIR (or backup list | backup prune --keep N)"
                .into(),
        ),
        Cmd::Backup { out: Some(out), .. } => {
            let out = backups::target(&absolute(&out)?)?;
            let d = admin(&cfg, "POST", "/admin/backup", Some(json!({"out": out})))?;
            emit(&g, &d, || {
                format!(
                    "backup written to {} ({} entries, {} blobs, {} bytes)",
                    out.display(),
                    d["entries"],
                    d["blobs"],
                    d["bytes"]
                )
            })
        }
        Cmd::Restore { from, yes } => {
            let client = gatehouse_tui::client::AdminClient::new(cfg.admin_socket_path());
            if client.is_running() {
                return Err(
                    "the server is running: stop it first (systemctl stop gatehouse), then restore"
                        .into(),
                );
            }
            let had_live = backups::confirm_restore(&cfg, &from, yes)?;
            let report = crate::store::backup::restore(
                &from,
                &cfg.state_dir,
                crate::store::StoreOptions {
                    cache_bytes: cfg.cache_bytes_for(crate::store::Store::db_bytes(&cfg.state_dir)),
                },
            )
            .map_err(|e| format!("restore from {}: {e}", from.display()))?;
            let d = serde_json::to_value(&report).unwrap_or(Value::Null);
            if !report.ok() {
                emit(&g, &d, || {
                    format!(
                        "restored, but check found problems:\n{}",
                        report.errors.join("\n")
                    )
                })?;
                return Err("check after restore failed".into());
            }
            let before = if had_live {
                backups::previous_store(&cfg.state_dir)
            } else {
                None
            };
            let mut d = d;
            d["previous_store"] = json!(before);
            emit(&g, &d, || {
                format!(
                    "restored from {}; check passed ({} trees, {} blobs){}",
                    from.display(),
                    report.trees.len(),
                    report.blobs,
                    before
                        .as_ref()
                        .map(|p| format!("\nthe previous store was kept as {}", p.display()))
                        .unwrap_or_default()
                )
            })
        }
        Cmd::Upstream { cmd } => upstream::run(&cfg, &g, cmd),
        Cmd::Check => {
            let d = admin(&cfg, "GET", "/admin/check", None)?;
            let errors: Vec<String> = d["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            emit(&g, &d, || {
                let trees = d["trees"].as_array().map(|a| a.len()).unwrap_or(0);
                let values: u64 = d["trees"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|t| t["values"].as_u64()).sum())
                    .unwrap_or(0);
                if errors.is_empty() {
                    format!(
                        "check passed: schema v{}, {trees} trees, {values} values, {} blobs",
                        d["schema_version"], d["blobs"]
                    )
                } else {
                    format!("check FAILED:\n{}", errors.join("\n"))
                }
            })?;
            if errors.is_empty() {
                Ok(())
            } else {
                Err(format!("check found {} problem(s)", errors.len()))
            }
        }
    }
}

fn absolute(p: &std::path::Path) -> Result<PathBuf, String> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir().map_err(|e| e.to_string())?.join(p))
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// Set once a command has printed its document, so a failure after it (an import with refused
/// lines) does not add a second JSON document to stdout.
static EMITTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints `data` as JSON (with `--json`) or as the human text.
pub fn emit(g: &Global, data: &Value, human: impl FnOnce() -> String) -> Result<(), String> {
    EMITTED.store(true, std::sync::atomic::Ordering::Relaxed);
    if g.json {
        println!("{}", serde_json::to_string(data).unwrap_or_default());
    } else {
        println!("{}", human());
    }
    Ok(())
}

fn table(rows: &Value, cols: &[&str]) -> String {
    let rows = rows.as_array().cloned().unwrap_or_default();
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut widths: Vec<usize> = cols.iter().map(|c| c.len()).collect();
    for r in &rows {
        for (i, c) in cols.iter().enumerate() {
            widths[i] = widths[i].max(cell(&r[*c]).chars().count());
        }
    }
    let mut out = String::new();
    let line = |vals: Vec<String>| {
        vals.iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
    };
    out.push_str(&line(cols.iter().map(|c| c.to_string()).collect()));
    for r in &rows {
        out.push('\n');
        out.push_str(&line(cols.iter().map(|c| cell(&r[*c])).collect()));
    }
    if rows.is_empty() {
        out.push_str("\n(none)");
    }
    out
}

/// One admin call: over the socket when a server answers, otherwise in-process on the store.
pub fn admin(cfg: &Config, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    Admin::connect(cfg)?.call(method, path, body)
}

/// A connection to the admin API for several calls: the running server's socket, or the same
/// admin router in-process on the store (opened once) when no server runs.
pub enum Admin {
    Socket(gatehouse_tui::client::AdminClient),
    Local {
        rt: tokio::runtime::Runtime,
        svc: Arc<crate::service::Services>,
        router: crate::api::Router,
    },
}

impl Admin {
    pub fn connect(cfg: &Config) -> Result<Admin, String> {
        let client = gatehouse_tui::client::AdminClient::new(cfg.admin_socket_path());
        match client.request("GET", "/admin/status", None) {
            Ok(_) => return Ok(Admin::Socket(client)),
            Err(gatehouse_tui::client::ClientError::NotRunning(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        // Only `serve` creates a store: a typo in --state must not leave an empty one behind.
        backups::require_store(&cfg.state_dir)?;
        let rt = runtime()?;
        let store = crate::store::Store::open(
            &cfg.state_dir,
            crate::store::StoreOptions {
                cache_bytes: 16 << 20,
            },
        )
        .map_err(|e| {
            format!(
                "{e} (is a server using this state directory without its admin socket at {}?)",
                cfg.admin_socket_path().display()
            )
        })?;
        let svc = crate::service::Services::new(
            store,
            Arc::new(cfg.clone()),
            Arc::new(crate::telemetry::Metrics::default()),
        )
        .map_err(|e| e.to_string())?;
        Ok(Admin::Local {
            rt,
            svc,
            router: crate::api::Router::admin(),
        })
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        match self {
            Admin::Socket(client) => client
                .request(method, path, body.as_ref())
                .map_err(|e| e.to_string())?
                .into_data(),
            Admin::Local { rt, svc, router } => rt.block_on(async {
                let method =
                    warp::http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
                let bytes = bytes::Bytes::from(
                    body.map(|b| serde_json::to_vec(&b).unwrap_or_default())
                        .unwrap_or_default(),
                );
                let mut headers = warp::http::HeaderMap::new();
                headers.insert(
                    "content-type",
                    warp::http::HeaderValue::from_static("application/json"),
                );
                let stream = futures_util::stream::once(async move { Ok::<_, String>(bytes) });
                let (path, query) = path
                    .split_once('?')
                    .map(|(p, q)| (p.to_string(), q.to_string()))
                    .unwrap_or((path.to_string(), String::new()));
                let resp = router
                    .dispatch(
                        svc.clone(),
                        crate::api::Head {
                            method,
                            path,
                            query,
                            headers,
                            peer: None,
                        },
                        stream,
                    )
                    .await;
                svc.store.flush_blocking().map_err(|e| e.to_string())?;
                let body: Value = serde_json::from_slice(&resp.body).map_err(|e| e.to_string())?;
                gatehouse_tui::client::Answer {
                    status: resp.status.as_u16(),
                    body,
                }
                .into_data()
            }),
        }
    }
}
