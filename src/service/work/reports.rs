//! Generate Report / Download Report: the tasks completed in a period, per user, as CSV or
//! XLSX. The file is built once, kept as a blob, and downloaded by report id.

use std::collections::BTreeMap;

use crate::domain::identity::{Permission, User};
use crate::domain::ids::UserId;
use crate::domain::work::report::{Period, Report, ReportFormat, ReportId, UserLine};
use crate::domain::work::tasks::{Task, TaskId, TaskStatus};
use crate::service::identity::next_id;
use crate::store::BlobId;

use super::tasks::{hours, local_text, NameCache};
use super::{not_found, require};
use crate::service::{Result, ServiceError, Services};

const TASK_HEADERS: [&str; 11] = [
    "task_id",
    "date",
    "title",
    "category",
    "business",
    "project",
    "assignee",
    "completed_by",
    "completed_at",
    "worked_hours_in_period",
    "worked_hours_total",
];
const SUMMARY_HEADERS: [&str; 4] = ["user_id", "name", "tasks_done", "worked_hours"];

/// What a report holds before it is written to a file.
pub struct Contents {
    pub summary: Vec<UserLine>,
    pub task_rows: Vec<Vec<String>>,
}

/// Tasks completed inside the period (site-local days), and per user: tasks done (credited
/// to the assignee, else whoever completed it) and hours worked inside the period on any task.
pub fn contents(svc: &Services, period: Period) -> Result<Contents> {
    let off = svc.config.site.timezone_offset_minutes;
    let (start, end) = period.unix_bounds(off);
    let now = svc.now_unix();
    let mut done: Vec<Task> = Vec::new();
    let mut per_user: BTreeMap<Option<UserId>, (u64, i64)> = BTreeMap::new();
    for id in period_tasks(svc, start, end)? {
        let Some(t) = svc.store.get::<Task>(&id.key())? else {
            continue;
        };
        for s in &t.sessions {
            let secs = s.seconds_within(start, end, now);
            if secs > 0 {
                per_user.entry(Some(s.user)).or_default().1 += secs;
            }
        }
        let in_period =
            t.status == TaskStatus::Done && t.completed_unix.is_some_and(|c| c >= start && c < end);
        if in_period {
            let credited = t.assignee.or(t.completed_by);
            per_user.entry(credited).or_default().0 += 1;
            done.push(t);
        }
    }
    done.sort_by_key(|t| (t.completed_unix, t.id));
    let mut names = NameCache::default();
    let summary = per_user
        .into_iter()
        .map(|(u, (n, secs))| UserLine {
            user: u,
            name: names.user(svc, u),
            tasks_done: n,
            worked_secs: secs,
        })
        .collect();
    let task_rows = done
        .iter()
        .map(|t| {
            let in_period: i64 = t
                .sessions
                .iter()
                .map(|s| s.seconds_within(start, end, now))
                .sum();
            vec![
                t.id.to_string(),
                t.date.to_string(),
                t.title.clone(),
                t.category.as_str().to_string(),
                names.business(svc, t.business),
                names.project(svc, t.project),
                names.user(svc, t.assignee),
                names.user(svc, t.completed_by),
                t.completed_unix
                    .map(|c| local_text(c, off))
                    .unwrap_or_default(),
                hours(in_period),
                hours(t.worked_seconds(now)),
            ]
        })
        .collect();
    Ok(Contents { summary, task_rows })
}

