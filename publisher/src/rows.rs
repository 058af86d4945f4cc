//! Typed rows of every history table: what a backfill produces, what the store holds, and what
//! the site is rendered from. Conversions to and from [`Table`] are pure.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sglci_core::records::{self, *};

use crate::table::{Table, TableError};
use sglci_core::date::day_number;

/// Typed rows of the history tables a site is rendered from.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub runs: Vec<RunRow>,
    pub serving: Vec<ServingRow>,
    pub accuracy: Vec<AccuracyRow>,
    pub offline: Vec<OfflineResultRow>,
    pub sanity: Vec<SanityTrialRow>,
    pub sanity_models: Vec<SanityModelRow>,
    pub pd: Vec<PdRow>,
    pub unit: Vec<UnitRow>,
    pub image_check: Vec<ImageCheckRow>,
    pub upstream_coverage: Vec<CoverageRowRecord>,
    pub tasks: Vec<TaskRow>,
    pub quarantine: Vec<QuarantineRow>,
    pub files: Vec<FileRow>,
    pub regressions: Vec<RegressionRow>,
    /// Recorded A/B comparisons, one row per candidate and series.
    pub ab: Vec<AbRow>,
    /// Top kernels and operators of runs' profiler traces (F22).
    pub kernels: Vec<KernelRow>,
    /// Years with data in the whole history (`YYYY`), also those whose rows were not loaded:
    /// pages link to every year.
    pub years: BTreeSet<String>,
    /// Months with data in the whole history (`YYYY-MM`, and `undated`), likewise.
    pub months: BTreeSet<String>,
}

impl Rows {
    /// Names the image `to` wherever the rows name it `from`: a bundle's folders carry the run
    /// label, and a non-nightly image is known in the history by its reference as given.
    pub fn retag(&mut self, from: &str, to: &str) {
        let swap = |t: &mut String| {
            if t == from {
                to.clone_into(t);
            }
        };
        self.runs.iter_mut().for_each(|r| swap(&mut r.docker_tag));
        self.serving
            .iter_mut()
            .for_each(|r| swap(&mut r.docker_tag));
        self.accuracy
            .iter_mut()
            .for_each(|r| swap(&mut r.docker_tag));
        self.offline
            .iter_mut()
            .for_each(|r| swap(&mut r.docker_tag));
        self.sanity.iter_mut().for_each(|r| swap(&mut r.docker_tag));
        self.sanity_models
            .iter_mut()
            .for_each(|r| swap(&mut r.docker_tag));
        self.pd.iter_mut().for_each(|r| swap(&mut r.docker_tag));
        self.unit.iter_mut().for_each(|r| swap(&mut r.docker_tag));
        self.kernels
            .iter_mut()
            .for_each(|r| swap(&mut r.docker_tag));
        self.tasks
            .iter_mut()
            .filter_map(|r| r.docker_tag.as_mut())
            .for_each(swap);
    }
}

/// A stored row that does not match its record type.
#[derive(Debug, thiserror::Error)]
#[error("table {table}, row {row}: {source} (hint: the history was written by another schema version; rebuild it with `ingest`)")]
pub struct DataError {
    pub table: &'static str,
    pub row: usize,
    pub source: serde_json::Error,
}

fn typed<T: DeserializeOwned>(t: Table) -> Result<Vec<T>, DataError> {
    let table = t.schema.name;
    t.rows
        .into_iter()
        .enumerate()
        .map(|(row, m)| {
            // Stored nulls of non-optional string columns read back as empty strings.
            serde_json::from_value(serde_json::Value::Object(m)).map_err(|source| DataError {
                table,
                row,
                source,
            })
        })
        .collect()
}

/// One status per night, hardware and task. Each bundle is its own partition and its task board
/// also lists the night's scheduled tasks it has no file for (`unknown`, no source); another
/// bundle of the same night (the smoke run beside the PD run, GROK's beside DeepSeek's) holds
/// the evidence. Evidence wins over such a placeholder; between two runs of the same task the
/// better state wins, as within one partition (best of runs). First-seen order is kept.
pub fn merge_tasks(rows: Vec<TaskRow>) -> Vec<TaskRow> {
    fn strength(r: &TaskRow) -> (bool, u8) {
        (r.source.is_some(), r.status.rank())
    }
    let mut at: std::collections::HashMap<(String, String, String), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<TaskRow> = Vec::with_capacity(rows.len());
    for r in rows {
        let key = (r.date.clone(), r.hardware.clone(), r.task.clone());
        match at.get(&key) {
            Some(&i) if strength(&r) > strength(&out[i]) => out[i] = r,
            Some(_) => {}
            None => {
                at.insert(key, out.len());
                out.push(r);
            }
        }
    }
    out
}

