//! `gatehouse serve`: the LAN listener, the admin socket, background jobs, clean shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use crate::api::{self, Router};
use crate::config::Config;
use crate::service::{identity as ident, Services};
use crate::store::{Store, StoreOptions};
use crate::telemetry::Metrics;

mod stop;

/// How long a clean stop may take after SIGTERM before the process exits anyway: past the
/// listener's 10 s and the shipper's 5 s, inside systemd's TimeoutStopSec (30 s).
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

pub struct ServeOptions {
    pub demo: bool,
}

/// Runs until SIGTERM/SIGINT; returns the process exit code.
pub async fn serve(cfg: Config, opts: ServeOptions) -> Result<(), String> {
    let cfg = Arc::new(cfg);
    // Opening may copy every record: moving a sled store of an earlier release (at the store's
    // first open, or in a staged restore), or a schema step that reads every record of a tree
    // (schema 8 reads every punch: a year of a big estate is millions). On a big store that is
    // longer than the unit's TimeoutStartSec, so systemd is told to wait while it runs: at once
    // for a move, after 20 s for anything else (a normal start takes milliseconds).
    let moving = crate::store::migrate_sled::pending(&cfg.state_dir);
    let opening = Arc::new(std::sync::atomic::AtomicBool::new(true));
    {
        let flag = opening.clone();
        std::thread::spawn(move || {
            let status = if moving {
                "STATUS=moving the store from sled to redb"
            } else {
                "STATUS=opening the store: a schema step is reading every record"
            };
            let mut waited = 0u32;
            while flag.load(std::sync::atomic::Ordering::Acquire) {
                if waited.is_multiple_of(20) && (moving || waited > 0) {
                    notify_systemd(&format!("EXTEND_TIMEOUT_USEC=60000000\n{status}"));
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
                waited += 1;
            }
        });
    }
    match crate::service::maintenance::apply_staged_restore(
        &cfg.state_dir,
        StoreOptions {
            cache_bytes: cfg.cache_bytes_for(Store::db_bytes(&cfg.state_dir)),
        },
    ) {
        Ok(Some(from)) => tracing::warn!(%from, "staged restore applied; check passed"),
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "staged restore failed; starting on the store as it was")
        }
    }
    let db_bytes = Store::db_bytes(&cfg.state_dir);
    let cache_bytes = cfg.cache_bytes_for(db_bytes);
    tracing::info!(
        cache_mib = cache_bytes >> 20,
        store_mib = (db_bytes as f64 / (1 << 20) as f64 * 10.0).round() / 10.0,
        "store cache sized"
    );
    let opened = Store::open(&cfg.state_dir, StoreOptions { cache_bytes });
    opening.store(false, std::sync::atomic::Ordering::Release);
    let store = opened.map_err(|e| format!("{e}"))?;
    let metrics = Arc::new(Metrics::default());
    let svc = Services::new(store.clone(), cfg.clone(), metrics).map_err(|e| e.to_string())?;
    first_run(&svc).await?;
    if opts.demo {
        crate::service::demo::seed(&svc)
            .await
            .map_err(|e| format!("demo data: {e}"))?;
    }

    // Handlers first: a SIGTERM that arrives right after the listening line must still stop us
    // cleanly. Watched off the app runtime (see `stop`).
    let mut signals = {
        use tokio::signal::unix::SignalKind;
        stop::StopSignal::install(
            &[SignalKind::terminate(), SignalKind::interrupt()],
            STOP_GRACE,
        )?
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                break;
            }
        }
    };

    // Admin socket first, so the console can attach as soon as the LAN side is up.
    let sock_path = cfg.admin_socket_path();
    let admin = bind_admin_socket(&sock_path)?;
    let admin_filter = api::filter(Arc::new(Router::admin()), svc.clone());
    let admin_task = tokio::spawn(
        warp::serve(admin_filter).serve_incoming_with_graceful_shutdown(
            tokio_stream::wrappers::UnixListenerStream::new(admin),
            stopped(stop_rx.clone()),
        ),
    );

    let addr: SocketAddr = cfg
        .listen
        .parse()
        .map_err(|e| format!("listen address {}: {e}", cfg.listen))?;
    // Each connection goes through `api::guard`, which refuses bad Content-Length framing in
    // the family's envelope before hyper would answer a bare 400; hyper itself bounds how long
    // a request head may take.
    let (bound, lan) = api::serve::bind_lan(
        addr,
        std::time::Duration::from_secs(cfg.http.header_read_timeout_secs.max(1)),
        Arc::new(Router::lan()),
        svc.clone(),
        stopped(stop_rx.clone()),
    )
    .await?;
    let lan_task = tokio::spawn(lan);
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{bound}");
        let _ = out.flush();
    }
    tracing::info!(%bound, admin_socket = %sock_path.display(), "gatehouse serving");
    notify_systemd("READY=1");

    let jobs = tokio::spawn(background_jobs(svc.clone(), stop_rx.clone()));
    let trimmer = tokio::spawn(return_freed_memory(stop_rx.clone()));
    let shipper = crate::service::upstream::spawn(svc.clone(), stop_rx.clone());

    let restarting = tokio::select! {
        _ = signals.wait() => false,
        _ = svc.restart.notified() => true,
    };
    tracing::info!("shutting down");
    notify_systemd("STOPPING=1");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let _ = lan_task.await;
        let _ = admin_task.await;
    })
    .await;
    jobs.abort();
    trimmer.abort();
    if let Some(s) = shipper {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s).await;
    }
    store
        .flush_blocking()
        .map_err(|e| format!("final flush: {e}"))?;
    let _ = std::fs::remove_file(&sock_path);
    tracing::info!("stopped cleanly");
    if restarting {
        // Non-zero so systemd's Restart=on-failure starts us again to apply the restore.
        return Err(
            "stopped to apply a staged restore; start the server again (systemd does it)".into(),
        );
    }
    Ok(())
}

