//! Generate Report / Download Report: the tasks completed in a period, per user, as CSV or
//! XLSX. The file is built once, kept as a blob, and downloaded by report id.

use std::collections::BTreeMap;

use crate::domain::identity::{Permission, User};
use crate::domain::ids::UserId;
use crate::domain::work::report::{Period, Report, ReportFormat, ReportId, UserLine};
use crate::domain::work::tasks::{Task, TaskStatus};
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
    for (_, t) in svc.store.scan::<Task>(b"")? {
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

/// Generate Report: builds the file now, keeps it, and answers with its id. It runs its own
/// transaction (a GET has none), after the file is built so the writer lock is held briefly.
pub async fn generate(
    svc: &Services,
    actor: &User,
    period: Period,
    format: ReportFormat,
) -> Result<Report> {
    require(actor, Permission::ReportsView)?;
    let c = contents(svc, period)?;
    let bytes = match format {
        ReportFormat::Csv => csv_bytes(&TASK_HEADERS, &c.task_rows)?,
        ReportFormat::Xlsx => xlsx_bytes(period, &c)?,
    };
    let blob = svc.store.blobs().put(&bytes)?;
    let mut tx = svc.store.begin().await;
    let id = ReportId(next_id(&mut tx, "work.report")?);
    let report = Report {
        id,
        requested_by: actor.id,
        period,
        format,
        created_unix: svc.now_unix(),
        sha256: blob.as_str().to_string(),
        file_bytes: bytes.len() as u64,
        tasks_done: c.task_rows.len() as u64,
        summary: c.summary,
    };
    tx.put(&id.key(), &report);
    tx.commit().await?;
    Ok(report)
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
