//! Daily Activity/Organization: businesses (estates, divisions, …) and designations.

use serde_json::{json, Map, Value};
use warp::http::Method;

use super::super::{route, Auth, Call, OpResult, Reply};
use super::{at, check, choice, id_field, path_id, query, user};
use crate::api::{Doc, Route};
use crate::da_op;
use crate::domain::identity::Permission;
use crate::domain::validate::Fields;
use crate::domain::work::org::{
    self as dorg, Address, Business, BusinessId, BusinessKind, Designation, DesignationId, Tree,
};
use crate::service::work::org as svc_org;
use crate::service::Services;

const TAG: &str = "Daily Activity/Organization";

pub fn routes() -> Vec<Route> {
    vec![
        route(
            Method::GET,
            "/daily/v1/org/businesses",
            "Get Business List",
            TAG,
            Auth::Access(Permission::OrgView),
            Doc {
                description: "Businesses of the company: estates, divisions, mills, offices (flat, by id). Needs org_view.",
                query: vec![
                    ("kind", "estate | division | mill | office"),
                    ("parent_id", "Only the businesses directly under this one"),
                    ("include_inactive", "true to include deactivated businesses"),
                ],
                response: Some(json!({"items": [business_example()]})),
                ..Doc::default()
            },
            da_op!(business_list),
        ),
        route(
            Method::POST,
            "/daily/v1/org/businesses",
            "Save Business",
            TAG,
            Auth::Access(Permission::OrgEdit),
            Doc {
                description: "Adds a business. code 1–20 characters, unique (409 when taken); name 1–100; kind estate | division | mill | office; \
                    parent_id must exist; address optional. Needs org_edit.",
                request: Some(json!({"code": "MNJ-D1", "name": "Division 1", "kind": "division", "parent_id": 1,
                    "address": {"line": "Jl. Kebun 2", "city": "Pematangsiantar", "province": "Sumatera Utara", "postal_code": "21151", "latitude": 2.95, "longitude": 99.06}})),
                response: Some(business_example()),
                required: &["code", "name", "kind"],
                ..Doc::default()
            },
            da_op!(save_business),
        ),
        route(
            Method::GET,
            "/daily/v1/org/businesses/structure",
            "Structure Business",
            TAG,
            Auth::Access(Permission::OrgView),
            Doc {
                description: "The active businesses as a tree: each with its `children`. A business whose parent is gone is shown as a root. Needs org_view.",
                response: Some(json!({"items": [{"business_id": 1, "code": "MNJ", "name": "Manjung Estate", "kind": "estate", "children": [
                    {"business_id": 2, "code": "MNJ-D1", "name": "Division 1", "kind": "division", "children": []}]}]})),
                ..Doc::default()
            },
            da_op!(structure),
        ),
        route(
            Method::GET,
            "/daily/v1/org/designations",
            "Get Designations Structure",
            TAG,
            Auth::Access(Permission::OrgView),
            Doc {
                description: "Designations as a reporting tree (each with `children`). Needs org_view.",
                query: vec![("business_id", "Only the designations of this business")],
                response: Some(json!({"items": [{"designation_id": 1, "code": "EM", "name": "Estate Manager", "parent_id": null, "business_id": 1, "children": [
                    {"designation_id": 2, "code": "AM", "name": "Assistant Manager", "parent_id": 1, "business_id": 1, "children": []}]}]})),
                ..Doc::default()
            },
            da_op!(designations),
        ),
        route(
            Method::POST,
            "/daily/v1/org/designations",
            "Save Designation",
            TAG,
            Auth::Access(Permission::OrgEdit),
            Doc {
                description: "Adds a designation. code 1–20, name 1–100 characters; parent_id (reports to) and business_id must exist. Needs org_edit.",
                request: Some(json!({"code": "MDR", "name": "Mandor", "parent_id": 2, "business_id": 2})),
                response: Some(json!({"designation_id": 3, "code": "MDR", "name": "Mandor", "parent_id": 2, "business_id": 2, "created_at": "2026-03-02T07:00:00+07:00"})),
                required: &["code", "name"],
                ..Doc::default()
            },
            da_op!(save_designation),
        ),
        route(
            Method::DELETE,
            "/daily/v1/org/designations/{id}",
            "Delete Designation",
            TAG,
            Auth::Access(Permission::OrgEdit),
            Doc {
                description: "Deletes a designation. One that other designations report to is refused (409): move or delete those first. Needs org_edit; 404 when unknown.",
                response: Some(json!({"designation_id": 3, "deleted": true})),
                ..Doc::default()
            },
            da_op!(delete_designation),
        ),
    ]
}

fn business_example() -> Value {
    json!({"business_id": 2, "code": "MNJ-D1", "name": "Division 1", "kind": "division", "parent_id": 1, "active": true,
           "address": {"line": "Jl. Kebun 2", "city": "Pematangsiantar", "province": "Sumatera Utara", "postal_code": "21151", "latitude": 2.95, "longitude": 99.06},
           "created_at": "2026-03-02T07:00:00+07:00"})
}

pub(super) fn address_json(a: &Address) -> Value {
    json!({"line": a.line, "city": a.city, "province": a.province, "postal_code": a.postal_code,
           "latitude": a.latitude, "longitude": a.longitude})
}