/// Every task a report over `[start, end)` can count, found through the indexes (never the
/// whole task tree): completed in it, with a session on one of its days, or running now.
fn period_tasks(
    svc: &Services,
    start: i64,
    end: i64,
) -> Result<std::collections::BTreeSet<TaskId>> {
    use crate::store::tables::work::{
        done_bound, work_day, TASKS_BY_DONE, TASKS_BY_WORK_DAY, TASKS_RUNNING,
    };
    let engine = svc.store.engine();
    let mut ids = std::collections::BTreeSet::new();
    let mut add = |k: &[u8], at: usize| {
        if let Some(id) = k.get(at..).and_then(TaskId::from_key) {
            ids.insert(id);
        }
    };
    for kv in engine.range(TASKS_BY_DONE, &done_bound(start), &done_bound(end))? {
        add(&kv?.0, 8);
    }
    let last_day = u32::from_be_bytes(work_day(end - 1));
    let after = (last_day.saturating_add(1)).to_be_bytes();
    for kv in engine.range(TASKS_BY_WORK_DAY, &work_day(start), &after)? {
        add(&kv?.0, 4);
    }
    for kv in engine.scan(TASKS_RUNNING, b"")? {
        add(&kv?.0, 8);
    }
    Ok(ids)
}

fn summary_rows(summary: &[UserLine]) -> Vec<Vec<String>> {
    summary
        .iter()
        .map(|l| {
            vec![
                l.user.map(|u| u.to_string()).unwrap_or_default(),
                l.name.clone(),
                l.tasks_done.to_string(),
                hours(l.worked_secs),
            ]
        })
        .collect()
}

/// CSV: one line per task completed in the period.
pub fn csv_bytes(headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ServiceError::Internal(format!("csv: {e}"));
    w.write_record(headers).map_err(fail)?;
    for r in rows {
        w.write_record(super::super::cells::csv_record(r))
            .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ServiceError::Internal(format!("csv: {e}")))
}

/// A sheet: name, headers, numeric columns, rows.
type Sheet<'a> = (&'a str, &'a [&'a str], &'a [usize], Vec<Vec<String>>);

/// XLSX: a Summary sheet (per user) and a Tasks sheet (per task).
pub fn xlsx_bytes(period: Period, c: &Contents) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| ServiceError::Internal(format!("xlsx: {e}"));
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    // Numeric columns are written as numbers, so the sheet can sum them.
    let sheets: [Sheet<'_>; 2] = [
        (
            "Summary",
            &SUMMARY_HEADERS,
            &[0, 2, 3],
            summary_rows(&c.summary),
        ),
        ("Tasks", &TASK_HEADERS, &[0, 9, 10], c.task_rows.clone()),
    ];
    for (name, headers, numeric, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(name).map_err(fail)?;
        let mut row = 0u32;
        if name == "Summary" {
            ws.write_string_with_format(
                0,
                0,
                format!("Tasks done {} .. {}", period.from, period.to),
                &bold,
            )
            .map_err(fail)?;
            row = 2;
        }
        for (col, h) in headers.iter().enumerate() {
            ws.write_string_with_format(row, col as u16, *h, &bold)
                .map_err(fail)?;
        }
        for r in rows {
            row += 1;
            for (col, v) in r.iter().enumerate() {
                match v.parse::<f64>() {
                    Ok(n) if numeric.contains(&col) => {
                        ws.write_number(row, col as u16, n).map_err(fail)?
                    }
                    _ => super::super::cells::xlsx_text(ws, row, col as u16, v).map_err(fail)?,
                };
            }
        }
    }
    wb.save_to_buffer().map_err(fail)
}

/// What identifies a report's data: format, period, and every line it holds.
fn content_key(period: Period, format: ReportFormat, c: &Contents) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(format!("{format:?}\x1e{}\x1e{}\x1e", period.from, period.to).as_bytes());
    for row in &c.task_rows {
        for cell in row {
            ctx.update(cell.as_bytes());
            ctx.update(b"\x1f");
        }
        ctx.update(b"\x1e");
    }
    ctx.update(&serde_json::to_vec(&c.summary).unwrap_or_default());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

const REPORT_BYTES: &[u8] = b"work.report_bytes";

