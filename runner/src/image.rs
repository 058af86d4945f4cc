//! F1 image resolution: which `rocm/sgl-dev` image to test tonight. Docker Hub's tag listing is
//! paged (`next`); a tag matches when it carries `-<rocm>-<hardware>-<date>` with the date in
//! Pacific time (when the images are built), is not an `-srt` build, and parses as an image tag.
//! The listing is newest first, so the first match is the newest push; its digest is recorded.
//! Without tonight's image, yesterday's is used and marked stale (the publisher then marks the
//! night, never drops it).
//!
//! The Docker Hub base URL is a parameter, so tests serve recorded pages from loopback; paging
//! only follows `next` links under that base.

use serde::{Deserialize, Serialize};
use sglci_core::date::{date_of_day as ymd, days_from_civil};
use sglci_core::ImageTag;

/// The nightly images' repository on Docker Hub.
pub const DEFAULT_REPO: &str = "rocm/sgl-dev";

/// Docker Hub's API root.
pub const DOCKER_HUB: &str = "https://hub.docker.com";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// `repo:tag`.
    pub image: String,
    pub tag: String,
    /// The manifest digest Docker Hub reports, when it does.
    pub digest: Option<String>,
    /// The image date (`YYYYMMDD`).
    pub date: String,
    /// Not tonight's image: the newest of an earlier day.
    pub stale: bool,
    /// Pages read.
    pub pages: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("Docker Hub {url}: {reason} (hint: check the network, or pass --image)")]
    Network { url: String, reason: String },
    #[error("Docker Hub {url}: unexpected answer: {reason}")]
    Malformed { url: String, reason: String },
    #[error("no {repo} image for {hardware} {rocm} dated {dates} among {seen} tags (hint: tonight's build may be late; pass --image to test another)")]
    NotFound {
        repo: String,
        hardware: String,
        rocm: String,
        dates: String,
        seen: usize,
    },
}

/// One page of `GET /v2/repositories/<repo>/tags/`.
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub results: Vec<TagEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagEntry {
    pub name: String,
    #[serde(default)]
    pub digest: Option<String>,
}

/// Whether a tag name is the image for (hardware, rocm, date).
pub fn matches(name: &str, hardware: &str, rocm: &str, date: &str) -> bool {
    name.contains(&format!("-{rocm}-{hardware}-{date}"))
        && !name.ends_with("-srt")
        && name.parse::<ImageTag>().is_ok()
}

/// The first matching entry of a listing (newest first).
pub fn pick<'a>(
    entries: &'a [TagEntry],
    hardware: &str,
    rocm: &str,
    date: &str,
) -> Option<&'a TagEntry> {
    entries
        .iter()
        .find(|e| matches(&e.name, hardware, rocm, date))
}

/// The `n`th Sunday of a month, as a day number.
fn nth_sunday(y: i64, m: i64, n: i64) -> i64 {
    let first = days_from_civil(y, m, 1);
    // 1970-01-01 was a Thursday: weekday 0 = Sunday.
    let weekday = (first + 4).rem_euclid(7);
    first + (7 - weekday) % 7 + 7 * (n - 1)
}

/// The Pacific-time date (`YYYYMMDD`) `days_back` days before the instant `unix_secs`. US rules:
/// daylight time from the second Sunday of March, 02:00 PST, to the first Sunday of November,
/// 02:00 PDT.
pub fn pacific_date(unix_secs: i64, days_back: i64) -> String {
    let utc_day = unix_secs.div_euclid(86_400);
    let year = ymd(utc_day)[..4].parse::<i64>().unwrap_or(1970);
    // Transitions in UTC: 10:00 UTC (02:00 PST) in March, 09:00 UTC (02:00 PDT) in November.
    let dst_start = nth_sunday(year, 3, 2) * 86_400 + 10 * 3600;
    let dst_end = nth_sunday(year, 11, 1) * 86_400 + 9 * 3600;
    let offset = if (dst_start..dst_end).contains(&unix_secs) {
        -7
    } else {
        -8
    };
    let local = unix_secs + offset * 3600;
    ymd(local.div_euclid(86_400) - days_back)
}

