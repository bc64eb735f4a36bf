//! `serve --demo`: a demo estate so a newcomer can try every family at once. Idempotent: each
//! area's `demo` only adds what is missing.
//!
//! Each area adds ONE line below (its own idempotent `pub async fn demo(svc)`), in any order
//! that respects what it needs from the others (estate first: firms and labourers).

use super::{Result, Services};

pub async fn seed(svc: &std::sync::Arc<Services>) -> Result<()> {
    crate::service::identity::demo(svc).await?;
    crate::service::estate::demo(svc).await?;
    crate::service::attendance::demo(svc).await?;
    crate::service::gatepass::demo(svc).await?;
    crate::service::work::demo(svc).await?;
    tracing::info!("demo data seeded");
    Ok(())
}