/// Generate Report: builds the file (off the async workers), keeps it, and answers with its
/// id. Asked again with the same parameters while the data is unchanged, it answers with the
/// report already made instead of storing another. Stored reports share a disk quota
/// (`security.report_quota_kb`): the oldest are removed to make room.
pub async fn generate(
    svc: &std::sync::Arc<Services>,
    actor: &User,
    period: Period,
    format: ReportFormat,
) -> Result<Report> {
    use crate::store::tables::identity::Counter;
    use crate::store::tables::security::{REPORTS_BY_CONTENT, REPORTS_BY_FILE};
    require(actor, Permission::ReportsView)?;
    let built = build_shared(svc, period, format).await?;
    let (key, c_summary, tasks_done, file_at) = unpack(&built)?;
    if let Some(r) = made_before(svc, &key)? {
        return Ok(r);
    }
    let bytes = built.slice(file_at..);
    let (s2, b2) = (svc.clone(), bytes.clone());
    let blob = tokio::task::spawn_blocking(move || s2.store.blobs().put(&b2))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    let quota = svc.config.security.report_quota_kb.saturating_mul(1024);
    if bytes.len() as u64 > quota {
        return Err(ServiceError::Throttled {
            key: "report.quota",
            retry_after_secs: 3600,
        });
    }
    let mut tx = svc.store.begin().await;
    // A twin made meanwhile.
    if let Some(id) = tx
        .store()
        .index_keys(REPORTS_BY_CONTENT, &key)?
        .first()
        .and_then(|k| ReportId::from_key(k))
    {
        if let Some(r) = tx.get::<Report>(&id.key())? {
            return Ok(r);
        }
    }
    let mut used = tx.get::<Counter>(REPORT_BYTES)?.map_or(0, |c| c.0);
    let mut freed_files = Vec::new();
    if used + bytes.len() as u64 > quota {
        for (k, old) in tx.store().scan::<Report>(b"")? {
            if used + bytes.len() as u64 <= quota {
                break;
            }
            tx.delete::<Report>(&k);
            tx.delete_raw(
                REPORTS_BY_FILE,
                &[old.sha256.as_bytes(), &old.id.key()].concat(),
            );
            used = used.saturating_sub(old.file_bytes);
            freed_files.push((old.sha256.clone(), old.id));
            tracing::info!(report = %old.id, "old report removed (quota)");
        }
        // Their content index entries go too (found by scanning the bounded index).
        let gone: Vec<ReportId> = freed_files.iter().map(|(_, id)| *id).collect();
        let doomed: Vec<Vec<u8>> = tx
            .store()
            .index_keys(REPORTS_BY_CONTENT, b"")?
            .into_iter()
            .filter(|k| {
                k.len() == 40 && ReportId::from_key(&k[32..]).is_some_and(|id| gone.contains(&id))
            })
            .collect();
        for k in doomed {
            tx.delete_raw(REPORTS_BY_CONTENT, &k);
        }
    }
    let id = ReportId(next_id(&mut tx, "work.report")?);
    let report = Report {
        id,
        requested_by: actor.id,
        period,
        format,
        created_unix: svc.now_unix(),
        sha256: blob.as_str().to_string(),
        file_bytes: bytes.len() as u64,
        tasks_done,
        summary: c_summary,
    };
    tx.put(&id.key(), &report);
    tx.index(REPORTS_BY_CONTENT, &[key.as_slice(), &id.key()].concat());
    tx.index(
        REPORTS_BY_FILE,
        &[report.sha256.as_bytes(), &id.key()].concat(),
    );
    tx.put(REPORT_BYTES, &Counter(used + bytes.len() as u64));
    // Files no remaining report names (checked against what this transaction leaves).
    let mut orphans = Vec::new();
    for (sha, _) in &freed_files {
        let prefix = sha.as_bytes();
        let still = tx
            .store()
            .index_keys(REPORTS_BY_FILE, prefix)?
            .into_iter()
            .any(|rest| {
                let k = [prefix, rest.as_slice()].concat();
                tx.contains_raw(REPORTS_BY_FILE, &k).unwrap_or(true)
            });
        if !still && *sha != report.sha256 {
            orphans.push(sha.clone());
        }
    }
    tx.commit().await?;
    for sha in orphans {
        if let Some(b) = BlobId::parse(&sha) {
            svc.store.blobs().remove(&b)?;
        }
    }
    Ok(report)
}

