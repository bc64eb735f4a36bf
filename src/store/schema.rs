//! Schema version of the whole store, migrations, and `check`.

use serde::{Deserialize, Serialize};

use super::{codec, tables, Record, Result, Store, StoreError};

/// Bump when a migration is added below.
pub const SCHEMA_VERSION: u32 = 9;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SchemaMeta {
    pub version: u32,
    pub created_unix: i64,
    pub migrated_unix: i64,
}

impl Record for SchemaMeta {
    const TREE: &'static str = "meta";
}

const META_KEY: &[u8] = b"schema";

/// Migration from version N-1 to N lives at index N-2.
type Migration = fn(&Store) -> Result<()>;
const MIGRATIONS: &[Migration] = &[
    // 1 → 2: Get Task List pages through an order index; totals are counters.
    tables::work::build_task_indexes,
    // 2 → 3: counters and the devices' last-seen index (dashboards, admin lists, projects).
    tables::scale::build_counts,
    // 3 → 4: reports read the tasks of a period through indexes (done by time, worked by day).
    tables::work::build_report_indexes,
    // 4 → 5: a task list narrowed to a status, and each status group, is one key range; gateway
    // callbacks by time (admin list, expiry sweep).
    tables::work::build_status_index,
    // 5 → 6: the HR lists by joining, relieving and edit date read date indexes of the roll.
    tables::attendance::build_employee_indexes,
    // 6 → 7: each task's photo count is a counter (task lists read it instead of a scan).
    tables::work::build_image_counts,
    // 7 → 8: the dashboard's day figures: a day's punches (per hour, who clocked in) are one
    // record a day; passes issued, muster lines, slips and weight per day are counters.
    tables::build_day_figures,
    // 8 → 9: open returnable passes by due day (overdue is a range, not every open pass), and
    // the count of holders inside.
    tables::gatepass::build_due_index,
];

pub fn current(store: &Store) -> Result<Option<SchemaMeta>> {
    store.get::<SchemaMeta>(META_KEY)
}

/// Whether the schema record can be read, through the cache of hot records (what /healthz
/// asks many times a second; re-read from the store after its tree was written).
pub fn readable(store: &Store) -> bool {
    store.get_shared::<SchemaMeta>(META_KEY).is_ok()
}

/// Brings a store up to `SCHEMA_VERSION`; refuses a store written by a newer binary.
pub fn migrate(store: &Store) -> Result<()> {
    let now = chrono::Utc::now().timestamp();
    let meta = match current(store)? {
        None => SchemaMeta {
            version: SCHEMA_VERSION,
            created_unix: now,
            migrated_unix: now,
        },
        Some(m) if m.version == SCHEMA_VERSION => return Ok(()),
        Some(m) if m.version > SCHEMA_VERSION => {
            return Err(StoreError::Schema(format!(
                "the store has schema version {} but this gatehouse binary only knows up to {}: \
                 refusing to downgrade. Install the newer binary again, or restore a backup made \
                 by this version",
                m.version, SCHEMA_VERSION
            )))
        }
        Some(mut m) => {
            for v in m.version..SCHEMA_VERSION {
                let step = MIGRATIONS
                    .get(v as usize - 1)
                    .ok_or_else(|| StoreError::Schema(format!("no migration from schema {v}")))?;
                step(store)?;
                tracing::info!(from = v, to = v + 1, "store migrated");
            }
            m.version = SCHEMA_VERSION;
            m.migrated_unix = now;
            m
        }
    };
    write_meta(store, &meta)
}

/// Writes the schema record and makes it durable.
fn write_meta(store: &Store, meta: &SchemaMeta) -> Result<()> {
    store.apply(&[super::Op {
        tree: SchemaMeta::TREE.into(),
        key: META_KEY.to_vec(),
        value: Some(codec::encode(meta)),
    }])?;
    store.flush_blocking()
}

/// Marks the store as written at schema `version`, so its next open runs every step after it:
/// for the schema steps' tests, and for `bench-fill --at-schema` (how long a first start of a
/// new binary takes on a big store). Nothing else may call it.
#[doc(hidden)]
pub fn mark_version(store: &Store, version: u32) -> Result<()> {
    let mut meta =
        current(store)?.ok_or_else(|| StoreError::Schema("no schema record to mark".into()))?;
    meta.version = version;
    write_meta(store, &meta)
}

/// For the schema steps' tests: a closed store in `dir` holding `ops` and marked as written at
/// schema `version`, so the next `Store::open` migrates it.
#[cfg(test)]
pub(crate) fn write_at_version(dir: &std::path::Path, version: u32, ops: Vec<super::Op>) {
    let opts = super::StoreOptions {
        cache_bytes: 8 << 20,
    };
    let store = Store::open(dir, opts).expect("test store");
    store.apply(&ops).expect("apply");
    mark_version(&store, version).expect("mark the version");
}

/// For the schema steps' tests: `write_at_version`, then the store opened (which migrates
/// it) and checked to be at `SCHEMA_VERSION`.
#[cfg(test)]
pub(crate) fn migrated(dir: &std::path::Path, version: u32, ops: Vec<super::Op>) -> Store {
    write_at_version(dir, version, ops);
    let store = Store::open(
        dir,
        super::StoreOptions {
            cache_bytes: 8 << 20,
        },
    )
    .expect("migrated store");
    assert_eq!(
        current(&store)
            .expect("schema")
            .expect("schema record")
            .version,
        SCHEMA_VERSION
    );
    store
}

#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub schema_version: u32,
    pub trees: Vec<TreeReport>,
    pub blobs: usize,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TreeReport {
    pub name: String,
    pub values: u64,
    pub known: bool,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Decodes every value of every known tree, and re-hashes every blob.
pub fn check(store: &Store) -> Result<CheckReport> {
    let known = tables::all();
    let mut report = CheckReport {
        schema_version: current(store)?.map(|m| m.version).unwrap_or(0),
        ..Default::default()
    };
    if report.schema_version != SCHEMA_VERSION {
        report.errors.push(format!(
            "schema version {} (expected {SCHEMA_VERSION})",
            report.schema_version
        ));
    }
    let mut names = store.engine().tree_names();
    names.sort();
    for name in names {
        let table = known.iter().find(|t| t.tree == name);
        let mut values = 0u64;
        for item in store.engine().scan(&name, b"")? {
            let (k, v) = match item {
                Ok(kv) => kv,
                Err(e) => {
                    report.errors.push(format!("{name}: unreadable: {e}"));
                    break;
                }
            };
            values += 1;
            if let Some(t) = table {
                if let Err(e) = (t.check)(&v) {
                    if report.errors.len() < 100 {
                        report
                            .errors
                            .push(format!("{name}[{}]: {e}", String::from_utf8_lossy(&k)));
                    }
                }
            }
        }
        if table.is_none() && values > 0 {
            report
                .errors
                .push(format!("{name}: unknown tree with {values} values"));
        }
        report.trees.push(TreeReport {
            name,
            values,
            known: table.is_some(),
        });
    }
    for id in store.blobs().list()? {
        report.blobs += 1;
        match store.blobs().get(&id) {
            Ok(bytes) if super::BlobId::of(&bytes) == id => {}
            Ok(_) => report.errors.push(format!(
                "blob {}: content does not match its name",
                id.as_str()
            )),
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    Ok(report)
}