/// Binds the admin socket with mode 0660, replacing a stale socket file left by a crash but
/// never one a live server still answers on.
fn bind_admin_socket(path: &Path) -> Result<tokio::net::UnixListener, String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "another gatehouse is already serving on {}",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .map_err(|e| format!("admin socket {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("admin socket {}: {e}", path.display()))?;
    Ok(listener)
}

/// sd_notify without a library: one datagram to $NOTIFY_SOCKET.
fn notify_systemd(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sock = match std::os::unix::net::UnixDatagram::unbound() {
        Ok(s) => s,
        Err(_) => return,
    };
    let p = path.to_string_lossy();
    let result = if let Some(abstract_name) = p.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes())
            .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
    } else {
        sock.send_to(state.as_bytes(), &*p)
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// Creates the admin user and the first client key pair on an empty store, and keeps them in a
/// 0600 file in the state directory until the console shows them (once; then it is deleted).
/// Neither stdout nor the journal ever holds them: the log names the file only.
async fn first_run(svc: &Arc<Services>) -> Result<(), String> {
    if !ident::users_page(&svc.store, None, 1)
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(());
    }
    let password = svc.secrets.alnum(16);
    let mut tx = svc.store.begin().await;
    ident::add_user(
        svc,
        &mut tx,
        ident::NewUser {
            username: "admin",
            password: password.expose(),
            role: crate::domain::identity::Role::Admin,
            name: "Administrator",
            phone: "",
            email: "",
        },
    )
    .map_err(|e| e.to_string())?;
    let (client, private) =
        ident::add_client(svc, &mut tx, "first client").map_err(|e| e.to_string())?;
    let text = format!(
        "admin username=admin password={} | client app_key={} private_key={} | shown once; change the password",
        password.expose(),
        client.app_key,
        private.expose()
    );
    // Written before the commit: a crash in between leaves a file for users that do not
    // exist, replaced at the next start; never users whose password nobody knows.
    let file = crate::service::maintenance::keep_first_run_notice(svc, &text)
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    println!(
        "first-run: credentials written to {} (mode 0600; the console shows them once, then deletes the file)",
        file.display()
    );
    tracing::info!(
        file = %file.display(),
        "first run: admin user and first client created; credentials in the file named"
    );
    Ok(())
}

/// Every few seconds, memory freed after a burst (an import, a big render, a batch of writes)
/// goes back to the system instead of staying in malloc's arenas (`config::trim_malloc`).
async fn return_freed_memory(mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let _ = tokio::task::spawn_blocking(crate::config::trim_malloc).await;
    }
}

async fn background_jobs(svc: Arc<Services>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    let mut minutes = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        minutes += 1;
        // Hourly: records live at least a day (`store.idempotency_ttl_hours` ≥ 24), and the
        // sweep walks the whole tree (see `store::idempotency::sweep`).
        if minutes % 60 == 1 {
            let ttl = svc.config.store.idempotency_ttl_hours as i64 * 3600;
            let before = svc.now_unix() - ttl;
            let store = svc.store.clone();
            match tokio::task::spawn_blocking(move || {
                crate::store::idempotency::sweep(&store, before)
            })
            .await
            {
                Ok(Ok(n)) if n > 0 => {
                    tracing::info!(removed = n, "expired idempotency records swept")
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "idempotency sweep failed"),
                _ => {}
            }
        }
        if !svc.config.backup.dir.as_os_str().is_empty()
            && crate::service::maintenance::next_backup_in(&svc) == 0
        {
            if let Err(e) = crate::service::maintenance::scheduled_backup(&svc).await {
                tracing::error!(error = %e, "scheduled backup failed");
            }
        }
        match crate::service::expiry::sweep(&svc).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired sign-in records swept"),
            Err(e) => tracing::warn!(error = %e, "sign-in records sweep failed"),
            _ => {}
        }
    }
}
