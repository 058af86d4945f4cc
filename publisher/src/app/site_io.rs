//! The site's side of the store: which history months a render needs, rendering (whole or the
//! touched pages), and writing the result into a directory or a prefix in the store.

use std::collections::BTreeSet;
use std::path::Path;

use sglci_core::records::{self, Schema};
use sglci_core::store::{Key, ObjectStore, StoreError};

use super::AppError;
use crate::history::{self, History};
use crate::rows::Rows;
use crate::site::templates::{TemplateError, Templates};
use crate::site::{self, RenderedSite, Scope, SiteOptions, Touched};
use sglci_core::date::day_number;

/// Marker file of a directory the site was rendered into; only such directories are replaced.
pub const SITE_MARKER: &str = ".sglci-site";

/// Marker of a site whose writing started and has not finished (written first, removed last):
/// a render or update killed half-way leaves it, and the next run renders the whole site again
/// instead of patching a half-written one.
pub const SITE_PARTIAL: &str = ".sglci-site-partial";

/// Loads the history for the site: every table whole, or per table only the months `select`
/// names for it.
pub fn load_site_data(
    hist: &History<'_>,
    select: Option<&dyn Fn(Schema) -> BTreeSet<String>>,
) -> Result<Rows, AppError> {
    hist.with_snapshot(
        |snap| site_data_of(snap, select),
        |e| matches!(e, AppError::History(h) if h.is_gone()),
    )
}

/// [`load_site_data`] from one snapshot.
fn site_data_of(
    snap: &crate::history::Snapshot<'_>,
    select: Option<&dyn Fn(Schema) -> BTreeSet<String>>,
) -> Result<Rows, AppError> {
    let mut wanted = Vec::new();
    let mut years = BTreeSet::new();
    let mut all_months = BTreeSet::new();
    for schema in records::ALL_SCHEMAS {
        let months = snap.months(*schema)?;
        for m in &months {
            if m.len() == 7 && m[..4].bytes().all(|b| b.is_ascii_digit()) {
                years.insert(m[..4].to_owned());
            }
            all_months.insert(m.clone());
        }
        wanted.push((
            *schema,
            match select {
                Some(f) => f(*schema),
                None => months.into_iter().collect(),
            },
        ));
    }
    // Every table's objects in one batch.
    let tables = snap.read_tables(&wanted)?;
    let mut data = Rows::from_tables(&tables)?;
    data.years = years;
    data.months = all_months;
    data.add_row_years();
    Ok(data)
}

/// The last day of a month directory (`YYYY-MM`) as a day number, or `None` for `undated`.
fn month_end_day(month: &str) -> Option<i64> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    day_number(&format!("{ny:04}{nm:02}01")).map(|d| d - 1)
}

/// What an update reads, per table: the months that overlap the trend window (before the newest
/// month of the history), the touched months and the undated rows; for the task table also every
/// month of the touched years (the year's archive page counts its nights).
#[derive(Debug, Clone)]
pub struct UpdateMonths {
    pub window: BTreeSet<String>,
    pub touched_years: BTreeSet<String>,
}

impl UpdateMonths {
    pub fn for_table(&self, schema: Schema) -> BTreeSet<String> {
        if schema.name == records::TASKS.name {
            self.window.union(&self.touched_years).cloned().collect()
        } else {
            self.window.clone()
        }
    }

    /// Distinct months read over all tables.
    pub fn count(&self) -> usize {
        self.window.union(&self.touched_years).count()
    }
}

pub fn update_months(
    hist: &History<'_>,
    touched: &Touched,
    window_days: i64,
) -> Result<UpdateMonths, AppError> {
    let snap = hist.snapshot()?;
    let mut all = BTreeSet::new();
    for schema in records::ALL_SCHEMAS {
        all.extend(snap.months(*schema)?);
    }
    let newest = all
        .iter()
        .filter_map(|m| month_end_day(m))
        .max()
        .unwrap_or(0);
    // Nights are at most the newest month's end; a month matters when it ends inside the window.
    let from = newest - window_days - 31;
    let window = all
        .iter()
        .filter(|m| {
            *m == history::UNDATED
                || touched.months.contains(*m)
                || month_end_day(m).is_some_and(|d| d >= from)
        })
        .cloned()
        .collect();
    let touched_years = all
        .iter()
        .filter(|m| touched.years.iter().any(|y| m.starts_with(y.as_str())))
        .cloned()
        .collect();
    Ok(UpdateMonths {
        window,
        touched_years,
    })
}

