//! Organization: businesses, structure, designations, company, addresses, users.

use super::*;

#[test]
fn org_structure_designations_company_and_users() {
    let s = Server::start();
    let da = DaSession::open(&s, "boss", "boss-pass-1", "admin");
    let estate = ok(
        &da.call("POST", "/org/businesses", Some(&json!({"code": "MNJ", "name": "Manjung Estate", "kind": "estate",
            "address": {"line": "Jl. Kebun 1", "city": "Medan", "latitude": 3.59, "longitude": 98.67}}))),
        201,
    );
    let eid = estate["business_id"].clone();
    let div = ok(
        &da.call("POST", "/org/businesses", Some(&json!({"code": "D".repeat(20), "name": "D".repeat(100), "kind": "division", "parent_id": eid}))),
        201,
    );
    let a = da.call(
        "POST",
        "/org/businesses",
        Some(&json!({"code": "mnj", "name": "Dup", "kind": "estate"})),
    );
    assert_eq!(
        a.status, 409,
        "codes are unique, case-insensitively: {}",
        a.text
    );
    let a = da.call(
        "POST",
        "/org/businesses",
        Some(&json!({"code": "X".repeat(21), "name": "N", "kind": "farm", "parent_id": 99})),
    );
    assert_eq!(a.status, 400);
    let errs = a.json()["errors"].clone();
    let fields: Vec<&str> = errs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["code", "kind"]);

    let l = ok(&da.call("GET", "/org/businesses?kind=division", None), 200);
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    assert_eq!(l["items"][0]["parent_id"], eid);
    let tree = ok(&da.call("GET", "/org/businesses/structure", None), 200);
    assert_eq!(tree["items"].as_array().unwrap().len(), 1);
    assert_eq!(tree["items"][0]["code"], "MNJ");
    assert_eq!(
        tree["items"][0]["children"][0]["business_id"],
        div["business_id"]
    );

    let em = ok(
        &da.call(
            "POST",
            "/org/designations",
            Some(&json!({"code": "EM", "name": "Estate Manager", "business_id": eid})),
        ),
        201,
    );
    let am = ok(&da.call("POST", "/org/designations", Some(&json!({"code": "AM", "name": "Assistant Manager", "parent_id": em["designation_id"]}))), 201);
    let md = ok(
        &da.call(
            "POST",
            "/org/designations",
            Some(&json!({"code": "MDR", "name": "Mandor", "parent_id": am["designation_id"]})),
        ),
        201,
    );
    let tree = ok(&da.call("GET", "/org/designations", None), 200);
    assert_eq!(tree["items"][0]["code"], "EM");
    assert_eq!(tree["items"][0]["children"][0]["code"], "AM");
    assert_eq!(
        tree["items"][0]["children"][0]["children"][0]["code"],
        "MDR"
    );
    // A designation others report to cannot go; a leaf can.
    let a = da.call(
        "DELETE",
        &format!("/org/designations/{}", am["designation_id"]),
        None,
    );
    assert_eq!(a.status, 409, "{}", a.text);
    ok(
        &da.call(
            "DELETE",
            &format!("/org/designations/{}", md["designation_id"]),
            None,
        ),
        200,
    );
    assert_eq!(
        da.call(
            "DELETE",
            &format!("/org/designations/{}", md["designation_id"]),
            None
        )
        .status,
        404
    );
    ok(
        &da.call(
            "DELETE",
            &format!("/org/designations/{}", am["designation_id"]),
            None,
        ),
        200,
    );
    let tree = ok(&da.call("GET", "/org/designations", None), 200);
    assert_eq!(tree["items"][0]["children"], json!([]));

    // Company: the site's name until filled in; addresses list the company and businesses.
    assert_eq!(ok(&da.call("GET", "/company", None), 200)["name"], "Estate");
    ok(&da.call("PUT", "/company", Some(&json!({"name": "PT Kebun Makmur", "address": {"line": "Jl. Sudirman 10", "city": "Medan"}}))), 200);
    assert_eq!(
        ok(&da.call("GET", "/company", None), 200)["name"],
        "PT Kebun Makmur"
    );
    let ad = ok(&da.call("GET", "/company/addresses", None), 200);
    let owners: Vec<&str> = ad["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["owner"].as_str().unwrap())
        .collect();
    assert_eq!(owners, vec!["company", "business"]);
    assert_eq!(ad["items"][1]["address"]["line"], "Jl. Kebun 1");

    // Users list.
    let u = ok(&da.call("GET", "/users?q=bos", None), 200);
    assert_eq!(u["total"], 1);
    assert_eq!(u["items"][0]["username"], "boss");
    assert!(u["items"][0].get("password").is_none());
    let u = ok(&da.call("GET", "/users?role=admin&per_page=1", None), 200);
    assert!(
        u["total"].as_u64().unwrap() >= 2,
        "the first-run admin and boss: {u}"
    );
    // Pages of the matches in id order; the total is every match; any case matches.
    let total = u["total"].as_u64().unwrap();
    let first = u["items"][0]["user_id"].as_u64().unwrap();
    let u2 = ok(
        &da.call("GET", "/users?role=admin&per_page=1&page=2", None),
        200,
    );
    assert_eq!(u2["total"], total);
    assert!(u2["items"][0]["user_id"].as_u64().unwrap() > first, "{u2}");
    let past = format!("/users?role=admin&per_page=1&page={}", total + 1);
    let u3 = ok(&da.call("GET", &past, None), 200);
    assert_eq!(
        (u3["total"].as_u64(), u3["items"].as_array().map(Vec::len)),
        (Some(total), Some(0))
    );
    let u4 = ok(&da.call("GET", "/users?q=BOS", None), 200);
    assert_eq!(u4["items"][0]["username"], "boss");
    store_checks(&s);
}