impl Rows {
    /// Rows from stored tables, looked up by name; a missing table is empty.
    pub fn from_tables(tables: &[Table]) -> Result<Self, DataError> {
        Self::from_owned_tables(tables.to_vec())
    }

    /// [`Rows::from_tables`], taking the tables: each row's JSON is moved into its typed row
    /// and freed as it goes (a long history's rows as JSON are many times their typed size).
    pub fn from_owned_tables(tables: Vec<Table>) -> Result<Self, DataError> {
        let mut d = Rows::default();
        for t in tables {
            d.append_owned_table(t)?;
        }
        d.merge_tasks();
        Ok(d)
    }

    /// Appends a table's rows (the whole table, or the next of its months in order) to the
    /// typed rows; a row that does not match its record is named by its place in the whole
    /// table. Tasks are merged by [`Rows::merge_tasks`] once every part is in.
    pub fn append_owned_table(&mut self, t: Table) -> Result<(), DataError> {
        fn add<T: DeserializeOwned>(to: &mut Vec<T>, t: Table) -> Result<(), DataError> {
            let first = to.len();
            to.extend(typed(t).map_err(|e| DataError {
                row: first + e.row,
                ..e
            })?);
            Ok(())
        }
        match t.schema.name {
            "runs" => add(&mut self.runs, t),
            "serving" => add(&mut self.serving, t),
            "accuracy" => add(&mut self.accuracy, t),
            "offline" => add(&mut self.offline, t),
            "sanity" => add(&mut self.sanity, t),
            "sanity_models" => add(&mut self.sanity_models, t),
            "pd" => add(&mut self.pd, t),
            "unit" => add(&mut self.unit, t),
            "image_check" => add(&mut self.image_check, t),
            "upstream_coverage" => add(&mut self.upstream_coverage, t),
            "tasks" => add(&mut self.tasks, t),
            "quarantine" => add(&mut self.quarantine, t),
            "files" => add(&mut self.files, t),
            "regressions" => add(&mut self.regressions, t),
            "ab" => add(&mut self.ab, t),
            "kernels" => add(&mut self.kernels, t),
            _ => Ok(()),
        }
    }

    /// One task row per night, hardware and task ([`merge_tasks`]), once the task table is in.
    pub fn merge_tasks(&mut self) {
        self.tasks = merge_tasks(std::mem::take(&mut self.tasks));
    }

    /// Adds the years of the loaded rows to [`Rows::years`].
    pub fn add_row_years(&mut self) {
        let dates = self
            .tasks
            .iter()
            .map(|r| r.date.as_str())
            .chain(self.runs.iter().map(|r| r.date.as_str()))
            .chain(self.files.iter().filter_map(|r| r.date.as_deref()))
            .chain(self.upstream_coverage.iter().map(|r| r.date.as_str()));
        for d in dates {
            if day_number(d).is_some() {
                self.years.insert(d[..4].to_owned());
                self.months.insert(format!("{}-{}", &d[..4], &d[4..6]));
            }
        }
    }
}

impl Rows {
    /// Every table, in the order of [`records::ALL_SCHEMAS`].
    pub fn to_tables(&self) -> Result<Vec<Table>, TableError> {
        self.table_rows().iter().map(|t| t.table()).collect()
    }

