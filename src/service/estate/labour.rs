//! Firms, gangs, labourers and the estate tasks of a day: lookups for the handhelds, upserts
//! for import and the demo.

use chrono::NaiveDate;

use crate::domain::estate::labour::{EstateTask, Firm, Gang, LabourType, Labourer};
use crate::domain::estate::{EstateTaskId, FirmId, LabourCode};
use crate::store::tables::estate::{
    COUNT_FIRMS, COUNT_LABOURERS, LABOURERS_BY_DISPLAY, TASKS_BY_DAY,
};
use crate::store::{self, Store, Tx};

use super::super::{Result, ServiceError};

/// What an upsert did (import reports count these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Added,
    Updated,
    Unchanged,
}

/// Every firm (at most `MAX_FIRMS`).
pub fn firms(store: &Store) -> Result<Vec<Firm>> {
    Ok(store
        .scan::<Firm>(b"")?
        .into_iter()
        .map(|(_, f)| f)
        .collect())
}

/// Through the hot-record cache: the handhelds' syncs (Download Face File, Labor Details) look
/// their firm up on every call, and a read of redb was 8 % of a Face File delta's CPU.
pub fn firm(store: &Store, id: &FirmId) -> Result<Option<std::sync::Arc<Firm>>> {
    Ok(store.get_shared::<Firm>(id.key())?)
}

/// Most firms a box keeps: Firm List and Get Tasks read the firms whole.
pub const MAX_FIRMS: u64 = 1_000;

pub fn put_firm(tx: &mut Tx, firm: &Firm) -> Result<Upsert> {
    let old = tx.get::<Firm>(firm.id.key())?;
    if old.as_ref() == Some(firm) {
        return Ok(Upsert::Unchanged);
    }
    if old.is_none() {
        if store::counters::get(tx.store(), COUNT_FIRMS)? >= MAX_FIRMS {
            return Err(ServiceError::conflict(format!(
                "this box keeps at most {MAX_FIRMS} firms"
            )));
        }
        store::counters::add(tx, COUNT_FIRMS, 1)?;
    }
    tx.put(firm.id.key(), firm);
    Ok(if old.is_some() {
        Upsert::Updated
    } else {
        Upsert::Added
    })
}

pub fn gangs(store: &Store) -> Result<Vec<Gang>> {
    Ok(store
        .scan::<Gang>(b"")?
        .into_iter()
        .map(|(_, g)| g)
        .collect())
}

pub fn put_gang(tx: &mut Tx, gang: &Gang) -> Result<Upsert> {
    let old = tx.get::<Gang>(gang.id.key())?;
    if old.as_ref() == Some(gang) {
        return Ok(Upsert::Unchanged);
    }
    tx.put(gang.id.key(), gang);
    Ok(if old.is_some() {
        Upsert::Updated
    } else {
        Upsert::Added
    })
}

/// Every labourer, in lcode order.
pub fn labourers(store: &Store) -> Result<Vec<Labourer>> {
    Ok(store
        .scan::<Labourer>(b"")?
        .into_iter()
        .map(|(_, l)| l)
        .collect())
}

/// Every labourer, in lcode order, one at a time (no whole-tree `Vec`).
pub fn labourers_iter(store: &Store) -> Result<impl Iterator<Item = Result<Labourer>> + '_> {
    Ok(store
        .scan_iter::<Labourer>(b"")?
        .map(|r| r.map(|(_, l)| l).map_err(ServiceError::from)))
}

/// How many labourers the roll holds (a counter, not a walk of the tree).
pub fn labourer_count(store: &Store) -> Result<u64> {
    Ok(store::counters::get(store, COUNT_LABOURERS)?)
}

/// The data version of the labourer list (changes with every write to it).
pub fn labourers_version(store: &Store) -> u64 {
    store.version_of(&[<Labourer as crate::store::Record>::TREE])
}

pub fn labourer(store: &Store, lcode: &LabourCode) -> Result<Option<Labourer>> {
    Ok(store.get::<Labourer>(lcode.key())?)
}

fn display_key(l: &Labourer) -> Vec<u8> {
    store::key(&[l.display_code.as_bytes(), l.lcode.key()])
}

/// `Labor Details`: by display code (or lcode), firm and type.
pub fn labourer_by_code(
    store: &Store,
    code: &str,
    firm: &FirmId,
    ltype: Option<LabourType>,
) -> Result<Option<Labourer>> {
    let fits = |l: &Labourer| {
        (&l.labour_firm == firm || &l.muster_firm == firm) && ltype.is_none_or(|t| t == l.ltype)
    };
    for lcode in store.index_keys(LABOURERS_BY_DISPLAY, &store::prefix(&[code.as_bytes()]))? {
        if let Some(l) = store.get::<Labourer>(&lcode)? {
            if fits(&l) {
                return Ok(Some(l));
            }
        }
    }
    Ok(labourer(store, &LabourCode(code.to_string()))?.filter(fits))
}

/// Adds or replaces a labourer. A labourer who moves to another muster firm, or is
/// deactivated, leaves the old firm's face file.
pub fn put_labourer(svc: &super::super::Services, tx: &mut Tx, new: &Labourer) -> Result<Upsert> {
    let old = tx.get::<Labourer>(new.lcode.key())?;
    if let Some(o) = &old {
        let mut same = new.clone();
        same.updated_unix = o.updated_unix;
        if &same == o {
            return Ok(Upsert::Unchanged);
        }
        tx.delete_raw(LABOURERS_BY_DISPLAY, &display_key(o));
    }
    if old.is_none() {
        store::counters::add(tx, COUNT_LABOURERS, 1)?;
    }
    tx.put(new.lcode.key(), new);
    tx.index(LABOURERS_BY_DISPLAY, &display_key(new));
    super::faces::follow_labourer(svc, tx, new)?;
    Ok(if old.is_some() {
        Upsert::Updated
    } else {
        Upsert::Added
    })
}

pub fn task_key(firm: &FirmId, id: &EstateTaskId) -> Vec<u8> {
    store::key(&[firm.key(), id.key()])
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn put_task(tx: &mut Tx, task: &EstateTask) -> Result<Upsert> {
    if !(0.0..100.0).contains(&task.moisture_perc) {
        return Err(ServiceError::invalid(
            "MoisturePerc",
            "field.range",
            vec![("min", "0".into()), ("max", "99.99".into())],
        ));
    }
    let key = task_key(&task.firm, &task.id);
    let old = tx.get::<EstateTask>(&key)?;
    if old.as_ref() == Some(task) {
        return Ok(Upsert::Unchanged);
    }
    if let Some(o) = &old {
        tx.delete_raw(TASKS_BY_DAY, &store::key(&[day(o.date).as_bytes(), &key]));
    }
    tx.put(&key, task);
    tx.index(
        TASKS_BY_DAY,
        &store::key(&[day(task.date).as_bytes(), &key]),
    );
    Ok(if old.is_some() {
        Upsert::Updated
    } else {
        Upsert::Added
    })
}

pub fn task(tx: &Tx, firm: &FirmId, id: &EstateTaskId) -> Result<Option<EstateTask>> {
    Ok(tx.get::<EstateTask>(&task_key(firm, id))?)
}

/// The estate tasks of a (site-local) day, in firm and TaskID order.
pub fn tasks_of_day(store: &Store, date: NaiveDate) -> Result<Vec<EstateTask>> {
    let mut out = Vec::new();
    for key in store.index_keys(TASKS_BY_DAY, &store::prefix(&[day(date).as_bytes()]))? {
        if let Some(t) = store.get::<EstateTask>(&key)? {
            out.push(t);
        }
    }
    Ok(out)
}
