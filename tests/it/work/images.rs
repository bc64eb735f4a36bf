//! Task photos: size edge (base64 and raw), formats, list, download, delete, per-task limit.

use super::*;

#[test]
fn task_images_at_the_size_edge_list_download_delete() {
    let s = Server::start_with(&[], &[("GATEHOUSE_HTTP__MAX_IMAGE_BYTES", "4096")]);
    let da = DaSession::open(&s, "dewi", "dewi-pass-1", "clerk");
    let t = ok(
        &da.call("POST", "/tasks", Some(&json!({"title": "Photo proof"}))),
        201,
    );
    let id = t["task_id"].as_u64().unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);

    // Exactly the limit is accepted (base64 JSON); one byte more is 413.
    let edge = jpeg(4096);
    let a = ok(
        &da.call(
            "POST",
            &format!("/tasks/{id}/images"),
            Some(&json!({"image": b64(&edge), "caption": "Drain cleared", "latitude": -2.97, "longitude": 104.77})),
        ),
        201,
    );
    assert_eq!(a["bytes"], 4096);
    assert_eq!(a["content_type"], "image/jpeg");
    let img1 = a["image_id"].as_u64().unwrap();
    let over = da.call(
        "POST",
        &format!("/tasks/{id}/images"),
        Some(&json!({"image": b64(&jpeg(4097))})),
    );
    assert_eq!(over.status, 413, "{}", over.text);
    assert!(over.json()["message"].as_str().unwrap().contains("4096"));
    // A data: URL prefix is accepted; raw uploads too, at the same edge.
    let a = ok(
        &da.call(
            "POST",
            &format!("/app/tasks/{id}/images"),
            Some(&json!({"image": format!("data:image/png;base64,{}", b64(&png(100)))})),
        ),
        201,
    );
    assert_eq!(a["content_type"], "image/png");
    let a = raw(
        &da,
        "POST",
        &format!("/tasks/{id}/images?caption=raw"),
        "image/png",
        &png(4096),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json()["data"]["caption"], "raw");
    let a = raw(
        &da,
        "POST",
        &format!("/tasks/{id}/images"),
        "image/png",
        &png(4097),
    );
    assert_eq!(a.status, 413, "{}", a.text);
    // Not an image: refused with the field named.
    let gif = da.call(
        "POST",
        &format!("/tasks/{id}/images"),
        Some(&json!({"image": b64(b"GIF89a......")})),
    );
    assert_eq!(gif.status, 400);
    assert_eq!(gif.json()["errors"][0]["field"], "image");
    assert_eq!(
        da.call(
            "POST",
            "/tasks/999/images",
            Some(&json!({"image": b64(&jpeg(10))}))
        )
        .status,
        404
    );

    // List (both paths), download, delete.
    let l = ok(&da.call("GET", &format!("/tasks/{id}/images"), None), 200);
    let items = l["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["caption"], "Drain cleared");
    let l2 = ok(
        &da.call("GET", &format!("/app/tasks/{id}/images"), None),
        200,
    );
    assert_eq!(l2["items"], l["items"]);
    assert_eq!(
        ok(&da.call("GET", &format!("/tasks/{id}"), None), 200)["image_count"],
        3
    );
    let (st, ct, _, bytes) = download(
        &da,
        items[0]["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("/daily/v1"),
    );
    assert_eq!(st, 200);
    assert_eq!(ct, "image/jpeg");
    assert_eq!(bytes, edge);
    ok(
        &da.call("DELETE", &format!("/tasks/{id}/images/{img1}"), None),
        200,
    );
    assert_eq!(
        da.call("DELETE", &format!("/tasks/{id}/images/{img1}"), None)
            .status,
        404
    );
    let l = ok(&da.call("GET", &format!("/tasks/{id}/images"), None), 200);
    assert_eq!(l["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        ok(&da.call("GET", &format!("/tasks/{id}"), None), 200)["image_count"],
        2,
        "the count follows a deleted photo"
    );
    assert!(l["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["image_id"] != img1));
    // Caption at its edge, then photos per task at theirs: 20 kept, the 21st refused.
    let cap = |n: usize| json!({"image": b64(&jpeg(8)), "caption": "c".repeat(n)});
    let a = da.call("POST", &format!("/tasks/{id}/images"), Some(&cap(201)));
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["errors"][0]["field"], "caption");
    let other = ok(
        &da.call(
            "POST",
            "/tasks",
            Some(&json!({"title": "Many photos", "description": "d".repeat(2000)})),
        ),
        201,
    );
    let oid = other["task_id"].as_u64().unwrap();
    for _ in 0..20 {
        ok(
            &da.call("POST", &format!("/tasks/{oid}/images"), Some(&cap(200))),
            201,
        );
    }
    let a = da.call("POST", &format!("/tasks/{oid}/images"), Some(&cap(0)));
    assert_eq!(a.status, 409, "{}", a.text);
    assert!(a.json()["message"].as_str().unwrap().contains("20"));
    // The list shows each task's count (the refused 21st not among them).
    let l = ok(&da.call("GET", "/tasks?per_page=100", None), 200);
    let mut seen: Vec<(u64, u64)> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task_id"].as_u64().unwrap(),
                t["image_count"].as_u64().unwrap(),
            )
        })
        .filter(|(t, _)| *t == id || *t == oid)
        .collect();
    seen.sort();
    assert_eq!(seen, vec![(id, 2), (oid, 20)]);
    // Deleting the task takes its photos' records with it.
    ok(&da.call("DELETE", &format!("/tasks/{oid}"), None), 200);
    assert_eq!(
        da.call("GET", &format!("/tasks/{oid}/images"), None).status,
        404
    );
    store_checks(&s);
}
