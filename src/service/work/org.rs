//! Organization: businesses (estates, divisions, …), designations, the company.

use std::sync::Arc;

use crate::domain::identity::{Permission, User};
use crate::domain::work::org::{
    self as dorg, Address, Business, BusinessId, BusinessKind, Company, Designation, DesignationId,
};
use crate::service::identity::next_id;
use crate::store::tables::work::{BUSINESSES_BY_CODE, COUNT_BUSINESSES, COUNT_DESIGNATIONS};
use crate::store::{self, counters, Store, Tx};

use super::{length, not_found, require};
use crate::domain::work::Paging;
use crate::service::walks::CHECK_EVERY;
use crate::service::{Result, ServiceError, Services};

const COMPANY_KEY: &[u8] = b"company";

fn code_key(code: &str) -> Vec<u8> {
    store::prefix(&[code.trim().to_lowercase().as_bytes()])
}

pub fn business_by_code(store: &Store, code: &str) -> Result<Option<Business>> {
    match store
        .index_keys(BUSINESSES_BY_CODE, &code_key(code))?
        .first()
    {
        Some(id) => Ok(store.get::<Business>(id)?),
        None => Ok(None),
    }
}

pub fn business(store: &Store, id: BusinessId) -> Result<Option<Business>> {
    Ok(store.get::<Business>(&id.key())?)
}

/// Most businesses and designations a box keeps: the org lists, the structure tree and the
/// address book read them whole, so the cap (enforced here, on write) bounds those reads.
pub const MAX_BUSINESSES: u64 = 1_000;
pub const MAX_DESIGNATIONS: u64 = 2_000;

/// Counts a new record against its cap, or refuses it.
fn admit_new(tx: &mut Tx, counter: &str, max: u64, what: &str) -> Result<()> {
    if counters::get(tx.store(), counter)? >= max {
        return Err(ServiceError::conflict(format!(
            "this box keeps at most {max} {what}"
        )));
    }
    Ok(counters::add(tx, counter, 1)?)
}

fn all_businesses(store: &Store) -> Result<Vec<Business>> {
    Ok(store
        .scan::<Business>(b"")?
        .into_iter()
        .map(|(_, b)| b)
        .collect())
}

