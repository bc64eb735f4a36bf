//! Schema 3 (issue 15, cost flat in data size): the counters and the indexes that let the
//! dashboards, the admin lists and the project figures read O(answer), built once for the
//! records that predate them. New writes keep them in the same `Tx` (their services).

use std::collections::BTreeMap;

use crate::domain::devices::Device;
use crate::domain::estate::faces::FaceRecord;
use crate::domain::estate::labour::{Firm, Labourer};
use crate::domain::identity::User;
use crate::domain::work::projects::Project;
use crate::domain::work::tasks::Task;
use crate::store::{Record, Result, Store};

use super::rebuild::Rebuild;
use super::{attendance, estate, identity, work};

/// Counts every record of `R` into `key`.
fn count<R: Record>(store: &Store, counts: &mut BTreeMap<String, u64>, key: &str) -> Result<()> {
    let n = store.engine().scan(R::TREE, b"")?.count() as u64;
    *counts.entry(key.into()).or_default() += n;
    Ok(())
}

pub fn build_counts(store: &Store) -> Result<()> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    count::<Labourer>(store, &mut counts, estate::COUNT_LABOURERS)?;
    count::<FaceRecord>(store, &mut counts, estate::COUNT_FACES)?;
    count::<Firm>(store, &mut counts, estate::COUNT_FIRMS)?;
    count::<User>(store, &mut counts, identity::COUNT_USERS)?;
    count::<crate::domain::terminals::Terminal>(
        store,
        &mut counts,
        super::terminals::COUNT_TERMINALS,
    )?;
    count::<crate::domain::identity::ClientApp>(store, &mut counts, identity::COUNT_CLIENTS)?;
    count::<Project>(store, &mut counts, work::COUNT_PROJECTS)?;
    count::<crate::domain::work::org::Business>(store, &mut counts, work::COUNT_BUSINESSES)?;
    count::<crate::domain::work::org::Designation>(store, &mut counts, work::COUNT_DESIGNATIONS)?;
    count::<crate::domain::geofence::Fence>(store, &mut counts, attendance::COUNT_FENCES)?;
    count::<crate::domain::shift::Shift>(store, &mut counts, attendance::COUNT_SHIFTS)?;
    let mut out = Rebuild::new(store);
    for r in store.scan_iter::<Device>(b"")? {
        let (_, d) = r?;
        *counts
            .entry(identity::count_device_status(d.status))
            .or_default() += 1;
        if let Some(k) = identity::seen_key(&d) {
            out.index(identity::DEVICES_BY_SEEN, k)?;
        }
    }
    let now = chrono::Utc::now().timestamp();
    for r in store.scan_iter::<crate::domain::credentials::LoginFailures>(b"")? {
        let (subject, f) = r?;
        if f.locked_until_unix > now {
            out.index(
                identity::LOCKED_UNTIL,
                [identity::time_key(f.locked_until_unix).as_slice(), &subject].concat(),
            )?;
        }
    }
    for r in store.scan_iter::<crate::domain::devices::CodelayerSession>(b"")? {
        let (hash, cs) = r?;
        out.index(
            identity::SESSIONS_BY_USER,
            [cs.user.key().as_slice(), &hash].concat(),
        )?;
    }
    for r in store.scan_iter::<crate::domain::identity::OutboxMessage>(b"")? {
        let (_, m) = r?;
        if let Some(g) = m.gateway_id.as_deref().filter(|g| !g.is_empty()) {
            out.index(
                identity::OUTBOX_BY_GATEWAY,
                crate::store::key(&[g.as_bytes(), &m.id.to_be_bytes()]),
            )?;
        }
    }
    for r in store.scan_iter::<Task>(b"")? {
        let (_, t) = r?;
        for k in work::task_figures(&t) {
            *counts.entry(k).or_default() += 1;
        }
        for key in work::facet_entries(&t) {
            out.index(work::TASKS_BY_FACET, key)?;
        }
        for key in work::session_entries(&t) {
            out.index(work::SESSIONS_BY_END, key)?;
        }
        for (tree, key) in work::assignee_entries(&t) {
            out.index(tree, key)?;
        }
    }
    for r in store.scan_iter::<crate::domain::work::tickets::Ticket>(b"")? {
        let (_, t) = r?;
        for k in work::ticket_figures(&t) {
            *counts.entry(k).or_default() += 1;
        }
        let order = work::ticket_order_key(&t);
        out.index(work::TICKETS_BY_ORDER, order.to_vec())?;
        for u in work::ticket_users(&t) {
            out.index(work::TICKETS_BY_USER, [u.key().as_slice(), &order].concat())?;
        }
    }
    out.counters(counts)?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::devices::DeviceStatus;
    use crate::domain::ids::UserId;
    use crate::domain::work::tasks::Priority;
    use crate::domain::work::tickets::{Ticket, TicketId, TicketStatus};
    use crate::store::{codec, counters, schema, Op};

    fn device(imei: &str, status: DeviceStatus, seen: Option<i64>) -> Device {
        Device {
            imei: imei.into(),
            app_id: "POABS".into(),
            client_id: String::new(),
            device_name: String::new(),
            mobile: String::new(),
            status,
            sealed_licence_key: None,
            requested_unix: 0,
            decided_unix: None,
            valid_till_unix: None,
            last_seen_unix: seen,
            app_version: String::new(),
        }
    }

    fn ticket(id: u64, reporter: u64, assignee: Option<u64>, status: TicketStatus) -> Ticket {
        Ticket {
            id: TicketId(id),
            subject: format!("t{id}"),
            description: String::new(),
            status,
            priority: Priority::Normal,
            reporter: UserId(reporter),
            assignee: assignee.map(UserId),
            task: None,
            created_unix: 0,
            updated_unix: 0,
            resolved_unix: None,
        }
    }

    #[test]
    fn a_schema_2_store_gets_its_counters_and_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let mut ops = Vec::new();
        let mut put = |tree: &str, key: Vec<u8>, value: Vec<u8>| {
            ops.push(Op {
                tree: tree.into(),
                key,
                value: Some(value),
            })
        };
        for (imei, st, seen) in [
            ("1", DeviceStatus::Pending, Some(5)),
            ("2", DeviceStatus::Approved, Some(7)),
            ("3", DeviceStatus::Approved, None),
        ] {
            put(
                Device::TREE,
                imei.as_bytes().to_vec(),
                codec::encode(&device(imei, st, seen)),
            );
        }
        for t in [
            ticket(1, 10, Some(11), TicketStatus::Open),
            ticket(2, 11, None, TicketStatus::Closed),
        ] {
            put(Ticket::TREE, t.id.key().to_vec(), codec::encode(&t));
        }
        let store = schema::migrated(dir.path(), 2, ops);
        let n = |k: &str| counters::get(&store, k).unwrap();
        assert_eq!(n(&identity::count_device_status(DeviceStatus::Approved)), 2);
        assert_eq!(n(&identity::count_device_status(DeviceStatus::Pending)), 1);
        let seen: Vec<Vec<u8>> = store
            .engine()
            .scan(identity::DEVICES_BY_SEEN, b"")
            .unwrap()
            .map(|r| r.unwrap().0[8..].to_vec())
            .collect();
        assert_eq!(
            seen,
            vec![b"1".to_vec(), b"2".to_vec()],
            "in last-seen order"
        );
        assert_eq!(n(&work::count_tickets(None, None)), 2);
        assert_eq!(n(&work::count_tickets(Some(UserId(11)), None)), 2);
        assert_eq!(
            n(&work::count_tickets(
                Some(UserId(10)),
                Some(TicketStatus::Open)
            )),
            1
        );
        assert_eq!(n(&work::count_tickets_assigned_active(UserId(11))), 1);
        let order: Vec<u64> = store
            .engine()
            .scan(work::TICKETS_BY_ORDER, b"")
            .unwrap()
            .map(|r| !u64::from_be_bytes(r.unwrap().0[..8].try_into().unwrap()))
            .collect();
        assert_eq!(order, vec![2, 1], "newest first");
        assert!(schema::check(&store).unwrap().ok());
    }
}
