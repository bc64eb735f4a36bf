//! `serve --demo`: a demo estate so a newcomer can try every family at once. Idempotent: it
//! only adds what is missing.

use super::{Result, Services};

pub async fn seed(svc: &std::sync::Arc<Services>) -> Result<()> {
    let _ = svc;
    tracing::info!("demo data: nothing to seed yet");
    Ok(())
}