/// Renders the whole site from the history.
pub fn render_full(
    store: &dyn ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
) -> Result<RenderedSite, AppError> {
    let data = load_site_data(&History::new(store), None)?;
    Ok(site::render_site(&data, templates, opts, &Scope::All)?)
}

/// Renders only the pages a new run touches, reading only the recent months of the history.
pub fn render_update(
    store: &dyn ObjectStore,
    templates: &Templates,
    opts: &SiteOptions,
    touched: &Touched,
) -> Result<RenderedSite, AppError> {
    let hist = History::new(store);
    let months = update_months(&hist, touched, opts.window_days)?;
    let data = load_site_data(&hist, Some(&|s| months.for_table(s)))?;
    Ok(site::render_site(
        &data,
        templates,
        opts,
        &Scope::Only(touched.clone()),
    )?)
}

/// Writes a rendered site into `out`. With `replace`, the directory is emptied first, and only
/// when it is new, empty or an earlier sglci site (it carries [`SITE_MARKER`]).
pub fn write_site(out: &Path, site: &RenderedSite, replace: bool) -> Result<(), AppError> {
    let io = |op: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| AppError::SiteIo { op, path, source }
    };
    if replace && out.exists() {
        let marker = out.join(SITE_MARKER).exists() || out.join(SITE_PARTIAL).exists();
        let empty = std::fs::read_dir(out)
            .map_err(io("list", out))?
            .next()
            .is_none();
        if !marker && !empty {
            return Err(AppError::NotASiteDir(out.to_owned()));
        }
        if marker {
            std::fs::remove_dir_all(out).map_err(io("remove", out))?;
        }
    }
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    let partial = out.join(SITE_PARTIAL);
    sglci_core::backend::write_durably(&partial, b"being written by sglci-publisher\n")
        .map_err(io("write", &partial))?;
    let _ = std::fs::remove_file(out.join(SITE_MARKER));
    for (rel, bytes) in site {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        std::fs::write(&path, bytes).map_err(io("write", &path))?;
    }
    // The pages on disk, then the marker last: only a site written whole carries it.
    sglci_core::backend::sync_filesystem(out).map_err(io("sync", out))?;
    let marker = out.join(SITE_MARKER);
    sglci_core::backend::write_durably(&marker, b"rendered by sglci-publisher site\n")
        .map_err(io("write", &marker))?;
    std::fs::remove_file(&partial).map_err(io("remove", &partial))?;
    Ok(())
}

pub use crate::config::SiteTarget;

/// A site to keep up to date while ingesting.
#[derive(Debug)]
pub struct SiteJob<'a> {
    pub target: SiteTarget,
    pub templates: &'a Templates,
    pub opts: SiteOptions,
}

/// Brings a rendered site up to date: only the touched pages when the target holds an earlier
/// sglci site, the whole site otherwise. Returns the number of files written.
pub fn update_site(
    store: &dyn ObjectStore,
    job: &SiteJob<'_>,
    touched: &Touched,
) -> Result<usize, AppError> {
    // A site exists when it was written whole: the marker, and no partial marker left by a
    // write that was killed (that one is rendered again whole).
    let exists = match &job.target {
        SiteTarget::Dir(out) => out.join(SITE_MARKER).is_file() && !out.join(SITE_PARTIAL).exists(),
        SiteTarget::Store(prefix) => {
            has(store, &prefix.join(SITE_MARKER)?)? && !has(store, &prefix.join(SITE_PARTIAL)?)?
        }
    };
    if exists && touched.is_empty() {
        return Ok(0);
    }
    let site = if exists {
        render_update(store, job.templates, &job.opts, touched)?
    } else {
        render_full(store, job.templates, &job.opts)?
    };
    match &job.target {
        SiteTarget::Dir(out) => write_site(out, &site, !exists)?,
        SiteTarget::Store(prefix) => write_site_to_store(store, prefix, &site, !exists)?,
    }
    Ok(site.len())
}