/// `first` and the `n` days before it, newest first.
pub fn fallback_dates(first: &str, n: u32) -> Vec<String> {
    let day = first
        .get(..4)
        .zip(first.get(4..6))
        .zip(first.get(6..8))
        .and_then(|((y, m), d)| {
            Some(days_from_civil(
                y.parse().ok()?,
                m.parse().ok()?,
                d.parse().ok()?,
            ))
        });
    match day {
        Some(day) => (0..=i64::from(n)).map(|k| ymd(day - k)).collect(),
        None => vec![first.to_owned()],
    }
}

/// Finds the image: tonight's (`dates[0]`), else the earlier dates in order (marked stale).
/// `fetch` gets a URL's body (the shell passes an HTTP client; tests pass recorded pages).
pub fn resolve(
    hub: &str,
    repo: &str,
    hardware: &str,
    rocm: &str,
    dates: &[String],
    max_pages: usize,
    fetch: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Resolved, ImageError> {
    let hub = hub.trim_end_matches('/');
    let mut url = format!("{hub}/v2/repositories/{repo}/tags/?page_size=100");
    let mut entries: Vec<TagEntry> = Vec::new();
    let mut pages = 0;
    // Read pages until tonight's image shows (the listing is newest first) or the pages end;
    // the fallback dates are older, so they are in what was read or further on.
    loop {
        let body = fetch(&url).map_err(|reason| ImageError::Network {
            url: url.clone(),
            reason,
        })?;
        pages += 1;
        let page: Page = serde_json::from_str(&body).map_err(|e| ImageError::Malformed {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        entries.extend(page.results);
        let done = dates
            .first()
            .is_some_and(|d| pick(&entries, hardware, rocm, d).is_some());
        match page.next {
            Some(next) if !done && pages < max_pages => {
                if !next.starts_with(hub) {
                    return Err(ImageError::Malformed {
                        url,
                        reason: format!("`next` leaves {hub}: {next}"),
                    });
                }
                url = next;
            }
            _ => break,
        }
    }
    for (i, date) in dates.iter().enumerate() {
        if let Some(e) = pick(&entries, hardware, rocm, date) {
            return Ok(Resolved {
                image: format!("{repo}:{}", e.name),
                tag: e.name.clone(),
                digest: e.digest.clone(),
                date: date.clone(),
                stale: i > 0,
                pages,
            });
        }
    }
    Err(ImageError::NotFound {
        repo: repo.to_owned(),
        hardware: hardware.to_owned(),
        rocm: rocm.to_owned(),
        dates: dates.join(" or "),
        seen: entries.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacific_dates_follow_daylight_time() {
        // 2025-12-16 07:59 UTC = 2025-12-15 23:59 PST; 08:00 UTC = 2025-12-16 00:00 PST.
        let t = days_from_civil(2025, 12, 16) * 86_400;
        assert_eq!(pacific_date(t + 7 * 3600 + 59 * 60, 0), "20251215");
        assert_eq!(pacific_date(t + 8 * 3600, 0), "20251216");
        assert_eq!(pacific_date(t + 8 * 3600, 1), "20251215");
        // Summer: UTC-7. 2025-07-01 06:59 UTC = 2025-06-30 23:59 PDT.
        let s = days_from_civil(2025, 7, 1) * 86_400;
        assert_eq!(pacific_date(s + 6 * 3600 + 59 * 60, 0), "20250630");
        assert_eq!(pacific_date(s + 7 * 3600, 0), "20250701");
        // The transitions of 2025: 9 March and 2 November.
        assert_eq!(ymd(nth_sunday(2025, 3, 2)), "20250309");
        assert_eq!(ymd(nth_sunday(2025, 11, 1)), "20251102");
    }

    #[test]
    fn matching_rules() {
        assert!(matches(
            "v0.5.6.post2-rocm700-mi30x-20251216",
            "mi30x",
            "rocm700",
            "20251216"
        ));
        assert!(!matches(
            "v0.5.6.post2-rocm700-mi30x-20251216-srt",
            "mi30x",
            "rocm700",
            "20251216"
        ));
        assert!(!matches(
            "v0.5.6.post2-rocm630-mi30x-20251216",
            "mi30x",
            "rocm700",
            "20251216"
        ));
        assert!(!matches(
            "v0.5.6.post2-rocm700-mi35x-20251216",
            "mi30x",
            "rocm700",
            "20251216"
        ));
        assert!(!matches(
            "latest-rocm700-mi30x-20251216",
            "mi30x",
            "rocm700",
            "20251216"
        ));
    }
}
