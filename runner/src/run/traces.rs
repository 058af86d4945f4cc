//! After the jobs: profiler traces written as plain JSON are gzipped in place under each job's
//! `profile/` folder, so bundles carry `.json.gz` (torch writes `.json.gz` itself when SGLang
//! names the file so; other writers do not).

use std::path::Path;

use crate::host::say;
use crate::plan::PlannedJob;

/// Gzips the plain-JSON traces of every job's `profile/` folder under `root`.
pub fn compress_all(jobs: &[&PlannedJob], root: &Path) {
    for job in jobs {
        let Some(folder) = &job.run_folder else {
            continue;
        };
        let dir = root.join(folder).join("profile");
        match compress_traces(&dir) {
            Ok(0) => {}
            Ok(n) => say(&format!("{}: {n} trace(s) gzipped", job.id)),
            Err(e) => say(&format!(
                "{}: traces in {} not gzipped: {e}",
                job.id,
                dir.display()
            )),
        }
    }
}

/// Traces written as plain JSON are gzipped in place (the bundle carries `.json.gz`); returns
/// the files compressed.
pub fn compress_traces(dir: &Path) -> std::io::Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut n = 0;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "json") && path.is_file() {
            let mut gz = path.clone().into_os_string();
            gz.push(".gz");
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(&gz)?,
                flate2::Compression::default(),
            );
            std::io::copy(&mut std::fs::File::open(&path)?, &mut enc)?;
            enc.finish()?;
            std::fs::remove_file(&path)?;
            n += 1;
        }
    }
    Ok(n)
}
