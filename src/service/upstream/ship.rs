//! The shipper task: connect, create/migrate the schema, reconcile numbering, then ship the
//! outbox in batches — one upstream transaction per batch — and pull master data now and then.
//! Any failure drops the connection, is recorded as `last_error`, and is retried with backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tokio_postgres::{Client, Statement};

use super::schema::{self, READ_TABLES};
use super::{box_id, redact_url, ship_state};
use crate::service::Services;
use crate::store::outbox::{self, Entry, ShipState, SHIP_STATE_KEY};
use crate::store::{codec, Op, Record};

/// Starts the shipper when `[upstream] url` is set.
pub fn spawn(
    svc: Arc<Services>,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if svc.config.upstream.url.trim().is_empty() {
        return None;
    }
    tracing::info!(
        url = %redact_url(&svc.config.upstream.url),
        box_id = %box_id(&svc),
        "upstream replication on"
    );
    Some(tokio::spawn(run(svc, stop)))
}

fn interval(svc: &Services) -> Duration {
    Duration::from_millis(svc.config.upstream.interval_ms.max(10))
}

async fn run(svc: Arc<Services>, mut stop: watch::Receiver<bool>) {
    let base = interval(&svc).min(Duration::from_secs(1));
    let max = (interval(&svc) * 30).clamp(Duration::from_secs(5), Duration::from_secs(60));
    let mut backoff = base;
    loop {
        let outcome = session(&svc, &mut stop, &mut backoff).await;
        match outcome {
            Ok(()) => return,
            Err(e) => {
                let e = scrub(&svc, &e);
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "upstream unreachable or refused; retrying");
                note(&svc, Some(&e)).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(max);
    }
}

/// Never let the password reach a log or the status, whatever an error message quotes.
fn scrub(svc: &Services, e: &str) -> String {
    let url = &svc.config.upstream.url;
    let mut out = e.replace(url.as_str(), &redact_url(url));
    if let Ok(cfg) = url.parse::<tokio_postgres::Config>() {
        if let Some(pw) = cfg.get_password() {
            let pw = String::from_utf8_lossy(pw);
            if pw.len() >= 3 {
                out = out.replace(pw.as_ref(), "***");
            }
        }
    }
    out
}

/// Records the outcome of an attempt; the record is written only when it changes.
async fn note(svc: &Services, error: Option<&str>) {
    let Ok(mut st) = ship_state(&svc.store) else {
        return;
    };
    let now = svc.now_unix();
    match error {
        Some(e) => {
            if st.last_error == e && now - st.last_error_unix < 60 {
                return;
            }
            st.last_error = e.to_string();
            st.last_error_unix = now;
        }
        None => {
            if st.last_error.is_empty() && now - st.last_ok_unix < 60 {
                return;
            }
            st.last_error.clear();
            st.last_ok_unix = now;
        }
    }
    let _ = save_state(svc, &st).await;
}

async fn save_state(svc: &Services, st: &ShipState) -> Result<(), String> {
    svc.store
        .apply(&[Op {
            tree: ShipState::TREE.into(),
            key: SHIP_STATE_KEY.to_vec(),
            value: Some(codec::encode(st)),
        }])
        .map_err(|e| e.to_string())?;
    svc.store.durable().await.map_err(|e| e.to_string())
}

struct Prepared {
    changes: Statement,
    upserts: Vec<Statement>,
    deletes: Vec<Statement>,
}

async fn session(
    svc: &Arc<Services>,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Duration,
) -> Result<(), String> {
    let mut client = connect(&svc.config.upstream.url).await?;
    client
        .batch_execute(schema::CHANGES_DDL)
        .await
        .map_err(pg)?;
    for t in READ_TABLES {
        client.batch_execute(&t.ddl()).await.map_err(pg)?;
    }
    let prepared = Prepared {
        changes: client.prepare(schema::INSERT_CHANGES).await.map_err(pg)?,
        upserts: prepare_all(&client, READ_TABLES.iter().map(|t| t.upsert_sql())).await?,
        deletes: prepare_all(&client, READ_TABLES.iter().map(|t| t.delete_sql())).await?,
    };
    let box_id = box_id(svc);
    reconcile(svc, &client, &box_id).await?;
    note(svc, None).await;
    *backoff = interval(svc).min(Duration::from_secs(1));
    let pull_every = (interval(svc) * 5).max(Duration::from_secs(1));
    let mut last_pull: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let shipped = ship_batch(svc, &mut client, &prepared, &box_id).await?;
        if last_pull.is_none_or(|t| t.elapsed() >= pull_every) {
            super::pull::pull(svc, &client, &box_id).await?;
            last_pull = Some(Instant::now());
        }
        if shipped == 0 {
            note(svc, None).await;
            tokio::select! {
                _ = tokio::time::sleep(interval(svc)) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }
}

async fn prepare_all(
    client: &Client,
    sql: impl Iterator<Item = String>,
) -> Result<Vec<Statement>, String> {
    let mut out = Vec::new();
    for s in sql {
        out.push(client.prepare(&s).await.map_err(pg)?);
    }
    Ok(out)
}

pub(super) fn pg(e: tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("upstream: {} ({})", db.message(), db.code().code()),
        None => {
            // The cause (refused certificate, connection refused, …) is in the source chain.
            let mut text = format!("upstream: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                let c_text = c.to_string();
                if !text.contains(&c_text) {
                    text.push_str(&format!(": {c_text}"));
                }
                cause = c.source();
            }
            text
        }
    }
}

/// Opens a connection: TLS through rustls (ring) when the URL says `sslmode=require`, trusting
/// the Mozilla roots and, if given, the PEM file of `sslrootcert=` (taken out of the URL here,
/// since the client library does not read it).
async fn connect(url: &str) -> Result<Client, String> {
    let (url, root_file) = take_param(url, "sslrootcert");
    let mut cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("upstream url {}: {e}", redact_url(&url)))?;
    cfg.connect_timeout(Duration::from_secs(10));
    cfg.application_name("gatehouse");
    if cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        let tls = tls_config(root_file.as_deref())?;
        let (client, conn) = cfg
            .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            .await
            .map_err(pg)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection closed");
            }
        });
        Ok(client)
    } else {
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(pg)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection closed");
            }
        });
        Ok(client)
    }
}

fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut found = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => {
                found = Some(v.to_string());
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, found)
}

fn tls_config(root_file: Option<&str>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = root_file {
        for cert in
            CertificateDer::pem_file_iter(path).map_err(|e| format!("sslrootcert {path}: {e}"))?
        {
            let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Makes the box's numbering agree with what upstream already holds for this box:
/// - upstream has up to N and the box's entry N is that same change: the box crashed after
///   upstream committed and before it marked the batch; N counts as shipped;
/// - upstream has numbers the box never handed out, or a different change under N: this box
///   replaced another one with the same box_id, or was restored from a backup. Its unshipped
///   entries are renumbered to follow upstream's, so none is lost to `DO NOTHING`.
async fn reconcile(svc: &Arc<Services>, client: &Client, box_id: &str) -> Result<(), String> {
    let row = client
        .query_one(schema::MAX_SEQ, &[&box_id])
        .await
        .map_err(pg)?;
    let Some(up) = row.get::<_, Option<i64>>(0).map(|n| n as u64) else {
        return Ok(());
    };
    let mut st = ship_state(&svc.store).map_err(|e| e.to_string())?;
    if up <= st.shipped_seq {
        return Ok(());
    }
    let remote = client
        .query_opt(schema::CHANGE_AT, &[&box_id, &(up as i64)])
        .await
        .map_err(pg)?;
    // Hold the writer lock (no network from here on): nothing is numbered while we look and
    // move.
    let guard = svc.store.begin().await;
    let engine = svc.store.engine();
    let last = outbox::last_seq(engine).map_err(|e| e.to_string())?;
    let same = if up <= last {
        let local = outbox::read(engine, up, up, 1).map_err(|e| e.to_string())?;
        match (local.first(), remote) {
            (Some(e), Some(r)) => {
                let (kind, key) = kind_key(e);
                let at: chrono::DateTime<chrono::Utc> = r.get(2);
                r.get::<_, String>(0) == kind
                    && r.get::<_, String>(1) == key
                    && at.timestamp_millis() == e.at_ms
            }
            _ => false,
        }
    } else {
        false
    };
    if same {
        drop(guard);
        st.shipped_seq = up;
        save_state(svc, &st).await?;
        tracing::info!(
            shipped_seq = up,
            "upstream already had these changes; marked shipped"
        );
        return Ok(());
    }
    let pending =
        outbox::read(engine, st.shipped_seq + 1, last, usize::MAX).map_err(|e| e.to_string())?;
    let mut ops: Vec<Op> = pending
        .iter()
        .map(|e| Op {
            tree: outbox::TREE.into(),
            key: outbox::seq_key(e.seq).to_vec(),
            value: None,
        })
        .collect();
    for (i, e) in pending.iter().enumerate() {
        ops.push(outbox::entry_op(up + 1 + i as u64, e));
    }
    ops.push(outbox::counter_op(up + pending.len() as u64));
    let mut new_state = st.clone();
    new_state.shipped_seq = up;
    ops.push(Op {
        tree: ShipState::TREE.into(),
        key: SHIP_STATE_KEY.to_vec(),
        value: Some(codec::encode(&new_state)),
    });
    svc.store.apply(&ops).map_err(|e| e.to_string())?;
    drop(guard);
    svc.store.durable().await.map_err(|e| e.to_string())?;
    tracing::warn!(
        upstream_seq = up,
        local_last = last,
        renumbered = pending.len(),
        "upstream holds changes this box did not make under these numbers (replaced or restored box): unshipped changes renumbered after them"
    );
    Ok(())
}

fn kind_key(e: &Entry) -> (String, String) {
    match outbox::replicated(&e.tree) {
        Some(r) => (r.kind.to_string(), (r.key)(&e.key)),
        None => (e.tree.clone(), outbox::render_key(&e.key)),
    }
}

/// Ships one batch; returns how many entries went.
async fn ship_batch(
    svc: &Arc<Services>,
    client: &mut Client,
    prepared: &Prepared,
    box_id: &str,
) -> Result<usize, String> {
    let st = ship_state(&svc.store).map_err(|e| e.to_string())?;
    let last = outbox::last_seq(svc.store.engine()).map_err(|e| e.to_string())?;
    if last <= st.shipped_seq {
        return Ok(0);
    }
    // Only what is durable on the box goes upstream: a change lost in a crash must not exist
    // upstream under a number the box will hand out again.
    svc.store.durable().await.map_err(|e| e.to_string())?;
    let batch = svc.config.upstream.batch.clamp(1, 10_000);
    let store = svc.store.clone();
    let from = st.shipped_seq + 1;
    let entries =
        tokio::task::spawn_blocking(move || outbox::read(store.engine(), from, last, batch))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    let Some(first) = entries.first() else {
        return Ok(0);
    };
    if first.seq != from {
        tracing::error!(
            expected = from,
            found = first.seq,
            "outbox gap: entries missing on the box; shipping what is there"
        );
    }
    let upto = entries.last().map(|e| e.seq).unwrap_or(from);
    let (changes, tables) = render(&entries);
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute(&prepared.changes, &[&box_id, &changes])
        .await
        .map_err(pg)?;
    for (i, (upserts, deletes)) in tables.into_iter().enumerate() {
        if !deletes.is_empty() {
            tx.execute(&prepared.deletes[i], &[&box_id, &Value::Array(deletes)])
                .await
                .map_err(pg)?;
        }
        if !upserts.is_empty() {
            tx.execute(&prepared.upserts[i], &[&box_id, &Value::Array(upserts)])
                .await
                .map_err(pg)?;
        }
    }
    tx.commit().await.map_err(pg)?;
    let mut st = ship_state(&svc.store).map_err(|e| e.to_string())?;
    st.shipped_seq = upto;
    save_state(svc, &st).await?;
    let store = svc.store.clone();
    let pruned = tokio::task::spawn_blocking(move || outbox::prune(store.engine(), upto + 1))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    tracing::debug!(from, upto, pruned, "shipped upstream");
    Ok(entries.len())
}

type TableRows = (Vec<Value>, Vec<Value>);

/// A record's last change in a batch: its outbox number and its row (None: deleted).
type Latest = (u64, Option<Map<String, Value>>);

/// The `changes` rows of a batch, and per read table its upserts and deletes: only the last
/// change of each record in the batch counts (upstream refuses one row changed twice in one
/// statement, and the last is the record as it now is).
fn render(entries: &[Entry]) -> (Value, Vec<TableRows>) {
    let mut changes = Vec::with_capacity(entries.len());
    // Per table: change_key → (seq, row or None for a delete).
    let mut latest: Vec<HashMap<String, Latest>> =
        READ_TABLES.iter().map(|_| HashMap::new()).collect();
    for e in entries {
        let (kind, key) = kind_key(e);
        let at_unix = e.at_ms.div_euclid(1000);
        let body = match (&e.value, outbox::replicated(&e.tree)) {
            (None, _) => Value::Null,
            (Some(v), Some(r)) => (r.body)(v).unwrap_or_else(|err| {
                tracing::warn!(seq = e.seq, kind, error = %err, "outbox entry does not decode; shipped without its body");
                json!({"undecodable": err.to_string()})
            }),
            (Some(_), None) => Value::Null,
        };
        let at = chrono::DateTime::from_timestamp_millis(e.at_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        changes.push(json!({
            "seq": e.seq, "kind": kind, "key": key,
            "op": if e.value.is_some() { "upsert" } else { "delete" },
            "body": body, "at": at,
        }));
        if let Some((i, t)) = schema::read_table(&kind) {
            let row = match &e.value {
                None => None,
                Some(v) => match (t.row)(v, at_unix) {
                    Ok(r) => Some(r),
                    Err(err) => {
                        tracing::warn!(seq = e.seq, kind, error = %err, "record does not decode; its read row is left as it was");
                        continue;
                    }
                },
            };
            latest[i].insert(key, (e.seq, row));
        }
    }
    let tables = latest
        .into_iter()
        .zip(READ_TABLES)
        .map(|(m, t)| {
            let mut upserts: HashMap<String, Value> = HashMap::new();
            let mut deletes = Vec::new();
            let mut items: Vec<_> = m.into_iter().collect();
            items.sort_by_key(|(_, (seq, _))| *seq);
            for (change_key, (seq, row)) in items {
                match row {
                    Some(mut r) => {
                        r.insert("seq".into(), json!(seq));
                        r.insert("change_key".into(), json!(change_key));
                        let natural = r.get(t.natural).map(|v| v.to_string()).unwrap_or_default();
                        upserts.insert(natural, Value::Object(r));
                    }
                    None => deletes.push(json!(change_key)),
                }
            }
            (upserts.into_values().collect(), deletes)
        })
        .collect();
    (Value::Array(changes), tables)
}

#[cfg(test)]
mod tests {
    use super::take_param;

    #[test]
    fn sslrootcert_is_taken_out_of_the_url() {
        let (u, f) = take_param(
            "postgres://h/db?sslmode=require&sslrootcert=/etc/ca.pem",
            "sslrootcert",
        );
        assert_eq!(u, "postgres://h/db?sslmode=require");
        assert_eq!(f.as_deref(), Some("/etc/ca.pem"));
        let (u, f) = take_param("postgres://h/db", "sslrootcert");
        assert_eq!((u.as_str(), f), ("postgres://h/db", None));
    }
}