fn business_json(svc: &Services, b: &Business) -> Value {
    json!({
        "business_id": b.id.0,
        "code": b.code,
        "name": b.name,
        "kind": b.kind.as_str(),
        "parent_id": b.parent.map(|p| p.0),
        "active": b.active,
        "address": address_json(&b.address),
        "created_at": at(svc, Some(b.created_unix)),
    })
}

fn designation_json(svc: &Services, d: &Designation) -> Value {
    json!({
        "designation_id": d.id.0,
        "code": d.code,
        "name": d.name,
        "parent_id": d.parent.map(|p| p.0),
        "business_id": d.business.map(|b| b.0),
        "created_at": at(svc, Some(d.created_unix)),
    })
}

fn tree_json<T>(nodes: &[Tree<'_, T>], f: &dyn Fn(&T) -> Value) -> Vec<Value> {
    nodes
        .iter()
        .map(|n| {
            let mut v = f(n.item);
            v["children"] = Value::Array(tree_json(&n.children, f));
            v
        })
        .collect()
}

async fn business_list(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let kind = choice(
        &mut f,
        "kind",
        &BusinessKind::ALL,
        BusinessKind::as_str,
        false,
    );
    let parent = id_field(&mut f, "parent_id", false).map(BusinessId);
    let inactive = f.boolean("include_inactive").unwrap_or(false);
    check(&f)?;
    let list = svc_org::businesses(&call.svc, user(call)?, kind, parent, inactive)?;
    let items: Vec<Value> = list.iter().map(|b| business_json(&call.svc, b)).collect();
    Ok(Reply::ok(json!({ "items": items })))
}

async fn structure(call: &mut Call) -> OpResult {
    let list = svc_org::structure(&call.svc, user(call)?)?;
    let svc = call.svc.clone();
    let items = tree_json(&dorg::forest(&list), &|b| {
        let mut v = business_json(&svc, b);
        v.as_object_mut().map(|m| m.remove("address"));
        v
    });
    Ok(Reply::ok(json!({ "items": items })))
}

async fn designations(call: &mut Call) -> OpResult {
    let q = query(call);
    let mut f = Fields::new(&q);
    let business = id_field(&mut f, "business_id", false).map(BusinessId);
    check(&f)?;
    let list = svc_org::designations(&call.svc, user(call)?, business)?;
    let svc = call.svc.clone();
    let items = tree_json(&dorg::forest(&list), &|d| designation_json(&svc, d));
    Ok(Reply::ok(json!({ "items": items })))
}

/// The optional `address` object, its errors named `address.<field>`.
pub(super) fn address(f: &mut Fields<'_>, obj: &Map<String, Value>) -> Address {
    let Some(Value::Object(a)) = obj.get("address") else {
        if obj.get("address").is_some_and(|v| !v.is_null()) {
            f.fail(
                "address",
                "field.type",
                vec![("expected", "an object".into())],
            );
        }
        return Address::default();
    };
    let mut g = Fields::new(a);
    let out = Address {
        line: g.string("line", 0, 200).unwrap_or_default(),
        city: g.string("city", 0, 100).unwrap_or_default(),
        province: g.string("province", 0, 100).unwrap_or_default(),
        postal_code: g.string("postal_code", 0, 20).unwrap_or_default(),
        latitude: g.number("latitude", -90.0, 90.0, false),
        longitude: g.number("longitude", -180.0, 180.0, false),
    };
    for mut e in g.errors {
        e.field = format!("address.{}", e.field);
        if let Some(a) = e.args.iter_mut().find(|(k, _)| *k == "field") {
            a.1 = e.field.clone();
        }
        f.errors.push(e);
    }
    out
}

async fn save_business(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let code = f.required("code", 1, dorg::CODE_MAX);
    let name = f.required("name", 1, dorg::NAME_MAX);
    let kind = choice(
        &mut f,
        "kind",
        &BusinessKind::ALL,
        BusinessKind::as_str,
        true,
    );
    let parent = id_field(&mut f, "parent_id", false).map(BusinessId);
    let addr = address(&mut f, &body);
    check(&f)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    let b = svc_org::save_business(
        &svc,
        call.tx().await,
        &actor,
        svc_org::NewBusiness {
            code,
            name,
            kind: kind.unwrap_or(BusinessKind::Estate),
            parent,
            address: addr,
        },
    )?;
    Ok(Reply::created(business_json(&svc, &b)))
}

async fn save_designation(call: &mut Call) -> OpResult {
    let body = call.body()?;
    let mut f = Fields::new(&body);
    let code = f.required("code", 1, dorg::CODE_MAX);
    let name = f.required("name", 1, dorg::NAME_MAX);
    let parent = id_field(&mut f, "parent_id", false).map(DesignationId);
    let business = id_field(&mut f, "business_id", false).map(BusinessId);
    check(&f)?;
    let svc = call.svc.clone();
    let actor = user(call)?.clone();
    let d = svc_org::save_designation(
        &svc,
        call.tx().await,
        &actor,
        &code,
        &name,
        parent,
        business,
    )?;
    Ok(Reply::created(designation_json(&svc, &d)))
}

async fn delete_designation(call: &mut Call) -> OpResult {
    let id = DesignationId(path_id(call, "id")?);
    let actor = user(call)?.clone();
    svc_org::delete_designation(call.tx().await, &actor, id)?;
    Ok(Reply::ok(json!({"designation_id": id.0, "deleted": true})))
}