/// The site's stamp (`sglci.json`): the history generation it was rendered from and when. The
/// Pages effect reads it to never replace a newer site with an older one; people and scripts
/// read it to see how fresh the site is.
pub fn write_site_stamp(
    store: &dyn ObjectStore,
    target: &SiteTarget,
    generation: u64,
    generated_at: &str,
) -> Result<(), AppError> {
    #[derive(serde::Serialize)]
    struct Stamp<'a> {
        generation: u64,
        generated_at: &'a str,
    }
    let body = serde_json::to_vec_pretty(&Stamp {
        generation,
        generated_at,
    })
    .unwrap_or_default();
    match target {
        SiteTarget::Dir(dir) => {
            let path = dir.join(super::effects::SITE_STAMP);
            sglci_core::backend::write_durably(&path, &body).map_err(|source| AppError::SiteIo {
                op: "write",
                path,
                source,
            })
        }
        SiteTarget::Store(prefix) => {
            Ok(store.put(&prefix.join(super::effects::SITE_STAMP)?, &body)?)
        }
    }
}

/// Whether the store holds `key`.
fn has(store: &dyn ObjectStore, key: &Key) -> Result<bool, AppError> {
    match store.get(key) {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Writes a rendered site under `prefix` in the store. With `replace`, objects under the prefix
/// that the new site does not have are removed, and only when the prefix is empty or holds an
/// earlier sglci site.
pub fn write_site_to_store(
    store: &dyn ObjectStore,
    prefix: &Key,
    site: &RenderedSite,
    replace: bool,
) -> Result<(), AppError> {
    let marker = prefix.join(SITE_MARKER)?;
    // Only a full render lists the prefix (to refuse a foreign one and to remove what the new
    // site no longer has): an update writes its pages and nothing else, so its cost does not
    // grow with the site.
    let existing = if replace {
        store.list(prefix.as_str())?
    } else {
        Vec::new()
    };
    let partial = prefix.join(SITE_PARTIAL)?;
    if replace && !existing.is_empty() && !has(store, &marker)? && !has(store, &partial)? {
        return Err(AppError::NotASitePrefix(prefix.to_string()));
    }
    store.put(&partial, b"being written by sglci-publisher\n")?;
    let items = site
        .iter()
        .map(|(rel, bytes)| Ok((prefix.join(rel)?, bytes.clone())))
        .collect::<Result<Vec<_>, StoreError>>()?;
    store.put_many(&items)?;
    if replace {
        let keep: BTreeSet<String> = site.keys().map(|rel| format!("{prefix}/{rel}")).collect();
        for k in existing {
            if !keep.contains(k.as_str()) && k != marker && k != partial {
                store.delete(&k)?;
            }
        }
    }
    store.put(&marker, b"rendered by sglci-publisher\n")?;
    store.delete(&partial)?;
    Ok(())
}

/// The site's templates read from a directory (a working copy of `site-templates/`, for
/// `site --templates DIR`): every file the embedded set has, by the same name.
pub fn load_templates(dir: &Path) -> Result<Templates, TemplateError> {
    let mut files = Vec::new();
    for name in Templates::file_names() {
        let text = std::fs::read_to_string(dir.join(name)).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                TemplateError::Missing {
                    dir: dir.display().to_string(),
                    name: name.to_owned(),
                }
            } else {
                TemplateError::Read {
                    dir: dir.display().to_string(),
                    source,
                }
            }
        })?;
        files.push((name.to_owned(), text));
    }
    Templates::from_files(files.into_iter())
}