fn all_designations(store: &Store) -> Result<Vec<Designation>> {
    Ok(store
        .scan::<Designation>(b"")?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}

/// Get Business List: every business, optionally of one kind or under one parent.
pub fn businesses(
    svc: &Services,
    actor: &User,
    kind: Option<BusinessKind>,
    parent: Option<BusinessId>,
    include_inactive: bool,
) -> Result<Vec<Business>> {
    require(actor, Permission::OrgView)?;
    Ok(all_businesses(&svc.store)?
        .into_iter()
        .filter(|b| include_inactive || b.active)
        .filter(|b| kind.is_none_or(|k| b.kind == k))
        .filter(|b| parent.is_none_or(|p| b.parent == Some(p)))
        .collect())
}

/// Structure Business: all active businesses (the caller builds the tree with `dorg::forest`).
pub fn structure(svc: &Services, actor: &User) -> Result<Vec<Business>> {
    businesses(svc, actor, None, None, false)
}

/// Get Designations Structure: every designation, optionally of one business.
pub fn designations(
    svc: &Services,
    actor: &User,
    business: Option<BusinessId>,
) -> Result<Vec<Designation>> {
    require(actor, Permission::OrgView)?;
    let all = all_designations(&svc.store)?;
    Ok(match business {
        None => all,
        Some(b) => all.into_iter().filter(|d| d.business == Some(b)).collect(),
    })
}

pub struct NewBusiness {
    pub code: String,
    pub name: String,
    pub kind: BusinessKind,
    pub parent: Option<BusinessId>,
    pub address: Address,
}

pub fn save_business(
    svc: &Services,
    tx: &mut Tx,
    actor: &User,
    new: NewBusiness,
) -> Result<Business> {
    require(actor, Permission::OrgEdit)?;
    let code = new.code.trim().to_string();
    let name = new.name.trim().to_string();
    length("code", &code, 1, dorg::CODE_MAX)?;
    length("name", &name, 1, dorg::NAME_MAX)?;
    if let Some(p) = new.parent {
        if tx.get::<Business>(&p.key())?.is_none() {
            return Err(ServiceError::invalid(
                "parent_id",
                "org.business.unknown",
                vec![],
            ));
        }
    }
    let prefix = code_key(&code);
    if !tx
        .store()
        .index_keys(BUSINESSES_BY_CODE, &prefix)?
        .is_empty()
    {
        return Err(ServiceError::Conflict {
            key: "org.business.code_taken",
            args: vec![("code", code)],
        });
    }
    admit_new(tx, COUNT_BUSINESSES, MAX_BUSINESSES, "businesses")?;
    let id = BusinessId(next_id(tx, "org.business")?);
    let b = Business {
        id,
        code,
        name,
        kind: new.kind,
        parent: new.parent,
        address: new.address,
        active: true,
        created_unix: svc.now_unix(),
    };
    tx.put(&id.key(), &b);
    tx.index(BUSINESSES_BY_CODE, &[prefix.as_slice(), &id.key()].concat());
    Ok(b)
}

pub fn save_designation(
    svc: &Services,
    tx: &mut Tx,
    actor: &User,
    code: &str,
    name: &str,
    parent: Option<DesignationId>,
    business: Option<BusinessId>,
) -> Result<Designation> {
    require(actor, Permission::OrgEdit)?;
    let (code, name) = (code.trim(), name.trim());
    length("code", code, 1, dorg::CODE_MAX)?;
    length("name", name, 1, dorg::NAME_MAX)?;
    if let Some(p) = parent {
        if tx.get::<Designation>(&p.key())?.is_none() {
            return Err(ServiceError::invalid(
                "parent_id",
                "org.designation.unknown",
                vec![],
            ));
        }
    }
    if let Some(b) = business {
        if tx.get::<Business>(&b.key())?.is_none() {
            return Err(ServiceError::invalid(
                "business_id",
                "org.business.unknown",
                vec![],
            ));
        }
    }
    admit_new(tx, COUNT_DESIGNATIONS, MAX_DESIGNATIONS, "designations")?;
    let id = DesignationId(next_id(tx, "org.designation")?);
    let d = Designation {
        id,
        code: code.to_string(),
        name: name.to_string(),
        parent,
        business,
        created_unix: svc.now_unix(),
    };
    tx.put(&id.key(), &d);
    Ok(d)
}

/// Delete Designation. One that others report to is refused: deleting it would silently
/// re-root its whole branch.
pub fn delete_designation(tx: &mut Tx, actor: &User, id: DesignationId) -> Result<Designation> {
    require(actor, Permission::OrgEdit)?;
    let d = tx
        .get::<Designation>(&id.key())?
        .ok_or_else(|| not_found("org.designation.not_found"))?;
    let children = all_designations(tx.store())?
        .into_iter()
        .filter(|c| c.parent == Some(id))
        .count();
    if children > 0 {
        return Err(ServiceError::Conflict {
            key: "org.designation.has_children",
            args: vec![("count", children.to_string())],
        });
    }
    tx.delete::<Designation>(&id.key());
    counters::add(tx, COUNT_DESIGNATIONS, -1)?;
    Ok(d)
}

/// Get Company: the one company record, or one made from the site's name until an
/// administrator fills it in.
pub fn company(svc: &Services, actor: &User) -> Result<Company> {
    require(actor, Permission::OrgView)?;
    Ok(svc
        .store
        .get::<Company>(COMPANY_KEY)?
        .unwrap_or_else(|| Company {
            name: svc.config.site.name.clone(),
            legal_name: svc.config.site.name.clone(),
            tax_id: String::new(),
            phone: String::new(),
            email: String::new(),
            address: Address::default(),
        }))
}

/// The company record as stored (None until an administrator saves one): for answers that
/// must not invent what is not known.
pub fn stored_company(store: &Store) -> Result<Option<Company>> {
    Ok(store.get::<Company>(COMPANY_KEY)?)
}

pub fn set_company(tx: &mut Tx, actor: &User, c: &Company) -> Result<()> {
    require(actor, Permission::OrgEdit)?;
    tx.put(COMPANY_KEY, c);
    Ok(())
}

/// One entry of Addresses List.
pub struct AddressEntry {
    pub owner: &'static str,
    pub business: Option<Business>,
    pub name: String,
    pub address: Address,
}

/// Addresses List: the company's address, then each active business that has one.
pub fn addresses(svc: &Services, actor: &User) -> Result<Vec<AddressEntry>> {
    let c = company(svc, actor)?;
    let mut out = Vec::new();
    if !c.address.is_empty() {
        out.push(AddressEntry {
            owner: "company",
            business: None,
            name: c.name.clone(),
            address: c.address.clone(),
        });
    }
    for b in all_businesses(&svc.store)? {
        if b.active && !b.address.is_empty() {
            out.push(AddressEntry {
                owner: "business",
                name: b.name.clone(),
                address: b.address.clone(),
                business: Some(b),
            });
        }
    }
    Ok(out)
}

/// Get Users List: one page of the users whose name or username holds `q` (any case),
/// optionally of one role, in id order, and how many match. Users are capped (`MAX_USERS`) but
/// every match is looked at, so the list runs as a walk (`Services::walks`) holding its page.
pub async fn users(
    svc: &Arc<Services>,
    actor: &User,
    q: Option<&str>,
    role: Option<crate::domain::identity::Role>,
    include_inactive: bool,
    paging: Paging,
) -> Result<(Vec<User>, usize)> {
    require(actor, Permission::UsersView)?;
    let q = q.map(str::to_lowercase);
    let s = svc.clone();
    svc.walks
        .run(move |cancel| {
            let window = paging.window(usize::MAX);
            let (mut page, mut seen) = (Vec::new(), 0usize);
            for (i, u) in s.store.scan_iter::<User>(b"")?.enumerate() {
                if i % CHECK_EVERY == 0 {
                    cancel.check()?;
                }
                let (_, u) = u?;
                let wanted = (include_inactive || u.active)
                    && role.is_none_or(|r| u.role == r)
                    && q.as_deref().is_none_or(|q| {
                        u.name.to_lowercase().contains(q) || u.username.to_lowercase().contains(q)
                    });
                if !wanted {
                    continue;
                }
                if window.contains(&seen) {
                    page.push(u);
                }
                seen += 1;
            }
            Ok((page, seen))
        })
        .await
}