/// What a built report is filed under in service::answers: the rows it reads (tasks and the
/// names they show).
fn report_version(svc: &Services) -> u64 {
    use crate::domain::work::{org::Business, projects::Project};
    use crate::store::Record;
    svc.store
        .version_of(&[Task::TREE, User::TREE, Business::TREE, Project::TREE])
}

/// The head of a built report in its shared answer, before the file's bytes.
#[derive(serde::Serialize, serde::Deserialize)]
struct Built {
    key: Vec<u8>,
    tasks_done: u64,
    summary: Vec<UserLine>,
}

/// Builds the report's file off the async workers, once per data version: concurrent callers
/// asking for the same period and format share one build (service::answers). Hours of a
/// running session grow with the clock, so while any task runs the second is part of the key.
async fn build_shared(
    svc: &std::sync::Arc<Services>,
    period: Period,
    format: ReportFormat,
) -> Result<bytes::Bytes> {
    use crate::store::tables::work::TASKS_RUNNING;
    let version = report_version(svc);
    let running = svc
        .store
        .engine()
        .scan(TASKS_RUNNING, b"")?
        .next()
        .is_some();
    let clock = if running { svc.now_unix() } else { 0 };
    let params = format!("{format:?}\0{}\0{}\0{clock}", period.from, period.to);
    let days = (period.to - period.from).num_days().max(0) + 1;
    let estimate_kib = (days * 64).clamp(256, 1 << 20) as u32;
    let s = svc.clone();
    svc.answers
        .get(
            "work.report",
            params,
            version,
            estimate_kib,
            move |cancel| {
                let c = contents(&s, period)?;
                cancel.check()?;
                let key = content_key(period, format, &c);
                let file = match format {
                    ReportFormat::Csv => csv_bytes(&TASK_HEADERS, &c.task_rows)?,
                    ReportFormat::Xlsx => xlsx_bytes(period, &c)?,
                };
                let head = serde_json::to_vec(&Built {
                    key: key.to_vec(),
                    tasks_done: c.task_rows.len() as u64,
                    summary: c.summary,
                })
                .map_err(|e| ServiceError::Internal(format!("report: {e}")))?;
                let mut out = Vec::with_capacity(4 + head.len() + file.len());
                out.extend_from_slice(&(head.len() as u32).to_le_bytes());
                out.extend_from_slice(&head);
                out.extend_from_slice(&file);
                Ok(out)
            },
        )
        .await
}

/// (content key, summary, tasks done, where the file's bytes start) of a built report.
fn unpack(b: &[u8]) -> Result<([u8; 32], Vec<UserLine>, u64, usize)> {
    let bad = || ServiceError::Internal("report: malformed build".into());
    let n = u32::from_le_bytes(b.get(..4).ok_or_else(bad)?.try_into().map_err(|_| bad())?) as usize;
    let head: Built =
        serde_json::from_slice(b.get(4..4 + n).ok_or_else(bad)?).map_err(|_| bad())?;
    let key: [u8; 32] = head.key.as_slice().try_into().map_err(|_| bad())?;
    Ok((key, head.summary, head.tasks_done, 4 + n))
}

/// The report already made from the same data, if it is still kept.
fn made_before(svc: &Services, key: &[u8; 32]) -> Result<Option<Report>> {
    let ids = svc
        .store
        .index_keys(crate::store::tables::security::REPORTS_BY_CONTENT, key)?;
    for k in ids {
        if let Some(id) = ReportId::from_key(&k) {
            if let Some(r) = svc.store.get::<Report>(&id.key())? {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// Download Report: the report and its file.
pub fn download(svc: &Services, actor: &User, id: ReportId) -> Result<(Report, Vec<u8>)> {
    require(actor, Permission::ReportsView)?;
    let r = svc
        .store
        .get::<Report>(&id.key())?
        .ok_or_else(|| not_found("report.not_found"))?;
    let blob = BlobId::parse(&r.sha256)
        .ok_or_else(|| ServiceError::Internal(format!("report {id}: bad blob name")))?;
    let bytes = svc.store.blobs().get(&blob)?;
    Ok((r, bytes))
}