    /// Every table's typed rows, in the order of [`records::ALL_SCHEMAS`], to be turned into
    /// [`Table`]s a part at a time (a whole table of a long history as JSON maps is many times
    /// its typed size).
    pub fn table_rows(&self) -> Vec<Box<dyn TableRows + '_>> {
        fn of<'a, T: Serialize + Dated + Sync>(
            schema: Schema,
            rows: &'a [T],
        ) -> Box<dyn TableRows + 'a> {
            Box::new(Typed { schema, rows })
        }
        vec![
            of(records::SERVING, &self.serving),
            of(records::ACCURACY, &self.accuracy),
            of(records::OFFLINE, &self.offline),
            of(records::SANITY, &self.sanity),
            of(records::SANITY_MODELS, &self.sanity_models),
            of(records::PD, &self.pd),
            of(records::UNIT, &self.unit),
            of(records::IMAGE_CHECK, &self.image_check),
            of(records::UPSTREAM_COVERAGE, &self.upstream_coverage),
            of(records::TASKS, &self.tasks),
            of(records::RUNS, &self.runs),
            of(records::QUARANTINE, &self.quarantine),
            of(records::FILES, &self.files),
            of(records::REGRESSIONS, &self.regressions),
            of(records::AB, &self.ab),
            of(records::KERNELS, &self.kernels),
        ]
    }
}

/// One table's typed rows (see [`Rows::table_rows`]).
pub trait TableRows: Sync {
    fn schema(&self) -> Schema;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The month of each row, as [`crate::history::month_of`] names it from the row's date.
    fn months(&self) -> Vec<String>;
    /// The rows at these positions, as a [`Table`].
    fn table_of(&self, positions: &[usize]) -> Result<Table, TableError>;
    /// Every row, as a [`Table`].
    fn table(&self) -> Result<Table, TableError>;
}

/// The date a row is filed under (its month's partition and download).
pub trait Dated {
    fn date(&self) -> Option<&str>;
}

macro_rules! dated {
    ($($t:ty),* $(,)?) => {
        $(impl Dated for $t {
            fn date(&self) -> Option<&str> {
                Some(&self.date)
            }
        })*
    };
}

dated!(
    RunRow,
    ServingRow,
    AccuracyRow,
    OfflineResultRow,
    SanityTrialRow,
    SanityModelRow,
    PdRow,
    UnitRow,
    ImageCheckRow,
    CoverageRowRecord,
    TaskRow,
    RegressionRow,
    AbRow,
    KernelRow,
);

impl Dated for FileRow {
    fn date(&self) -> Option<&str> {
        self.date.as_deref()
    }
}

impl Dated for QuarantineRow {
    fn date(&self) -> Option<&str> {
        None
    }
}

struct Typed<'a, T> {
    schema: Schema,
    rows: &'a [T],
}

impl<T: Serialize + Dated + Sync> TableRows for Typed<'_, T> {
    fn schema(&self) -> Schema {
        self.schema
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn months(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|r| crate::history::month_of(r.date()))
            .collect()
    }

    fn table_of(&self, positions: &[usize]) -> Result<Table, TableError> {
        let rows: Vec<&T> = positions.iter().filter_map(|&i| self.rows.get(i)).collect();
        Table::from_rows(self.schema, &rows)
    }

    fn table(&self) -> Result<Table, TableError> {
        Table::from_rows(self.schema, self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(task: &str, status: TaskState, source: Option<&str>) -> TaskRow {
        TaskRow {
            date: "20261202".to_owned(),
            hardware: "cpu".to_owned(),
            task: task.to_owned(),
            task_name: task.to_owned(),
            status,
            reason: String::new(),
            failure_class: None,
            evidence: None,
            docker_tag: None,
            gsm8k_accuracy: None,
            runtime_minutes: None,
            source: source.map(str::to_owned),
        }
    }

    /// The smoke bundle and the PD bundle of one CPU night: each partition's board lists the
    /// other's task without evidence; the night shows each task once, with its evidence.
    #[test]
    fn a_task_appears_once_per_night_with_its_evidence() {
        let rows = vec![
            task("smoke_online", TaskState::Pass, Some("runs/smoke")),
            task("smoke_online", TaskState::Unknown, None),
            task("pd", TaskState::Fail, Some("runs/pd")),
            task("pd", TaskState::Unknown, None),
        ];
        let merged = merge_tasks(rows);
        assert_eq!(merged.len(), 2, "{merged:#?}");
        assert_eq!(merged[0].status, TaskState::Pass);
        assert_eq!(merged[1].status, TaskState::Fail);
        // Evidence arriving after a placeholder replaces it, in place.
        let merged = merge_tasks(vec![
            task("smoke_online", TaskState::Unknown, None),
            task("smoke_online", TaskState::Fail, Some("runs/smoke")),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].source.as_deref(), Some("runs/smoke"));
    }
}
