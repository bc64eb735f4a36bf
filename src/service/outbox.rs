//! The outbox: messages for people (password reset codes) that the console shows and, when a
//! gateway is configured, wablas delivers over WhatsApp. Also the wablas Callback's store.
//!
//! Message texts are sealed under the master key (a reset code is a secret); only the console
//! (admin API) opens them. Nothing here logs a text.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::identity::{Channel, DeliveryStatus, OutboxMessage, WablasEvent, WablasKind};
use crate::domain::ids::UserId;
use crate::store::tables::identity::{wablas_time_key, OUTBOX_BY_GATEWAY, WABLAS_BY_TIME};
use crate::store::Tx;

use super::identity::next_id;
use super::{Result, Services};

const TEXT_CONTEXT: &[u8] = b"outbox";

pub struct NewMessage<'a> {
    pub user: Option<UserId>,
    pub to_phone: &'a str,
    pub text: &'a str,
    pub purpose: &'a str,
    pub expires_unix: Option<i64>,
}

/// True when a gateway is configured to send messages.
pub fn gateway_configured(svc: &Services) -> bool {
    !svc.config.wablas.api_url.is_empty() && !svc.config.wablas.token.is_empty()
}

/// Queues a message: over wablas when the person has a phone number and a gateway is
/// configured, otherwise for the console.
pub fn enqueue(svc: &Services, tx: &mut Tx, m: NewMessage<'_>) -> Result<OutboxMessage> {
    let channel = if gateway_configured(svc) && !m.to_phone.trim().is_empty() {
        Channel::Wablas
    } else {
        Channel::Console
    };
    let now = svc.now_unix();
    let msg = OutboxMessage {
        id: next_id(tx, "outbox")?,
        user: m.user,
        channel,
        to: m.to_phone.trim().to_string(),
        sealed_text: svc.secrets.seal(m.text.as_bytes(), TEXT_CONTEXT),
        purpose: m.purpose.to_string(),
        created_unix: now,
        expires_unix: m.expires_unix,
        status: DeliveryStatus::Pending,
        gateway_id: None,
        updated_unix: now,
    };
    tx.put(&msg.id.to_be_bytes(), &msg);
    Ok(msg)
}

/// The outbox, newest first, with texts opened (admin only). Ids are numbered in order and the
/// sweep removes the oldest first, so walking down from the last id until a gap reads only the
/// `limit` newest.
pub fn list(svc: &Services, limit: usize) -> Result<Vec<(OutboxMessage, String)>> {
    let last = svc
        .store
        .get::<crate::store::tables::identity::Counter>(b"outbox")?
        .map_or(0, |c| c.0);
    let mut out = Vec::new();
    for id in (1..=last).rev() {
        if out.len() >= limit {
            break;
        }
        let Some(m) = svc.store.get::<OutboxMessage>(&id.to_be_bytes())? else {
            break;
        };
        let text = svc
            .secrets
            .open(&m.sealed_text, TEXT_CONTEXT)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        out.push((m, text));
    }
    Ok(out)
}

/// A message's key in `OUTBOX_BY_GATEWAY`.
fn gateway_key(gateway_id: &str, id: u64) -> Vec<u8> {
    crate::store::key(&[gateway_id.as_bytes(), &id.to_be_bytes()])
}

/// Stores a gateway callback. Returns false when the same event was already stored (the
/// gateway retries): nothing changes then.
pub fn record_wablas(svc: &Services, tx: &mut Tx, ev: &WablasEvent) -> Result<bool> {
    let key = ev.key();
    if tx.get::<WablasEvent>(&key)?.is_some() {
        return Ok(false);
    }
    tx.put(&key, ev);
    tx.index(WABLAS_BY_TIME, &wablas_time_key(ev));
    if ev.kind == WablasKind::Status {
        if let Some(status) = DeliveryStatus::from_wablas(&ev.status) {
            // Match the message we sent by the gateway's id (its index, not a walk).
            let prefix = crate::store::prefix(&[ev.id.as_bytes()]);
            for id in tx.store().index_keys(OUTBOX_BY_GATEWAY, &prefix)? {
                let Some(mut m) = tx.get::<OutboxMessage>(&id)? else {
                    continue;
                };
                if m.gateway_id.as_deref() == Some(ev.id.as_str()) {
                    m.status = status;
                    m.updated_unix = svc.now_unix();
                    tx.put(&id, &m);
                }
            }
        }
    }
    Ok(true)
}

