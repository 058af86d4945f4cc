//! F3 container specs, pure: what a benchmark container needs on each kind of host (GPU devices,
//! groups, shared memory, host network, the model mounts) and the labels that mark it as
//! sglci's, so cleanup only ever touches containers sglci started.

use std::collections::BTreeMap;

use serde::Serialize;

/// Label on every container sglci starts.
pub const MANAGED_LABEL: &str = "sglci.managed";
/// Label with the run id.
pub const RUN_LABEL: &str = "sglci.run";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub host: String,
    pub container: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub env: BTreeMap<String, String>,
    /// (path on the host, path in the container).
    pub devices: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub mounts: Vec<Mount>,
    pub labels: BTreeMap<String, String>,
    pub shm_size_bytes: i64,
    pub network_host: bool,
    pub ipc_host: bool,
    pub cap_add: Vec<String>,
    pub security_opt: Vec<String>,
    /// What keeps the container alive; the runner `exec`s its steps into it.
    pub cmd: Vec<String>,
}

/// A container name from parts: Docker allows `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn container_name(run_id: &str, job: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("sglci-{}-{}", clean(run_id), clean(job))
}

/// The container for a run on `hardware`: AMD GPUs through `/dev/kfd` and `/dev/dri` (groups
/// `video` and `render`), host network and IPC, a 16 GiB `/dev/shm`, the extra `devices`
/// (`HOST[:CONTAINER]`, which replace the defaults when given) and `mounts`.
pub fn spec(
    run_id: &str,
    job: &str,
    image: &str,
    hardware: &str,
    env: &BTreeMap<String, String>,
    devices: &[String],
    mounts: &[Mount],
) -> ContainerSpec {
    let amd = hardware.starts_with("mi");
    let devices: Vec<(String, String)> = if devices.is_empty() {
        if amd {
            vec![
                ("/dev/kfd".to_owned(), "/dev/kfd".to_owned()),
                ("/dev/dri".to_owned(), "/dev/dri".to_owned()),
            ]
        } else {
            Vec::new()
        }
    } else {
        devices
            .iter()
            .map(|d| match d.split_once(':') {
                Some((h, c)) => (h.to_owned(), c.to_owned()),
                None => (d.clone(), d.clone()),
            })
            .collect()
    };
    let mut labels = BTreeMap::new();
    labels.insert(MANAGED_LABEL.to_owned(), "true".to_owned());
    labels.insert(RUN_LABEL.to_owned(), run_id.to_owned());
    labels.insert("sglci.job".to_owned(), job.to_owned());
    labels.insert("sglci.hardware".to_owned(), hardware.to_owned());
    ContainerSpec {
        name: container_name(run_id, job),
        image: image.to_owned(),
        env: env.clone(),
        devices,
        groups: if amd {
            vec!["video".to_owned(), "render".to_owned()]
        } else {
            Vec::new()
        },
        mounts: mounts.to_vec(),
        labels,
        shm_size_bytes: 16 << 30,
        network_host: true,
        ipc_host: true,
        cap_add: vec!["SYS_PTRACE".to_owned()],
        security_opt: vec!["seccomp=unconfined".to_owned()],
        cmd: vec!["sleep".to_owned(), "infinity".to_owned()],
    }
}

/// Parses `HOST:CONTAINER[:ro]` mount flags.
pub fn parse_mount(s: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [h, c] if h.starts_with('/') && c.starts_with('/') => Ok(Mount {
            host: (*h).to_owned(),
            container: (*c).to_owned(),
            read_only: false,
        }),
        [h, c, "ro"] if h.starts_with('/') && c.starts_with('/') => Ok(Mount {
            host: (*h).to_owned(),
            container: (*c).to_owned(),
            read_only: true,
        }),
        _ => Err(format!(
            "mount `{s}`: expected /HOST/PATH:/CONTAINER/PATH[:ro] (absolute paths)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd_defaults_and_overrides() {
        let s = spec(
            "r1",
            "grok/GROK1",
            "img",
            "mi30x",
            &BTreeMap::new(),
            &[],
            &[],
        );
        assert_eq!(s.name, "sglci-r1-grok_GROK1");
        assert_eq!(s.devices.len(), 2);
        assert_eq!(s.groups, ["video", "render"]);
        assert_eq!(
            s.labels.get(MANAGED_LABEL).map(String::as_str),
            Some("true")
        );
        let s = spec(
            "r1",
            "j",
            "img",
            "mi35x",
            &BTreeMap::new(),
            &["/dev/null:/dev/kfd".to_owned()],
            &[],
        );
        assert_eq!(s.devices, [("/dev/null".to_owned(), "/dev/kfd".to_owned())]);
        let s = spec("r1", "j", "img", "cpu", &BTreeMap::new(), &[], &[]);
        assert!(s.devices.is_empty() && s.groups.is_empty());
        assert!(parse_mount("/data:/data:ro").expect("mount").read_only);
        assert!(parse_mount("data:/data").is_err());
    }
}