/// Recent gateway callbacks (admin).
pub fn wablas_events(svc: &Services, limit: usize) -> Result<Vec<WablasEvent>> {
    // Newest first through the time index: one page, however many the retention holds.
    let mut out = Vec::new();
    for r in svc.store.engine().scan(WABLAS_BY_TIME, b"")?.take(limit) {
        let (k, _) = r?;
        if let Some(e) = svc.store.get::<WablasEvent>(&k[8..])? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Sends one queued wablas message in the background (after its Tx committed).
pub fn spawn_delivery(svc: &Arc<Services>, id: u64) {
    if !gateway_configured(svc) {
        return;
    }
    let svc = svc.clone();
    tokio::spawn(async move {
        // The message's Tx is committed by the caller after this is spawned: wait for it.
        for _ in 0..20 {
            if matches!(
                svc.store.get::<OutboxMessage>(&id.to_be_bytes()),
                Ok(Some(_))
            ) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if let Err(e) = deliver(&svc, id).await {
            tracing::warn!(outbox_id = id, error = %e, "outbox delivery failed");
        }
    });
}

async fn deliver(svc: &Arc<Services>, id: u64) -> Result<()> {
    let Some(m) = svc.store.get::<OutboxMessage>(&id.to_be_bytes())? else {
        return Ok(());
    };
    if m.channel != Channel::Wablas || m.status != DeliveryStatus::Pending {
        return Ok(());
    }
    let text = svc
        .secrets
        .open(&m.sealed_text, TEXT_CONTEXT)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let outcome = tokio::time::timeout(
        Duration::from_secs(15),
        send_http(
            &svc.config.wablas.api_url,
            &svc.config.wablas.token,
            &m.to,
            &text,
        ),
    )
    .await
    .unwrap_or_else(|_| Err("timed out".into()));
    let mut tx = svc.store.begin().await;
    if let Some(mut cur) = tx.get::<OutboxMessage>(&id.to_be_bytes())? {
        match &outcome {
            Ok(gateway_id) => {
                cur.status = DeliveryStatus::Sent;
                cur.gateway_id = gateway_id.clone();
                if let Some(g) = gateway_id.as_deref().filter(|g| !g.is_empty()) {
                    tx.index(OUTBOX_BY_GATEWAY, &gateway_key(g, id));
                }
            }
            Err(_) => cur.status = DeliveryStatus::Failed,
        }
        cur.updated_unix = svc.now_unix();
        tx.put(&id.to_be_bytes(), &cur);
    }
    tx.commit().await?;
    match outcome {
        Ok(_) => Ok(()),
        Err(e) => Err(super::ServiceError::Internal(e)),
    }
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// wablas `POST /api/send-message` (form `phone`, `message`; header `Authorization: <token>`)
/// over plain HTTP/1.1. Success is `"status": true`; returns the gateway's message id if given.
async fn send_http(
    base: &str,
    token: &str,
    phone: &str,
    text: &str,
) -> std::result::Result<Option<String>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = base
        .strip_prefix("http://")
        .ok_or("wablas.api_url must start with http://")?;
    let (hostport, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_end_matches('/');
    let path = if prefix.is_empty() {
        "/api/send-message".to_string()
    } else {
        format!("/{prefix}/api/send-message")
    };
    let addr = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let body = format!("phone={}&message={}", form_escape(phone), form_escape(text));
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nAuthorization: {token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    stream
        .take(1 << 20)
        .read_to_end(&mut buf)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_default();
    if v.get("status").and_then(|s| s.as_bool()) == Some(true) {
        let id = v
            .pointer("/data/messages/0/id")
            .or_else(|| v.pointer("/data/id"))
            .and_then(|i| i.as_str())
            .map(str::to_string);
        Ok(id)
    } else {
        Err(format!(
            "gateway refused the message (HTTP {})",
            text.split(' ').nth(1).unwrap_or("?")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::form_escape;

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_escape("+62 8&x=1"), "%2B62%208%26x%3D1");
    }
}
